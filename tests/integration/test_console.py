"""A console that cannot stall the service: while the tiny guest floods its
serial console, a console client that reads 4 KiB every 0.9 s, or one that
never reads, costs every other caller nothing: list, status and Create
answer at once, the service's memory stays flat, and the slow client is
never cut off (after the flood it sees new output and can still type)."""

import os
import socket
import statistics
import threading
import time

import gi
import pytest

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

import guest  # noqa: E402
import harness  # noqa: E402
from harness import Stack, unique, vm_path  # noqa: E402

FLOOD_SEC = 8          # guest seconds of `yes` on the console
WINDOW_SEC = 5         # of measuring, from 1.5 s into the flood
# The callers' budget (the issue's) is 100 ms; what the test measures
# includes starting the CLI process, 6-20 ms on this shared 2-core host
# with the flooding TCG guest taking one core. The bridge that waited on a
# slow client made list wait ~760 ms (median, measured with this test);
# p90 < 100 ms separates the two, and a max < 600 ms allows one scheduling
# hiccup of a host other jobs load (one of 333 ms was seen) but no stall.
# Create does real work (overlay, seed, define: 50-140 ms here when idle,
# one sample each), so it gets MAX_MS on top of a Create made just before.
P90_MS = 100
MAX_MS = 600
RSS_SLACK_KIB = 16 * 1024


@pytest.fixture(scope="module")
def stack():
    # Under ASan (tests/run-hardening.sh) freed memory waits in a 256 MiB
    # quarantine, which RSS would count; a small one keeps RSS meaningful.
    # Other builds ignore the variable.
    asan = os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"
    with Stack(images=guest.tiny_images(), daemon_env={"ASAN_OPTIONS": asan},
               config_overrides={"defaults": {"memory-mib": "192"}}) as s:
        yield s


@pytest.fixture(scope="module")
def vm(stack):
    name = unique("con")
    stack.create(name)
    r = stack.cli("start", name, "--wait", "--timeout", "120")
    assert r.returncode == 0, r.stderr
    return name


def open_console(stack, name):
    """OpenConsole as its own client, so the test decides when to read."""
    conn = Gio.DBusConnection.new_for_address_sync(
        stack.bus_address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
    reply, fds = conn.call_with_unix_fd_list_sync(
        "org.projectvm", vm_path(name), "org.projectvm.VM", "OpenConsole",
        GLib.Variant("(a{sv})", ({},)), GLib.VariantType("(h)"),
        Gio.DBusCallFlags.NONE, 10000, None, None)
    fd = fds.get(reply.unpack()[0])
    conn.close_sync(None)
    return socket.socket(fileno=fd)


def read_until(sock, marker, timeout):
    sock.setblocking(False)
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out = (out + chunk)[-65536:]
        except BlockingIOError:
            time.sleep(0.02)
    return marker in out, out


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def timed_ms(stack, *args):
    t0 = time.monotonic()
    r = stack.cli(*args)
    ms = (time.monotonic() - t0) * 1000
    assert r.returncode == 0, r.stderr
    return ms


def p90(values):
    return sorted(values)[int(0.9 * (len(values) - 1))]


def console_log_bytes(stack, name):
    """What virtlogd wrote for this boot, its rotated files included."""
    base = stack.vol_path(name, "console")
    paths = [base] + [f"{base}.{i}" for i in range(10)]
    return sum(os.path.getsize(p) for p in paths if os.path.exists(p))


def slow_reader(sock, stop, got, empties):
    """Every 0.9 s reads 4 KiB, or (EMPTIES) all the socket holds: the
    client of the issue, which the old bridge waited for on the main loop
    (it cut off the 4 KiB reader, whose reads made too little room)."""
    sock.setblocking(False)
    while not stop.wait(0.9):
        try:
            while True:
                got.append(len(sock.recv(4096)))
                if not empties or not got[-1]:
                    break
        except BlockingIOError:
            pass


@pytest.mark.parametrize("reader", ["slow", "emptying", "never"])
def test_a_console_flood_stalls_no_other_caller(stack, vm, reader):
    sock = open_console(stack, vm)
    sock.sendall(b"\necho READY$((40+2))\n")
    ok, _ = read_until(sock, b"READY42", 20)
    assert ok, "the console answers before the flood"
    idle = [timed_ms(stack, "list") for _ in range(3)]
    idle_create = timed_ms(stack, "--no-ask-password", "create", unique("idle"),
                           "--image", "tiny")
    rss_before = rss_kib(stack.daemon.pid)
    log_before = console_log_bytes(stack, vm)

    sock.sendall(f"timeout {FLOOD_SEC} yes 0123456789abcdef\n".encode())
    flood_start = time.monotonic()
    stop, got = threading.Event(), []
    thread = None
    if reader != "never":
        thread = threading.Thread(target=slow_reader,
                                  args=(sock, stop, got, reader == "emptying"))
        thread.start()
    time.sleep(1.5)   # the socket and the service's buffer are full by now
    times = {"list": [], "status": []}
    end = time.monotonic() + WINDOW_SEC
    while time.monotonic() < end:
        times["list"].append(timed_ms(stack, "list"))
        times["status"].append(timed_ms(stack, "status", vm))
        if len(times["list"]) == 5:
            create = timed_ms(stack, "--no-ask-password", "create", unique("other"),
                              "--image", "tiny")
        time.sleep(0.1)
    rss_after = rss_kib(stack.daemon.pid)
    in_flood = time.monotonic() - flood_start
    flooded = console_log_bytes(stack, vm) - log_before
    stop.set()
    if thread:
        thread.join()

    print(f"\n{reader}: idle list {idle}, during the flood ({in_flood:.1f} s): " +
          ", ".join(f"{k} p50 {statistics.median(v):.0f} p90 {p90(v):.0f} "
                    f"max {max(v):.0f} ms" for k, v in times.items()) +
          f"; create {idle_create:.0f} ms idle, {create:.0f} ms in the flood"
          f"; the guest wrote {flooded} bytes, the slow reader got {sum(got)}"
          f"; RSS {rss_before} -> {rss_after} KiB")
    assert in_flood < FLOOD_SEC, "the measurements ran after the flood"
    assert flooded > 512 << 10, "the guest flooded its console"
    for what, values in times.items():
        assert p90(values) < P90_MS and max(values) < MAX_MS, (what, values)
    assert create < idle_create + MAX_MS
    assert rss_after - rss_before < RSS_SLACK_KIB

    # Not cut off: after the flood the same client sees new output and types.
    time.sleep(max(0.0, flood_start + FLOOD_SEC + 1 - time.monotonic()))
    sock.sendall(b"\necho AFTER$((40+2))\n")
    ok, tail = read_until(sock, b"AFTER42", 60)
    assert ok, tail[-300:]
    sock.close()
