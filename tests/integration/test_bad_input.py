"""What a client may send that is wrong: each gets the contract's error with
a message naming the problem, nothing changes in libvirt or the storage
dir, and the service keeps answering."""

import pytest

import harness
from harness import Stack, unique, vm_path

MGR = "/org/projectvm/Manager"
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx4Y1n3mJ2jV6sWc7F1lqF9qYH4cM0mNfJ4K2vJ8sVb "
       "alice@example")
many_opts = "{" + ", ".join(f"'k{i}': <{i}>" for i in range(40)) + "}"
many_keys = "{'ssh-keys': <[" + ", ".join([repr(KEY)] * 33) + "]>}"
long_key = "{'ssh-keys': <['ssh-ed25519 " + "A" * 9000 + "']>}"

# (method on the Manager or VM, arguments, error, words the message must hold)
DBUS_CASES = [
    ("Create", ["x" * 100000, "{}"], "InvalidArgument", "invalid VM name"),
    ("Create", ["web\u00e9", "{}"], "InvalidArgument", "invalid VM name"),
    ("Create", ["../../etc", "{}"], "InvalidArgument", "invalid VM name"),
    ("Create", ["web web", "{}"], "InvalidArgument", "invalid VM name"),
    ("Create", ["'-web'", "{}"], "InvalidArgument", "invalid VM name"),
    ("Create", ["web.example", "{}"], "InvalidArgument", "invalid VM name"),
    ("Create", ["web\u200b", "{}"], "InvalidArgument", "invalid VM name"),
    ("Create", ["ok", many_opts], "InvalidArgument", "too many options"),
    ("Create", ["ok", many_keys], "InvalidArgument", "too many ssh keys"),
    ("Create", ["ok", long_key], "InvalidArgument", "ssh"),
    ("Create", ["ok", "{'ssh-keys': <['ssh-dss AAAAB3NzaC1kc3M= old']>}"], "InvalidArgument", "ssh"),
    ("Create", ["ok", "{'ssh-keys': <['command=\"rm -rf /\" " + KEY + "']>}"], "InvalidArgument", "ssh"),
    ("Create", ["ok", "{'ssh-keys': <['']>}"], "InvalidArgument", "ssh"),
    ("Create", ["ok", "{'image': <'../debian-12'>}"], "InvalidArgument", "unknown image"),
    ("Create", ["ok", "{'image': <''>}"], "InvalidArgument", "unknown image"),
    ("Create", ["ok", "{'image': <'x" + "y" * 5000 + "'>}"], "InvalidArgument", "unknown image"),
    ("Create", ["ok", "{'memory-mib': <uint64 18446744073709551615>}"], "InvalidArgument", "out of range"),
    ("Create", ["ok", "{'memory-mib': <int64 -1>}"], "InvalidArgument", "must be of type t"),
    ("Create", ["ok", "{'cpus': <uint32 4294967295>}"], "InvalidArgument", "out of range"),
    ("Create", ["ok", "{'cpus': <byte 2>}"], "InvalidArgument", "must be of type u"),
    ("Create", ["ok", "{'disk-gib': <1.5>}"], "InvalidArgument", "must be of type t"),
    ("Create", ["ok", "{'root-gib': <uint64 0>}"], "InvalidArgument", "root-gib 0 is out of range"),
    ("Create", ["ok", "{'root-gib': <uint32 20>}"], "InvalidArgument", "must be of type t"),
    ("Create", ["ok", "{'ssh-keys': <[1, 2]>}"], "InvalidArgument", "must be of type as"),
    ("Create", ["ok", "{'start': <<true>>}"], "InvalidArgument", "must be of type b"),
    ("Create", ["ok", "{'': <1>}"], "InvalidArgument", "unknown option"),
    ("Create", ["ok", "{'" + "k" * 3000 + "': <1>}"], "InvalidArgument", "unknown option"),
    ("GetVM", ["NoSuch"], "InvalidArgument", "invalid VM name"),
    ("GetVM", ["x" * 70000], "InvalidArgument", "invalid VM name"),
    ("GetVM", ["nosuch"], "NotFound", "no project VM named"),
    ("Start", ["{'wait': <'yes'>}"], "InvalidArgument", "must be of type b"),
    ("Start", ["{'timeout-sec': <-5>}"], "InvalidArgument", "must be of type u"),
    ("Start", ["{'timeout-sec': <uint32 4000000000>}"], "InvalidArgument", "out of range"),
    ("Start", ["{'waiting': <true>}"], "InvalidArgument", "unknown option"),
    ("Start", [many_opts], "InvalidArgument", "too many options"),
    ("Stop", ["{'timeout-sec': <'60'>}"], "InvalidArgument", "must be of type u"),
    ("Stop", ["{'timeout-sec': <uint32 99999999>}"], "InvalidArgument", "out of range"),
    ("Stop", ["{'force': <'true'>}"], "InvalidArgument", "must be of type b"),
    ("Stop", ["{'graceful': <true>}"], "InvalidArgument", "unknown option"),
    ("Destroy", ["{'keep-data': <uint32 1>}"], "InvalidArgument", "must be of type b"),
    ("Destroy", ["{'keep': <true>}"], "InvalidArgument", "unknown option"),
    ("OpenConsole", ["{'tty': <'/dev/pts/0'>}"], "InvalidArgument", "unknown option"),
]


@pytest.fixture(scope="module")
def stack():
    with Stack(config_overrides={"defaults": {"memory-mib": "128"}}) as s:
        s.victim = unique("victim")
        s.create(s.victim)
        yield s


@pytest.mark.parametrize("method,args,error,words", DBUS_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(DBUS_CASES)])
def test_dbus_bad_input(stack, method, args, error, words):
    before = stack.state_snapshot()
    if method in ("Create", "GetVM"):
        path, iface = MGR, "org.projectvm.Manager"
    else:
        path, iface = vm_path(stack.victim), "org.projectvm.VM"
    r = stack.gdbus_call("org.projectvm", path, f"{iface}.{method}", *args, check=False)
    assert r.returncode != 0
    assert f"org.projectvm.Error.{error}" in r.stderr, r.stderr[:500]
    assert words.lower() in r.stderr.lower(), r.stderr[:500]
    assert len(r.stderr) < 2000, "the message must not echo huge input back"
    assert stack.state_snapshot() == before
    assert stack.daemon.poll() is None
    assert stack.vm_props(stack.victim)["State"] == "shutoff"


def test_wrong_signature_is_refused_by_the_bus_layer(stack):
    before = stack.state_snapshot()
    r = stack.busctl("call", "org.projectvm", MGR, "org.projectvm.Manager", "Create",
                     "ss", "web", "oops", check=False)
    assert r.returncode != 0 and "does not match expected type" in r.stderr
    r = stack.busctl("call", "org.projectvm", vm_path(stack.victim), "org.projectvm.VM",
                     "Start", "", check=False)
    assert r.returncode != 0
    assert stack.state_snapshot() == before
    assert stack.daemon.poll() is None


def test_unknown_object_and_method(stack):
    r = stack.busctl("call", "org.projectvm", "/org/projectvm/vm/nosuch", "org.projectvm.VM",
                     "Start", "a{sv}", "0", check=False)
    assert r.returncode != 0
    r = stack.busctl("call", "org.projectvm", MGR, "org.projectvm.Manager", "Explode",
                     check=False)
    assert r.returncode != 0 and "No such method" in r.stderr


CLI_CASES = [
    (["create", "Web"], 1, "invalid VM name"),
    (["create", "web", "0"], 1, "out of range"),
    (["create", "web", "4G", "0"], 2, "invalid CPU count"),
    (["create", "web", "4G", "2", "0"], 2, "the project disk must be at least 1 GiB"),
    (["create", "web", "4G", "2", "50"], 2, "(did you mean 50G?)"),
    (["create", "web", "-4G"], 2, "unknown option -4G"),
    (["create", "web", "4.5G"], 2, "invalid size"),
    (["create", "web", "99999999999999999999G"], 2, "too large"),
    (["create", "web", "--ssh-key", "/nonexistent/key.pub"], 1, "reading the ssh key"),
    (["create", "web", "--image"], 2, "needs a value"),
    (["create", "web", "--image", "nosuch"], 1, "unknown image"),
    (["start", "web", "--timeout", "soon"], 2, "invalid timeout"),
    (["start", "web", "--timeout", "0"], 2, "at least 1 second"),
    (["stop", "web", "--timeout", "-1"], 2, "invalid timeout"),
    (["stop"], 2, "stop takes one VM name"),
    (["destroy", "a", "b"], 2, "destroy takes one VM name"),
    (["ssh"], 2, "ssh takes one VM name"),
    (["console"], 2, "console takes one VM name"),
    (["console", "--x"], 2, "unknown option --x; see project-vm console --help"),
    (["status", "nosuch"], 1, 'no VM named "nosuch"'),
    (["monitor", "extra"], 2, "takes no arguments"),
]


@pytest.mark.parametrize("args,status,words", CLI_CASES,
                         ids=["-".join(c[0])[:40] for c in CLI_CASES])
def test_cli_bad_input(stack, args, status, words):
    before = stack.state_snapshot()
    r = stack.cli("--no-ask-password", *args)
    assert r.returncode == status, (r.returncode, r.stderr)
    assert r.stderr.startswith("project-vm: ") and words in r.stderr, r.stderr
    assert stack.state_snapshot() == before


def test_bad_ssh_key_file_content(stack, tmp_path):
    bad = tmp_path / "bad.pub"
    bad.write_text("this is not a key\n")
    before = stack.state_snapshot()
    r = stack.cli("create", unique("k"), "--ssh-key", str(bad))
    assert r.returncode == 1 and "ssh key" in r.stderr.lower()
    assert stack.state_snapshot() == before
