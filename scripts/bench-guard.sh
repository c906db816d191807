#!/usr/bin/env bash
# The CI performance guard (ctest test bench.one_lane_vs_floor, in `make test`): short
# end-to-end benches on generated nginx JSON and Caddy JSON (nested, with escapes) that fail only
#  - when sitepulse with one lane runs below 0.5x the floor (simdjson On-Demand extracting the
#    same four fields) on either, a ratio measured within one run, so a slow or busy machine
#    slows both sides alike;
#  - when one lane reads Caddy's bytes at less than 1/1.5 of the rate it reads nginx's (the
#    nested fast path lost: simdjson alone reads them at about 0.65x here).
# About two minutes.
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
if [ ! -s "$dir/caddy.log" ]; then
  "$loggen" --format caddy --sites 20 --rps 100 --duration 40s --seed 5 --out "$dir/caddy.log.tmp"
  mv "$dir/caddy.log.tmp" "$dir/caddy.log"
fi
"$bench" --input "$dir/nginx.log" --format nginx --repeat 7 --min-ratio 0.5 --json "$dir/result.json"
"$bench" --input "$dir/caddy.log" --format caddy --repeat 7 --min-ratio 0.5 --json "$dir/caddy.json"
python3 - "$dir/result.json" "$dir/caddy.json" <<'PY'
import json, sys
def one_lane(path):
    r = json.load(open(path))
    return [x for x in r["results"] if x["name"] == "sitepulse_1_lane"][0]["mb_per_s"]
nginx, caddy = one_lane(sys.argv[1]), one_lane(sys.argv[2])
print("one lane: caddy %.0f MB/s, nginx %.0f MB/s, caddy / nginx = %.2f (guard: >= 0.67)" % (caddy, nginx, caddy / nginx))
sys.exit(0 if caddy >= nginx / 1.5 else 1)
PY
