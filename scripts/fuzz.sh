#!/usr/bin/env bash
# make fuzz [FUZZ_SECONDS=300] [FUZZ_TARGETS="json_line uri"]: builds the fuzz targets (the asan
# preset: clang, ASan + UBSan, libFuzzer) and runs each for FUZZ_SECONDS from its seed corpus in
# fuzz/corpus/ plus what earlier runs found (build/fuzz/NAME/corpus, kept between runs). Prints a
# table of executions per target; exits 1 if any target found a crash or a broken invariant (its
# input is in build/fuzz/NAME/, with the command that replays it).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-300}
targets=${FUZZ_TARGETS:-"json_line text_line config state uri anomaly http partial_record"}
cmake --preset asan >/dev/null || exit 1
build_targets=()
for t in $targets; do build_targets+=("${t}_fuzz"); done
cmake --build --preset asan -j "$(nproc)" --target "${build_targets[@]}" >/dev/null || {
  echo "fuzz: the build failed (cmake --build --preset asan)" >&2; exit 1; }
status=0
results=()
for t in $targets; do
  line=$(scripts/fuzz-run.sh "build/asan/fuzz/${t}_fuzz" "fuzz/corpus/$t" "$seconds" "build/fuzz/$t" | tee /dev/stderr | tail -n 1)
  [[ "$line" == *"0 crashes"* ]] || status=1
  results+=("$line")
done
echo
echo "| target | executions | seconds | corpus | crashes |"
echo "| --- | ---: | ---: | ---: | ---: |"
for r in "${results[@]}"; do
  if [[ "$r" =~ ^fuzz\ ([a-z_]+)_fuzz:\ ([0-9]+)\ executions\ in\ ([0-9]+)\ s,\ corpus\ ([0-9]+) ]]; then
    echo "| ${BASH_REMATCH[1]} | ${BASH_REMATCH[2]} | ${BASH_REMATCH[3]} | ${BASH_REMATCH[4]} | 0 |"
  else
    echo "| $r |"
  fi
done
exit $status
