#!/bin/bash
# The main job on a fresh Debian 12 machine, as root: install, build, start
# libvirtd and its default network, a private system bus with polkitd and
# project-vmd, build the Debian cloud image, then run the user's whole
# journey with the CLI as an unprivileged user (--tiny: a tiny guest, fast).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
tools/libvirtd.sh >/dev/null
exec /usr/bin/python3 tools/demo.py "$@"
