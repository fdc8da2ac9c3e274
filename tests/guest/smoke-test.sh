#!/bin/sh
# smoke-test.sh [OUTDIR]
#
# Boots the tiny guest under libvirt (qemu:///system, TCG) the way the
# service will, and checks: readiness line on the serial log, DHCP lease,
# a command typed on the serial console, ACPI shutdown, pvm.noacpi,
# pvm.silent, and that <log append='off'/> truncates the log at each start.
# Domains are named tinytest-smoke-<pid>-*; all are undefined and all files
# removed at exit. Needs root, a running libvirtd and the 'default' network.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-/var/cache/project-vm-tests/tiny-guest}
VIRSH="virsh -q -c qemu:///system"
PFX=tinytest-smoke-$$
FAIL=0

"$HERE/build-tiny-guest.sh" "$OUT"
$VIRSH net-info default >/dev/null 2>&1 || { echo "SKIP: no libvirt network 'default'"; exit 77; }
[ "$($VIRSH net-info default | sed -n 's/^Active: *//p')" = yes ] || $VIRSH net-start default

WORK=$(mktemp -d /tmp/tinytest-smoke.XXXXXX)
chmod 755 "$WORK"
cleanup() {
	for d in $($VIRSH list --all --name | grep "^$PFX-" || true); do
		$VIRSH destroy "$d" >/dev/null 2>&1 || true
		$VIRSH undefine "$d" >/dev/null 2>&1 || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAIL=1; }

# wait_log DOMAIN PATTERN TIMEOUT: 0 when PATTERN shows up in the log
wait_log() {
	_end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -lt "$_end" ]; do
		grep -q -- "$2" "$WORK/$1/console.log" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
wait_state() { # DOMAIN STATE TIMEOUT
	_end=$(($(date +%s) + $3))
	while [ "$(date +%s)" -lt "$_end" ]; do
		[ "$($VIRSH domstate "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

define() { # NAME EXTRA-CMDLINE
	d=$WORK/$1
	mkdir -p "$d/seed"
	printf 'instance-id: iid-%s\nlocal-hostname: %s\n' "$1" "$1" >"$d/seed/meta-data"
	printf '#cloud-config\nfinal_message: "PROJECT_VM_READY %s up $UPTIME"\n' "$1" >"$d/seed/user-data"
	xorriso -as mkisofs -V cidata -J -R -o "$d/seed.iso" "$d/seed" >/dev/null 2>&1
	qemu-img create -q -f qcow2 -F qcow2 -b "$OUT/base.qcow2" "$d/root.qcow2"
	cat >"$d/dom.xml" <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$OUT/vmlinuz</kernel>
    <initrd>$OUT/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet $2</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$d/root.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='$d/seed.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'>
      <log file='$d/console.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
  </devices>
</domain>
EOF
	$VIRSH define "$d/dom.xml" >/dev/null
}

# 1. readiness, lease, typed command, ACPI shutdown
A=$PFX-a
define "$A" ""
t=$(now)
$VIRSH start "$A" >/dev/null
if wait_log "$A" "PROJECT_VM_READY $A" 60; then
	ok "readiness line $(since "$t") s after virsh start"
else
	bad "no readiness line within 60 s"
fi
mac=$($VIRSH domiflist "$A" | awk '{print $5}' | head -n1)
if $VIRSH net-dhcp-leases default --mac "$mac" | grep -q ipv4; then
	ok "DHCP lease for $mac"
else
	bad "no DHCP lease for $mac"
fi
pty=$($VIRSH ttyconsole "$A")
(sleep 0.5; printf 'echo TYPED$((40+2))\r'; sleep 4) >"$pty" &
if wait_log "$A" TYPED42 10; then ok "typed command ran on the serial console"; else bad "typed command did not run"; fi
wait
t=$(now)
$VIRSH shutdown "$A" >/dev/null
if wait_state "$A" "shut off" 20; then ok "ACPI shutdown: shut off $(since "$t") s after virsh shutdown"; else bad "still running 20 s after virsh shutdown"; fi

# 2. restart: append='off' truncates the log
$VIRSH start "$A" >/dev/null
sleep 1
if grep -q TYPED42 "$WORK/$A/console.log"; then bad "log not truncated at start"; else ok "log truncated at start (append='off')"; fi
$VIRSH destroy "$A" >/dev/null

# 3. pvm.noacpi: virsh shutdown has no effect
B=$PFX-noacpi
define "$B" "pvm.noacpi"
$VIRSH start "$B" >/dev/null
wait_log "$B" "PROJECT_VM_READY $B" 60 || bad "pvm.noacpi: no readiness line"
$VIRSH shutdown "$B" >/dev/null
sleep 8
if [ "$($VIRSH domstate "$B")" = running ]; then ok "pvm.noacpi: still running 8 s after virsh shutdown"; else bad "pvm.noacpi: guest shut down"; fi
$VIRSH destroy "$B" >/dev/null

# 4. pvm.silent: no readiness line
C=$PFX-silent
define "$C" "pvm.silent"
$VIRSH start "$C" >/dev/null
wait_log "$C" "tiny-guest: address" 60 || bad "pvm.silent: no address"
sleep 3
if grep -q PROJECT_VM_READY "$WORK/$C/console.log"; then bad "pvm.silent: readiness line printed"; else ok "pvm.silent: no readiness line"; fi
$VIRSH destroy "$C" >/dev/null

[ "$FAIL" = 0 ] && echo "PASS" || echo "FAILED"
exit "$FAIL"
