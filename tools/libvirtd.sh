#!/bin/bash
# The one place that starts libvirtd for the demo, the tests and CI (hosts
# without systemd; with systemd, see the README's host notes).
#
#   tools/libvirtd.sh [start]   start virtlogd and libvirtd when none answers,
#                               make sure the NAT network `default` is active;
#                               prints "started" on stdout when it started them
#   tools/libvirtd.sh restart   stop the running libvirtd, start it again
#   tools/libvirtd.sh stop      stop libvirtd and virtlogd
#
# When /dev/kvm exists but cannot run a guest (tools/kvm-check.c decides in
# at most a second), libvirtd is started in a mount namespace where /dev/kvm
# is an empty file that QEMU's user cannot open: a libvirtd that sees such a
# device re-probes QEMU at every domain define (31-58 s each, against
# 20 ms), and its guests hang. /dev/null in its place is not enough: it is
# readable and writable, so libvirt still counts KVM as usable, the probe
# finds none, and the capabilities cache is stale at every define (15 s
# each, measured). The guests then run under TCG (`[libvirt] domain-type`
# qemu, or auto). That libvirtd also reads a copy of qemu.conf whose
# cgroup_device_acl leaves out /dev/kvm: libvirt gives each QEMU a private
# /dev holding those devices and moves every mount under /dev into it, and
# a /dev/kvm both made there and moved there fails every start with
# "Unable to move ... mount to /dev/kvm: Invalid argument".
set -euo pipefail
uri=qemu:///system
here=$(cd "$(dirname "$0")" && pwd)
pidfile=/run/libvirtd.pid
hidden=/run/project-vm-no-kvm   # root's, mode 000: stands in for /dev/kvm
qemu_conf=/run/project-vm-qemu.conf

say() { echo "libvirtd.sh: $*" >&2; }
answers() { virsh -c "$uri" version >/dev/null 2>&1; }

# Prints the check's one line and returns 0 when /dev/kvm must be hidden.
kvm_unusable() {
  local tmp status
  [ -e /dev/kvm ] || return 1
  tmp=$(mktemp -d)
  if ! cc -O2 -o "$tmp/kvm-check" "$here/kvm-check.c" 2>"$tmp/cc.log"; then
    say "cannot build tools/kvm-check.c ($(head -n1 "$tmp/cc.log")); hiding /dev/kvm to be safe"
    rm -rf "$tmp"
    return 0
  fi
  status=0
  "$tmp/kvm-check" >"$tmp/out" || status=$?
  line=$(cat "$tmp/out")
  rm -rf "$tmp"
  [ $status -eq 1 ]
}

start_daemons() {
  local line=""
  [ -s /run/virtlogd.pid ] && kill -0 "$(cat /run/virtlogd.pid)" 2>/dev/null || virtlogd -d 9>&-
  if kvm_unusable; then
    say "$line; starting libvirtd with /dev/kvm hidden (guests run under TCG)"
    rm -f "$hidden"
    install -m 000 /dev/null "$hidden"
    { grep -v '^[[:space:]]*cgroup_device_acl[[:space:]]*=' /etc/libvirt/qemu.conf
      echo 'cgroup_device_acl = [ "/dev/null", "/dev/full", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/ptmx", "/dev/rtc", "/dev/hpet" ]'
    } >"$qemu_conf"
    unshare -m --propagation private sh -c "mount --bind $hidden /dev/kvm &&
      mount --bind $qemu_conf /etc/libvirt/qemu.conf && exec libvirtd -d" 9>&-
  else
    libvirtd -d 9>&-
  fi
  for _ in $(seq 1 300); do
    answers && return 0
    sleep 0.1
  done
  say "libvirtd did not answer on $uri within 30 s"
  return 1
}

stop_one() {
  local file=$1 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "pid $pid ($file) did not stop within 30 s"
  return 1
}

# A libvirtd that was started elsewhere and sees the real device gets a
# warning: this script does not restart what it did not start.
warn_if_exposed() {
  local pid line=""
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  [ -c "/proc/$pid/root/dev/kvm" ] || return 0
  [ "$(stat -Lc %t:%T "/proc/$pid/root/dev/kvm" 2>/dev/null)" = a:e8 ] || return 0
  if kvm_unusable; then
    say "warning: the running libvirtd (pid $pid) sees /dev/kvm, which cannot run guests ($line);" \
        "each define will take about a minute: run tools/libvirtd.sh restart"
  fi
}

ensure_network() {
  if ! virsh -q -c "$uri" net-list --all --name | grep -qx default; then
    virsh -q -c "$uri" net-define /usr/share/libvirt/networks/default.xml >/dev/null
  fi
  if ! virsh -q -c "$uri" net-list --name | grep -qx default; then
    virsh -q -c "$uri" net-start default >/dev/null
  fi
}

# One caller at a time: a start that runs while another caller restarts
# would see no answer and start a second libvirtd, and the restart's own
# would then fail on the pid file. The daemons must not inherit the lock
# (9>&- below), or it would be held for as long as they run.
exec 9>/run/project-vm-libvirtd.lock
flock 9

case "${1:-start}" in
  start)
    if answers; then
      warn_if_exposed
    else
      start_daemons
      echo started
    fi
    ensure_network
    ;;
  restart)
    stop_one "$pidfile"
    start_daemons
    ;;
  stop)
    stop_one "$pidfile"
    stop_one /run/virtlogd.pid
    ;;
  *)
    say "usage: tools/libvirtd.sh [start|restart|stop]"
    exit 2
    ;;
esac
