#!/usr/bin/env bash
# replay against run on the same input (docs/performance.md, "Replay against run"): median wall
# time of 5 interleaved runs each of `run`, `replay`, and `replay --compare` in one pass.
# usage: scripts/replay-bench.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
build=${1:-build/release}
work=${2:-build/replay-bench}
cd "$(dirname "$0")/.."
mkdir -p "$work"
sp="$build/app/sitepulse"
[ -f "$work/big.log" ] || "$build/bench/loggen" --format nginx --sites 50 --rps 4 --duration 300m --seed 5 \
  --incident latency,3,20m,10m --incident errors,7,40m,8m --out "$work/big.log"
cp tests/data/golden/nginx_multi/config.yaml "$work/a.yaml"
sed 's/threshold: 0.5$/threshold: 0.3/' "$work/a.yaml" > "$work/b.yaml"
now() { date +%s.%N; }
for i in 1 2 3 4 5; do
  t=$(now); "$sp" run --config "$work/a.yaml" --input "file:$work/big.log" --output "file:$work/o.jsonl" --threads 2 2>/dev/null
  echo "run $(echo "$(now) - $t" | bc)"
  t=$(now); "$sp" replay --config "$work/a.yaml" --input "file:$work/big.log" --report "$work/r.html" --threads 2 --progress never 2>/dev/null
  echo "replay $(echo "$(now) - $t" | bc)"
  t=$(now); "$sp" replay --config "$work/a.yaml" --compare "$work/b.yaml" --input "file:$work/big.log" --report "$work/r.html" --threads 2 --progress never 2>/dev/null
  echo "compare $(echo "$(now) - $t" | bc)"
done | sort -k1,1 -k2,2n | awk '{v[$1]=v[$1]" "$2; n[$1]++; a[$1, n[$1]]=$2}
  END {for (k in n) printf "%-8s median %.3f s  (%s )\n", k, a[k, int((n[k]+1)/2)], v[k]}'
