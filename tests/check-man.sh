#!/bin/sh
# Checks built manual pages: each renders with man(1) without a single
# warning on stderr, and has the sections every manual page needs.
# Usage: check-man.sh PAGE...   (roff files, as meson builds them)
set -u

if ! command -v man >/dev/null 2>&1; then
  echo "man(1) is not installed (package man-db)"
  exit 77   # meson: skipped
fi

status=0
for page in "$@"; do
  name=$(basename "$page")
  # man prints groff's warnings (and its own) on stderr; rendering is
  # pinned so the result does not depend on the caller's terminal.
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  if [ -n "$warnings" ]; then
    echo "not ok - $name renders with warnings:"
    printf '%s\n' "$warnings" | sed 's/^/    /'
    status=1
  else
    echo "ok - $name renders without warnings"
  fi
  for section in NAME SYNOPSIS DESCRIPTION; do
    if grep -q "^\.SH \"*$section\"*\$" "$page"; then
      echo "ok - $name has $section"
    else
      echo "not ok - $name has no $section section"
      status=1
    fi
  done
done
exit $status
