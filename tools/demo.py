"""The main job, shown step by step with real output: the service on a
private system bus (with python-dbusmock's polkitd) over the real libvirtd,
and the client listing and watching project VMs."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
import harness  # noqa: E402


def show(stack, *args):
    print(f"\n$ project-vm {' '.join(args)}", flush=True)
    r = stack.cli(*args)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r


def main():
    harness.ensure_libvirtd()
    harness.ensure_default_network()
    with harness.Stack() as stack:
        print(f"project-vmd runs on a private system bus: {stack.bus_address}")
        name = "demo"
        dom = stack.define(name, memory_mib=128, cpus=1, image="tiny", disk_gib=1,
                           created_at=int(time.time()))
        print(f"defined libvirt domain {dom} with project-vm metadata")
        harness.wait_for(lambda: stack.vm_props(name), what="the VM object")
        show(stack, "list")
        mon = stack.cli_popen("monitor")
        mon.stderr.readline()
        print("\n$ virsh start project-demo; virsh destroy project-demo   (outside the service)")
        harness.virsh("start", dom)
        show(stack, "status", name)
        harness.virsh("destroy", dom)
        time.sleep(0.5)
        mon.terminate()
        print("\n$ project-vm monitor   (what it printed meanwhile)")
        sys.stdout.write(mon.communicate()[0])
        show(stack, "list", "--json")


if __name__ == "__main__":
    main()
