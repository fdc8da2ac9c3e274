#!/bin/bash
# The seed bash tool's way of showing project VMs: the names from libvirt,
# then `virsh dominfo` for each one (state, CPUs, memory).
set -euo pipefail
uri=${LIBVIRT_DEFAULT_URI:-qemu:///system}
for vm in $(virsh -c "$uri" list --all --name | grep '^project-'); do
    virsh -c "$uri" dominfo "$vm" || continue    # gone meanwhile (a shared host)
done
