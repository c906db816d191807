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
# Real lines as well as ours: the text target also starts from the shared Apache log when it is
# there (read at run time, never copied into the tree): 8 seeds of 8 lines from across the file.
extra=()
shared="$(cd "$(dirname "$0")/.." && pwd)/../shared/data/apache_combined_2015.log"
if [ "$name" = text_line_fuzz ] && [ -r "$shared" ]; then
  mkdir -p "$work/shared-seeds"
  total=$(wc -l <"$shared")
  for i in 0 1 2 3 4 5 6 7; do
    { printf '\000'; sed -n "$((i * total / 8 + 1)),$((i * total / 8 + 8))p" "$shared"; } \
      >"$work/shared-seeds/apache-$i"
  done
  extra=("$work/shared-seeds")
fi
"$target" "$work/corpus" "$seeds" "${extra[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
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
