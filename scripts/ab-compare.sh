#!/usr/bin/env bash
# A/B of two sitepulse binaries on the same input, alternated in one session (this machine is
# shared and noisy: compare ratios, quote medians). Prints per binary the median lines/s,
# coordinator CPU ns per line and µs per closed site-bucket over N runs, from the exit summary.
#   scripts/ab-compare.sh OLD_BINARY NEW_BINARY CONFIG INPUT_URI THREADS [RUNS=5]
# e.g. build the old tree in a worktree (git worktree add /tmp/old <commit>; cmake --preset
# release; cmake --build --preset release --target sitepulse), then
#   scripts/ab-compare.sh /tmp/old/build/release/app/sitepulse build/release/app/sitepulse \
#     configs/nginx.yaml 'file:build/bench/nginx-small.log?preset=nginx' 1
set -euo pipefail
old=$1 new=$2 config=$3 input=$4 threads=$5 runs=${6:-5}
one() {
  "$1" run --config "$config" --input "$input" --threads "$threads" --output file:/dev/null \
    2>&1 >/dev/null | tail -n 1 |
    jq -r '"\(.lines_per_s) \(.cpu_seconds_coordinator / .lines * 1e9) \(.cpu_seconds_coordinator / ([.buckets, 1] | max) * 1e6)"'
}
: >/tmp/ab-old.txt
: >/tmp/ab-new.txt
for _ in $(seq "$runs"); do
  one "$old" >>/tmp/ab-old.txt
  one "$new" >>/tmp/ab-new.txt
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for side in old new; do
  printf '%s: median %.0f lines/s, coordinator %.1f ns/line, %.2f µs per closed site-bucket (runs: %s; µs: %s)\n' "$side" \
    "$(cut -d' ' -f1 /tmp/ab-$side.txt | median)" "$(cut -d' ' -f2 /tmp/ab-$side.txt | median)" \
    "$(cut -d' ' -f3 /tmp/ab-$side.txt | median)" \
    "$(cut -d' ' -f1 /tmp/ab-$side.txt | awk '{printf "%.2fM ", $1/1e6}')" \
    "$(cut -d' ' -f3 /tmp/ab-$side.txt | sort -n | awk '{printf "%.2f ", $1}')"
done
