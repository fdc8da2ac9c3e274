"""Who may do what: every method of the introspection XML for the VM's
owner and another user, with polkit allowing or denying, and a run with the
real polkitd, the shipped policy and rules, and the shipped bus policy."""

import glob
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

import harness
from harness import SOURCE, Stack, run, unique, virsh, vm_path

CREATE, MANAGE, DESTROY, OTHERS = harness.ACTIONS

# method -> (action for the owner, action for another user); None: open to all
MATRIX = {
    "org.projectvm.Manager.Create": (CREATE, CREATE),
    "org.projectvm.Manager.GetVM": (None, None),
    "org.projectvm.Manager.GetQuota": (None, None),
    "org.projectvm.Manager.DeleteKeptDisk": (DESTROY, OTHERS),
    "org.projectvm.VM.Start": (MANAGE, OTHERS),
    "org.projectvm.VM.Stop": (MANAGE, OTHERS),
    "org.projectvm.VM.Destroy": (DESTROY, OTHERS),
    "org.projectvm.VM.OpenConsole": (MANAGE, OTHERS),
}


def introspected_methods():
    methods = []
    for path in glob.glob(os.path.join(SOURCE, "introspection", "*.xml")):
        for iface in ET.parse(path).getroot().iter("interface"):
            for m in iface.iter("method"):
                methods.append(f"{iface.get('name')}.{m.get('name')}")
    return sorted(methods)


def test_every_method_has_a_row():
    assert introspected_methods() == sorted(MATRIX)


@pytest.fixture(scope="module")
def users():
    return {"owner": harness.ensure_user("pvm-alice"), "other": harness.ensure_user("pvm-bob")}


@pytest.fixture(scope="module")
def stack():
    with Stack(config_overrides={"defaults": {"memory-mib": "128"}}) as s:
        yield s


def call(stack, method, vm, uid):
    iface, _, member = method.rpartition(".")
    if iface == "org.projectvm.Manager":
        path = "/org/projectvm/Manager"
        args = ([unique("new"), "{}"] if member == "Create" else
                [vm, "{}"] if member == "DeleteKeptDisk" else
                [str(uid or 0)] if member == "GetQuota" else [vm])
    else:
        path = vm_path(vm)
        args = ["{'force': <true>}"] if member == "Stop" else ["{}"]
    return stack.gdbus_call("org.projectvm", path, method, *args, check=False, uid=uid)


@pytest.mark.parametrize("decision", ["allow", "deny"])
@pytest.mark.parametrize("who", ["owner", "other"])
@pytest.mark.parametrize("method", sorted(MATRIX))
def test_matrix(stack, users, method, who, decision):
    stack.polkit_allow([CREATE])
    vm = unique("m")
    assert stack.create(vm, uid=users["owner"]).returncode == 0
    if method.endswith("OpenConsole"):
        stack.cli("start", vm)          # a console needs a running VM
        harness.wait_for(lambda: stack.vm_props(vm)["State"] == "running",
                         timeout=5, what="the running state")
    kept = method.endswith("DeleteKeptDisk")
    if kept:                            # the owner's kept disk
        stack.polkit_allow(harness.ACTIONS)
        r = stack.cli("destroy", vm, "--keep-data", uid=users["owner"])
        assert r.returncode == 0, r.stderr
    expected_state = None if kept else stack.vm_props(vm)["State"]
    action = MATRIX[method][0 if who == "owner" else 1]
    if decision == "allow":
        stack.polkit_allow([action] if action else [])
    else:
        # everything but the one action this call needs
        stack.polkit_allow([a for a in harness.ACTIONS if a != action])
    before = stack.state_snapshot()
    r = call(stack, method, vm, users[who])
    try:
        if action is None or decision == "allow":
            assert r.returncode == 0, r.stderr
        else:
            assert r.returncode != 0
            assert "org.projectvm.Error.NotAuthorized" in r.stderr, r.stderr
            assert action in r.stderr, r.stderr
            assert stack.state_snapshot() == before
            assert (stack.vm_props(vm) or {}).get("State") == expected_state
    finally:
        stack.polkit_allow(harness.ACTIONS)
        stack.cli("destroy", vm, "--yes")        # as root
        stack.cli("disk", "delete", vm, "--yes")


def test_authorization_comes_before_validation(stack, users):
    stack.polkit_allow([CREATE])
    vm = unique("v")
    stack.create(vm, uid=users["owner"])
    stack.polkit_allow([])
    r = stack.gdbus_call("org.projectvm", "/org/projectvm/Manager",
                         "org.projectvm.Manager.Create", "Bad Name!", "{'x': <1>}",
                         check=False, uid=users["other"])
    assert "org.projectvm.Error.NotAuthorized" in r.stderr
    r = stack.gdbus_call("org.projectvm", vm_path(vm), "org.projectvm.VM.Start",
                         "{'wait': <'nonsense'>}", check=False, uid=users["other"])
    assert "org.projectvm.Error.NotAuthorized" in r.stderr
    r = stack.gdbus_call("org.projectvm", "/org/projectvm/Manager",
                         "org.projectvm.Manager.DeleteKeptDisk", "Bad Name!", "{'x': <1>}",
                         check=False, uid=users["other"])
    assert "org.projectvm.Error.NotAuthorized" in r.stderr
    stack.polkit_allow(harness.ACTIONS)


def test_cli_reports_not_authorized_in_one_line(stack, users):
    stack.polkit_allow([CREATE])
    vm = unique("c")
    stack.create(vm, uid=users["owner"])
    stack.polkit_allow([MANAGE])
    r = stack.cli("--no-ask-password", "stop", vm, uid=users["other"])
    assert r.returncode == 1
    assert r.stderr == (f'project-vm: not authorized for {OTHERS} on VM "{vm}"; '
                        "it is another user's VM: only an admin may do that\n")
    stack.polkit_allow(harness.ACTIONS)


def test_owner_4294967295_is_someone_else_not_nobody(stack, users):
    """(guint32)-1 once meant "no owner: skip manage-others"."""
    vm = unique("u")
    stack.define(vm, owner=4294967295)
    harness.wait_for(lambda: stack.vm_props(vm), timeout=10, what="the VM object")
    assert stack.vm_props(vm)["Owner"] == 4294967295
    stack.polkit_allow([CREATE, MANAGE, DESTROY])
    try:
        for method in ("org.projectvm.VM.Start", "org.projectvm.VM.Destroy"):
            r = call(stack, method, vm, users["owner"])
            assert "org.projectvm.Error.NotAuthorized" in r.stderr, (method, r.stderr)
            assert OTHERS in r.stderr, r.stderr
        assert stack.vm_props(vm)["State"] == "shutoff"
    finally:
        stack.polkit_allow(harness.ACTIONS)
        harness.virsh("undefine", f"project-{vm}", check=False)


def test_real_polkitd_with_the_shipped_policy_rules_and_bus_policy():
    alice = harness.ensure_user("pvm-alice", groups=["project-vm"])
    carol = harness.ensure_user("pvm-carol", groups=["project-vm"])
    bob = harness.ensure_user("pvm-bob")
    with Stack(polkit="real", bus="system",
               config_overrides={"defaults": {"memory-mib": "128"}}) as stack:
        vm = unique("rp")
        r = stack.cli("--no-ask-password", "create", vm, uid=alice)
        assert r.returncode == 0, r.stderr
        stack.created_domains.add(f"project-{vm}")
        assert stack.vm_props(vm)["Owner"] == alice
        # group members manage their own VM without a password
        r = stack.cli("--no-ask-password", "start", vm, uid=alice)
        assert r.returncode == 0, r.stderr
        r = stack.cli("--no-ask-password", "stop", vm, "--force", uid=alice)
        assert r.returncode == 0 and "forced" in r.stdout, r.stderr
        # not in the group: no session, so auth_admin_keep -> denied
        r = stack.cli("--no-ask-password", "create", unique("x"), uid=bob)
        assert r.returncode == 1 and f"not authorized for {CREATE}" in r.stderr
        # another user's VM needs an administrator, group or not
        for uid in (bob, carol):
            r = stack.cli("--no-ask-password", "start", vm, uid=uid)
            assert r.returncode == 1 and f"not authorized for {OTHERS}" in r.stderr, r.stderr
        assert stack.vm_props(vm)["State"] == "shutoff"
        # reading stays open to everybody
        r = stack.cli("status", vm, uid=bob)
        assert r.returncode == 0 and "pvm-alice" in r.stdout
        # root is the administrator
        assert stack.cli("start", vm).returncode == 0
        assert stack.cli("stop", vm, "--force").returncode == 0
        r = stack.cli("--no-ask-password", "destroy", vm, "--yes", uid=alice)
        assert r.returncode == 0, r.stderr
        # the bus policy: only root may own the name
        r = run(stack.as_user([harness.DAEMON, "--config", stack.config_path, "--replace"], bob),
                env=stack.env, check=False, timeout=20)
        assert r.returncode == 1 and "could not own org.projectvm" in r.stderr, r.stderr
    assert not os.path.exists("/etc/polkit-1/rules.d/50-project-vm.rules")
    assert not os.path.exists("/usr/share/polkit-1/actions/org.projectvm.policy")
