#!/bin/bash
# Installs what project-vm needs to build, run and test on Debian 12.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  # build
  meson ninja-build pkg-config build-essential libglib2.0-dev libvirt-glib-1.0-dev
  libvirt-dev libpolkit-gobject-1-dev libisofs-dev libjson-glib-dev
  # libvirt-gconfig-1.0.pc requires libxml-2.0, which libvirt-glib-1.0-dev
  # does not depend on
  libxml2-dev
  # man pages (scdoc source turned into roff by meson)
  scdoc
  # hardening: libFuzzer and the sanitizer runtimes, readable traces
  clang libclang-rt-14-dev llvm
  # run: libvirt + QEMU, D-Bus, polkit
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system
  libvirt-clients qemu-system-x86 qemu-utils dbus polkitd
  # libvirt's NAT network `default` runs dnsmasq; libvirt only recommends it,
  # and --no-install-recommends below leaves it out. Filtering (nwfilter's
  # clean-traffic, for isolate-guests) needs ebtables and iptables; iptables
  # brings ebtables-nft, the alternative libvirt runs here.
  dnsmasq-base iptables ebtables
  # tests: dbusmock, pytest, ISO and XML checks, the tiny guest, cloud-init's
  # schema, the D-Bus reference's reST (docutils)
  python3-dbusmock python3-pytest busybox-static xorriso kmod libxml2-utils
  python3-docutils
  cloud-init openssh-client util-linux valgrind
  # the Debian cloud image of the journey (tools/image)
  debootstrap e2fsprogs zstd
  # the Debian package: build, lint, man pages, completion test
  dpkg-dev debhelper fakeroot lintian man-db bash-completion
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
