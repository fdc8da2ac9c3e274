"""Kept project disks belong to their owner: two real non-root users
through the real polkitd, the shipped rule (group project-vm) and the
shipped bus policy. Nothing boots: Create only defines, and the marker
bytes go into the qcow2 with qemu-io."""

import json
import os

import pytest

import harness
from harness import Stack, run, unique, virsh

EXISTS = "org.projectvm.Error.Exists"
MARK = "write -P 0xab 0 64k"


@pytest.fixture(scope="module")
def users():
    return {"alice": harness.ensure_user("pvm-alice", groups=["project-vm"]),
            "dave": harness.ensure_user("pvm-dave", groups=["project-vm"])}


@pytest.fixture(scope="module")
def stack():
    with Stack(polkit="real", bus="system",
               config_overrides={"defaults": {"memory-mib": "128"}}) as s:
        yield s


def cli(stack, *args, uid=None):
    return stack.cli("--no-ask-password", *args, uid=uid)


def kept(stack, uid=None):
    r = cli(stack, "disk", "list", "--json", uid=uid)
    assert r.returncode == 0, r.stderr
    return {d["name"]: d for d in json.loads(r.stdout)}


def delete_kept(stack, name, options="{}", uid=None):
    return stack.gdbus_call("org.projectvm", "/org/projectvm/Manager",
                            "org.projectvm.Manager.DeleteKeptDisk", name, options,
                            check=False, uid=uid)


def has_mark(path):
    r = run(["qemu-io", "-f", "qcow2", "-c", "read -P 0xab 0 64k", path], check=False)
    return "read 65536/65536 bytes" in r.stdout and "verification failed" not in r.stdout


def keep(stack, name, uid):
    stack.create(name, uid=uid)
    data = stack.vol_path(name, "data")
    run(["qemu-io", "-f", "qcow2", "-c", MARK, data])
    r = cli(stack, "destroy", name, "--keep-data", "--yes", uid=uid)
    assert r.returncode == 0, r.stderr
    return data


def test_another_users_create_is_refused_and_the_owner_gets_it_back(stack, users):
    alice, dave = users["alice"], users["dave"]
    name = unique("web")
    data = keep(stack, name, alice)

    # names and owners are public, as the VMs' are
    disk = kept(stack, uid=dave)[name]
    assert (disk["owner"], disk["owner_name"], disk["size_gib"]) == (alice, "pvm-alice", 1)
    r = cli(stack, "disk", "list", uid=dave)
    assert r.stdout.split("\n")[0].split() == ["NAME", "OWNER", "SIZE", "KEPT"]
    assert any(l.split()[:3] == [name, "pvm-alice", "1G"] for l in r.stdout.split("\n"))

    before = stack.state_snapshot()
    for uid in (dave, None):           # root included
        r = cli(stack, "create", name, uid=uid)
        assert r.returncode == 1
        assert f"another user's kept project disk holds the name \"{name}\"" in r.stderr
        assert f"project-vm disk delete {name}" in r.stderr and "another name" in r.stderr
        r = stack.gdbus_call("org.projectvm", "/org/projectvm/Manager",
                             "org.projectvm.Manager.Create", name, "{}", check=False, uid=uid)
        assert EXISTS in r.stderr, r.stderr
    assert stack.state_snapshot() == before
    assert stack.vm_props(name) is None and name in kept(stack)

    # only an admin may delete another user's disk
    r = cli(stack, "disk", "delete", name, "--yes", uid=dave)
    assert r.returncode == 1 and "not authorized for org.projectvm.manage-others" in r.stderr
    assert stack.state_snapshot() == before

    # the owner's create attaches it again, bytes intact
    stack.create(name, uid=alice)
    assert has_mark(data) and data in virsh("dumpxml", f"project-{name}").stdout
    assert stack.vm_props(name)["Owner"] == alice
    assert name not in kept(stack)
    assert not os.listdir(os.path.join(stack.records_dir, "kept"))

    # kept again, and deleted by its owner
    r = cli(stack, "destroy", name, "--keep-data", "--yes", uid=alice)
    assert r.returncode == 0, r.stderr
    assert kept(stack)[name]["owner"] == alice
    r = cli(stack, "disk", "delete", name, "--yes", uid=alice)
    assert r.returncode == 0 and f"deleted the kept project disk of {name}" in r.stdout, r.stderr
    assert not os.path.exists(data) and name not in kept(stack)
    assert not os.listdir(os.path.join(stack.records_dir, "kept"))
    # a fresh disk for dave now
    stack.create(name, uid=dave)
    assert not has_mark(data)
    assert cli(stack, "destroy", name, "--yes", uid=dave).returncode == 0


def test_kept_disks_are_read_again_at_start(stack, users):
    name = unique("st")
    keep(stack, name, users["alice"])
    stack.stop_daemon()
    stack.start_daemon()
    harness.wait_for(lambda: name in kept(stack), what="the kept disks read at start")
    assert kept(stack)[name]["owner"] == users["alice"]
    assert cli(stack, "create", name, uid=users["dave"]).returncode == 1
    assert cli(stack, "disk", "delete", name, "--yes").returncode == 0     # root, an admin


def test_legacy_kept_disk_without_record_is_roots(stack, users):
    name = unique("old")
    # a disk kept before owners were recorded
    virsh("vol-create-as", stack.pool, f"project-{name}-data.qcow2", "1G", "--format", "qcow2")
    run(["qemu-io", "-f", "qcow2", "-c", MARK, stack.vol_path(name, "data")])
    stack.stop_daemon()
    stack.start_daemon()
    harness.wait_for(lambda: name in kept(stack), what="the legacy disk in KeptDisks")
    assert kept(stack)[name]["owner"] == 0
    before = stack.state_snapshot()
    r = cli(stack, "create", name, uid=users["alice"])
    assert r.returncode == 1 and "another user's kept project disk" in r.stderr
    r = cli(stack, "disk", "delete", name, "--yes", uid=users["alice"])
    assert r.returncode == 1 and "org.projectvm.manage-others" in r.stderr
    assert stack.state_snapshot() == before
    stack.create(name)                               # root's
    assert has_mark(stack.vol_path(name, "data"))
    assert cli(stack, "destroy", name, "--yes").returncode == 0


def test_a_failure_to_record_fails_destroy_and_deletes_nothing(stack, users):
    name = unique("rec")
    stack.create(name, uid=users["alice"])
    os.makedirs(stack.records_dir, mode=0o700, exist_ok=True)
    os.chmod(stack.records_dir, 0o777)      # anyone could forge a record there
    try:
        before = stack.state_snapshot()
        r = cli(stack, "destroy", name, "--keep-data", "--yes", uid=users["alice"])
        assert r.returncode == 1 and "records directory" in r.stderr, r.stderr
        assert stack.state_snapshot() == before
        assert stack.vm_props(name)["State"] == "shutoff"
    finally:
        os.chmod(stack.records_dir, 0o700)
    assert cli(stack, "destroy", name, "--yes", uid=users["alice"]).returncode == 0


def test_delete_kept_disk_not_found_and_bad_input(stack, users):
    alice = users["alice"]
    r = delete_kept(stack, "nosuch", uid=alice)
    assert "org.projectvm.Error.NotFound" in r.stderr, r.stderr
    r = cli(stack, "disk", "delete", "nosuch", "--yes", uid=alice)
    assert r.returncode == 1 and 'no kept project disk named "nosuch"' in r.stderr
    # a VM's own disk is not a kept one
    name = unique("live")
    stack.create(name, uid=alice)
    r = delete_kept(stack, name, uid=alice)
    assert "org.projectvm.Error.NotFound" in r.stderr and "uses its disk" in r.stderr
    assert os.path.exists(stack.vol_path(name, "data"))
    r = delete_kept(stack, name, "{'force': <true>}", uid=alice)
    assert "org.projectvm.Error.InvalidArgument" in r.stderr and "unknown option" in r.stderr
    r = delete_kept(stack, "Bad Name!", uid=alice)
    assert "org.projectvm.Error.InvalidArgument" in r.stderr
    assert cli(stack, "destroy", name, "--yes", uid=alice).returncode == 0
    r = cli(stack, "disk", "frob")
    assert r.returncode == 2 and 'unknown disk command "frob"' in r.stderr
