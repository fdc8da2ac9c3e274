#!/bin/sh
# build-tiny-guest.sh OUTDIR
#
# Builds a tiny test guest for project-vm:
#   OUTDIR/vmlinuz     Debian cloud kernel (linux-image-*-cloud-amd64)
#   OUTDIR/initrd.img  busybox-static initramfs (/init plays cloud-init's role)
#   OUTDIR/base.qcow2  empty 64 MiB qcow2, the base image the service overlays
#
# Cached: when OUTDIR already holds all three and was built by this very
# script (stamp holds its sha256), it exits 0 at once without network.
# Needs only Debian's archive (apt-get download), busybox-static, qemu-img.
#
# Environment:
#   TINY_GUEST_KERNEL_DEB=/path/linux-image-<ver>-cloud-amd64_*.deb
#                         use this .deb instead of downloading one
#   TINY_GUEST_BUSYBOX=/path/busybox   static busybox (default /bin/busybox)
#   TINY_GUEST_REBUILD=1  ignore the cache (base.qcow2 is kept if present)
#   TINY_GUEST_COMPRESS=gzip|none      initrd compression (default gzip)
set -eu

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
die() { echo "build-tiny-guest: $*" >&2; exit 1; }
[ $# -eq 1 ] || usage

OUT=$1
SELF=$(readlink -f "$0")
BUSYBOX=${TINY_GUEST_BUSYBOX:-/bin/busybox}
COMPRESS=${TINY_GUEST_COMPRESS:-gzip}
DEB=${TINY_GUEST_KERNEL_DEB:-}
STAMP_NAME=.tiny-guest.stamp

# Modules (not built in to Debian's cloud kernel), as "group name" in load
# order. /init first loads group "acpi" (power button, for busybox acpid),
# then group "ide" (seed ISO as IDE cdrom on machine 'pc': there is no AHCI)
# and group "virtio" (virtio-blk disks, virtio-net NIC) in parallel.
MODULES="ide:scsi_common ide:scsi_mod ide:libata ide:ata_piix ide:cdrom
ide:sr_mod ide:isofs virtio:virtio_ring virtio:virtio
virtio:virtio_pci_legacy_dev virtio:virtio_pci_modern_dev virtio:virtio_pci
virtio:failover virtio:net_failover virtio:virtio_net virtio:virtio_blk
acpi:button acpi:evdev"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUM=$(sha256sum "$SELF" | cut -d' ' -f1)

is_cached() {
	[ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ -s "$OUT/base.qcow2" ] &&
	[ -r "$OUT/$STAMP_NAME" ] &&
	[ "$(sed -n 1p "$OUT/$STAMP_NAME")" = "$SUM" ]
}

if [ "${TINY_GUEST_REBUILD:-0}" != 1 ] && is_cached; then
	exit 0
fi

# Serialise concurrent builders on the directory itself (no lock file).
exec 9<"$OUT"
flock 9
if [ "${TINY_GUEST_REBUILD:-0}" != 1 ] && is_cached; then
	exit 0
fi

command -v qemu-img >/dev/null || die "qemu-img not found (apt-get install qemu-utils)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked; install busybox-static or set TINY_GUEST_BUSYBOX"
fi

TMP=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP

# --- kernel package -------------------------------------------------------
if [ -z "$DEB" ]; then
	kpkg() {
		apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1
	}
	PKG=$(kpkg)
	if [ -z "$PKG" ]; then
		apt-get update -qq >&2 || true
		PKG=$(kpkg)
	fi
	[ -n "$PKG" ] || die "apt-cache cannot resolve linux-image-cloud-amd64"
	DEB=$(ls /var/cache/apt/archives/"${PKG}"_*_amd64.deb 2>/dev/null | tail -n1)
	if [ -z "$DEB" ]; then
		(cd "$TMP" && apt-get download -qq -o APT::Sandbox::User=root "$PKG" >&2) ||
			die "apt-get download $PKG failed"
		DEB=$(ls "$TMP"/linux-image-*.deb)
	fi
fi
[ -r "$DEB" ] || die "cannot read $DEB"

X=$TMP/x
mkdir "$X"
dpkg-deb --fsys-tarfile "$DEB" |
	tar -x -C "$X" --wildcards './boot/vmlinuz-*' './lib/modules/*' ||
	die "cannot extract $DEB"
KVER=$(ls "$X/lib/modules")
[ -n "$KVER" ] && [ "$(echo "$KVER" | wc -l)" -eq 1 ] || die "unexpected modules tree in $DEB: $KVER"
[ -s "$X/boot/vmlinuz-$KVER" ] || die "no vmlinuz-$KVER in $DEB"
KMOD=$X/lib/modules/$KVER

# --- initramfs tree -------------------------------------------------------
R=$TMP/root
mkdir -p "$R"
for d in bin sbin usr/bin usr/sbin etc/acpi/PWRF etc/tiny-guest usr/share/tiny-guest \
	proc sys dev run tmp root var/log mnt/seed mnt/project "lib/modules/$KVER"; do
	mkdir -p "$R/$d"
done
chmod 1777 "$R/tmp"
ln -s ../run "$R/var/run"
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$R/dev/null" c 1 3 2>/dev/null || true

cp "$BUSYBOX" "$R/bin/busybox"
"$BUSYBOX" --list-full | while read -r a; do
	[ "$a" = bin/busybox ] && continue
	[ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done

: >"$R/etc/tiny-guest/modules"
for gm in $MODULES; do
	g=${gm%%:*}
	m=${gm#*:}
	rel=$(cd "$KMOD" && find kernel -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n1)
	if [ -z "$rel" ]; then
		if grep -q "/$m.ko\$" "$KMOD/modules.builtin" 2>/dev/null; then
			continue   # built in to this kernel
		fi
		die "module $m not found in $DEB"
	fi
	dst=$R/lib/modules/$KVER/${rel%.xz}
	dst=${dst%.zst}
	mkdir -p "${dst%/*}"
	case $rel in
	*.xz) xz -dc "$KMOD/$rel" >"$dst" ;;
	*.zst) zstd -qdc "$KMOD/$rel" >"$dst" ;;
	*) cp "$KMOD/$rel" "$dst" ;;
	esac
	echo "$g /lib/modules/$KVER/${dst#"$R/lib/modules/$KVER/"}" >>"$R/etc/tiny-guest/modules"
done
cp "$KMOD/modules.builtin" "$KMOD/modules.order" "$R/lib/modules/$KVER/" 2>/dev/null || true
"$BUSYBOX" depmod -b "$R" "$KVER" 2>/dev/null || true

cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
EOF
cat >"$R/etc/profile" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root
export PS1='\h# '
cd /root 2>/dev/null
EOF

# ACPI power button: busybox acpid maps KEY_POWER to the action
# "PWRF/00000080" and runs that path relative to its config dir /etc/acpi.
cat >"$R/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "tiny-guest: power button: powering off" >/dev/console
sync
umount /mnt/project 2>/dev/null
poweroff -f
EOF
chmod 755 "$R/etc/acpi/PWRF/00000080"

cat >"$R/usr/share/tiny-guest/udhcpc.script" <<'EOF'
#!/bin/sh
# udhcpc event script: configure the address and tell /init about it.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	old=$(cat /run/tiny-guest/ip 2>/dev/null)
	if [ "$1" = bound ] || [ "$old" != "$ip" ]; then
		ip -4 addr flush dev "$interface"
		ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
		for r in $router; do
			ip route add default via "$r" dev "$interface" 2>/dev/null
			break
		done
		: >/etc/resolv.conf
		for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
		echo "$ip" >/run/tiny-guest/ip.new && mv /run/tiny-guest/ip.new /run/tiny-guest/ip
		echo "tiny-guest: address $ip" >/dev/console
	fi
	;;
esac
exit 0
EOF
chmod 755 "$R/usr/share/tiny-guest/udhcpc.script"

cat >"$R/init" <<'EOF'
#!/bin/sh
# tiny-guest /init: a stand-in for cloud-init on a busybox initramfs.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
umask 022
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/tiny-guest
exec </dev/console >/dev/console 2>&1

say() { echo "tiny-guest: $*"; }
dbg() { [ "$DEBUG" = 0 ] || say "[$(cut -d' ' -f1 /proc/uptime)] $*"; }

NOACPI=0 SILENT=0 READYDELAY=0 DEBUG=0
for arg in $(cat /proc/cmdline); do
	case $arg in
	pvm.noacpi) NOACPI=1 ;;
	pvm.silent) SILENT=1 ;;
	pvm.readydelay=*) READYDELAY=${arg#*=} ;;
	pvm.debug) DEBUG=1 ;;
	esac
done

load_group() { # insmod, in order, the modules of group $1
	while read -r g mod; do
		[ "$g" = "$1" ] && insmod "$mod"
	done </etc/tiny-guest/modules
}
# ACPI power button -> poweroff, unless told to ignore it. First, so that a
# shutdown request is honoured as early as possible.
load_group acpi
if [ "$NOACPI" = 0 ]; then
	acpid -l /run/acpid.log || say "acpid failed"
else
	say "pvm.noacpi: ignoring the ACPI power button"
fi
dbg "acpid started"
load_group ide &
load_group virtio
wait
ip link set lo up
dbg "modules loaded"

# Seed: the NoCloud ISO labelled cidata (libisofs may upper-case it).
SEED=
i=0
while [ $i -lt 50 ]; do
	SEED=$(findfs LABEL=cidata 2>/dev/null || findfs LABEL=CIDATA 2>/dev/null) && break
	SEED=
	sleep 0.2
	i=$((i + 1))
done
INSTANCE_ID= HOSTNAME_= MSG=
yaml_get() { # KEY FILE: value of a top-level "KEY: value" line, unquoted
	sed -n "s/^$1:[[:space:]]*//p" "$2" 2>/dev/null | head -n1 | tr -d '\r' |
		sed -e 's/[[:space:]]*$//' -e 's/^"\(.*\)"$/\1/' -e "s/^'\\(.*\\)'\$/\\1/"
}
if [ -n "$SEED" ] && mount -o ro "$SEED" /mnt/seed 2>/dev/null; then
	INSTANCE_ID=$(yaml_get instance-id /mnt/seed/meta-data)
	HOSTNAME_=$(yaml_get local-hostname /mnt/seed/meta-data)
	dbg "seed mounted: $SEED"
	say "seed found: instance-id $INSTANCE_ID"
	# final_message: "<text>" (YAML double quotes: undo \" and \\)
	MSG=$(tr -d '\r' </mnt/seed/user-data 2>/dev/null |
		sed -n 's/^final_message:[[:space:]]*"\(.*\)"[[:space:]]*$/\1/p' | head -n1 |
		sed 's/\\\(["\\]\)/\1/g')
	if [ -z "$MSG" ]; then
		MSG=$(yaml_get final_message /mnt/seed/user-data)
	fi
else
	say "no seed found (no filesystem labelled cidata)"
fi
[ -n "$HOSTNAME_" ] || HOSTNAME_=${INSTANCE_ID:-tiny-guest}
HOSTNAME_=$(echo "$HOSTNAME_" | tr -c 'A-Za-z0-9.\n-' '-' | cut -c1-63)
hostname "$HOSTNAME_"
echo "$HOSTNAME_" >/etc/hostname

# Network: first ethernet interface, DHCP retried forever in the background.
IFACE=
i=0
while [ $i -lt 20 ]; do
	for n in /sys/class/net/*; do
		n=${n##*/}
		[ "$n" = lo ] && continue
		[ "$(cat /sys/class/net/$n/type 2>/dev/null)" = 1 ] || continue
		IFACE=$n
		break
	done
	[ -n "$IFACE" ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ -n "$IFACE" ]; then
	ip link set "$IFACE" up
	udhcpc -f -i "$IFACE" -s /usr/share/tiny-guest/udhcpc.script -t 5 -T 1 -A 2 \
		-x "hostname:$HOSTNAME_" >/run/udhcpc.log 2>&1 </dev/null &
	dbg "udhcpc started on $IFACE"
else
	say "no network interface"
fi

# Project disk: the virtio disk whose serial is "project".
PDEV=
for s in /sys/block/vd*/serial; do
	[ -r "$s" ] || continue
	if [ "$(cat "$s")" = project ]; then
		PDEV=${s%/serial}
		PDEV=/dev/${PDEV##*/}
		break
	fi
done
if [ -n "$PDEV" ]; then
	if ! mount -t ext4 "$PDEV" /mnt/project 2>/dev/null; then
		# Format only a disk whose first 1 MiB is all zeros.
		if [ "$(dd if="$PDEV" bs=65536 count=16 2>/dev/null | tr -d '\0' | wc -c)" = 0 ]; then
			mke2fs -q -L project "$PDEV" >/dev/null 2>&1 &&
				say "project disk ${PDEV#/dev/}: formatted ext2"
			mount -t ext4 "$PDEV" /mnt/project 2>/dev/null
		fi
	fi
	if grep -q " /mnt/project " /proc/mounts; then
		say "project disk ${PDEV#/dev/} mounted on /mnt/project"
	else
		say "project disk ${PDEV#/dev/} not mounted (unknown contents)"
	fi
fi

dbg "project disk done"
# Readiness: after an address (or at most ~10 s without one).
if [ -n "$IFACE" ]; then
	read -r up _ </proc/uptime
	deadline=$((${up%.*} + 10))
	while [ ! -s /run/tiny-guest/ip ]; do
		read -r up _ </proc/uptime
		[ "${up%.*}" -lt "$deadline" ] || break
		sleep 0.1
	done
	[ -s /run/tiny-guest/ip ] || say "no DHCP address yet (still trying)"
fi
if [ "$READYDELAY" -gt 0 ] 2>/dev/null; then
	sleep "$READYDELAY"
fi
UP=$(cut -d' ' -f1 /proc/uptime)
# cloud-init's default when user-data sets no final_message
[ -n "$MSG" ] || MSG='Cloud-init v. $VERSION finished at $TIMESTAMP. Datasource $DATASOURCE.  Up $UPTIME seconds'
if [ -n "$MSG" ]; then
	TS=$(date -R)
	MSG=${MSG//\$UPTIME/$UP}
	MSG=${MSG//\$TIMESTAMP/$TS}
	MSG=${MSG//\$VERSION/tiny-guest-1}
	MSG=${MSG//\$DATASOURCE/NoCloud}
	if [ "$SILENT" = 0 ]; then
		printf '%s\n' "$MSG"
	fi
	printf '%s\n' "$MSG" >/run/tiny-guest/final-message
fi
echo "$UP" >/run/tiny-guest/ready

# Hand over to busybox init: reaps orphans, respawns a root shell on the
# console (the last console= of the kernel command line).
CON=$(cat /sys/class/tty/console/active 2>/dev/null)
CON=${CON##* }
[ -n "$CON" ] || CON=console
cat >/etc/inittab <<EOT
$CON::respawn:-/bin/sh
::ctrlaltdel:/sbin/poweroff -f
EOT
exec /sbin/init
EOF
chmod 755 "$R/init"

# --- pack -----------------------------------------------------------------
(cd "$R" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) >"$TMP/initrd.cpio"
case $COMPRESS in
gzip) gzip -6 -n <"$TMP/initrd.cpio" >"$TMP/initrd.img" ;;
none) mv "$TMP/initrd.cpio" "$TMP/initrd.img" ;;
*) die "TINY_GUEST_COMPRESS must be gzip or none" ;;
esac
cp "$X/boot/vmlinuz-$KVER" "$TMP/vmlinuz"
chmod 644 "$TMP/vmlinuz" "$TMP/initrd.img"

# Keep an existing base image: overlays may already point at it.
if [ ! -s "$OUT/base.qcow2" ]; then
	qemu-img create -q -f qcow2 "$TMP/base.qcow2" 64M
	mv "$TMP/base.qcow2" "$OUT/base.qcow2"
fi
mv -f "$TMP/vmlinuz" "$OUT/vmlinuz"
mv -f "$TMP/initrd.img" "$OUT/initrd.img"
printf '%s\n%s\n%s\n' "$SUM" "$KVER" "$(basename "$DEB")" >"$TMP/stamp"
mv -f "$TMP/stamp" "$OUT/$STAMP_NAME"
echo "build-tiny-guest: $OUT ready (kernel $KVER)" >&2
