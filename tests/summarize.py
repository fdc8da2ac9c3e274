"""Counts individual test cases from meson test runs (one build dir each): GTest cases from the
TAP output, pytest cases from their JUnit files; an argument that is a file is the output of a
check script (tools/check-*.sh), whose "ok - ..." and "not ok - ..." lines count one case each.
Prints the closing line 'N passed, N failed[, N skipped]' and exits 1 when anything failed."""

import json
import os
import re
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
results = []
for build in sys.argv[1:]:
    if os.path.isfile(build):
        text = open(build).read()
        checks = re.findall(r"^(ok|not ok) - ", text, re.M)
        passed += checks.count("ok")
        failed += checks.count("not ok") + (0 if checks else 1)
        continue
    log = os.path.join(build, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        print(f"{build}: no test log (the build or meson test did not run)")
        failed += 1
        continue
    with open(log) as f:
        results += [(build, json.loads(line)) for line in f if line.strip()]

for build, r in results:
    short = r["name"].split(" / ")[-1]
    junit = os.path.join(build, "tests", f"junit-{short}.xml")
    if os.path.exists(junit) or "integration" in r["name"]:
        if not os.path.exists(junit):
            failed += 1          # pytest did not even get to write results
            continue
        root = ET.parse(junit).getroot()
        f_ = 0
        for suite in root.iter("testsuite"):
            tests = int(suite.get("tests", 0))
            fails = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skips = int(suite.get("skipped", 0))
            passed += tests - fails - skips
            failed += fails
            skipped += skips
            f_ += fails
        if r["result"] not in ("OK", "SKIP") and f_ == 0:
            failed += 1          # crashed or timed out after the last case
        continue
    out = r.get("stdout", "")
    cases = re.findall(r"^(ok|not ok) \d+[^\n]*", out, re.M)
    if not cases:
        if r["result"] == "OK":
            passed += 1
        elif r["result"] == "SKIP":
            skipped += 1
        else:
            failed += 1
        continue
    for line in re.finditer(r"^(ok|not ok) \d+([^\n]*)", out, re.M):
        if "# SKIP" in line.group(2):
            skipped += 1
        elif line.group(1) == "ok":
            passed += 1
        else:
            failed += 1
    if r["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and "not ok" not in out:
        failed += 1

line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
