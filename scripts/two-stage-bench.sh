#!/usr/bin/env bash
# Two stages against one instance (docs/kafka.md, "Two stages"; docs/performance.md), one run on
# the local broker (scripts/kafka.sh): generated nginx JSON lines produced without keys to a
# 6-partition topic, read to the end (--exit-at-end, the shipped nginx config, null output) by
#   - one instance (the single-stage run),
#   - stage 1 (--partials, one instance; then two at once), then stage 2 (one instance) over
#     the partials,
# each timed on the wall clock, median of 3; the partials topic's size per million lines.
# Writes build/bench/two-stage.json.
#   scripts/two-stage-bench.sh [LINES] [SITES]      (default 2,000,000 lines, 50 sites)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-2000000}
sites=${2:-50}
build=build/release
out=build/bench
mkdir -p "$out"
broker=127.0.0.1:${SITEPULSE_KAFKA_PORT:-9092}
started=0
if ! scripts/kafka.sh status >/dev/null 2>&1; then
  scripts/kafka.sh start
  started=1
fi
topics=()
cleanup() {
  for t in "${topics[@]}"; do scripts/kafka.sh delete "$t" >/dev/null 2>&1 || true; done
  [ "$started" = 1 ] && scripts/kafka.sh stop >/dev/null 2>&1
  true
}
trap cleanup EXIT

log=$out/two-stage-bench-$sites.log
if [ ! -s "$log" ] || [ "$(wc -l <"$log")" -ne "$lines" ]; then
  rps=$(( 5000 / sites )); [ "$rps" -ge 1 ] || rps=1
  seconds=$(( (lines + sites * rps - 1) / (sites * rps) ))
  "$build/bench/loggen" --format nginx --sites "$sites" --rps "$rps" --duration "${seconds}s" --seed 7 --out "$log.tmp"
  head -n "$lines" "$log.tmp" | grep -v '^$' >"$log"
  rm -f "$log.tmp"
fi
lines=$(wc -l <"$log")
bytes=$(wc -c <"$log")
raw=sitepulse-bench-raw-$$-$RANDOM
topics+=("$raw")
scripts/kafka.sh create "$raw" 6 >/dev/null
kcat -P -X sticky.partitioning.linger.ms=0 -b "$broker" -t "$raw" -z lz4 -l "$log"
echo "== $lines lines ($((bytes / 1000000)) MB), $sites sites, in $raw (6 partitions, no keys)"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f\n", b - a}'; }
sp() { "$build/app/sitepulse" run --config configs/nginx.yaml --listen off --exit-at-end "$@"; }
check_lines() {  # check_lines ERRFILE WANT: the summary's line count
  local got
  got=$(tail -n 1 "$1" | sed -n 's/^{"lines":\([0-9]*\),.*/\1/p')
  [ "$got" = "$2" ] || { echo "read ${got:-?} of $2 (see $1)" >&2; exit 1; }
}

one=() s1=() s1x2=() s2=() pbytes=0 precords=0
for i in 1 2 3; do
  t=$(now); sp --input "kafka://$broker/$raw?group=one-$$-$i" --output file:/dev/null 2>"$out/one.err"
  one+=("$(since "$t")"); check_lines "$out/one.err" "$lines"
  # Stage 1, one instance, then stage 2 over what it published.
  partials=sitepulse-bench-partials-$$-$i
  topics+=("$partials")
  scripts/kafka.sh create "$partials" 6 >/dev/null
  t=$(now)
  sp --input "kafka://$broker/$raw?group=fold-$$-$i" --partials "kafka://$broker/$partials?id=b$i" 2>"$out/s1.err"
  s1+=("$(since "$t")"); check_lines "$out/s1.err" "$lines"
  t=$(now)
  sp --input "kafka://$broker/$partials?group=merge-$$-$i&kind=partials" --state none --output file:/dev/null 2>"$out/s2.err"
  s2+=("$(since "$t")")
  if [ "$i" = 1 ]; then
    sizes=$(kcat -C -b "$broker" -t "$partials" -X isolation.level=read_committed -e -q -f '%S\n')
    precords=$(echo "$sizes" | wc -l)
    pbytes=$(echo "$sizes" | awk '{s += $1} END {print s}')
  fi
  # Stage 1 as two instances at once (the group splits the six partitions).
  partials2=sitepulse-bench-partials2-$$-$i
  topics+=("$partials2")
  scripts/kafka.sh create "$partials2" 6 >/dev/null
  t=$(now)
  sp --input "kafka://$broker/$raw?group=fold2-$$-$i" --partials "kafka://$broker/$partials2?id=x$i" 2>"$out/s1a.err" &
  sp --input "kafka://$broker/$raw?group=fold2-$$-$i" --partials "kafka://$broker/$partials2?id=y$i" 2>"$out/s1b.err"
  wait
  s1x2+=("$(since "$t")")
done
one_s=$(printf '%s\n' "${one[@]}" | median)
s1_s=$(printf '%s\n' "${s1[@]}" | median)
s1x2_s=$(printf '%s\n' "${s1x2[@]}" | median)
s2_s=$(printf '%s\n' "${s2[@]}" | median)
rate() { awk -v l="$lines" -v s="$1" 'BEGIN {printf "%.0f", l / s}'; }
printf '%-44s %9s %12s\n' run seconds lines/s
printf '%-44s %9s %12s\n' "one instance (parse, windows, detectors)" "$one_s" "$(rate "$one_s")"
printf '%-44s %9s %12s\n' "stage 1, one instance (parse, fold, publish)" "$s1_s" "$(rate "$s1_s")"
printf '%-44s %9s %12s\n' "stage 1, two instances at once" "$s1x2_s" "$(rate "$s1x2_s")"
printf '%-44s %9s %12s\n' "stage 2, one instance (merge, detectors)" "$s2_s" "$(rate "$s2_s")"
per_m=$(awk -v b="$pbytes" -v l="$lines" 'BEGIN {printf "%.0f", b * 1e6 / l}')
echo "partials: $precords records, $pbytes bytes ($per_m bytes per million lines;" \
     "$(awk -v p="$pbytes" -v r="$bytes" 'BEGIN {printf "%.2f%%", 100 * p / r}') of the raw bytes)"
printf '{"lines":%d,"bytes":%d,"sites":%d,"one_s":%s,"stage1_s":%s,"stage1_two_s":%s,"stage2_s":%s,"partial_records":%d,"partial_bytes":%d}\n' \
  "$lines" "$bytes" "$sites" "$one_s" "$s1_s" "$s1x2_s" "$s2_s" "$precords" "$pbytes" >"$out/two-stage.json"
