#!/usr/bin/env bash
# Runs `sitepulse series` with configs/nab.yaml over every NAB file in ../shared/data/nab and
# scores the results by NAB's rules (bench/nab_score.cc). Prints the table; JSON in build/nab/.
#   scripts/nab.sh [CONFIG [DETECTOR [NAB_SCORE ARGS...]]]
# Env: SITEPULSE_NAB (the corpus), SITEPULSE_NAB_OUT (results), SITEPULSE_NAB_SCORE_MODE (--score).
# SITEPULSE_NAB_SCORE_ONLY=1 only writes the results (scripts/nab-cv.sh scores them).
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/nab.yaml}
detector=${2:-nab}
nab=${SITEPULSE_NAB:-../shared/data/nab}
build=build/release
out=${SITEPULSE_NAB_OUT:-build/nab/results}
score=${SITEPULSE_NAB_SCORE_MODE:-context}
rm -rf "$out"
for f in "$nab"/data/*/*.csv; do
  rel=${f#"$nab/data/"}
  mkdir -p "$out/$(dirname "$rel")"
  "$build/app/sitepulse" series --detector "$detector" --config "$config" --score "$score" \
    --input "$f" --output "$out/$rel"
done
[ -z "${SITEPULSE_NAB_SCORE_ONLY:-}" ] || exit 0
"$build/bench/nab_score" --data "$nab/data" --windows "$nab/combined_windows.json" --results "$out" \
  --json build/nab/score.json "${@:3}"
