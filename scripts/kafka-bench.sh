#!/usr/bin/env bash
# Kafka read rate, one run on the local broker (scripts/kafka.sh): a 3-partition topic of
# generated nginx JSON lines, consumed to the end by kcat (to /dev/null; kcat is built on the same
# librdkafka) and by sitepulse (--exit-at-end: parse, windows, the shipped detectors, null
# output), each timed on the wall clock, median of 3. Target: sitepulse >= 80% of kcat.
# Writes build/bench/kafka.json.
#   scripts/kafka-bench.sh [LINES]      (default 2,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-2000000}
build=build/release
out=build/bench
mkdir -p "$out"
broker=127.0.0.1:${SITEPULSE_KAFKA_PORT:-9092}
started=0
if ! scripts/kafka.sh status >/dev/null 2>&1; then
  scripts/kafka.sh start
  started=1
fi
topic=
cleanup() {
  # The topic is large (about 600 MB for 2M lines): never leave it on the broker.
  [ -n "$topic" ] && scripts/kafka.sh delete "$topic" >/dev/null 2>&1
  [ "$started" = 1 ] && scripts/kafka.sh stop >/dev/null 2>&1
  true
}
trap cleanup EXIT

log=$out/kafka-bench.log
if [ ! -s "$log" ] || [ "$(wc -l <"$log")" -ne "$lines" ]; then
  # 50 sites at 100 req/s: about 5,000 lines per second of event time.
  seconds=$(( (lines + 4999) / 5000 ))
  "$build/bench/loggen" --format nginx --sites 50 --rps 100 --duration "${seconds}s" --seed 7 --out "$log.tmp"
  head -n "$lines" "$log.tmp" | grep -v '^$' >"$log"
  rm -f "$log.tmp"
fi
lines=$(wc -l <"$log")
bytes=$(wc -c <"$log")
topic=sitepulse-bench-$$-$RANDOM
scripts/kafka.sh create "$topic" 3 >/dev/null
kcat -P -b "$broker" -t "$topic" -z lz4 -l "$log"
echo "== $lines lines ($((bytes / 1000000)) MB) in $topic"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() {  # timed COMMAND... -> seconds on stdout
  local t0=$EPOCHREALTIME
  "$@" >/dev/null 2>"$out/kafka-bench.err" || { cat "$out/kafka-bench.err" >&2; return 1; }
  local t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}
kcat_s=$(for _ in 1 2 3; do timed kcat -C -b "$broker" -t "$topic" -o beginning -e -q -f '%s\n'; done | median)
sp_s=$(for i in 1 2 3; do
         timed "$build/app/sitepulse" run --config configs/nginx.yaml --listen off \
           --input "kafka://$broker/$topic?group=bench-$$-$i" --exit-at-end --output file:/dev/null
       done | median)
# A rate counts only if every line was read: the summary (last stderr line) says how many.
read_lines=$("$build/app/sitepulse" run --config configs/nginx.yaml --listen off \
  --input "kafka://$broker/$topic?group=bench-$$-check" --exit-at-end --output file:/dev/null 2>&1 |
  tail -n 1 | sed -n 's/^{"lines":\([0-9]*\),.*/\1/p')
if [ "$read_lines" != "$lines" ]; then
  echo "sitepulse read ${read_lines:-?} of $lines lines" >&2
  exit 1
fi
ratio=$(awk -v a="$kcat_s" -v b="$sp_s" 'BEGIN {printf "%.2f", a / b}')
printf '%-34s %10s %12s\n' run seconds lines/s
printf '%-34s %10s %12.0f\n' "kcat -C to /dev/null" "$kcat_s" "$(awk -v l="$lines" -v s="$kcat_s" 'BEGIN {print l / s}')"
printf '%-34s %10s %12.0f\n' "sitepulse --exit-at-end, null sink" "$sp_s" "$(awk -v l="$lines" -v s="$sp_s" 'BEGIN {print l / s}')"
echo "sitepulse / kcat = $ratio (target >= 0.8)"
printf '{"lines":%d,"bytes":%d,"kcat_seconds":%s,"sitepulse_seconds":%s,"ratio":%s}\n' \
  "$lines" "$bytes" "$kcat_s" "$sp_s" "$ratio" >"$out/kafka.json"
