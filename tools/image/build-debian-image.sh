#!/bin/bash
# Builds a stock-like Debian 12 (bookworm) cloud base image from Debian
# packages, for direct kernel boot under libvirt/QEMU:
#
#   OUTDIR/debian-12.qcow2   ext4 root filesystem (label "root", no partition
#                            table), compressed qcow2, 3 GiB virtual size
#   OUTDIR/vmlinuz           the image's kernel
#   OUTDIR/initrd.img        the image's initramfs
#
# Boot with the kernel command line "root=LABEL=root console=ttyS0 rw" and a
# NoCloud seed (an ISO labelled "cidata"). See README.md next to this script.
#
# Usage: build-debian-image.sh OUTDIR       (as root, unattended)
#        DEBIAN_MIRROR=URL overrides the mirror read from apt's sources.
#
# Cached: when OUTDIR already holds the three files and a stamp with this
# script's checksum, it exits 0 at once. Otherwise it builds in a temporary
# directory beside OUTDIR (removed on every exit path) and renames the results
# into place, the stamp last.
set -euo pipefail
umask 022
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

SUITE=bookworm
IMAGE=debian-12.qcow2
SIZE=3G
STAMP=.build-debian-image.stamp
# Besides the packages of host-facts.md ("A real Debian cloud guest"): fdisk
# (cloud-init depends on "fdisk | util-linux"; debootstrap takes no
# alternatives), gdisk and parted (disk_setup with a GPT runs sgdisk and
# partprobe), locales (cloud-init's locale module), kmod and procps, zstd
# (initramfs-tools compresses with it by default and falls back to gzip
# without it), systemd-timesyncd and a few tools a Debian cloud image has.
PACKAGES=(
  systemd-sysv udev dbus
  cloud-init cloud-guest-utils python3-cffi-backend
  openssh-server openssh-client sudo
  ifupdown isc-dhcp-client netbase iproute2 iputils-ping
  e2fsprogs fdisk gdisk parted
  linux-image-cloud-amd64 initramfs-tools kmod zstd
  ca-certificates locales procps less systemd-timesyncd
  curl vim-tiny bash-completion
)

t0=$SECONDS
say () { printf '[build-debian-image %3ds] %s\n' "$((SECONDS - t0))" "$*"; }
die () { printf 'build-debian-image: error: %s\n' "$*" >&2; exit 1; }

if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: $0 OUTDIR"; fi
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"

self=$(readlink -f "${BASH_SOURCE[0]}")
sum=$(sha256sum "$self" | cut -d' ' -f1)
mkdir -p "$1" || die "cannot create $1"
outdir=$(readlink -f "$1")

cached () {
  [ -s "$outdir/$IMAGE" ] && [ -s "$outdir/vmlinuz" ] && [ -s "$outdir/initrd.img" ] &&
    [ "$(cat "$outdir/$STAMP" 2>/dev/null)" = "$sum" ]
}
if cached; then
  say "up to date: $outdir"
  exit 0
fi

# One build at a time for this OUTDIR; a second caller waits, then finds the
# first one's result in the cache.
exec 9>"$outdir/.build-debian-image.lock"
flock 9
if cached; then
  say "up to date: $outdir (built by a concurrent run)"
  exit 0
fi

for tool in mkfs.ext4 qemu-img chroot flock; do
  command -v "$tool" >/dev/null || die "$tool not found (e2fsprogs, qemu-utils, coreutils, util-linux)"
done
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  { apt-get install -y -q debootstrap || { apt-get update -q && apt-get install -y -q debootstrap; }; } \
    >/dev/null || die "cannot install debootstrap with apt-get"
fi

mirror=${DEBIAN_MIRROR:-$("$(dirname "$0")/../debian-mirror.sh" "$SUITE")}
[ -n "$mirror" ] || die "no apt source for '$SUITE' in /etc/apt/sources.list{,.d/*} (set DEBIAN_MIRROR)"

# Work beside OUTDIR so that the results move in by rename(2).
tmp=$(mktemp -d "$(dirname "$outdir")/.build-debian-image.XXXXXX")
root=$tmp/root
log=$tmp/build.log
: >"$log"
status=1
child=
cleanup () {
  local rc=$? p pr
  trap - EXIT INT TERM HUP
  # Stop a step still running (interrupted), with whatever it started.
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM -- "-$child" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$child" 2>/dev/null || true
  fi
  # Anything still running inside the tree (a daemon a postinst started).
  for p in /proc/[0-9]*; do
    pr=$(readlink "$p/root" 2>/dev/null) || continue
    case $pr in "$root" | "$root"/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
  done
  if [ "$status" -ne 0 ] && [ -s "$log" ]; then
    printf 'build-debian-image: last lines of the build log:\n' >&2
    tail -n 25 "$log" >&2
  fi
  # debootstrap mounts /proc, /sys ... in the tree and leaves them when
  # interrupted: unmount everything below $tmp, deepest first, before rm.
  awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "build-debian-image: interrupted" >&2; exit 130' INT
trap 'echo "build-debian-image: terminated" >&2; exit 143' TERM
trap 'echo "build-debian-image: hung up" >&2; exit 129' HUP

# Runs a step with its output in the log, in a process group of its own and
# in the background: a signal to this script then acts at once (bash defers
# traps until a foreground child ends) and cleanup can stop the whole step.
run () {
  setsid "$@" >>"$log" 2>&1 </dev/null &
  child=$!
  wait "$child"
}

say "debootstrap $SUITE from $mirror"
run debootstrap --variant=minbase --components=main \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  "$SUITE" "$root" "$mirror" || die "debootstrap failed"

say "configuring the tree"
# systemd generates a machine id on first boot; cloud-init makes ssh host keys.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -f "$root"/etc/ssh/ssh_host_*
echo localhost >"$root/etc/hostname"
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
rm -f "$root/etc/resolv.conf"
: >"$root/etc/resolv.conf"

cat >"$root/etc/fstab" <<'EOF'
# <file system>	<mount point>	<type>	<options>	<dump>	<pass>
LABEL=root	/	ext4	defaults	0	1
EOF

# Like a Debian cloud image: the CDN, main, with updates, security, backports.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# cloud-init writes the NIC's configuration to interfaces.d (eni renderer).
cat >"$root/etc/network/interfaces" <<'EOF'
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback
EOF
mkdir -p "$root/etc/network/interfaces.d"

# Keep on one line each: ds-identify parses datasource_list ad hoc.
cat >"$root/etc/cloud/cloud.cfg.d/01_debian_cloud.cfg" <<'EOF'
datasource_list: [ NoCloud, None ]
manage_etc_hosts: true
# This image boots its kernel directly and has no GRUB to configure.
grub_dpkg:
  enabled: false
EOF

# C.UTF-8 is built into glibc: cloud-init's locale module then has nothing to
# generate (otherwise it runs locale-gen en_US.UTF-8 on first boot).
echo 'LANG=C.UTF-8' >"$root/etc/default/locale"

# A login prompt on the serial console.
mkdir -p "$root/etc/systemd/system/getty.target.wants"
ln -sf /lib/systemd/system/serial-getty@.service \
  "$root/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"

# Root is found by label, so initramfs-tools cannot tell its type at build
# time: name it, or the initramfs has no fsck.ext4 and root is never checked.
mkdir -p "$root/etc/initramfs-tools/conf.d"
echo 'FSTYPE=ext4' >"$root/etc/initramfs-tools/conf.d/fstype.conf"
say "rebuilding the initramfs"
run chroot "$root" update-initramfs -u -k all || die "update-initramfs failed"

kernel=$(cd "$root/boot" && printf '%s\n' vmlinuz-* | sort -V | tail -n1)
[ -s "$root/boot/$kernel" ] || die "no kernel in the tree's /boot"
initrd=initrd.img-${kernel#vmlinuz-}
[ -s "$root/boot/$initrd" ] || die "no $initrd in the tree's /boot"

# Leave no build traces behind.
run chroot "$root" apt-get clean || die "apt-get clean failed"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
  "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/* \
  "$root"/var/lib/cloud/*
mkdir -p "$root/var/lib/apt/lists/partial"

mkdir "$tmp/out"
cp "$root/boot/$kernel" "$tmp/out/vmlinuz"
cp "$root/boot/$initrd" "$tmp/out/initrd.img"
chmod 0644 "$tmp/out/vmlinuz" "$tmp/out/initrd.img"

say "making the ext4 filesystem ($SIZE) and the qcow2 image"
run mkfs.ext4 -q -F -L root -d "$root" "$tmp/root.img" "$SIZE" || die "mkfs.ext4 failed"
rm -rf --one-file-system "$root"
# zstd compresses about 5x faster than qcow2's default zlib (4 s against 20 s
# here) for the same size; it needs QEMU >= 5.1 to read, else fall back.
run qemu-img convert -c -O qcow2 -o compression_type=zstd "$tmp/root.img" "$tmp/out/$IMAGE" ||
  run qemu-img convert -c -O qcow2 "$tmp/root.img" "$tmp/out/$IMAGE" ||
  die "qemu-img convert failed"
rm -f "$tmp/root.img"
chmod 0644 "$tmp/out/$IMAGE"

# The stamp goes first out and last in: with it present, the files are whole.
# A qcow2 overlay made over the old image is corrupt over the new one: say so.
if [ -e "$outdir/$IMAGE" ]; then
  say "warning: replacing $outdir/$IMAGE; overlays backed by the old image must not be used with the new one"
fi
rm -f "$outdir/$STAMP"
mv -f "$tmp/out/$IMAGE" "$outdir/$IMAGE"
mv -f "$tmp/out/vmlinuz" "$outdir/vmlinuz"
mv -f "$tmp/out/initrd.img" "$outdir/initrd.img"
echo "$sum" >"$tmp/stamp"
mv -f "$tmp/stamp" "$outdir/$STAMP"
status=0
say "done: $outdir/{$IMAGE,vmlinuz,initrd.img} (${kernel#vmlinuz-}, $(du -m "$outdir/$IMAGE" | cut -f1) MiB)"
