#!/bin/sh
# Runs berth's tests (unit and integration; integration tests need root and the set-up step) and
# ends with one plain line: "N passed, N failed[, N skipped]".
# Usage: scripts/test.sh [bun test filters…]
set -u
cd "$(dirname "$0")/.."
[ -x build/berth-runtime ] && [ -x build/berth-init ] || { echo "test: run scripts/setup.sh first (build/ is missing)" >&2; exit 2; }
out=$(mktemp /tmp/berth-test-out.XXXXXX)
trap 'rm -f "$out"' EXIT
# One file at a time: the integration tests start real containers, daemons and registries.
node_modules/bun/bin/bun.exe test --timeout 120000 "$@" 2>&1 | tee "$out"
status=$?
pass=$(grep -E '^ *[0-9]+ pass$' "$out" | tail -1 | awk '{print $1}')
fail=$(grep -E '^ *[0-9]+ fail$' "$out" | tail -1 | awk '{print $1}')
skip=$(grep -E '^ *[0-9]+ (skip|todo)$' "$out" | awk '{s+=$1} END {print s+0}')
pass=${pass:-0}
fail=${fail:-0}
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
if [ "$skip" -gt 0 ]; then
  echo "$pass passed, $fail failed, $skip skipped"
else
  echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
