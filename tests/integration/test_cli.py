"""The CLI as a user meets it: help for every command, one-line errors
that say what to do next, sizes as the contract reads them, output for
people (columns, plurals, colour on a terminal only) and for scripts
(--json, --names), and the bash completion in a real bash."""

import json
import os
import re
import shlex
import stat
import subprocess

import pytest

import harness
from harness import CLI, SOURCE, Stack, run, unique

COMPLETION = os.path.join(SOURCE, "data", "completion", "project-vm")
COMMANDS = ["create", "start", "stop", "destroy", "ssh", "console", "list",
            "status", "monitor", "disk", "quota"]
ESC = "\x1b"


@pytest.fixture(scope="module")
def stack():
    # A host template, so that every VM has an ssh target without booting.
    with Stack(config_overrides={"defaults": {"memory-mib": "128"},
                                 "ssh": {"host-template": "project-{name}.test"}}) as s:
        yield s


def cli(*args, env=None):
    """The client without any service: help and usage need none."""
    return run([CLI, *args], check=False, env=env)


# -- help --

@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    r = cli(command, "--help")
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == "Usage:" and lines[1].startswith(f"  project-vm {command} ")
    assert "--no-ask-password" in r.stdout and "--help" in r.stdout
    # a paragraph of description between the usage line and the options
    paragraph = r.stdout.split("\n\n")[1]
    assert len(paragraph) > 80, paragraph
    assert cli("help", command).stdout == r.stdout


def test_create_help_lists_its_options():
    r = cli("create", "--help")
    assert r.returncode == 0
    assert "project-vm create [OPTION" in r.stdout and "NAME [MEMORY] [CPUS] [DISK]" in r.stdout
    for opt in ("--image=IMAGE", "--root=SIZE", "--ssh-key=FILE", "--start"):
        assert opt in r.stdout
    assert "a plain number is MiB" in r.stdout


def test_help_stop_is_stop_help():
    a, b = cli("help", "stop"), cli("stop", "--help")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout and "--timeout=SEC" in a.stdout and "--force" in a.stdout
    assert cli("stop", "-h").stdout == a.stdout


def test_help_lists_the_commands_one_line_each():
    r = cli("help")
    assert r.returncode == 0 and cli("--help").stdout == r.stdout
    listed = r.stdout.split("Commands:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in listed] == COMMANDS + ["help"]
    assert all(len(line.split()) > 2 for line in listed)


def test_unknown_option_names_it_and_the_commands_help():
    r = cli("stop", "web", "--bogus")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "project-vm: unknown option --bogus; see project-vm stop --help\n"
    r = cli("--bogus", "list")
    assert r.returncode == 2
    assert r.stderr == "project-vm: unknown option --bogus; see project-vm --help\n"
    r = cli("help", "frobnicate")
    assert r.returncode == 2 and 'unknown command "frobnicate"' in r.stderr


def test_usage_errors_are_one_line_with_exit_2():
    for args, words in ((["stop"], "stop takes one VM name; see project-vm stop --help"),
                        (["list", "x"], "list takes no arguments"),
                        (["create", "web", "--image"], "--image needs a value"),
                        (["ssh", "web", "-L", "80:x:80"], 'ssh\'s own options go after "--"'),
                        (["start", "web", "--timeout=soon"], 'invalid timeout "soon"')):
        r = cli(*args)
        assert r.returncode == 2, args
        assert r.stderr.count("\n") == 1 and words in r.stderr, r.stderr


# -- options in both spellings, anywhere --

def test_stop_timeout_in_both_spellings(stack):
    name = unique("t")
    stack.create(name)
    for args in (["--timeout=30"], ["--timeout", "30"], ["--no-ask-password", "--timeout=30"]):
        r = stack.cli("stop", name, *args)
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"{name} stopped: already-stopped\n"
    r = stack.cli("stop", "--timeout=30", name)
    assert r.returncode == 0, r.stderr


def test_ssh_passes_what_follows_dashdash_untouched(stack, tmp_path):
    name = unique("ssh")
    stack.create(name)
    fake = tmp_path / "ssh"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done\n')
    fake.chmod(0o755)
    env = {**stack.env, "PATH": f"{tmp_path}:{stack.env['PATH']}"}
    r = run([CLI, "ssh", name, "--", "-L", "8080:localhost:80", "--help", "a b"],
            env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"[dev@project-{name}.test]", "[-L]",
                                     "[8080:localhost:80]", "[--help]", "[a b]"]


# -- errors that say what to do next --

NOT_RUNNING = ("project-vm: the project-vm service is not running; "
               "start it: systemctl start project-vmd\n")


def test_service_not_running():
    with Stack() as s:
        s.stop_daemon()
        for args in (["list"], ["status", "web"], ["stop", "web"], ["create", "web"],
                     ["monitor"]):
            r = s.cli("--no-ask-password", *args, timeout=30)
            assert r.returncode == 1, args
            # (create may warn first that it found no ssh key)
            assert r.stderr.splitlines()[-1] + "\n" == NOT_RUNNING, (args, r.stderr)


def test_no_system_bus_at_all(tmp_path):
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-such-socket"}
    for args in (["list"], ["status", "web"]):
        r = cli(*args, env=env)
        assert r.returncode == 1 and r.stderr == NOT_RUNNING, r.stderr


def test_not_found_suggests_close_names(stack):
    name = unique("sugg")                     # sugg-1a2b3c
    stack.create(name)
    typo = name[1] + name[0] + name[2:]       # usgg-1a2b3c
    r = stack.cli("status", typo)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith(f'project-vm: no VM named "{typo}"; did you mean ')
    assert name in r.stderr and r.stderr.count("\n") == 1
    r = stack.cli("start", name[:7])          # a prefix
    assert r.returncode == 1 and f"did you mean {name}?" in r.stderr, r.stderr
    far = unique("zq")
    r = stack.cli("destroy", far, "--yes")
    assert r.stderr == f'project-vm: no VM named "{far}"; see project-vm list\n'


def test_not_authorized_says_whom_to_ask(stack):
    alice, bob = harness.ensure_user("pvm-alice"), harness.ensure_user("pvm-bob")
    name = unique("na")
    stack.create(name, uid=alice)
    stack.polkit_allow([])
    try:
        mine = stack.cli("--no-ask-password", "start", name, uid=alice)
        theirs = stack.cli("--no-ask-password", "start", name, uid=bob)
    finally:
        stack.polkit_allow(harness.ACTIONS)
    assert mine.returncode == 1 and theirs.returncode == 1
    assert mine.stderr == (f'project-vm: not authorized for org.projectvm.manage on VM "{name}"; '
                           "ask an admin to add you to the group project-vm\n")
    # the group would not help with another user's VM
    assert theirs.stderr == (f"project-vm: not authorized for org.projectvm.manage-others on VM "
                             f'"{name}"; it is another user\'s VM: only an admin may do that\n')


# -- sizes --

@pytest.mark.parametrize("args,message", [
    (["512M", "1", "50"], 'disk size "50" is 50 MiB; the project disk must be at least 1 GiB '
                          "(did you mean 50G?)"),
    (["512M", "1", "512M"], 'disk size "512M" is 512 MiB; the project disk must be at least 1 GiB'),
    (["--root", "20"], 'root size "20" is 20 MiB; the system disk must be at least 1 GiB '
                       "(did you mean 20G?)"),
    (["512M", "1", "1500"], 'size "1500" is not a whole number of GiB'),
])
def test_small_disk_is_refused_with_a_hint_and_nothing_is_made(stack, args, message):
    name = unique("sz")
    before = stack.state_snapshot()
    r = stack.cli("create", name, *args)
    assert r.returncode == 2
    assert r.stderr == f"project-vm: {message}; see project-vm create --help\n"
    assert stack.vm_props(name) is None
    assert stack.state_snapshot() == before


def test_plain_numbers_are_mib_for_every_size(stack):
    name = unique("mib")
    r = stack.create(name, "384", "1", "2048", "--root", "3072")
    assert f"created {name}: 384M memory, 1 CPU, 2G project disk" in r.stdout
    props = stack.vm_props(name)
    assert (props["MemoryMiB"], props["DiskGiB"]) == (384, 2)
    info = json.loads(run(["qemu-img", "info", "--output=json", "-U",
                           stack.vol_path(name, "root")]).stdout)
    assert info["virtual-size"] == 3 * 2**30


def test_cpus_are_counted_in_words(stack):
    one, two = unique("c1"), unique("c2")
    assert ", 1 CPU, " in stack.create(one, "256M", "1").stdout
    assert ", 2 CPUs, " in stack.create(two, "256M", "2").stdout


# -- output --

def test_list_fits_the_longest_name(stack):
    long_name = "l" + unique("")[1:] + "x" * (55 - 7)
    assert len(long_name) == 55
    stack.define(long_name)
    short = unique("s")
    stack.define(short)
    harness.wait_for(lambda: stack.vm_props(long_name) and stack.vm_props(short),
                     timeout=5, what="both VMs")
    lines = stack.cli("list").stdout.splitlines()
    state_col = lines[0].index("STATE")
    assert state_col == max(len(line.split()[0]) for line in lines) + 1
    for line in lines[1:]:
        assert line[state_col - 1] == " " and line[state_col] != " ", line
    row = next(line for line in lines if line.startswith(long_name + " "))
    assert row.split()[:2] == [long_name, "shutoff"]


def test_names_and_json(stack):
    name = unique("n")
    stack.create(name)
    r = stack.cli("list", "--names")
    assert r.returncode == 0 and r.stderr == ""
    names = r.stdout.splitlines()
    assert name in names and all(re.fullmatch(r"[a-z][a-z0-9-]*", n) for n in names)
    listed = json.loads(stack.cli("list", "--json").stdout)
    assert names == [vm["name"] for vm in listed]
    one = json.loads(stack.cli("status", name, "--json").stdout)
    assert one == next(vm for vm in listed if vm["name"] == name)
    assert set(one) == {"name", "state", "cpus", "memory_mib", "disk_gib", "image",
                        "addresses", "owner", "owner_name", "ssh_target", "cloud_init",
                        "created_at"}
    assert stack.cli("list", "--names", "--json").returncode == 2


def test_json_escapes_every_string(stack):
    # libvirt's metadata may hold anything another tool put there.
    name = unique("j")
    odd = 'ti"ny\\ \t\u00e9'
    stack.define(name, image=odd)
    harness.wait_for(lambda: stack.vm_props(name), timeout=5, what="the VM")
    data = json.loads(stack.cli("status", name, "--json").stdout)
    assert data["image"] == odd


def tty_run(args, env):
    """ARGS on a pseudo-terminal, as a user at a terminal runs it."""
    r = subprocess.run(["script", "-qec", shlex.join(args), "/dev/null"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_states_are_coloured_on_a_terminal_only(stack):
    name = unique("col")
    stack.create(name)
    env = {**stack.env, "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    for command in (["list"], ["status", name]):
        assert ESC not in stack.cli(*command).stdout          # not a terminal
        out = tty_run([CLI, *command], env)
        assert "\x1b[2mshutoff\x1b[0m" in out, out
        assert ESC not in tty_run([CLI, *command], {**env, "NO_COLOR": "1"})
        assert ESC not in tty_run([CLI, *command], {**env, "TERM": "dumb"})
    # colour takes no columns: the table still lines up
    lines = [l for l in tty_run([CLI, "list"], env).splitlines() if l.strip()]
    plain = [re.sub("\x1b\\[[0-9;]*m", "", l) for l in lines]
    col = plain[0].index("CPUS")
    assert all(l[col - 1] == " " for l in plain[1:])


# -- bash completion --

def complete(stack, *words):
    """COMPREPLY of _project_vm for WORDS (the last one being completed)."""
    env = {**stack.env, "PATH": f"{os.path.dirname(CLI)}:{stack.env['PATH']}"}
    array = " ".join(shlex.quote(w) for w in ("project-vm", *words))
    script = (f"source {shlex.quote(COMPLETION)}; COMP_WORDS=({array}); "
              f"COMP_CWORD={len(words)}; _project_vm; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


def test_completion_of_vm_names_commands_and_options(stack):
    a, b = unique("cpa"), unique("cpb")
    stack.create(a)
    stack.create(b)
    names = complete(stack, "start", "")
    assert a in names and b in names
    assert complete(stack, "status", a[:6]) == [a]
    assert complete(stack, "create", "") == []               # a new name
    assert complete(stack, "stop", a, "") == []              # one name only
    assert sorted(complete(stack, "st")) == ["start", "status", "stop"]
    assert complete(stack, "help", "mo") == ["monitor"]
    options = complete(stack, "stop", "--")
    assert "--force" in options and "--timeout" in options
    assert "--image" in complete(stack, "create", "web", "--")
    assert "--names" in complete(stack, "list", "--n")
    assert complete(stack, "--no-ask-password", "des") == ["destroy"]
    assert complete(stack, "ssh", a, "--", "") == []         # ssh's own words


def test_completion_is_installed_where_bash_completion_looks():
    build = harness.BUILD
    r = run(["meson", "introspect", build, "--installed"])
    installed = json.loads(r.stdout)
    dest = installed[os.path.join(SOURCE, "data", "completion", "project-vm")]
    assert dest.endswith("/bash-completion/completions/project-vm")
    mode = os.stat(COMPLETION).st_mode
    assert mode & stat.S_IROTH
