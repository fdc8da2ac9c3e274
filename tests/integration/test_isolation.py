"""[libvirt] isolate-guests on real tiny guests: the clean-traffic filter and
isolated ports keep guests apart, and a guest that spoofs its address or MAC
loses its traffic, while DHCP and the host still work for well-behaved ones.

Guests are driven through `project-vm console` (busybox ping on their
shell); the host side pings with a raw ICMP socket (the host has no ping)."""

import os
import re
import select
import socket
import struct
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

import guest
import harness
from harness import Stack, unique, virsh, wait_for

HOST_IP = "192.168.122.1"   # libvirt's network `default`


def stack_for(isolate):
    overrides = {"defaults": {"memory-mib": "192"}}
    if isolate is not None:
        overrides["libvirt"] = {"isolate-guests": "true" if isolate else "false"}
    return Stack(images=guest.tiny_images(), config_overrides=overrides)


def interface(name):
    dom = ET.fromstring(virsh("dumpxml", f"project-{name}").stdout)
    ifaces = dom.findall("./devices/interface")
    assert len(ifaces) == 1
    return ifaces[0]


def is_isolated(iface):
    filt = iface.find("filterref")
    port = iface.find("port")
    return (filt is not None and filt.get("filter") == "clean-traffic",
            port is not None and port.get("isolated") == "yes")


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def host_ping(addr, timeout=2.0, tries=2):
    """True when ADDR answers an ICMP echo from the host within TIMEOUT."""
    ident = os.getpid() & 0xFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        for seq in range(tries):
            payload = uuid.uuid4().bytes
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            packet = struct.pack("!BBHHH", 8, 0, icmp_checksum(header + payload),
                                 ident, seq) + payload
            s.sendto(packet, (addr, 0))
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                if not select.select([s], [], [], left)[0]:
                    break
                data, (src, _) = s.recvfrom(2048)
                icmp = data[(data[0] & 0x0F) * 4:]
                if src == addr and icmp[0] == 0 and icmp[8:] == payload:
                    return True
    return False


class Console:
    """A guest's root shell over `project-vm console`."""

    def __init__(self, stack, name):
        self.p = subprocess.Popen([harness.CLI, "console", name], env=stack.env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        os.set_blocking(self.p.stdout.fileno(), False)
        self.out = b""
        time.sleep(1)   # QEMU reads the pty only once it sees it open

    def run(self, cmd, timeout=30):
        """Runs CMD on the guest's shell; its exit status."""
        tag = uuid.uuid4().hex[:8]
        # The tty echoes the line with $? unexpanded: only the result matches.
        self.p.stdin.write(f"\n{cmd}; echo R=$?={tag}\n".encode())
        self.p.stdin.flush()
        pattern = re.compile(rf"R=(\d+)={tag}".encode())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self.p.stdout.read()
            if chunk:
                self.out += chunk
                m = pattern.search(self.out)
                if m:
                    self.last, self.out = self.out[:m.start()], self.out[m.end():]
                    return int(m.group(1))
            time.sleep(0.1)
        raise AssertionError(f"no answer to {cmd!r}: {self.out[-500:]!r}")

    def pings(self, addr):
        return self.run(f"ping -c 2 -W 2 {addr} >/dev/null") == 0

    def close(self):
        self.p.kill()
        self.p.wait()


class Guest:
    def __init__(self, stack, name):
        self.stack, self.name = stack, name
        self.addr = None
        self.console = None


def boot(stack, prefix, count):
    """COUNT guests, started together; each with its DHCP address (the
    Addresses property) and a console."""
    guests = [Guest(stack, unique(prefix)) for _ in range(count)]
    for g in guests:
        stack.create(g.name, "--image", "tiny")
    starts = [stack.cli_popen("start", g.name, "--wait", "--timeout", "180") for g in guests]
    for p in starts:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
    for g in guests:
        g.addr = wait_for(lambda: stack.vm_props(g.name)["Addresses"], timeout=60,
                          what=f"a DHCP address for {g.name}")[0]
        assert re.match(r"^192\.168\.122\.\d+$", g.addr), g.addr
        g.console = Console(stack, g.name)
    return guests


def shut(guests):
    for g in guests:
        if g.console:
            g.console.close()
        g.stack.cli("stop", g.name, "--force")


def booted(isolate, prefix):
    t0 = time.monotonic()
    with stack_for(isolate) as s:
        guests = boot(s, prefix, 2)
        print(f"two guests ({prefix}) booted in {time.monotonic() - t0:.1f}s")
        yield guests
        shut(guests)


@pytest.fixture(scope="module")
def isolated():
    """Two booted guests A and B under the default (isolate-guests unset)."""
    yield from booted(None, "iso")


@pytest.fixture(scope="module")
def open_():
    """The control: two booted guests with isolate-guests=false, where every
    check below must come out the other way (so the tests can fail)."""
    yield from booted(False, "open")


@pytest.fixture(params=["isolated", "open_"])
def pair(request):
    return request.param == "isolated", request.getfixturevalue(request.param)


def test_the_domain_of_a_new_vm_is_isolated_unless_configured_off():
    for isolate, expected in ((None, (True, True)), (False, (False, False))):
        with stack_for(isolate) as s:
            name = unique("isox")
            s.create(name, "--image", "tiny")
            assert is_isolated(interface(name)) == expected, isolate


# The outside is not checked: this sandbox's only way out is Debian's
# archive, which a test has no business loading from guests.
def test_guests_get_dhcp_and_reach_the_host(pair):
    isolate, guests = pair
    for g in guests:
        assert is_isolated(interface(g.name)) == (isolate, isolate)
        if isolate:
            # the filter is bound to the running guest's tap device
            tap = interface(g.name).find("target").get("dev")
            assert tap in virsh("nwfilter-binding-list").stdout
        assert g.addr in virsh("net-dhcp-leases", "default").stdout
        assert host_ping(g.addr), g.name
        assert g.console.pings(HOST_IP), g.name


def test_isolated_guests_cannot_reach_each_other(pair):
    isolate, (a, b) = pair
    assert a.console.pings(b.addr) is not isolate
    assert b.console.pings(a.addr) is not isolate


def test_a_guest_that_takes_another_ip_loses_its_traffic(pair):
    isolate, (a, b) = pair
    other = "192.168.122.253" if a.addr != "192.168.122.253" else "192.168.122.252"
    assert a.console.run(f"ip -4 addr flush dev eth0 && ip addr add {other}/24 dev eth0") == 0
    try:
        assert a.console.pings(HOST_IP) is not isolate
        assert host_ping(other) is not isolate
        assert b.console.pings(HOST_IP) and host_ping(b.addr)
    finally:
        # Back to its own address: the filter lets it through again.
        assert a.console.run(f"ip -4 addr flush dev eth0 && ip addr add {a.addr}/24 dev eth0"
                             f" && ip route add default via {HOST_IP}") == 0
    assert a.console.pings(HOST_IP) and host_ping(a.addr)


def test_a_guest_that_changes_its_mac_loses_its_traffic(pair):
    isolate, (a, b) = pair
    # The unsolicited ARP tells the host the new MAC (when it gets through).
    assert b.console.run("ip link set eth0 address 52:54:00:de:ad:01"
                         f" && arping -U -c 1 -I eth0 {b.addr} >/dev/null") == 0
    assert b.console.pings(HOST_IP) is not isolate
    assert host_ping(b.addr) is not isolate
    assert a.console.pings(HOST_IP) and host_ping(a.addr)
