#!/bin/bash
# Proves tools/install-deps.sh on a machine that has nothing: makes a fresh
# Debian 12 root with debootstrap (minbase), runs install-deps.sh in it, then
# checks that every program the README's two commands (tools/demo.sh and
# .ci/run) run is there, that Debian's python has the test modules, and that
# the project configures and builds in that root. As root. One line per
# check, "ok - ..." or "not ok - ..."; exits non-zero on any "not ok".
#
# The minbase tarball (Debian's packages before install-deps.sh) is cached in
# /var/cache/project-vm (PVM_FRESH_ROOT_CACHE); the root itself is always new.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
suite=bookworm
cache=${PVM_FRESH_ROOT_CACHE:-/var/cache/project-vm}
tarball=$cache/debootstrap-$suite-minbase.tgz

# What the README's commands run, beyond a minbase Debian.
programs=(
  # build
  meson ninja pkg-config cc clang llvm-symbolizer scdoc
  # libvirt, QEMU and the NAT network
  libvirtd virtlogd virsh qemu-system-x86_64 qemu-img dnsmasq iptables ebtables
  # bus and polkit
  dbus-daemon busctl gdbus /usr/lib/polkit-1/polkitd
  # tests, the tiny guest and the journey's image
  xorriso busybox xmllint cloud-init ssh ssh-keygen setpriv unshare valgrind
  debootstrap mkfs.ext4 zstd flock useradd groupadd
  # the Debian package
  dpkg-buildpackage dh lintian fakeroot man
)
modules="dbusmock pytest gi dbus"

failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }
say() { echo "check-fresh-root: $*" >&2; }

tmp=$(mktemp -d /var/tmp/pvm-fresh-root.XXXXXX)
root=$tmp/root
log=$tmp/log
cleanup() {
  awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while IFS= read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

mirror=${DEBIAN_MIRROR:-$("$here/debian-mirror.sh" "$suite")}
[ -n "$mirror" ] || { not_ok "no apt source for $suite on this machine"; exit 1; }
command -v debootstrap >/dev/null || { not_ok "debootstrap is not installed (tools/install-deps.sh)"; exit 1; }

started=$(date +%s)
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  say "downloading a minbase $suite from $mirror (cached in $tarball)"
  debootstrap --variant=minbase --make-tarball="$tarball.part" "$suite" "$tmp/dl" "$mirror" \
    >"$log" 2>&1 || { tail -n 20 "$log" >&2; not_ok "debootstrap --make-tarball"; exit 1; }
  mv "$tarball.part" "$tarball"
fi
if debootstrap --variant=minbase --unpack-tarball="$tarball" "$suite" "$root" "$mirror" \
     >"$log" 2>&1; then
  ok "a fresh minbase $suite root ($(( $(date +%s) - started )) s)"
else
  tail -n 20 "$log" >&2
  not_ok "debootstrap of a fresh $suite root"
  exit 1
fi

# apt in the root reaches the archive the way this machine does; daemons
# that packages would start stay stopped.
cp -a /etc/apt/sources.list.d/. "$root/etc/apt/sources.list.d/" 2>/dev/null || true
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/sources.list"
cp /etc/apt/apt.conf.d/*proxy* "$root/etc/apt/apt.conf.d/" 2>/dev/null || true
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"

# The project as committed plus the work tree's changes (not build dirs).
mkdir -p "$root/src"
(cd "$src" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
  tar -xf - -C "$root/src"

step=$(date +%s)
if in_root bash /src/tools/install-deps.sh >"$log" 2>&1; then
  ok "tools/install-deps.sh in the fresh root ($(( $(date +%s) - step )) s)"
else
  tail -n 20 "$log" >&2
  not_ok "tools/install-deps.sh in the fresh root"
fi

for p in "${programs[@]}"; do
  if in_root sh -c "command -v $p" >/dev/null; then
    ok "$p"
  else
    not_ok "$p is missing after install-deps.sh"
  fi
done
for m in $modules; do
  if in_root /usr/bin/python3 -c "import $m" 2>/dev/null; then
    ok "python module $m (/usr/bin/python3)"
  else
    not_ok "python module $m is missing for /usr/bin/python3"
  fi
done

if in_root sh -c 'cd /src && dpkg-checkbuilddeps' >"$log" 2>&1; then
  ok "the Debian package's Build-Depends are installed"
else
  cat "$log" >&2
  not_ok "the Debian package's Build-Depends are not all installed"
fi

step=$(date +%s)
if in_root sh -c 'cd /src && meson setup /tmp/build && ninja -C /tmp/build' >"$log" 2>&1; then
  ok "meson setup and ninja build in the fresh root ($(( $(date +%s) - step )) s)"
else
  tail -n 20 "$log" >&2
  not_ok "meson setup and ninja build in the fresh root"
fi
say "$(( $(date +%s) - started )) s in all"
exit $failed
