#!/bin/bash
# The main job on a fresh Debian 12 machine, as root: install, build, start
# libvirtd, a private system bus with a polkit authority and project-vmd,
# then show the project VMs through the client.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
tools/libvirtd.sh >/dev/null
exec /usr/bin/python3 tools/demo.py
