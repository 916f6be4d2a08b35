#!/usr/bin/env bash
# Runs `npm test` N times (default 10) while two busy loops per core compete for the CPU, and
# counts the failures: the suite must not depend on how fast the machine happens to be.
# Usage: bash scripts/test-under-load.sh [runs]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
loops=()
for _ in $(seq $((2 * $(nproc)))); do (yes > /dev/null) & loops+=($!); done
trap 'kill "${loops[@]}" 2>/dev/null' EXIT
failures=0
for i in $(seq "$runs"); do
  started=$(date +%s)
  if npm test > "/tmp/gradparity-load-run-$i.log" 2>&1; then outcome=pass; else outcome=FAIL; failures=$((failures + 1)); fi
  echo "run $i/$runs: $outcome in $(( $(date +%s) - started )) s (log: /tmp/gradparity-load-run-$i.log)"
done
echo "$failures failure(s) in $runs runs with ${#loops[@]} busy loops on $(nproc) cores"
[ "$failures" -eq 0 ]
