"""Quotas: [quota], [quota user NAME], [quota group NAME]; Create refused
with QuotaExceeded (naming the limit, the use and the ask) and nothing made;
Manager.GetQuota; project-vm quota; two Creates in flight cannot both
squeeze under a limit. No guest boots: Create only defines."""

import json
import os
import subprocess

import pytest

import harness
from harness import Stack, unique, wait_for

# alice: [quota] only. bob: his own section (vms) beats his groups; for the
# other keys the most generous of his groups wins (big's memory-mib=0 is no
# limit). carol: in small only, and one Create at a time.
QUOTA = {
    "quota": {"vms": "2", "memory-mib": "1024", "cpus": "3", "disk-gib": "10"},
    "quota user pvmq-bob": {"vms": "1"},
    "quota user pvmq-carol": {"creates-in-flight": "1"},
    "quota group pvmq-small": {"vms": "3", "memory-mib": "2048", "cpus": "4"},
    "quota group pvmq-big": {"vms": "5", "memory-mib": "0", "cpus": "6"},
}
# every VM below: 256 MiB, 1 vCPU, 1 GiB project disk + 2 GiB system disk
SMALL = {"memory-mib": 256, "cpus": 1, "disk-gib": 1, "root-gib": 2}
QUOTA_EXCEEDED = "org.projectvm.Error.QuotaExceeded"


@pytest.fixture(scope="module")
def users():
    return {
        "alice": harness.ensure_user("pvmq-alice"),
        "bob": harness.ensure_user("pvmq-bob", groups=["pvmq-small", "pvmq-big"]),
        "carol": harness.ensure_user("pvmq-carol", groups=["pvmq-small"]),
    }


@pytest.fixture(scope="module")
def pause_file():
    import tempfile
    d = tempfile.mkdtemp(prefix="pvmq-pause-")
    yield os.path.join(d, "pause")
    import shutil
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(users, pause_file):
    with Stack(config_overrides=QUOTA,
               daemon_env={"PVM_TEST_PAUSE_CREATE": pause_file}) as s:
        yield s


@pytest.fixture(autouse=True)
def clean(stack):
    yield
    for dom in stack.project_domains():
        stack.cli("destroy", dom[len("project-"):], "--yes")
    r = stack.cli("disk", "list", "--json")
    for d in json.loads(r.stdout or "[]"):
        stack.cli("disk", "delete", d["name"], "--yes")


def variant_dict(options):
    parts = []
    for k, v in options.items():
        t = "uint32" if k == "cpus" else "uint64"
        parts.append(f"'{k}': <{t} {v}>")
    return "{" + ", ".join(parts) + "}"


def create_cmd(stack, name, uid, **options):
    opts = {**SMALL, **options}
    cmd = ["gdbus", "call", "--system", "--dest", "org.projectvm", "--object-path",
           "/org/projectvm/Manager", "--method", "org.projectvm.Manager.Create",
           name, variant_dict(opts)]
    stack.created_domains.add(f"project-{name}")
    return stack.as_user(cmd, uid)


def create(stack, name, uid=None, **options):
    return harness.run(create_cmd(stack, name, uid, **options), env=stack.env, check=False)


def get_quota(stack, uid, caller=None):
    r = stack.busctl("--json=short", "call", "org.projectvm", "/org/projectvm/Manager",
                     "org.projectvm.Manager", "GetQuota", "u", str(uid), uid=caller)
    limits, used = json.loads(r.stdout)["data"]
    return ({k: v["data"] for k, v in limits.items()},
            {k: v["data"] for k, v in used.items()})


def refused(r, message):
    assert r.returncode != 0
    assert QUOTA_EXCEEDED in r.stderr, r.stderr
    assert message in r.stderr, r.stderr


def test_limits_resolve_user_then_most_generous_group_then_default(stack, users):
    assert get_quota(stack, users["alice"])[0] == {
        "vms": 2, "memory-mib": 1024, "cpus": 3, "disk-gib": 10, "creates-in-flight": 0}
    # own section: vms; groups small+big: the more generous (memory 0 = none)
    assert get_quota(stack, users["bob"])[0] == {
        "vms": 1, "memory-mib": 0, "cpus": 6, "disk-gib": 10, "creates-in-flight": 0}
    assert get_quota(stack, users["carol"])[0] == {
        "vms": 3, "memory-mib": 2048, "cpus": 4, "disk-gib": 10, "creates-in-flight": 1}
    assert get_quota(stack, 0)[0] == {
        "vms": 0, "memory-mib": 0, "cpus": 0, "disk-gib": 0, "creates-in-flight": 0}
    # open to every local user, about anyone
    assert get_quota(stack, users["bob"], caller=users["alice"])[0]["vms"] == 1


def test_vms_limit_refused_with_nothing_changed(stack, users):
    alice = users["alice"]
    for _ in range(2):
        r = create(stack, unique("qa"), alice)
        assert r.returncode == 0, r.stderr
    assert get_quota(stack, alice)[1] == {
        "vms": 2, "memory-mib": 512, "cpus": 2, "disk-gib": 6, "creates-in-flight": 0}
    before = stack.state_snapshot()
    r = create(stack, unique("qa"), alice)
    refused(r, "quota exceeded: vms: you have 2 of 2 VMs and this asks for 1 more")
    assert stack.state_snapshot() == before
    # the CLI says it in one line
    r = stack.cli("--no-ask-password", "create", unique("qa"), uid=alice)
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == ("project-vm: quota exceeded: vms: you have 2 "
                                         "of 2 VMs and this asks for 1 more"), r.stderr
    assert stack.state_snapshot() == before


def test_memory_cpus_disk_limits_exact_numbers(stack, users):
    alice = users["alice"]
    assert create(stack, unique("qm"), alice, **{"memory-mib": 512}).returncode == 0
    before = stack.state_snapshot()
    refused(create(stack, unique("qm"), alice, **{"memory-mib": 768}),
            "quota exceeded: memory-mib: you use 512 MiB of 1024 MiB "
            "and this VM asks for 768 MiB")
    refused(create(stack, unique("qm"), alice, cpus=3),
            "quota exceeded: cpus: you use 1 vCPUs of 3 vCPUs and this VM asks for 3 vCPUs")
    refused(create(stack, unique("qm"), alice, **{"disk-gib": 6}),
            "quota exceeded: disk-gib: you use 3 GiB of 10 GiB and this VM asks for 8 GiB")
    assert stack.state_snapshot() == before
    # exactly at every limit is allowed
    r = create(stack, unique("qm"), alice, **{"memory-mib": 512, "cpus": 2, "disk-gib": 5})
    assert r.returncode == 0, r.stderr
    assert get_quota(stack, alice)[1] == {
        "vms": 2, "memory-mib": 1024, "cpus": 3, "disk-gib": 10, "creates-in-flight": 0}


def test_kept_disks_count_against_disk(stack, users):
    alice = users["alice"]
    name = unique("qk")
    assert create(stack, name, alice, **{"disk-gib": 4}).returncode == 0
    r = stack.cli("--no-ask-password", "destroy", name, "--keep-data", uid=alice)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: get_quota(stack, alice)[1]["vms"] == 0, timeout=10, what="the destroy")
    assert get_quota(stack, alice)[1]["disk-gib"] == 4
    refused(create(stack, unique("qk"), alice, **{"disk-gib": 5}),
            "quota exceeded: disk-gib: you use 4 GiB of 10 GiB and this VM asks for 7 GiB")
    # her own kept disk is attached again, not counted twice: 4 + 2
    r = create(stack, name, alice, **{"disk-gib": 9})
    assert r.returncode == 0, r.stderr
    assert get_quota(stack, alice)[1]["disk-gib"] == 6


def test_user_section_beats_groups_and_the_most_generous_group_wins(stack, users):
    bob = users["bob"]
    # memory unlimited (big: 0), cpus 6 (big) over small's 4 and [quota]'s 3
    r = create(stack, unique("qb"), bob, **{"memory-mib": 8192, "cpus": 5})
    assert r.returncode == 0, r.stderr
    # vms=1 from his own section, over the groups' 3 and 5
    refused(create(stack, unique("qb"), bob),
            "quota exceeded: vms: you have 1 of 1 VMs and this asks for 1 more")


def test_root_is_never_limited(stack):
    # other project VMs on this host (root's) count too: compare
    vms = get_quota(stack, 0)[1]["vms"]
    for _ in range(3):
        r = create(stack, unique("qr"), None, **{"memory-mib": 2048, "cpus": 4,
                                                  "disk-gib": 20})
        assert r.returncode == 0, r.stderr
    assert get_quota(stack, 0)[1]["vms"] == vms + 3


def test_cli_quota(stack, users):
    alice = users["alice"]
    assert create(stack, unique("qc"), alice).returncode == 0
    r = stack.cli("quota", uid=alice)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "LIMIT                  USED      MAX",
        "vms                       1        2",
        "memory-mib              256     1024",
        "cpus                      1        3",
        "disk-gib                  3       10",
        "creates-in-flight         0        -",
    ]
    r = stack.cli("quota", "--json", "pvmq-bob", uid=alice)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "uid": users["bob"], "user": "pvmq-bob",
        "limits": {"vms": 1, "memory-mib": 0, "cpus": 6, "disk-gib": 10,
                   "creates-in-flight": 0},
        "used": {"vms": 0, "memory-mib": 0, "cpus": 0, "disk-gib": 0,
                 "creates-in-flight": 0}}
    r = stack.cli("quota", "nobody-such-user-pvmq", uid=alice)
    assert r.returncode == 2 and "no user" in r.stderr


def paused_create(stack, pause_file, name, uid, **options):
    """Starts a Create that holds in its worker until pause_file goes."""
    offset = len(stack.log())
    open(pause_file, "w").close()
    p = subprocess.Popen(create_cmd(stack, name, uid, **options), env=stack.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: f"{name}: Create paused" in stack.log()[offset:], timeout=20,
             what="the first Create to pause in its worker")
    return p


def test_two_concurrent_creates_cannot_both_squeeze_under(stack, users, pause_file):
    alice = users["alice"]
    assert create(stack, unique("qx"), alice).returncode == 0
    first = unique("qx")
    p = paused_create(stack, pause_file, first, alice)
    try:
        # the first is in flight: it counts as used
        assert get_quota(stack, alice)[1] == {
            "vms": 2, "memory-mib": 512, "cpus": 2, "disk-gib": 6, "creates-in-flight": 1}
        second = create(stack, unique("qx"), alice)
        refused(second, "quota exceeded: vms: you have 2 of 2 VMs and this asks for 1 more")
    finally:
        os.unlink(pause_file)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert stack.vm_props(first)["Owner"] == alice
    assert get_quota(stack, alice)[1] == {
        "vms": 2, "memory-mib": 512, "cpus": 2, "disk-gib": 6, "creates-in-flight": 0}


def test_creates_in_flight_over_the_limit_is_busy(stack, users, pause_file):
    carol = users["carol"]
    first = unique("qf")
    p = paused_create(stack, pause_file, first, carol)
    try:
        before = stack.state_snapshot()
        r = create(stack, unique("qf"), carol)
        assert r.returncode != 0
        assert "org.projectvm.Error.Busy" in r.stderr, r.stderr
        assert ("quota: creates-in-flight: you have 1 Creates under way, at most 1 "
                "at a time") in r.stderr, r.stderr
        assert stack.state_snapshot() == before
    finally:
        os.unlink(pause_file)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    # once it has ended, the next one goes
    assert create(stack, unique("qf"), carol).returncode == 0


@pytest.mark.parametrize("section, key, value, message", [
    ("quota", "vms", "many",
     '[quota] vms: "many" is not a whole number from 0 to 1099511627776'),
    ("quota user pvmq-alice", "memory", "1",
     "[quota user pvmq-alice] memory: unknown key"),
    ("quota group pvmq-big", "cpu", "1",
     "[quota group pvmq-big] cpu: unknown key (did you mean cpus?)"),
    ("quota user", "vms", "1", "[quota user]: unknown section"),
])
def test_bad_quota_config_is_refused(section, key, value, message):
    s = Stack(config_overrides={section: {key: value}})
    try:
        path = s.write_config()
        r = harness.run([harness.DAEMON, "--config", path], check=False, timeout=20,
                        env=s.env)
        assert r.returncode != 0
        assert f"{path}: {message}" in r.stderr, r.stderr
    finally:
        s.cleanup()
