#!/usr/bin/python3
"""project-vm benchmark: listing, libvirt calls, memory and create, side by
side with virsh, the seed bash tool's way and libvirt-dbus, in one run.

Run it through bench/run.sh (installs hyperfine, libvirt-dbus, genisoimage
and builds the small libvirt-dbus client). As root, with libvirtd for
qemu:///system; project-vmd comes from the build tree, on a private system
bus with python-dbusmock's polkitd (tests/integration/harness.py).

What it leaves behind: nothing. The N project domains it defines, the VMs it
creates, the private bus, project-vmd, libvirt-dbus and the storage pool go
away at the end, also when a step fails or the run is interrupted."""

import argparse
import collections
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
import harness  # noqa: E402

URI = harness.URI
CLI = harness.CLI

# libvirt's RPC programs (src/rpc, src/remote/remote_protocol.x).
REMOTE_PROGRAM = 0x20008086
QEMU_PROGRAM = 0x20008087
KEEPALIVE_PROGRAM = 0x6b656570
CALL_TYPES = {0, 4}          # VIR_NET_CALL, VIR_NET_CALL_WITH_FDS
EVENT_TYPE = 2               # VIR_NET_MESSAGE: an event libvirtd pushes
STREAM_TYPE = 3
# remote_procedure numbers of the calls seen in these runs (the numbers never
# change: remote_protocol.x only appends).
PROC_NAMES = {
    1: "CONNECT_OPEN", 2: "CONNECT_CLOSE", 9: "DOMAIN_CREATE", 11: "DOMAIN_DEFINE_XML",
    12: "DOMAIN_DESTROY", 14: "DOMAIN_GET_XML_DESC", 15: "DOMAIN_GET_AUTOSTART",
    16: "DOMAIN_GET_INFO", 19: "DOMAIN_GET_OS_TYPE", 23: "DOMAIN_LOOKUP_BY_NAME",
    24: "DOMAIN_LOOKUP_BY_UUID", 35: "DOMAIN_UNDEFINE", 37: "CONNECT_LIST_DOMAINS",
    46: "NETWORK_LOOKUP_BY_NAME", 56: "DOMAIN_GET_SCHEDULER_TYPE",
    60: "CONNECT_SUPPORTS_FEATURE", 66: "AUTH_LIST", 70: "AUTH_POLKIT",
    77: "STORAGE_POOL_DEFINE_XML", 78: "STORAGE_POOL_CREATE", 79: "STORAGE_POOL_BUILD",
    83: "STORAGE_POOL_REFRESH", 84: "STORAGE_POOL_LOOKUP_BY_NAME",
    88: "STORAGE_POOL_GET_XML_DESC", 90: "STORAGE_POOL_SET_AUTOSTART",
    93: "STORAGE_VOL_CREATE_XML", 94: "STORAGE_VOL_DELETE",
    95: "STORAGE_VOL_LOOKUP_BY_NAME", 98: "STORAGE_VOL_GET_INFO",
    100: "STORAGE_VOL_GET_PATH", 110: "CONNECT_GET_URI", 121: "DOMAIN_GET_SECURITY_LABEL",
    122: "NODE_GET_SECURITY_MODEL", 183: "DOMAIN_HAS_MANAGED_SAVE_IMAGE",
    150: "DOMAIN_IS_ACTIVE", 151: "DOMAIN_IS_PERSISTENT", 154: "STORAGE_POOL_IS_ACTIVE",
    157: "CONNECT_GET_LIB_VERSION", 159: "DOMAIN_MEMORY_STATS",
    167: "CONNECT_DOMAIN_EVENT_REGISTER_ANY", 168: "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY",
    200: "DOMAIN_GET_VCPUS_FLAGS", 202: "DOMAIN_IS_UPDATED", 208: "STORAGE_VOL_UPLOAD",
    212: "DOMAIN_GET_STATE", 229: "DOMAIN_GET_CONTROL_INFO", 231: "DOMAIN_UNDEFINE_FLAGS",
    234: "DOMAIN_DESTROY_FLAGS", 265: "DOMAIN_GET_METADATA",
    273: "CONNECT_LIST_ALL_DOMAINS", 278: "DOMAIN_GET_SECURITY_LABEL_LIST",
    313: "CONNECT_NETWORK_EVENT_REGISTER_ANY", 316: "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    317: "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", 318: "DOMAIN_EVENT_CALLBACK_LIFECYCLE",
    341: "NETWORK_GET_DHCP_LEASES", 342: "CONNECT_GET_DOMAIN_CAPABILITIES",
    344: "CONNECT_GET_ALL_DOMAIN_STATS", 350: "DOMAIN_DEFINE_XML_FLAGS",
    360: "CONNECT_REGISTER_CLOSE_CALLBACK", 361: "CONNECT_UNREGISTER_CLOSE_CALLBACK",
    368: "CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY", 374: "CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY",
    378: "STORAGE_VOL_GET_INFO_FLAGS", 380: "CONNECT_SECRET_EVENT_REGISTER_ANY",
    426: "DOMAIN_GET_MESSAGES",
}
MSG_RE = re.compile(r"^\S+ (\d\d):(\d\d):(\d\d\.\d+)\+\d+: \d+: \w+ : \w+:\d+ : "
                    r"(RPC_CLIENT_MSG_TX_QUEUE|RPC_CLIENT_MSG_RX): client=\S+ len=\d+ "
                    r"prog=(\d+) vers=\d+ proc=(\d+) type=(\d+)", re.M)
LOG_ENV = {"LIBVIRT_LOG_FILTERS": "1:rpc"}   # plus LIBVIRT_LOG_OUTPUTS=1:file:PATH


def proc_name(n):
    return PROC_NAMES.get(n, f"proc {n}")


class RpcLog:
    """A libvirt client log written with LIBVIRT_LOG_FILTERS=1:rpc: counts the
    RPC calls the client sent (RPC_CLIENT_MSG_TX_QUEUE of a call message of
    the remote or QEMU program; keepalive pings and stream data are not
    calls) and the events libvirtd pushed (RPC_CLIENT_MSG_RX, type message)
    between two marks."""

    def __init__(self, path):
        self.path = path

    def env(self):
        return {**LOG_ENV, "LIBVIRT_LOG_OUTPUTS": f"1:file:{self.path}"}

    def mark(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def window(self, start, end=None):
        try:
            with open(self.path, "rb") as f:
                f.seek(start)
                data = f.read() if end is None else f.read(end - start)
        except OSError:
            data = b""
        calls = collections.Counter()
        events = collections.Counter()
        streams = 0
        times = []
        for h, m, sec, kind, prog, proc, mtype in MSG_RE.findall(data.decode(errors="replace")):
            prog, proc, mtype = int(prog), int(proc), int(mtype)
            if prog not in (REMOTE_PROGRAM, QEMU_PROGRAM):
                continue
            if kind == "RPC_CLIENT_MSG_TX_QUEUE" and mtype in CALL_TYPES:
                calls[proc_name(proc)] += 1
                times.append(int(h) * 3600 + int(m) * 60 + float(sec))
            elif kind == "RPC_CLIENT_MSG_TX_QUEUE" and mtype == STREAM_TYPE:
                streams += 1
            elif kind == "RPC_CLIENT_MSG_RX" and mtype == EVENT_TYPE:
                events[proc_name(proc)] += 1
        return Window(calls, events, streams, times)


class Window:
    def __init__(self, calls, events, streams, times):
        self.calls, self.events, self.streams = calls, events, streams
        # seconds from the first call sent to the last one sent
        self.span = (max(times) - min(times)) % 86400 if times else 0.0

    @property
    def n(self):
        return sum(self.calls.values())

    @property
    def n_events(self):
        return sum(self.events.values())

    def breakdown(self):
        return ", ".join(f"{name} x{count}" for name, count in self.calls.most_common())


def say(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def sh(cmd, env=None, check=True, timeout=600):
    return subprocess.run(cmd, env=env, check=check, timeout=timeout,
                          capture_output=True, text=True)


# ---------------------------------------------------------------- domains --

class Domains:
    """The project domains this run defines straight in libvirt (never
    started) and the bash-made ones; undefined at the end whatever happens."""

    def __init__(self, tmp, tag):
        self.tmp = tmp
        self.prefix = f"project-bn{tag}-"
        self.names = []
        self.extra = []      # domains made by bash-create.sh

    def define_up_to(self, n):
        """Makes sure domains 0..n-1 are defined (again, after a failure)."""
        wanted = [f"{self.prefix}{i:03d}" for i in range(n)]
        # Record the names first, so a failure half way still undefines
        # what was made.
        self.names.extend(name for name in wanted if name not in self.names)
        listed = set(sh(["virsh", "-q", "-c", URI, "list", "--all", "--name"]).stdout.split())
        paths = []
        for i, name in enumerate(wanted):
            if name in listed:
                continue
            path = os.path.join(self.tmp, f"{name}.xml")
            with open(path, "w") as f:
                f.write(harness.domain_xml(name, memory_mib=128, created_at=1700000000 + i))
            paths.append(path)
        for chunk in range(0, len(paths), 50):     # one virsh per 50 domains
            sh(["virsh", "-q", "-c", URI, " ; ".join(f"define {p}" for p in paths[chunk:chunk + 50])])

    def cleanup(self):
        names = self.names + self.extra
        for attempt in range(3):
            if not names:
                break
            wait_libvirtd()
            for chunk in range(0, len(names), 50):
                script = " ; ".join(f"undefine {name} --nvram" for name in names[chunk:chunk + 50])
                sh(["virsh", "-q", "-c", URI, script], check=False)
            listed = sh(["virsh", "-q", "-c", URI, "list", "--all", "--name"], check=False)
            if listed.returncode != 0:
                continue
            names = [name for name in names if name in set(listed.stdout.split())]
        if names:
            say("WARNING: could not undefine", " ".join(names))
        self.names, self.extra = [], []


def wait_libvirtd(timeout=90):
    """Other programs may restart the shared libvirtd: wait for it."""
    try:
        harness.wait_for(lambda: sh(["virsh", "-c", URI, "version"], check=False).returncode == 0,
                         timeout=timeout, interval=0.5, what="libvirtd to answer")
    except AssertionError as e:
        say(f"WARNING: {e}")


@contextlib.contextmanager
def service_stack(**kw):
    """harness.Stack, closed even when libvirtd is away at the time (its
    close() lists domains with virsh and gives up when that fails)."""
    stack = harness.Stack(**kw)
    stack.__enter__()
    try:
        yield stack
    finally:
        wait_libvirtd()
        try:
            stack.close()
        except Exception as e:  # noqa: BLE001 - cleanup must go on
            say(f"WARNING: closing the stack: {e}; stopping its processes")
            for p in reversed(stack.procs):
                if p.poll() is None:
                    p.kill()
                    p.wait()
            wait_libvirtd()
            try:
                stack.cleanup()
            except Exception as e2:  # noqa: BLE001
                say(f"WARNING: cleaning up after the stack: {e2}")
            shutil.rmtree(stack.tmp, ignore_errors=True)


# ----------------------------------------------------------------- timing --

def hyperfine(commands, runs, env, warmup, tmp):
    """commands: [(label, argv string)]; returns {label: stats} in seconds."""
    out = os.path.join(tmp, f"hf-{uuid.uuid4().hex[:6]}.json")
    args = ["hyperfine", "-N", "--style", "none", "--runs", str(runs),
            "--warmup", str(warmup), "--export-json", out]
    for label, cmd in commands:
        args += ["-n", label, cmd]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError("hyperfine failed:\n" + r.stdout + r.stderr)
    data = json.load(open(out))
    return {res["command"]: {"median": res["median"], "mean": res["mean"],
                             "stddev": res.get("stddev") or 0.0, "min": res["min"],
                             "max": res["max"], "runs": len(res["times"])}
            for res in data["results"]}


def rss_kib(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


# ------------------------------------------------------------------ phases --

def start_libvirt_dbus(stack, log):
    """libvirt-dbus on the stack's private system bus (its only flags are
    --system/--session and --threads). The Stack stops it in close()."""
    err = open(os.path.join(stack.tmp, "libvirt-dbus.log"), "w")
    p = subprocess.Popen(["libvirt-dbus", "--system"], env={**stack.env, **log.env()},
                         stdout=err, stderr=err)
    stack.procs.append(p)
    harness.wait_for(lambda: stack.name_has_owner("org.libvirt") or p.poll() is not None,
                     timeout=20, what="libvirt-dbus on the bus")
    if p.poll() is not None:
        raise RuntimeError("libvirt-dbus exited: " + open(err.name).read())
    return p


def exported_names(stack):
    return sorted(p.rsplit("/", 1)[1] for p in stack.managed_objects())


def measure_listing(n, domains, args, tools, tmp):
    """One stack with N of our project domains defined before project-vmd
    starts. Returns the results for this N."""
    res = {"n": n}
    vmd_log = RpcLog(os.path.join(tmp, f"vmd-rpc-{n}.log"))
    ldbus_log = RpcLog(os.path.join(tmp, f"ldbus-rpc-{n}.log"))
    short = domains.prefix.replace("project-", "", 1)     # bnTAG-: VM names
    ours = short.replace("-", "_")                         # in object paths

    with service_stack(daemon_env=vmd_log.env()) as stack:
        # Startup sync: everything project-vmd asked libvirt for until its
        # objects for all N domains are on the bus.
        harness.wait_for(lambda: sum(1 for x in exported_names(stack) if x.startswith(ours)) == n,
                         timeout=60, interval=0.02, what=f"project-vmd to export {n} VMs")
        time.sleep(0.3)                       # let any straggler show up
        res["sync_calls"] = vmd_log.window(0)
        res["exported"] = len(exported_names(stack))
        res["host_project_domains"] = sum(
            1 for d in harness.virsh("list", "--all", "--name").stdout.split()
            if d.startswith("project-"))
        res["host_domains"] = len(harness.virsh("list", "--all", "--name").stdout.split())

        env = {**stack.env, "LIBVIRT_DEFAULT_URI": URI}

        # One project-vm list, with the client's output checked.
        mark = vmd_log.mark()
        r = sh([CLI, "list"], env=env)
        time.sleep(0.2)
        res["list_calls"] = vmd_log.window(mark)
        shown = sum(1 for line in r.stdout.splitlines()[1:] if line.startswith(short))
        if shown != n:
            raise RuntimeError(f"project-vm list showed {shown} of our {n} VMs:\n{r.stdout}")

        ldbus = start_libvirt_dbus(stack, ldbus_log)
        # libvirt-dbus opens its libvirt connection at the first call: do
        # that before counting, so the counts below are steady state.
        sh([tools["ldbus_list"], "--bulk"], env=env)

        cmds = {
            "pvm_list": ("project-vm list", f"{CLI} list"),
            "busctl_gmo": ("busctl GetManagedObjects",
                           "busctl --system call org.projectvm /org/projectvm "
                           "org.freedesktop.DBus.ObjectManager GetManagedObjects"),
            "virsh_list": ("virsh list --all", f"virsh -c {URI} list --all"),
            "seed": ("seed: virsh list --name | grep + virsh dominfo per VM",
                     f"bash {HERE}/seed-list.sh"),
            "ldbus_c": ("libvirt-dbus: ListDomains + GetAll + GetStats per VM (C client)",
                        f"{tools['ldbus_list']}"),
            "ldbus_busctl": ("libvirt-dbus: same calls, one busctl per call (bash)",
                             f"bash {HERE}/ldbus-busctl-list.sh"),
            "ldbus_bulk": ("libvirt-dbus: one GetAllDomainStats call (C client)",
                           f"{tools['ldbus_list']} --bulk"),
        }
        # Check every command works and sees our N VMs; count the libvirt
        # calls of one run of each.
        res["calls"] = {}
        for key, (label, cmd) in cmds.items():
            log = RpcLog(os.path.join(tmp, f"client-{key}-{n}.log"))
            vmd_mark, ldbus_mark = vmd_log.mark(), ldbus_log.mark()
            r = sh(cmd.split(), env={**env, **log.env()})
            time.sleep(0.2)
            marker = short.replace("-", "_") if key == "busctl_gmo" else short
            if r.stdout.count(marker) != n:
                raise RuntimeError(f"{label} showed {r.stdout.count(marker)} of our {n} VMs:\n"
                                   + r.stdout[:2000])
            client = log.window(0)
            res["calls"][key] = {"client": client, "vmd": vmd_log.window(vmd_mark),
                                 "ldbus": ldbus_log.window(ldbus_mark)}

        # Timings. Per-VM scripts at large N spawn hundreds of processes per
        # run: fewer runs for those.
        readers = ["pvm_list", "busctl_gmo"]      # the two that ask project-vmd
        slow = {"seed", "ldbus_busctl"} if n >= 50 else set()
        others = [k for k in cmds if k not in readers and k not in slow]
        say(f"N={n}: timing {len(readers) + len(others)} commands x {args.runs} runs")
        # Only project-vmd's readers run in this window: the libvirt calls
        # project-vmd makes meanwhile are what 2 x (runs + 3 warm-ups) lists cost.
        vmd_mark = vmd_log.mark()
        timings = hyperfine([cmds[k] for k in readers], args.runs, env, 3, tmp)
        time.sleep(0.2)
        res["timing_window"] = vmd_log.window(vmd_mark)
        res["timing_window_lists"] = sum(timings[cmds[k][0]]["runs"] + 3 for k in readers)
        timings.update(hyperfine([cmds[k] for k in others], args.runs, env, 3, tmp))
        if slow:
            say(f"N={n}: timing {len(slow)} per-VM scripts x {args.slow_runs} runs")
            timings.update(hyperfine([cmds[k] for k in cmds if k in slow],
                                     args.slow_runs, env, 1, tmp))
        res["timings"] = {key: timings[label] for key, (label, _) in cmds.items()}
        res["labels"] = {key: label for key, (label, _) in cmds.items()}

        res["rss_vmd"] = rss_kib(stack.daemon.pid)
        res["rss_ldbus"] = rss_kib(ldbus.pid)

        if n == min(args.sizes):
            res["create"] = measure_create(stack, domains, args, vmd_log, tmp)
    return res


def measure_create(stack, domains, args, vmd_log, tmp):
    key = os.path.join(tmp, "id_ed25519")
    if not os.path.exists(key):
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench@pvm", "-f", key])
    tag = domains.prefix[len("project-bn"):-1]
    out = {"pvm": [], "bash": [], "pvm_calls": []}
    env = {**stack.env, "LIBVIRT_DEFAULT_URI": URI}
    pvm_names = [f"bc{tag}-{i}" for i in range(args.creates)]
    bash_names = [f"project-bb{tag}-{i}" for i in range(args.creates)]
    bash_dir = os.path.join(tmp, "bash-vms")
    try:
        # Alternating, so that a change in the host's load hits both ways.
        for name, bash_name in zip(pvm_names, bash_names):
            stack.created_domains.add(f"project-{name}")
            mark = vmd_log.mark()
            t0 = time.perf_counter()
            r = sh([CLI, "--no-ask-password", "create", name, "256M", "1", "1G",
                    "--ssh-key", key + ".pub"], env=env, check=False)
            dt = time.perf_counter() - t0
            if r.returncode != 0:
                raise RuntimeError(f"project-vm create {name} failed: {r.stderr}")
            out["pvm"].append(dt)
            time.sleep(0.2)
            out["pvm_calls"].append(vmd_log.window(mark))

            domains.extra.append(bash_name)
            t0 = time.perf_counter()
            sh(["bash", os.path.join(HERE, "bash-create.sh"), bash_name, bash_dir,
                stack.base_image, key + ".pub", "256", "1", "1G"], env=env)
            out["bash"].append(time.perf_counter() - t0)
            time.sleep(0.2)     # project-vmd's look at the new domain (its event)
    finally:
        for name in pvm_names:
            sh([CLI, "--no-ask-password", "destroy", name, "--yes"], env=env, check=False)
        for name in bash_names:
            harness.virsh("undefine", name, check=False)
        shutil.rmtree(bash_dir, ignore_errors=True)
    out["iso_tool"] = "genisoimage" if shutil.which("genisoimage") else "xorriso"
    return out


# ----------------------------------------------------------------- report --

def ms(s):
    return f"{s * 1000:.1f}" if s < 10 else f"{s * 1000:.0f}"


def md(text):
    return text.replace("|", "\\|")


def fmt_t(t):
    return f"{ms(t['median'])} ms [{ms(t['min'])}]"


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(open("/proc/meminfo").readline().split()[1]) // 1024
    try:
        debian = open("/etc/debian_version").read().strip()
    except OSError:
        debian = "?"

    def pkg(name):
        r = sh(["dpkg-query", "-W", "-f", "${Version}", name], check=False)
        return r.stdout.strip() or "?"
    return (f"{cpu}, {os.cpu_count()} CPUs, {mem} MiB RAM; Debian {debian}, "
            f"kernel {platform.release()}; libvirt {pkg('libvirt-daemon')}, "
            f"libvirt-dbus {pkg('libvirt-dbus')}, hyperfine {pkg('hyperfine')}")


def report(results, args, started, load_before, load_after):
    sizes = [r["n"] for r in results]
    by_n = {r["n"]: r for r in results}
    first = results[0]
    keys = list(first["labels"])
    lines = []
    w = lines.append
    w(f"Machine: {machine()}.")
    w(f"Load average (1 min) {load_before:.2f} at the start, {load_after:.2f} at the end; "
      f"the host also had {first['host_domains'] - first['host_project_domains']} "
      f"other libvirt domains, which the virsh and libvirt-dbus ways also walk. "
      f"Run took {time.monotonic() - started:.0f} s.")
    w("")
    w("### Listing N project VMs (defined, never started)")
    w("")
    w("Wall time of the whole command, process start included: median [fastest] of "
      f"{args.runs} runs (after 3 warm-up runs); the two per-VM scripts at N >= 50: "
      f"{args.slow_runs} runs (after 1). RPC calls: what libvirtd was asked for one listing "
      "(by virsh itself, or by the service the command talks to).")
    w("")
    def head(n):
        others = by_n[n]["exported"] - n
        return f"N = {n}" + (f" (+{others} other project VMs on the host)" if others else "")
    w("| way | " + " | ".join(head(n) for n in sizes) +
      " | libvirt RPC calls per listing (" + ", ".join(f"N = {n}" for n in sizes) + ") |")
    w("|---|" + "---|" * len(sizes) + "---|")
    for key in keys:
        cells = [fmt_t(by_n[n]["timings"][key]) for n in sizes]
        calls = []
        for n in sizes:
            c = by_n[n]["calls"][key]
            if key in ("pvm_list", "busctl_gmo"):
                calls.append(f"{c['vmd'].n} (project-vmd)")
            elif key.startswith("ldbus"):
                calls.append(f"{c['ldbus'].n} (libvirt-dbus)")
            else:
                calls.append(f"{c['client'].n} (virsh)")
        w(f"| {md(first['labels'][key])} | " + " | ".join(cells) + " | " + ", ".join(calls) + " |")
    w("")
    w("### libvirt RPC calls made by project-vmd")
    w("")
    w("| N project VMs (exported in total) | startup sync: calls | startup sync: first to "
      "last call | during one `project-vm list` | during the timing runs of list and "
      "GetManagedObjects |")
    w("|---|---|---|---|---|")
    for r in results:
        tw = r["timing_window"]
        w(f"| {r['n']} ({r['exported']}) | {r['sync_calls'].n} | {r['sync_calls'].span * 1000:.0f} ms | "
          f"{r['list_calls'].n} | {tw.n} |")
    w("")
    for r in results:
        tw = r["timing_window"]
        line = (f"- N = {r['n']}: {r['timing_window_lists']} back-to-back `project-vm list` and "
                f"`busctl ... GetManagedObjects` runs (warm-ups included): {tw.n} libvirt calls")
        if tw.n_events:
            line += (f"; meanwhile libvirtd pushed {tw.n_events} events "
                     f"({', '.join(f'{k} x{v}' for k, v in tw.events.most_common())}) about "
                     f"domains that other programs on this host changed")
        refresh = {"DOMAIN_LOOKUP_BY_NAME", "DOMAIN_GET_METADATA", "DOMAIN_GET_STATE",
                   "DOMAIN_GET_XML_DESC"}
        if tw.n and tw.n_events and set(tw.calls) <= refresh:
            line += (f", and the calls are project-vmd re-reading the project-* domains "
                     f"those events named ({tw.breakdown()}), not the lists")
        elif tw.n:
            line += f" ({tw.breakdown()})"
        w(line + ".")
    w("")
    for r in results:
        w(f"- Startup sync with N = {r['n']}: {r['sync_calls'].breakdown()}.")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        per_vm = (b["sync_calls"].n - a["sync_calls"].n) / max(1, b["exported"] - a["exported"])
        w(f"- Per extra project VM at startup: {per_vm:.1f} calls "
          f"(DOMAIN_GET_METADATA, DOMAIN_GET_STATE, DOMAIN_GET_XML_DESC); "
          f"after that, state comes from libvirt's lifecycle events.")
    for r in results:
        for key in ("ldbus_c", "seed"):
            c = r["calls"][key]
            who = c["ldbus"] if key.startswith("ldbus") else c["client"]
            w(f"- N = {r['n']}, {md(r['labels'][key])}: {who.breakdown()}.")
    w("")
    w("### Memory (VmRSS after the listing runs)")
    w("")
    w("| N | project-vmd | libvirt-dbus |")
    w("|---|---|---|")
    for r in results:
        w(f"| {r['n']} ({r['exported']} exported) | {r['rss_vmd']['VmRSS'] / 1024:.1f} MiB "
          f"(peak {r['rss_vmd']['VmHWM'] / 1024:.1f}) | {r['rss_ldbus']['VmRSS'] / 1024:.1f} MiB "
          f"(peak {r['rss_ldbus']['VmHWM'] / 1024:.1f}) |")
    create = next((r["create"] for r in results if "create" in r), None)
    if create:
        w("")
        w(f"### Creating a VM (256 MiB, 1 vCPU, 1 GiB project disk, not started); "
          f"{len(create['pvm'])} VMs each, wall time per VM")
        w("")
        w("| way | median | each |")
        w("|---|---|---|")
        w(f"| `project-vm create` (D-Bus -> project-vmd: overlay, project disk, seed ISO "
          f"in memory + upload, domain) | {ms(statistics.median(create['pvm']))} ms | "
          f"{', '.join(ms(x) for x in create['pvm'])} ms |")
        w(f"| bash: 2x `qemu-img create`, {create['iso_tool']} seed ISO from files, "
          f"`virsh define` | {ms(statistics.median(create['bash']))} ms | "
          f"{', '.join(ms(x) for x in create['bash'])} ms |")
        w("")
        calls = create["pvm_calls"]
        w(f"- libvirt RPC calls by project-vmd per create: "
          f"{', '.join(str(c.n) for c in calls)} (each +{calls[-1].streams} stream packets "
          f"for the seed upload; they include re-reading the new domain after its "
          f"\"defined\" event, and the ones of other domains' events meanwhile). "
          f"The first create also made the storage pool: {calls[0].breakdown()}. "
          f"The last: {calls[-1].breakdown()}.")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- main --

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 100])
    ap.add_argument("--runs", type=int, default=20, help="runs per command (default 20)")
    ap.add_argument("--slow-runs", type=int, default=5,
                    help="runs of the per-VM scripts at N >= 50 (default 5)")
    ap.add_argument("--creates", type=int, default=5, help="VMs created each way (default 5)")
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"))
    args = ap.parse_args()
    args.sizes = sorted(args.sizes)

    if os.geteuid() != 0:
        sys.exit("bench: run as root (it starts a private system bus and uses qemu:///system)")
    for tool in ("hyperfine", "libvirt-dbus", "busctl", "virsh", "qemu-img", "ssh-keygen",
                 "cc", "pkg-config"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is missing (bench/run.sh installs it)")
    if not os.access(CLI, os.X_OK) or not os.access(harness.DAEMON, os.X_OK):
        sys.exit(f"bench: build first (meson setup build && ninja -C build): {CLI}")

    def on_term(signum, frame):
        raise SystemExit(f"bench: signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    # Measure the plain service, never under the test suite's valgrind.
    os.environ.pop("PVM_VALGRIND", None)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    stopped_libvirtd = harness.ensure_libvirtd()
    harness.ensure_default_network()
    tmp = tempfile.mkdtemp(prefix="pvm-bench-")
    os.chmod(tmp, 0o755)
    ldbus_list = os.path.join(tmp, "ldbus-list")
    cflags = sh(["pkg-config", "--cflags", "--libs", "gio-2.0"]).stdout.split()
    sh(["cc", "-O2", "-o", ldbus_list, os.path.join(HERE, "ldbus-list.c"), *cflags])
    domains = Domains(tmp, uuid.uuid4().hex[:4])
    results = []
    try:
        for n in args.sizes:
            say(f"N={n}: defining project domains")
            domains.define_up_to(n)
            for attempt in (1, 2):
                try:
                    results.append(measure_listing(n, domains, args,
                                                   {"ldbus_list": ldbus_list}, tmp))
                    break
                except (RuntimeError, AssertionError, subprocess.CalledProcessError) as e:
                    # Typically libvirtd restarted by another program on a
                    # shared host; one more try with the same domains.
                    if attempt == 2:
                        raise
                    say(f"N={n}: failed ({str(e).strip().splitlines()[0]}); trying again")
                    wait_libvirtd()
                    domains.define_up_to(n)
    finally:
        say("cleaning up")
        domains.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
        if stopped_libvirtd:
            harness.stop_libvirtd()
    text = report(results, args, started, load_before, os.getloadavg()[0])
    with open(args.output, "w") as f:
        f.write(text)
    print(text)
    say(f"wrote {args.output}")


if __name__ == "__main__":
    main()
