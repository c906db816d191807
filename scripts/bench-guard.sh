#!/usr/bin/env bash
# The CI performance guard (ctest test bench.one_lane_vs_floor, in `make test`): a short
# end-to-end bench on generated nginx JSON that fails only when sitepulse with one lane runs below
# 0.5x the floor (simdjson On-Demand extracting the same four fields), a ratio measured within
# one run, so a slow or busy machine slows both sides alike. Under a minute.
#   scripts/bench-guard.sh LOGGEN E2E_BENCH WORKDIR
set -euo pipefail
loggen=$1
bench=$2
dir=$3
mkdir -p "$dir"
if [ ! -s "$dir/nginx.log" ]; then
  "$loggen" --format nginx --sites 50 --rps 100 --duration 2m --seed 5 --out "$dir/nginx.log.tmp"
  mv "$dir/nginx.log.tmp" "$dir/nginx.log"
fi
exec "$bench" --input "$dir/nginx.log" --format nginx --repeat 7 --min-ratio 0.5 \
  --json "$dir/result.json"
