#!/usr/bin/env bash
# The CI performance guard (ctest test bench.one_lane_vs_floor, in `make test`): short
# end-to-end benches on generated nginx JSON and Caddy JSON (nested, with escapes) that fail only
#  - when sitepulse with one lane runs below 0.5x the floor (simdjson On-Demand extracting the
#    same four fields) on either, a ratio measured within one run, so a slow or busy machine
#    slows both sides alike;
#  - when one lane reads Caddy's bytes at less than 1/1.5 of the rate it reads nginx's (the
#    nested fast path lost: simdjson alone reads them at about 0.65x here).
# The two presets are measured in alternating rounds (nginx, caddy, nginx, caddy, ...) and each
# round's caddy / nginx ratio is taken from runs seconds apart; the guard reads the median of the
# rounds. A shared machine slows for seconds at a time: one slow phase during Caddy's runs alone
# once read 0.59 (the same code reads 0.71-0.90 here) when the presets were measured one after
# the other.
# About 15 seconds.
#   scripts/bench-guard.sh LOGGEN E2E_BENCH WORKDIR [ROUNDS]
set -euo pipefail
loggen=$1
bench=$2
dir=$3
rounds=${4:-7}
mkdir -p "$dir"
if [ ! -s "$dir/nginx.log" ]; then
  "$loggen" --format nginx --sites 50 --rps 100 --duration 2m --seed 5 --out "$dir/nginx.log.tmp"
  mv "$dir/nginx.log.tmp" "$dir/nginx.log"
fi
if [ ! -s "$dir/caddy.log" ]; then
  "$loggen" --format caddy --sites 20 --rps 100 --duration 80s --seed 5 --out "$dir/caddy.log.tmp"
  mv "$dir/caddy.log.tmp" "$dir/caddy.log"
fi
rm -f "$dir"/round-*.json
for r in $(seq 1 "$rounds"); do
  for f in nginx caddy; do
    echo "== round $r: $f"
    "$bench" --input "$dir/$f.log" --format "$f" --repeat 3 --json "$dir/round-$r-$f.json"
  done
done
python3 - "$dir" "$rounds" <<'PY'
import json, statistics, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def rates(path):
    r = {x["name"]: x["mb_per_s"] for x in json.load(open(path))["results"]}
    return r["sitepulse_1_lane"], r["floor_simdjson_4_fields"]
ratio, floor = [], {"nginx": [], "caddy": []}
for i in range(1, rounds + 1):
    one = {}
    for f in ("nginx", "caddy"):
        lane, fl = rates("%s/round-%d-%s.json" % (d, i, f))
        one[f] = lane
        floor[f].append(lane / fl)
    ratio.append(one["caddy"] / one["nginx"])
    print("round %d: one lane caddy %.0f MB/s, nginx %.0f MB/s, caddy / nginx = %.2f"
          % (i, one["caddy"], one["nginx"], ratio[-1]))
ok = True
for f in ("nginx", "caddy"):
    m = statistics.median(floor[f])
    print("%s: one lane / floor, median of %d rounds = %.2f (guard: >= 0.50)" % (f, rounds, m))
    ok = ok and m >= 0.5
m = statistics.median(ratio)
print("caddy / nginx, median of %d rounds = %.2f (guard: >= 0.67)" % (rounds, m))
ok = ok and m >= 1 / 1.5
sys.exit(0 if ok else 1)
PY
