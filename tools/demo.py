"""The main job, step by step with real output: project-vmd on a private
system bus with Debian's bus policy plus ours, the real polkitd with the
shipped actions and rules, the real libvirtd; an unprivileged user in the
group project-vm drives a VM with the project-vm CLI.

Default: the whole journey on a real Debian 12 cloud guest (built from
Debian's archive by tools/image, cached), minutes under TCG.
--tiny: the same service with the tiny test guest (a Debian cloud kernel
and a busybox initramfs that plays cloud-init's part), seconds."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import guest  # noqa: E402
import harness  # noqa: E402
import journey  # noqa: E402

USER = "pvm-demo"


def step(stack, uid, *args, check=True):
    print(f"\n{USER}$ project-vm {' '.join(args)}", flush=True)
    t0 = time.monotonic()
    r = stack.cli("--no-ask-password", *args, uid=uid, timeout=600)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    print(f"   ({time.monotonic() - t0:.1f} s, exit {r.returncode})", flush=True)
    if check and r.returncode != 0:
        sys.exit(1)
    return r


def full_journey():
    harness.ensure_libvirtd()
    harness.ensure_default_network()
    uid = journey.prepare_user()
    print("building or reusing the Debian 12 cloud image (tools/image) ...", flush=True)
    with journey.stack_for_journey() as stack:
        print(f"project-vmd is up on a private system bus ({stack.bus_address}),")
        print("with polkitd, the shipped polkit rules and bus policy, and libvirtd.")
        print(f"{journey.USER} (uid {uid}) is in the group project-vm; its ~/.ssh has a key.")
        j = journey.Journey(stack, uid, "web")
        try:
            seen = j.run()
        finally:
            j.print_timings()
    ok = (seen["read_back"] == seen["token"] and seen["stop"].endswith("graceful"))
    print("\nthe file written in ~/project before destroy --keep-data was read back "
          f"after re-creation: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


def tiny():
    harness.ensure_libvirtd()
    harness.ensure_default_network()
    uid = harness.ensure_user(USER, groups=["project-vm"])
    images = guest.tiny_images()
    key_dir = f"/home/{USER}/.ssh"
    if not os.path.exists(f"{key_dir}/id_ed25519.pub"):
        harness.run(["runuser", "-u", USER, "--", "ssh-keygen", "-q", "-t", "ed25519",
                     "-N", "", "-f", f"{key_dir}/id_ed25519"])
    with harness.Stack(images=images, polkit="real", bus="system",
                       config_overrides={"defaults": {"memory-mib": "256"}}) as stack:
        print(f"project-vmd is up on a private system bus ({stack.bus_address}),")
        print("with polkitd, the shipped polkit rules and bus policy, and libvirtd.")
        print(f"{USER} (uid {uid}) is in the group project-vm.")
        step(stack, uid, "create", "demo", "256M", "1", "1G")
        mon = stack.cli_popen("monitor", uid=uid)
        mon.stderr.readline()
        step(stack, uid, "start", "demo", "--wait", "--timeout", "120")
        harness.wait_for(lambda: stack.vm_props("demo")["Addresses"], timeout=30,
                         what="an address")
        step(stack, uid, "list")
        step(stack, uid, "status", "demo")
        step(stack, uid, "stop", "demo")
        step(stack, uid, "destroy", "demo", "--yes")
        time.sleep(0.5)
        mon.terminate()
        print(f"\n{USER}$ project-vm monitor   (what it printed meanwhile)")
        sys.stdout.write(mon.communicate()[0])


if __name__ == "__main__":
    sys.exit(tiny() if "--tiny" in sys.argv[1:] else full_journey())
