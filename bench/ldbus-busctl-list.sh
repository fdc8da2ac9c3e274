#!/bin/bash
# Listing project VMs with their state and memory through libvirt-dbus from a
# shell: Connect.ListDomains, then Properties.GetAll per domain (the object
# path is the UUID; the name is a property) and Domain.GetStats(STATE|BALLOON)
# for the project ones. One busctl process per call.
set -euo pipefail
dest=org.libvirt
for path in $(busctl --system call $dest /org/libvirt/QEMU org.libvirt.Connect ListDomains u 0 \
              | tr ' ' '\n' | grep '^"/' | tr -d '"'); do
    props=$(busctl --system call $dest "$path" org.freedesktop.DBus.Properties GetAll s org.libvirt.Domain) \
        || continue    # gone meanwhile (a shared host)
    name=$(sed -n 's/.*"Name" v s "\([^"]*\)".*/\1/p' <<<"$props")
    [[ $name == project-* ]] || continue
    stats=$(busctl --system call $dest "$path" org.libvirt.Domain GetStats uu 5 0) || continue
    state=$(sed -n 's/.*"state.state" v i \([0-9]*\).*/\1/p' <<<"$stats")
    mem=$(sed -n 's/.*"balloon.maximum" v t \([0-9]*\).*/\1/p' <<<"$stats")
    printf '%-32s %s %sK\n' "$name" "$state" "$mem"
done
