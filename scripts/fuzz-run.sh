#!/usr/bin/env bash
# fuzz-run.sh TARGET SEEDS SECONDS WORKDIR: runs one libFuzzer target for SECONDS from the seed
# corpus SEEDS (left untouched: new inputs go to WORKDIR/corpus) and prints one line:
#   fuzz NAME: N executions in S s, corpus C inputs, 0 crashes
# A crash (or a broken invariant, or a timeout) leaves the input in WORKDIR/crash-* and exits 1
# with libFuzzer's report and the command that replays it.
set -uo pipefail
target=$1 seeds=$2 seconds=$3 work=$4
name=$(basename "$target")
mkdir -p "$work/corpus"
log="$work/log"
# Inputs up to 8 KiB, or twice the largest seed (state snapshots are larger).
largest=$(find "$seeds" -type f -printf '%s\n' | sort -n | tail -n 1)
max_len=$(( ${largest:-0} * 2 > 8192 ? ${largest:-0} * 2 : 8192 ))
"$target" "$work/corpus" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$work/" >"$log" 2>&1
rc=$?
runs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}')
corpus=$(ls "$work/corpus" | wc -l)
if [ "$rc" -ne 0 ]; then
  tail -n 60 "$log"
  crash=$(ls -t "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-* 2>/dev/null | head -n 1)
  echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} executions; input: ${crash:-none}"
  [ -n "$crash" ] && echo "replay: $target $crash"
  exit 1
fi
echo "fuzz $name: ${runs:-0} executions in $seconds s, corpus $corpus inputs, 0 crashes"
