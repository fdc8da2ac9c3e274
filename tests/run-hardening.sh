#!/bin/bash
# The hardening run: a separate clang build with AddressSanitizer and
# UndefinedBehaviorSanitizer and the libFuzzer targets of tests/fuzz, then
# the unit tests and a bounded run of each fuzzer (the "fuzz" suite).
# Then the integration suites against the sanitized service and client.
# Usage: tests/run-hardening.sh [meson test arguments]
# Ends with a line like "8 passed, 0 failed". A fuzzer's crashing input is
# kept in BUILD/tests/fuzz/artifacts/TARGET/.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${PVM_HARDENING_BUILD_DIR:-build-hardening}

if [ ! -f "$build/build.ninja" ]; then
  # b_lundef=false: clang's sanitizer runtimes are not linked into shared
  # objects, so -Wl,--no-undefined cannot hold. fuzzer-no-link gives the
  # service library the coverage feedback libFuzzer steers by.
  CC=clang meson setup "$build" \
    -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true \
    -Dc_args='-fsanitize=fuzzer-no-link -fno-omit-frame-pointer' \
    >/dev/null || exit 1
fi
ninja -C "$build" || exit 1

# GLib < 2.76 hands out g_slice memory from its own magazines, where ASan
# sees neither overflows nor leaks: use malloc for all of it.
export G_SLICE=always-malloc
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

rm -f "$build/meson-logs/testlog.json" "$build"/tests/junit-*.xml
start=$(date +%s)
if [ $# -gt 0 ]; then
  meson test -C "$build" --print-errorlogs "$@"
  status=$?
else
  meson test -C "$build" --print-errorlogs --suite unit --suite fuzz
  status=$?
  # The service and the client built with ASan+UBSan under the integration
  # tests: an invalid access aborts them and fails the test. Leaks are
  # valgrind's job (the valgrind suite), so LSan stays quiet here.
  # --no-rebuild keeps meson from truncating the log of the first run.
  started=$(tools/libvirtd.sh) || exit 1
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
    meson test -C "$build" --print-errorlogs --no-rebuild --suite integration \
      --logbase testlog-integration || status=1
  [ "$started" = started ] && tools/libvirtd.sh stop
  cat "$build/meson-logs/testlog-integration.json" >> "$build/meson-logs/testlog.json"
fi
echo "meson test took $(( $(date +%s) - start ))s"

# What each fuzzer did: inputs run, coverage reached, time.
/usr/bin/python3 - "$build" <<'PY'
import json, re, sys
with open(sys.argv[1] + "/meson-logs/testlog.json") as f:
    for line in f:
        r = json.loads(line)
        if not r["name"].split(" / ")[-1].startswith("fuzz-"):
            continue
        out = r.get("stdout", "") + r.get("stderr", "")
        runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", out)
        cov = re.findall(r"\bcov: (\d+)", out)
        print(f"{r['name']}: {r['result']}, {runs[-1] if runs else '?'} inputs, "
              f"cov {cov[-1] if cov else '?'}, {r['duration']:.0f}s")
PY
if [ -z "${PVM_NO_SUMMARY:-}" ]; then
  /usr/bin/python3 tests/summarize.py "$build" || status=1
fi
exit $status
