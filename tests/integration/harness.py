"""The test stack: a private system bus, a polkit authority, a real libvirtd
and project-vmd from the build tree, each started for the test and stopped
after it. Tests drive it the way users and desktops do: the project-vm CLI,
busctl and gdbus."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

BUILD = os.environ.get("PVM_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
BUILD = os.path.abspath(BUILD)
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DAEMON = os.path.join(BUILD, "service", "project-vmd")
CLI = os.path.join(BUILD, "client", "project-vm")
PYTHON = "/usr/bin/python3"   # Debian's, with dbusmock and gi
URI = "qemu:///system"
METADATA_NS = "https://projectvm.org/xmlns/project-vm/1"
VALGRIND_ERROR = 99
GLIB_SUPP = "/usr/share/glib-2.0/valgrind/glib.supp"
ACTIONS = ["org.projectvm.create", "org.projectvm.manage",
           "org.projectvm.destroy", "org.projectvm.manage-others"]


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run(cmd, check=True, env=None, timeout=120, input=None):
    return subprocess.run(cmd, check=check, env=env, timeout=timeout,
                          capture_output=True, text=True, input=input)


def virsh(*args, check=True):
    return run(["virsh", "-q", "-c", URI, *args], check=check)


LIBVIRTD_SH = os.path.join(SOURCE, "tools", "libvirtd.sh")


def ensure_libvirtd():
    """Starts virtlogd and libvirtd (through tools/libvirtd.sh, which hides
    an unusable /dev/kvm) when none answers; returns True if it started them
    (the caller then stops them)."""
    r = run(["bash", LIBVIRTD_SH, "start"], timeout=120)
    return r.stdout.strip() == "started"


def ensure_default_network():
    nets = virsh("net-list", "--all", "--name").stdout.split()
    if "default" not in nets:
        virsh("net-define", "/usr/share/libvirt/networks/default.xml")
    active = virsh("net-list", "--name").stdout.split()
    if "default" not in active:
        virsh("net-start", "default")


def restart_libvirtd():
    run(["bash", LIBVIRTD_SH, "restart"], timeout=120)


def stop_libvirtd():
    run(["bash", LIBVIRTD_SH, "stop"], check=False, timeout=120)


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"/>
  </policy>
  {extra}
</busconfig>
"""


def domain_xml(name, memory_mib=64, cpus=1, owner=0, image="debian-12",
               disk_gib=50, created_at=1700000000, ours=True):
    meta = ""
    if ours:
        meta = (f'<metadata><pvm:vm xmlns:pvm="{METADATA_NS}">'
                f"<pvm:owner>{owner}</pvm:owner><pvm:image>{image}</pvm:image>"
                f"<pvm:disk-gib>{disk_gib}</pvm:disk-gib>"
                f"<pvm:created-at>{created_at}</pvm:created-at>"
                f"<pvm:instance-id>test</pvm:instance-id></pvm:vm></metadata>")
    return f"""<domain type='qemu'>
  <name>{name}</name>
  {meta}
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>{cpus}</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>"""


class Stack:
    """One private bus + polkit + project-vmd. Use as a context manager."""

    def __init__(self, config_overrides=None, images=None, polkit="mock", daemon_env=None,
                 bus="permissive"):
        self.tmp = tempfile.mkdtemp(prefix="pvm-test-")
        os.chmod(self.tmp, 0o755)
        self.procs = []
        self.config_overrides = config_overrides or {}
        self.images = images
        self.polkit = polkit
        self.storage_dir = os.path.join(self.tmp, "storage")
        self.records_dir = os.path.join(self.tmp, "records")
        self.base_image = os.path.join(self.tmp, "base.qcow2")
        self.pool = "pvmtest-" + uuid.uuid4().hex[:8]
        self.created_domains = set()
        self.env = dict(os.environ)
        self.daemon_env = daemon_env or {}
        self.bus = bus
        self.installed = []
        self.valgrind_logs = []
        self.daemon = None
        self.daemon_log = os.path.join(self.tmp, "project-vmd.log")

    # -- setup --
    def __enter__(self):
        try:
            if self.bus == "system":
                self.start_system_bus()
            else:
                self.start_bus()
            if self.polkit == "mock":
                self.start_mock_polkit()
            elif self.polkit == "real":
                self.start_real_polkit()
            run(["qemu-img", "create", "-q", "-f", "qcow2", self.base_image, "64M"])
            self.config_path = self.write_config()
            self.start_daemon()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start_bus(self, extra=""):
        socket = os.path.join(self.tmp, "system_bus_socket")
        conf = os.path.join(self.tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONFIG.format(socket=socket, extra=extra))
        p = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork",
                              "--print-address=1"], stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        self.bus_address = p.stdout.readline().strip()
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        self.env.pop("DBUS_SESSION_BUS_ADDRESS", None)

    def start_system_bus(self):
        """A bus with Debian's system policy (deny by default) plus the
        shipped org.projectvm policy from data/."""
        socket = os.path.join(self.tmp, "system_bus_socket")
        conf = open("/usr/share/dbus-1/system.conf").read()
        conf = re.sub(r"<listen>.*?</listen>", f"<listen>unix:path={socket}</listen>", conf)
        conf = re.sub(r"<fork\s*/>|<pidfile>.*?</pidfile>|<syslog\s*/>|<user>.*?</user>", "", conf)
        conf = conf.replace("<includedir>system.d</includedir>",
                            "<includedir>/usr/share/dbus-1/system.d</includedir>")
        conf = conf.replace("<includedir>/etc/dbus-1/system.d</includedir>", "")
        conf = re.sub(r"<include[^>]*>system-local.conf</include>", "", conf)
        conf = conf.replace("</busconfig>",
                            f"<include>{SOURCE}/data/org.projectvm.conf</include></busconfig>")
        path = os.path.join(self.tmp, "bus.conf")
        with open(path, "w") as f:
            f.write(conf)
        p = subprocess.Popen(["dbus-daemon", f"--config-file={path}", "--nofork",
                              "--print-address=1"], stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        self.bus_address = p.stdout.readline().strip()
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address
        self.env.pop("DBUS_SESSION_BUS_ADDRESS", None)

    def install(self, src, dest):
        shutil.copy(src, dest)
        os.chmod(dest, 0o644)
        self.installed.append(dest)

    def start_real_polkit(self):
        """polkitd itself, with the shipped actions and rules installed where
        it reads them (removed again in close())."""
        self.install(os.path.join(SOURCE, "data", "org.projectvm.policy"),
                     "/usr/share/polkit-1/actions/org.projectvm.policy")
        os.makedirs("/etc/polkit-1/rules.d", exist_ok=True)
        self.install(os.path.join(SOURCE, "data", "50-project-vm.rules"),
                     "/etc/polkit-1/rules.d/50-project-vm.rules")
        p = subprocess.Popen(["/usr/lib/polkit-1/polkitd", "--no-debug"], env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        wait_for(lambda: self.name_has_owner("org.freedesktop.PolicyKit1"),
                 what="polkitd")

    def start_mock_polkit(self):
        p = subprocess.Popen([PYTHON, "-m", "dbusmock", "--template", "polkitd",
                              "--system"], env=self.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        wait_for(lambda: self.name_has_owner("org.freedesktop.PolicyKit1"),
                 what="dbusmock polkitd")
        self.polkit_allow(ACTIONS)

    def polkit_allow(self, actions):
        arr = "[" + ",".join(f"'{a}'" for a in actions) + "]"
        self.gdbus_call("org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                        "org.freedesktop.DBus.Mock.SetAllowed", f"@as {arr}" if actions else "@as []")

    def config_text(self, images=None):
        cfg = {
            "libvirt": {"uri": URI, "domain-type": "qemu", "pool": self.pool,
                        "storage-dir": self.storage_dir, "records-dir": self.records_dir,
                        "network": "default"},
            "defaults": {"memory-mib": "256", "cpus": "1", "disk-gib": "1",
                         "image": "tiny"},
            "ssh": {"user": "dev", "host-template": ""},
            "cloud-init": {"ready-timeout-sec": "120"},
        }
        for section, values in self.config_overrides.items():
            cfg.setdefault(section, {}).update(values)
        images = images or self.images or {
            "tiny": {"path": os.path.join(self.tmp, "base.qcow2")}}
        for name, values in images.items():
            cfg[f"image {name}"] = values
        out = []
        for section, values in cfg.items():
            out.append(f"[{section}]")
            out.extend(f"{k}={v}" for k, v in values.items())
            out.append("")
        return "\n".join(out)

    def write_config(self):
        path = os.path.join(self.tmp, "project-vm.conf")
        with open(path, "w") as f:
            f.write(self.config_text())
        return path

    def daemon_command(self):
        """project-vmd, under valgrind's memcheck when PVM_VALGRIND=1."""
        if os.environ.get("PVM_VALGRIND") != "1":
            return [DAEMON]
        self.valgrind_log = os.path.join(self.tmp, f"valgrind-{len(self.procs)}.log")
        self.valgrind_logs.append(self.valgrind_log)
        cmd = ["valgrind", "--quiet", "--num-callers=40", "--leak-check=full", "--show-leak-kinds=definite",
               "--errors-for-leak-kinds=definite", f"--error-exitcode={VALGRIND_ERROR}",
               f"--log-file={self.valgrind_log}"]
        if os.path.exists(GLIB_SUPP):
            cmd.append(f"--suppressions={GLIB_SUPP}")
        return cmd + [DAEMON]

    def start_daemon(self, extra_args=()):
        log = open(self.daemon_log, "a")
        offset = log.tell()
        self.daemon = subprocess.Popen([*self.daemon_command(), "--config", self.config_path,
                                        "--verbose", *extra_args],
                                       env={**self.env, **self.daemon_env},
                                       stdout=log, stderr=log)
        self.procs.append(self.daemon)
        slow = 10 if self.valgrind_logs else 1
        wait_for(lambda: self.name_has_owner("org.projectvm") or self.daemon.poll() is not None,
                 timeout=10 * slow, what="project-vmd on the bus")
        if self.daemon.poll() is not None:
            raise AssertionError("project-vmd exited: " + open(self.daemon_log).read())
        # The service owns its name before libvirt has answered; the Manager
        # is there at once, VMs once libvirt is synced.
        wait_for(lambda: "connected to" in open(self.daemon_log).read()[offset:],
                 timeout=10 * slow, what="project-vmd to reach libvirt")

    def stop_daemon(self):
        """Stops project-vmd; under valgrind, fails on any memory error or
        definite leak it reported."""
        if self.daemon is None or self.daemon.poll() is not None:
            return
        self.daemon.terminate()
        try:
            status = self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            status = self.daemon.wait()
        if self.valgrind_logs and status == VALGRIND_ERROR:
            report = "".join(open(p).read() for p in self.valgrind_logs if os.path.exists(p))
            raise AssertionError("valgrind found errors in project-vmd:\n" + report[-6000:])

    def close(self):
        try:
            self.stop_daemon()
        finally:
            self.cleanup()

    def cleanup(self):
        for name in list(self.created_domains) + self.project_domains():
            virsh("destroy", name, check=False)
            virsh("undefine", name, "--nvram", check=False)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if virsh("pool-info", self.pool, check=False).returncode == 0:
            vols = virsh("vol-list", self.pool, check=False).stdout.split("\n")
            for line in vols:
                if line.strip():
                    virsh("vol-delete", line.split()[0], "--pool", self.pool, check=False)
            virsh("pool-destroy", self.pool, check=False)
            virsh("pool-undefine", self.pool, check=False)
        for path in self.installed:
            try:
                os.unlink(path)
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- clients --
    def name_has_owner(self, name):
        r = run(["busctl", f"--address={self.bus_address}", "status", name], check=False)
        return r.returncode == 0

    def gdbus_call(self, dest, path, method, *args, check=True, uid=None):
        cmd = ["gdbus", "call", "--system", "--dest", dest, "--object-path", path,
               "--method", method, *args]
        return run(self.as_user(cmd, uid), env=self.env, check=check)

    def busctl(self, *args, check=True, uid=None):
        return run(self.as_user(["busctl", "--system", *args], uid), env=self.env,
                   check=check)

    def cli(self, *args, check=False, uid=None, timeout=300, input=None):
        return run(self.as_user([CLI, *args], uid), env=self.env, check=check,
                   timeout=timeout, input=input)

    def cli_popen(self, *args, uid=None):
        return subprocess.Popen(self.as_user([CLI, *args], uid), env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    @staticmethod
    def as_user(cmd, uid):
        """Runs CMD as UID with that user's groups and home."""
        if uid is None:
            return cmd
        import pwd
        pw = pwd.getpwuid(uid)
        return ["setpriv", f"--reuid={uid}", f"--regid={pw.pw_gid}", "--init-groups",
                "env", f"HOME={pw.pw_dir}", f"USER={pw.pw_name}", *cmd]

    def managed_objects(self):
        r = self.busctl("--json=short", "call", "org.projectvm", "/org/projectvm",
                        "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        data = json.loads(r.stdout)["data"][0]
        out = {}
        for path, ifaces in data.items():
            if "org.projectvm.VM" in ifaces:
                out[path] = {k: v["data"] for k, v in ifaces["org.projectvm.VM"].items()}
        return out

    def vm_props(self, name):
        return self.managed_objects().get(vm_path(name))

    # -- libvirt --
    def define(self, name, **kw):
        dom = f"project-{name}"
        path = os.path.join(self.tmp, f"{dom}.xml")
        with open(path, "w") as f:
            f.write(domain_xml(dom, **kw))
        self.created_domains.add(dom)
        virsh("define", path)
        return dom

    def project_domains(self):
        """Domains this stack's service made (their volumes are in our pool)."""
        out = []
        for dom in virsh("list", "--all", "--name", check=False).stdout.split():
            if dom.startswith("project-"):
                xml = virsh("dumpxml", dom, check=False).stdout
                if self.storage_dir in xml:
                    out.append(dom)
        return out

    def state_snapshot(self):
        """What a failed call must leave unchanged: domains, pool volumes,
        files (the pool's and the service's records, with their content)."""
        files = []
        for root, dirs, names in os.walk(self.storage_dir):
            files.extend(os.path.join(root, n) for n in names)
        for root, dirs, names in os.walk(self.records_dir):
            files.extend((os.path.join(root, n), open(os.path.join(root, n)).read())
                         for n in names)
        vols = []
        if virsh("pool-info", self.pool, check=False).returncode == 0:
            virsh("pool-refresh", self.pool, check=False)
            vols = virsh("vol-list", self.pool, check=False).stdout.split()
        # Only this stack's domains: other VMs on the host come and go.
        return (sorted(self.project_domains()), sorted(vols), sorted(files, key=str))

    def create(self, name, *args, uid=None, check=True):
        r = self.cli("--no-ask-password", "create", name, *args, uid=uid)
        if check:
            assert r.returncode == 0, r.stderr
        self.created_domains.add(f"project-{name}")
        return r

    def vol_path(self, name, kind):
        suffix = {"root": "-root.qcow2", "data": "-data.qcow2", "seed": "-seed.iso",
                  "console": "-console.log"}[kind]
        return os.path.join(self.storage_dir, f"project-{name}{suffix}")

    def log(self):
        return open(self.daemon_log).read()


def ensure_user(name, groups=()):
    """A real local user (dbus-daemon refuses uids it cannot resolve);
    returns its uid."""
    import pwd
    for g in groups:
        run(["groupadd", "-f", g])
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        run(["useradd", "--create-home", "--shell", "/bin/bash", name])
        uid = pwd.getpwnam(name).pw_uid
    if groups:
        run(["usermod", "-a", "-G", ",".join(groups), name])
    return uid


def vm_path(name):
    return "/org/projectvm/vm/" + name.replace("-", "_")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
