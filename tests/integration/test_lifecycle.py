"""Start, stop, console, addresses and ssh on a real booting guest."""

import json
import os
import re
import subprocess
import threading
import time

import pytest

import guest
import harness
from harness import Stack, run, unique, virsh, wait_for


@pytest.fixture(scope="module")
def stack():
    images = guest.tiny_images()
    with Stack(images=images, config_overrides={"defaults": {"memory-mib": "192"}}) as s:
        yield s


def make(stack, image="tiny"):
    name = unique("lc")
    stack.create(name, "--image", image)
    return name


def state(stack, name):
    return stack.vm_props(name)["State"]


def test_start_wait_returns_after_the_guest_signalled(stack):
    name = make(stack)
    mon = stack.cli_popen("monitor", "--json")
    mon.stderr.readline()
    t0 = time.monotonic()
    r = stack.cli("start", name, "--wait", "--timeout", "120")
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert f"{name} is running; cloud-init finished" in r.stdout
    props = stack.vm_props(name)
    assert props["CloudInit"] == "done" and props["State"] == "running"
    log = open(stack.vol_path(name, "console")).read()
    assert "PROJECT_VM_READY" in log
    print(f"start --wait took {elapsed:.1f}s")
    # stopping: graceful (ACPI), and monitor saw both transitions
    r = stack.cli("stop", name)
    assert r.returncode == 0 and r.stdout.strip() == f"{name} stopped: graceful", r.stdout + r.stderr
    assert state(stack, name) == "shutoff"
    assert stack.vm_props(name)["CloudInit"] == "unknown"
    time.sleep(0.3)
    mon.terminate()
    events = [json.loads(line) for line in mon.communicate()[0].splitlines()]
    mine = [(e["previous"], e["state"], e["reason"]) for e in events
            if e["vm"] == name and e["event"] == "state-changed"]
    assert ("shutoff", "running", "booted") in mine
    assert mine[-1][1] == "shutoff" and mine[-1][2] == "shutdown"


def test_a_stale_marker_from_the_last_boot_never_counts(stack):
    name = make(stack)
    assert stack.cli("start", name, "--wait", "--timeout", "120").returncode == 0
    assert stack.cli("stop", name, "--force").returncode == 0
    # the old boot's log still holds the marker; a new start must not see it
    r = stack.cli("start", name)
    assert r.returncode == 0
    assert stack.vm_props(name)["CloudInit"] == "pending"
    r = stack.cli("start", name, "--wait", "--timeout", "120")
    assert r.returncode == 0
    assert stack.vm_props(name)["CloudInit"] == "done"
    stack.cli("stop", name, "--force")


def test_start_of_a_running_vm_changes_nothing(stack):
    name = make(stack)
    assert stack.cli("start", name).returncode == 0
    boot = virsh("domid", f"project-{name}").stdout.strip()
    r = stack.cli("start", name)
    assert r.returncode == 0
    assert virsh("domid", f"project-{name}").stdout.strip() == boot
    stack.cli("stop", name, "--force")


def test_a_guest_that_never_signals_times_out_and_keeps_running(stack):
    name = make(stack, "tiny-silent")
    t0 = time.monotonic()
    r = stack.cli("start", name, "--wait", "--timeout", "6")
    assert r.returncode == 1
    assert 5 <= time.monotonic() - t0 < 30
    assert "cloud-init did not finish" in r.stderr and r.stderr.count("\n") == 1
    r2 = stack.gdbus_call("org.projectvm", harness.vm_path(name), "org.projectvm.VM.Start",
                          "{'wait': <true>, 'timeout-sec': <uint32 2>}", check=False)
    assert "org.projectvm.Error.Timeout" in r2.stderr
    assert state(stack, name) == "running"
    assert stack.vm_props(name)["CloudInit"] == "pending"
    stack.cli("stop", name, "--force")


def test_stop_forces_a_guest_that_ignores_acpi(stack):
    name = make(stack, "tiny-noacpi")
    assert stack.cli("start", name, "--wait", "--timeout", "120").returncode == 0
    t0 = time.monotonic()
    r = stack.cli("stop", name, "--timeout", "3")
    assert r.returncode == 0 and r.stdout.strip() == f"{name} stopped: forced", r.stdout + r.stderr
    assert 3 <= time.monotonic() - t0 < 20
    assert state(stack, name) == "shutoff"


def test_stop_outcomes(stack):
    name = make(stack)
    r = stack.cli("stop", name)
    assert r.stdout.strip() == f"{name} stopped: already-stopped"
    assert stack.cli("start", name).returncode == 0
    # the reply comes after the properties are true, not before the event
    assert state(stack, name) == "running"
    r = stack.cli("stop", name, "--force")
    assert r.stdout.strip() == f"{name} stopped: forced"
    assert state(stack, name) == "shutoff"


def test_addresses_ssh_target_and_ssh(stack):
    name = make(stack)
    r = stack.cli("ssh", name)
    assert r.returncode == 1 and "no address is known" in r.stderr
    assert stack.cli("start", name, "--wait", "--timeout", "120").returncode == 0
    props = wait_for(lambda: (p := stack.vm_props(name))["Addresses"] and p,
                     timeout=30, what="an address")
    addr = props["Addresses"][0]
    assert re.match(r"^192\.168\.122\.\d+$", addr), addr
    assert props["SshTarget"] == f"dev@{addr}"
    leases = virsh("net-dhcp-leases", "default").stdout
    assert addr in leases
    # ssh -G prints the options ssh would use, without connecting
    r = stack.cli("ssh", name, "--", "-G")
    assert r.returncode == 0, r.stderr
    assert "user dev" in r.stdout and f"hostname {addr}" in r.stdout
    stack.cli("stop", name, "--force")
    assert stack.vm_props(name)["Addresses"] == []


def test_console_output_and_input(stack):
    name = make(stack)
    assert stack.cli("start", name, "--wait", "--timeout", "120").returncode == 0
    p = subprocess.Popen(stack.as_user([harness.CLI, "console", name], None), env=stack.env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b""
    try:
        time.sleep(1)
        p.stdin.write(b"\necho TYPED$((40+2))\n")
        p.stdin.flush()
        deadline = time.monotonic() + 20
        os.set_blocking(p.stdout.fileno(), False)
        while b"TYPED42" not in out and time.monotonic() < deadline:
            chunk = p.stdout.read()
            if chunk:
                out += chunk
            time.sleep(0.1)
    finally:
        p.kill()
        p.wait()
    assert b"TYPED42" in out, out[-500:]
    stack.cli("stop", name, "--force")


def test_busy_while_waiting_and_destroy_ends_the_wait(stack):
    name = make(stack, "tiny-silent")
    waiter = stack.cli_popen("start", name, "--wait", "--timeout", "120")
    wait_for(lambda: state(stack, name) == "running", timeout=20, what="running")
    time.sleep(0.5)
    r = stack.cli("stop", name)
    assert r.returncode == 1 and "busy" in r.stderr, r.stderr
    r = stack.gdbus_call("org.projectvm", harness.vm_path(name), "org.projectvm.VM.Stop",
                         "{}", check=False)
    assert "org.projectvm.Error.Busy" in r.stderr
    r = stack.cli("destroy", name, "--yes")
    assert r.returncode == 0, r.stderr
    out, err = waiter.communicate(timeout=20)
    assert waiter.returncode == 1
    assert "destroyed while waiting" in err
    assert f"project-{name}" not in virsh("list", "--all", "--name").stdout.split()


def test_lifecycle_options_are_checked(stack):
    name = make(stack)
    path = harness.vm_path(name)
    for method, opts, msg in (
            ("Start", "{'wait': <'yes'>}", "must be of type b"),
            ("Start", "{'timeout-sec': <uint64 5>}", "must be of type u"),
            ("Start", "{'timeout-sec': <uint32 0>}", "out of range"),
            ("Stop", "{'force': <1>}", "must be of type b"),
            ("Stop", "{'bogus': <true>}", 'unknown option "bogus"'),
            ("Destroy", "{'keep-data': <'no'>}", "must be of type b"),
            ("OpenConsole", "{'x': <1>}", 'unknown option "x"')):
        r = stack.gdbus_call("org.projectvm", path, f"org.projectvm.VM.{method}", opts,
                             check=False)
        assert "org.projectvm.Error.InvalidArgument" in r.stderr and msg in r.stderr, (method, r.stderr)
    assert state(stack, name) == "shutoff"
    assert stack.vm_props(name) is not None
