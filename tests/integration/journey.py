"""The whole journey of a user on a real Debian cloud guest, driven only
through the project-vm CLI as an unprivileged user in the group project-vm:
create -> start --wait -> ssh -> a file in ~/project -> graceful stop ->
destroy --keep-data -> create again -> start --wait -> the file is still
there -> destroy. Used by the end-to-end test and by tools/demo.sh."""

import os
import subprocess
import sys
import time

import harness
from harness import SOURCE, Stack, run

IMAGE_CACHE = os.environ.get("PVM_IMAGE_CACHE", "/var/cache/project-vm-tests/debian-12")
USER = "pvm-dev"
SSH_CONFIG = """# written by project-vm's journey: every VM instance has new host keys
Host 192.168.122.*
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
    BatchMode yes
    ConnectTimeout 20
"""


def debian_image():
    """Builds (or reuses) the Debian 12 cloud image; returns the [image] keys."""
    r = subprocess.run([os.path.join(SOURCE, "tools", "image", "build-debian-image.sh"),
                        IMAGE_CACHE], timeout=1800)
    if r.returncode != 0:
        raise RuntimeError("building the Debian image failed")
    return {"path": os.path.join(IMAGE_CACHE, "debian-12.qcow2"),
            "kernel": os.path.join(IMAGE_CACHE, "vmlinuz"),
            "initrd": os.path.join(IMAGE_CACHE, "initrd.img"),
            "cmdline": "root=LABEL=root console=ttyS0 rw"}


def prepare_user():
    """A real user in the group project-vm, with an ssh key and ssh config."""
    uid = harness.ensure_user(USER, groups=["project-vm"])
    home = f"/home/{USER}"
    ssh = f"{home}/.ssh"
    run(["runuser", "-u", USER, "--", "mkdir", "-p", "-m", "700", ssh])
    if not os.path.exists(f"{ssh}/id_ed25519"):
        run(["runuser", "-u", USER, "--", "ssh-keygen", "-q", "-t", "ed25519", "-N", "",
             "-f", f"{ssh}/id_ed25519"])
    with open(f"{ssh}/config", "w") as f:
        f.write(SSH_CONFIG)
    os.chown(f"{ssh}/config", uid, uid)
    os.chmod(f"{ssh}/config", 0o600)
    return uid


def stack_for_journey():
    return Stack(images={"debian-12": debian_image()}, polkit="real", bus="system",
                 config_overrides={"defaults": {"memory-mib": "1024", "cpus": "2",
                                                "disk-gib": "2", "image": "debian-12"},
                                   "cloud-init": {"ready-timeout-sec": "900"}})


class Journey:
    def __init__(self, stack, uid, name, out=sys.stdout):
        self.stack, self.uid, self.name, self.out = stack, uid, name, out
        self.timings = []

    def step(self, *args, timeout=1200):
        self.out.write(f"\n{USER}$ project-vm {' '.join(args)}\n")
        self.out.flush()
        t0 = time.monotonic()
        r = self.stack.cli("--no-ask-password", *args, uid=self.uid, timeout=timeout)
        took = time.monotonic() - t0
        self.out.write(r.stdout + r.stderr)
        self.out.write(f"   [{took:.1f} s, exit {r.returncode}]\n")
        self.out.flush()
        self.timings.append((" ".join(args), took))
        if r.returncode != 0:
            raise AssertionError(f"project-vm {' '.join(args)} failed: {r.stderr}")
        return r.stdout

    def ssh(self, command):
        return self.step("ssh", self.name, "--", command).strip()

    def run(self):
        """Returns what the checks need; raises on the first failed step."""
        n = self.name
        seen = {}
        self.step("create", n, "1G", "2", "2G")
        self.step("start", n, "--wait", "--timeout", "900")
        seen["boot_finished"] = self.ssh("test -f /var/lib/cloud/instance/boot-finished && echo yes")
        seen["cloud_init_status"] = self.ssh("cloud-init status")
        seen["hostname"] = self.ssh("hostname")
        seen["user"] = self.ssh("id -un")
        seen["mount"] = self.ssh("findmnt -n -o SOURCE,TARGET --target ~/project")
        token = f"journey-{os.getpid()}-{int(time.time())}"
        seen["written"] = self.ssh(f"echo {token} > ~/project/proof && cat ~/project/proof")
        seen["token"] = token
        seen["stop"] = self.step("stop", n).strip()
        self.step("destroy", n, "--keep-data", "--yes")
        self.step("create", n, "1G", "2", "2G")
        self.step("start", n, "--wait", "--timeout", "900")
        seen["read_back"] = self.ssh("cat ~/project/proof")
        self.step("list")
        self.step("destroy", n, "--yes")
        return seen

    def print_timings(self):
        self.out.write("\nstep timings:\n")
        for what, took in self.timings:
            self.out.write(f"  {took:7.1f} s  project-vm {what}\n")
        self.out.write(f"  {sum(t for _, t in self.timings):7.1f} s  in all\n")
        self.out.flush()
