#!/usr/bin/env bash
# Every test: the Release build's unit and end-to-end tests, then the unit tests under the asan
# (AddressSanitizer + UBSan) and tsan presets. Each ctest run prints its own result line; the
# script fails if any of them failed.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
status=0

if [ "${1:-}" != "--sanitizers-only" ]; then
  echo "== release: unit and end-to-end tests"
  ctest --preset release -j "$jobs" || status=1
fi

for preset in asan tsan; do
  echo "== $preset: unit tests"
  if cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j "$jobs" >/dev/null; then
    ctest --preset "$preset" -j "$jobs" || status=1
  else
    echo "the $preset build failed" >&2
    status=1
  fi
done

# One closing line that CI can read, summing every ctest run above.
exit $status
