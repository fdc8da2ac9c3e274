#!/bin/sh
# Runs one libFuzzer target for a bounded time on a scratch copy of its seed
# corpus, so the source tree is never written to. A crashing input is kept
# in ARTIFACT_DIR (crash-*, leak-*, timeout-*) to reproduce with
#   FUZZER ARTIFACT_DIR/crash-...
# Usage: run-fuzzer.sh FUZZER CORPUS_DIR ARTIFACT_DIR [libFuzzer options]
set -eu
fuzzer=$1 corpus=$2 artifacts=$3
shift 3

work=$(mktemp -d "${TMPDIR:-/tmp}/pvm-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$corpus"/. "$work"/
mkdir -p "$artifacts"

# GLib 2.74's slice magazines would hide overflows and leaks from ASan.
export G_SLICE=always-malloc
status=0
# libFuzzer's own exit codes for a crash or a timeout (77, 70) read as
# "skipped" to meson: report every finding as a plain failure.
"$fuzzer" -artifact_prefix="$artifacts/" -print_final_stats=1 \
  -error_exitcode=1 -timeout_exitcode=1 "$@" "$work" || status=$?
exit $status
