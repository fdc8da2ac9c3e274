"""Create and destroy real project VMs in the real libvirtd, with real
files: the overlay, the project disk, the seed ISO and the domain."""

import json
import os
import shutil
import tempfile
import stat
import subprocess
import threading
import time

import pytest

import harness
from harness import Stack, run, unique, virsh, vm_path, wait_for

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx4Y1n3mJ2jV6sWc7F1lqF9qYH4cM0mNfJ4K2vJ8sVb alice@example"


@pytest.fixture
def key_file():
    """A fresh key pair in a directory any test user can read."""
    d = tempfile.mkdtemp(prefix="pvm-key-")
    os.chmod(d, 0o755)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tester@pvm",
         "-f", os.path.join(d, "id")])
    os.chmod(os.path.join(d, "id.pub"), 0o644)
    yield os.path.join(d, "id.pub")
    shutil.rmtree(d, ignore_errors=True)


def qemu_img_info(path):
    return json.loads(run(["qemu-img", "info", "--output=json", "-U", path]).stdout)


def read_iso_file(iso, name, dest):
    out = os.path.join(dest, name)
    run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/" + name, out])
    return open(out).read()


def test_create_makes_overlay_disk_seed_and_domain(stack, key_file, tmp_path):
    name = unique("web")
    r = stack.create(name, "512M", "2", "3G", "--ssh-key", str(key_file))
    assert f"created {name}: 512M memory, 2 CPUs, 3G project disk, image tiny" in r.stdout

    root = qemu_img_info(stack.vol_path(name, "root"))
    assert root["format"] == "qcow2"
    assert root["backing-filename"] == stack.base_image
    assert root["virtual-size"] == 20 * 2**30       # grown to [defaults] root-gib
    assert root["actual-size"] < 10 * 2**20
    data = qemu_img_info(stack.vol_path(name, "data"))
    assert data["format"] == "qcow2" and data["virtual-size"] == 3 * 2**30
    assert data["actual-size"] < 10 * 2**20          # sparse

    seed = stack.vol_path(name, "seed")
    assert "cidata" in run(["xorriso", "-indev", seed, "-pvd_info"]).stdout.lower()
    user_data = read_iso_file(seed, "user-data", str(tmp_path))
    meta_data = read_iso_file(seed, "meta-data", str(tmp_path))
    assert user_data.startswith("#cloud-config")
    assert open(key_file).read().strip() in user_data
    assert f"local-hostname: \"project-{name}\"" in meta_data
    schema = run(["cloud-init", "schema", "--config-file",
                  os.path.join(str(tmp_path), "user-data")], check=False)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    assert "Valid" in schema.stdout

    # secrets: no file of the VM is readable by other users
    for kind in ("root", "data", "seed"):
        mode = os.stat(stack.vol_path(name, kind)).st_mode
        assert mode & stat.S_IROTH == 0, (kind, oct(mode))

    xml = virsh("dumpxml", f"project-{name}").stdout
    xml_path = tmp_path / "domain.xml"
    xml_path.write_text(xml)
    v = run(["virt-xml-validate", str(xml_path), "domain"], check=False)
    assert v.returncode == 0, v.stdout + v.stderr
    assert "<type arch='x86_64' machine='pc" in xml
    assert "domain type='qemu'" in xml
    assert "<serial>project</serial>" in xml
    assert "bus='ide'" in xml and "device='cdrom'" in xml

    props = stack.vm_props(name)
    assert props["MemoryMiB"] == 512 and props["Cpus"] == 2 and props["DiskGiB"] == 3
    assert props["Owner"] == 0 and props["Image"] == "tiny" and props["State"] == "shutoff"
    assert abs(props["CreatedAt"] - time.time()) < 60


def test_create_owner_is_the_callers_uid(stack, key_file):
    uid = harness.ensure_user("pvm-alice")
    name = unique("own")
    r = stack.create(name, "--ssh-key", str(key_file), uid=uid)
    props = stack.vm_props(name)
    assert props["Owner"] == uid
    r = stack.cli("list", "--json", uid=uid)
    assert [vm["owner_name"] for vm in json.loads(r.stdout) if vm["name"] == name] == ["pvm-alice"]


def test_create_root_size(stack, key_file):
    name = unique("root")
    stack.create(name, "--root", "30G", "--ssh-key", str(key_file))
    assert qemu_img_info(stack.vol_path(name, "root"))["virtual-size"] == 30 * 2**30
    r = stack.cli("create", unique("root"), "--root", "0")
    assert r.returncode == 2 and 'root size "0" is 0 MiB' in r.stderr


def test_create_defaults_come_from_the_config(stack, key_file):
    name = unique("def")
    stack.create(name, "--ssh-key", str(key_file))
    props = stack.vm_props(name)
    assert (props["MemoryMiB"], props["Cpus"], props["DiskGiB"]) == (256, 1, 1)


def test_create_with_start_runs_and_destroy_powers_off(stack, key_file):
    name = unique("st")
    r = stack.create(name, "--ssh-key", str(key_file), "--start")
    assert "started" in r.stdout
    assert virsh("domstate", f"project-{name}").stdout.strip() == "running"
    assert stack.vm_props(name)["State"] == "running"
    r = stack.cli("destroy", name, "--yes")
    assert r.returncode == 0, r.stderr
    assert f"project-{name}" not in virsh("list", "--all", "--name").stdout.split()
    for kind in ("root", "data", "seed", "console"):
        assert not os.path.exists(stack.vol_path(name, kind)), kind
    assert stack.vm_props(name) is None


def test_create_and_destroy_emit_object_manager_signals(stack, key_file):
    mon = subprocess.Popen(["gdbus", "monitor", "--system", "--dest", "org.projectvm"],
                           env=stack.env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        name = unique("sig")
        stack.create(name, "--ssh-key", str(key_file))
        assert stack.cli("destroy", name).returncode == 0
        time.sleep(0.5)
    finally:
        mon.terminate()
        out = mon.communicate()[0]
    assert f"InterfacesAdded (objectpath '{vm_path(name)}'" in out
    assert f"InterfacesRemoved (objectpath '{vm_path(name)}'" in out


def test_keep_data_keeps_the_bytes_and_create_reattaches(stack, key_file):
    name = unique("keep")
    stack.create(name, "512M", "1", "2G", "--ssh-key", str(key_file))
    data = stack.vol_path(name, "data")
    run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xa5 1M 64k", data])
    r = stack.cli("destroy", name, "--keep-data")
    assert r.returncode == 0 and "project disk kept" in r.stdout
    assert os.path.exists(data)
    assert not os.path.exists(stack.vol_path(name, "root"))
    assert not os.path.exists(stack.vol_path(name, "seed"))
    assert stack.vm_props(name) is None

    stack.create(name, "512M", "1", "5G", "--ssh-key", str(key_file))
    # the kept disk is attached again, with its own size and bytes
    assert stack.vm_props(name)["DiskGiB"] == 2
    r = run(["qemu-io", "-f", "qcow2", "-c", "read -P 0xa5 1M 64k", data])
    assert "read 65536/65536 bytes" in r.stdout and "Pattern verification failed" not in r.stdout
    assert data in virsh("dumpxml", f"project-{name}").stdout

    assert stack.cli("destroy", name).returncode == 0
    assert not os.path.exists(data)


@pytest.mark.parametrize("keep_data", [False, True])
def test_destroy_removes_the_rotated_console_logs(stack, keep_data):
    """virtlogd rotates the console log to .0, .1, ...; they hold guest
    output too, so they go with the VM (another VM's stay)."""
    name, other = unique("rot"), unique("rot")
    stack.create(name)
    stack.create(other)
    logs = [stack.vol_path(name, "console") + s for s in ("", ".0", ".1", ".2", ".10")]
    kept = [stack.vol_path(other, "console") + ".0",
            stack.vol_path(name, "console") + ".old"]   # not virtlogd's
    for path in logs + kept:
        with open(path, "w") as f:
            f.write("guest output\n")
    r = stack.cli("destroy", name, "--yes", *(["--keep-data"] if keep_data else []))
    assert r.returncode == 0, r.stderr
    assert [p for p in logs if os.path.exists(p)] == []
    assert all(os.path.exists(p) for p in kept)
    assert os.path.exists(stack.vol_path(name, "data")) == keep_data
    for path in kept:
        os.unlink(path)
    assert stack.cli("destroy", other, "--yes").returncode == 0


def test_create_of_existing_name_is_exists(stack, key_file):
    name = unique("dup")
    stack.create(name, "--ssh-key", str(key_file))
    before = stack.state_snapshot()
    r = stack.cli("create", name, "--ssh-key", str(key_file))
    assert r.returncode == 1 and "already exists" in r.stderr
    r = stack.gdbus_call("org.projectvm", "/org/projectvm/Manager",
                         "org.projectvm.Manager.Create", name, "{}", check=False)
    assert "org.projectvm.Error.Exists" in r.stderr
    assert stack.state_snapshot() == before


def test_two_creates_at_once_one_wins(stack):
    name = unique("race")
    results = []

    def call():
        results.append(stack.gdbus_call("org.projectvm", "/org/projectvm/Manager",
                                        "org.projectvm.Manager.Create", name, "{}",
                                        check=False))
    stack.created_domains.add(f"project-{name}")
    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.returncode == 0]
    failed = [r for r in results if r.returncode != 0]
    assert len(ok) == 1, [r.stderr for r in results]
    assert len(failed) == 1
    assert ("org.projectvm.Error.Exists" in failed[0].stderr or
            "org.projectvm.Error.Busy" in failed[0].stderr), failed[0].stderr
    assert len([d for d in virsh("list", "--all", "--name").stdout.split()
                if d == f"project-{name}"]) == 1


BAD_CREATES = [
    ("Web", "{}", "InvalidArgument", "invalid VM name"),
    ("1web", "{}", "InvalidArgument", "invalid VM name"),
    ("web-", "{}", "InvalidArgument", "invalid VM name"),
    ("a" * 56, "{}", "InvalidArgument", "invalid VM name"),
    ("we_b", "{}", "InvalidArgument", "invalid VM name"),
    ("", "{}", "InvalidArgument", "invalid VM name"),
    ("ok", "{'memory-mib': <uint64 64>}", "InvalidArgument", "memory 64 MiB is out of range"),
    ("ok", "{'memory-mib': <uint64 99999999>}", "InvalidArgument", "out of range"),
    ("ok", "{'cpus': <uint32 0>}", "InvalidArgument", "out of range"),
    ("ok", "{'cpus': <uint32 1000>}", "InvalidArgument", "out of range"),
    ("ok", "{'disk-gib': <uint64 0>}", "InvalidArgument", "out of range"),
    ("ok", "{'disk-gib': <uint64 100000>}", "InvalidArgument", "out of range"),
    ("ok", "{'cpus': <'2'>}", "InvalidArgument", 'option "cpus" must be of type u, not s'),
    ("ok", "{'memory-mib': <uint32 512>}", "InvalidArgument", "must be of type t, not u"),
    ("ok", "{'start': <'yes'>}", "InvalidArgument", "must be of type b"),
    ("ok", "{'colour': <'red'>}", "InvalidArgument", 'unknown option "colour"'),
    ("ok", "{'image': <'nosuch'>}", "InvalidArgument", 'unknown image "nosuch"'),
    ("ok", "{'image': <'/etc/shadow'>}", "InvalidArgument", "unknown image"),
    ("ok", "{'ssh-keys': <['not a key']>}", "InvalidArgument", "ssh"),
    ("ok", "{'ssh-keys': <['ssh-ed25519 AAAA\\nrm -rf /']>}", "InvalidArgument", "ssh"),
    ("ok", "{'ssh-keys': <'" + ED25519 + "'>}", "InvalidArgument", "must be of type as"),
]


@pytest.mark.parametrize("name,options,error,message", BAD_CREATES)
def test_bad_create_changes_nothing(stack, name, options, error, message):
    before = stack.state_snapshot()
    r = stack.gdbus_call("org.projectvm", "/org/projectvm/Manager",
                         "org.projectvm.Manager.Create", name, options, check=False)
    assert r.returncode != 0
    assert f"org.projectvm.Error.{error}" in r.stderr, r.stderr
    assert message in r.stderr, r.stderr
    assert stack.state_snapshot() == before
    assert stack.daemon.poll() is None


def test_cli_create_usage_errors(stack):
    for args, msg in ((["web", "4Q"], "invalid size"), (["web", "4G", "two"], "invalid CPU count"),
                      (["web", "4G", "2", "50X"], "invalid size"), ([], "create takes NAME")):
        r = stack.cli("create", *args)
        assert r.returncode == 2, args
        assert msg in r.stderr and r.stderr.count("\n") == 1, r.stderr


@pytest.mark.parametrize("step", ["data", "root", "seed", "define", "start"])
def test_failure_at_each_step_leaves_nothing(step, key_file):
    with Stack(daemon_env={"PVM_TEST_FAIL_STEP": step}) as stack:
        # the pool exists first, so that only the VM's own files are compared
        run(["mkdir", "-p", stack.storage_dir])
        before = None
        name = unique("fail")
        r = stack.cli("create", name, "--ssh-key", str(key_file), "--start")
        assert r.returncode == 1
        assert f"injected failure at step {step}" in r.stderr
        assert f"project-{name}" not in virsh("list", "--all", "--name").stdout.split()
        leftovers = [f for f in os.listdir(stack.storage_dir) if name in f]
        assert leftovers == []
        if virsh("pool-info", stack.pool, check=False).returncode == 0:
            virsh("pool-refresh", stack.pool)
            assert name not in virsh("vol-list", stack.pool).stdout
        assert stack.vm_props(name) is None
        assert stack.daemon.poll() is None


def test_failed_create_keeps_a_kept_disk(key_file):
    with Stack(daemon_env={"PVM_TEST_FAIL_STEP": "define"}) as stack:
        name = unique("kd")
        # a disk kept from an earlier life of this VM
        virsh("pool-list")
        stack.stop_daemon()
        stack.daemon_env = {}
        stack.start_daemon()
        stack.create(name, "--ssh-key", str(key_file))
        assert stack.cli("destroy", name, "--keep-data").returncode == 0
        stack.stop_daemon()
        stack.daemon_env = {"PVM_TEST_FAIL_STEP": "define"}
        stack.start_daemon()
        r = stack.cli("create", name, "--ssh-key", str(key_file))
        assert r.returncode == 1
        assert os.path.exists(stack.vol_path(name, "data"))
        assert not os.path.exists(stack.vol_path(name, "root"))


def test_destroy_unknown_vm(stack):
    r = stack.cli("destroy", "nosuch", "--yes")
    assert r.returncode == 1 and r.stderr == 'project-vm: no VM named "nosuch"; see project-vm list\n'
