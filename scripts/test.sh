#!/usr/bin/env bash
# Every test: the Release build's unit and end-to-end tests, then the unit tests under the asan
# (AddressSanitizer + UBSan, clang, with the libFuzzer targets run briefly) and tsan presets. Ends with one line summing every ctest run:
# "tests: N passed, N failed". Exits non-zero if anything failed or could not be built.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
status=0
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_ctest() {  # run_ctest PRESET
  ctest --preset "$1" -j "$jobs" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "ctest ($1) ran no test" >&2
    status=1
    return
  fi
  local f t
  f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  t=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  passed=$((passed + t - f))
  failed=$((failed + f))
  [ "$rc" -eq 0 ] || status=1
}

if [ "${1:-}" != "--sanitizers-only" ]; then
  # Services the integration tests use; stopped again however the tests end.
  trap 'scripts/alertmanager.sh stop >/dev/null 2>&1 || true; scripts/kafka.sh stop >/dev/null 2>&1 || true; rm -f "$log"' EXIT
  if ! scripts/alertmanager.sh start; then
    echo "Alertmanager could not be started: the alerting integration tests will fail" >&2
    status=1
  fi
  if ! scripts/kafka.sh start; then
    echo "The Kafka broker could not be started: the Kafka integration tests will fail" >&2
    status=1
  fi
  echo "== release: unit, end-to-end and integration tests"
  run_ctest release
  scripts/alertmanager.sh stop || true
  scripts/kafka.sh stop || true
fi

# The sanitizer presets run the unit tests (and asan the fuzz targets, for SITEPULSE_FUZZ_SECONDS
# each): only what those need is built.
unit_targets=(core_test detect_test ingest_test heal_test app_test sinks_test sitepulse loggen)
fuzz_targets=(json_line_fuzz text_line_fuzz config_fuzz state_fuzz uri_fuzz anomaly_fuzz http_fuzz partial_record_fuzz)
for preset in asan tsan; do
  echo "== $preset: unit tests$([ "$preset" = asan ] && echo ' and fuzz targets')"
  targets=("${unit_targets[@]}")
  [ "$preset" = asan ] && targets+=("${fuzz_targets[@]}")
  if cmake --preset "$preset" >/dev/null &&
     cmake --build --preset "$preset" -j "$jobs" --target "${targets[@]}" >/dev/null; then
    run_ctest "$preset"
  else
    echo "the $preset build failed" >&2
    status=1
  fi
done

echo "tests: $passed passed, $failed failed"
exit $status
