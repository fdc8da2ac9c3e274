#!/bin/bash
# project-vm benchmark, one command: installs what it needs (Debian 12, as
# root), builds the tree if needed and the small libvirt-dbus client, runs
# bench/bench.py and writes the Markdown table to bench/results.md.
#   bash bench/run.sh [bench.py options, e.g. --runs 30 --sizes 1 10 100]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: run as root" >&2
    exit 1
fi

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v libvirt-dbus >/dev/null || need+=(libvirt-dbus)
command -v genisoimage >/dev/null || need+=(genisoimage)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v busctl >/dev/null || need+=(systemd)
command -v cc >/dev/null || need+=(gcc)
pkg-config --exists gio-2.0 2>/dev/null || need+=(libglib2.0-dev pkg-config)
if [ ${#need[@]} -gt 0 ]; then
    echo "run.sh: installing ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2 \
        || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y --no-install-recommends "${need[@]}" >&2; }
fi
# The project's own dependencies (libvirt, dbus, python3-dbusmock, ...).
if ! /usr/bin/python3 -c 'import dbusmock' 2>/dev/null || ! command -v virsh >/dev/null; then
    bash "$src/tools/install-deps.sh" >&2
fi

build=${PVM_BUILD_DIR:-$src/build}
if [ ! -x "$build/client/project-vm" ] || [ ! -x "$build/service/project-vmd" ]; then
    [ -d "$build" ] || meson setup "$build" "$src" >&2
    ninja -C "$build" >&2
fi

# exec: a Ctrl-C or kill reaches bench.py, which cleans up after itself.
PVM_BUILD_DIR=$build exec /usr/bin/python3 "$here/bench.py" --output "$here/results.md" "$@"
