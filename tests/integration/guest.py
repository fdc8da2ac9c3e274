"""The tiny real guest of the lifecycle tests: a Debian cloud kernel and a
busybox initramfs that plays cloud-init's part (tests/guest/)."""

import os

from harness import SOURCE, run

CACHE = os.environ.get("PVM_GUEST_CACHE", "/var/cache/project-vm-tests/tiny-guest")


def tiny_guest():
    run([os.path.join(SOURCE, "tests", "guest", "build-tiny-guest.sh"), CACHE], timeout=600)
    return CACHE


def tiny_images():
    """Images for the test config: a guest that signals readiness and powers
    off on ACPI, one that ignores ACPI, one that never signals."""
    d = tiny_guest()
    base = {"path": os.path.join(d, "base.qcow2"), "kernel": os.path.join(d, "vmlinuz"),
            "initrd": os.path.join(d, "initrd.img")}
    return {
        "tiny": {**base, "cmdline": "console=ttyS0 quiet"},
        "tiny-noacpi": {**base, "cmdline": "console=ttyS0 quiet pvm.noacpi"},
        "tiny-silent": {**base, "cmdline": "console=ttyS0 quiet pvm.silent"},
    }
