#!/bin/bash
# Starts libvirtd (and virtlogd) without systemd when none answers, and makes
# sure libvirt's default NAT network is active. Prints "started" when it
# started the daemons, so that the caller can stop them afterwards.
set -euo pipefail
uri=qemu:///system
if ! virsh -c "$uri" version >/dev/null 2>&1; then
  virtlogd -d 2>/dev/null || true
  libvirtd -d
  for _ in $(seq 1 100); do
    virsh -c "$uri" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  virsh -c "$uri" version >/dev/null
  echo started
fi
if ! virsh -q -c "$uri" net-list --all --name | grep -qx default; then
  virsh -q -c "$uri" net-define /usr/share/libvirt/networks/default.xml >/dev/null
fi
if ! virsh -q -c "$uri" net-list --name | grep -qx default; then
  virsh -q -c "$uri" net-start default >/dev/null
fi
