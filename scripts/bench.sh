#!/usr/bin/env bash
# End-to-end benchmark, one run on the same machine: sitepulse against its floor (simdjson
# extracting the same fields), a memchr line scan, and the peers people would otherwise use (jq on
# JSON, goaccess on combined text). Writes build/bench/results.json and prints a table.
#   scripts/bench.sh [small|full]     small: ~250 MB per format; full: >= 1 GB per format
# jq and goaccess are slow, so they run on the first 200,000 lines of the same file (rates are per
# line and per byte, so comparable); sitepulse runs as a whole process on the whole file.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-small}
build=build/release
out=build/bench
mkdir -p "$out"
# Minutes of generated logs per format (50 sites at 100 requests/s): full gives >= 1 GB of each
# (a combined line is about 180 bytes, a JSON line about 290).
case "$size" in
  small) nginx_minutes=2 combined_minutes=2 ;;
  full) nginx_minutes=8 combined_minutes=13 ;;
  *) echo "usage: $0 [small|full]" >&2; exit 2 ;;
esac
for f in nginx combined; do
  minutes_var=${f}_minutes
  if [ ! -s "$out/$f-$size.log" ]; then
    "$build/bench/loggen" --format "$f" --sites 50 --rps 100 --duration "${!minutes_var}m" --seed 1 \
      --out "$out/$f-$size.log"
  fi
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
peer() {  # peer NAME FILE COMMAND... -> "name lines bytes seconds"
  local name=$1 file=$2; shift 2
  local lines bytes
  lines=$(wc -l <"$file"); bytes=$(wc -c <"$file")
  local t
  # Wall time from bash's microsecond clock (/usr/bin/time has 10 ms steps, too coarse here).
  t=$(for _ in 1 2 3; do
        local t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1
        local t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f\n", b - a}'
      done | median)
  echo "$name $lines $bytes $t"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for f in nginx combined; do
  echo "== $f ($(du -h "$out/$f-$size.log" | cut -f1))"
  "$build/bench/e2e_bench" --input "$out/$f-$size.log" --format "$f" --repeat 5 --json "$out/$f.json"
done

head -n 200000 "$out/nginx-$size.log" >"$out/nginx-peer.log"
head -n 200000 "$out/combined-$size.log" >"$out/combined-peer.log"
{
  peer jq_nginx_4_fields "$out/nginx-peer.log" jq -c '{host, status, request_time, time_iso8601}' "$out/nginx-peer.log"
  peer goaccess_combined "$out/combined-peer.log" goaccess "$out/combined-peer.log" --no-global-config \
    --log-format='%v:%^ %h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T' --date-format=%d/%b/%Y \
    --time-format=%H:%M:%S -o "$out/goaccess.json"
  # sitepulse as a whole process, on the whole file (200,000 lines take it too little time for a
  # 10 ms timer).
  peer sitepulse_nginx "$out/nginx-$size.log" "$build/app/sitepulse" run --config configs/nginx.yaml \
    --input "$out/nginx-$size.log" --output file:/dev/null
  peer sitepulse_combined "$out/combined-$size.log" "$build/app/sitepulse" run --config configs/combined.yaml \
    --input "$out/combined-$size.log" --output file:/dev/null
} >"$out/peers.txt"
echo "== whole processes, median of 3 (jq, goaccess: first 200,000 lines; sitepulse: the whole file)"
printf '%-30s %12s %10s\n' run lines/s MB/s
awk '{printf "%-30s %12.0f %10.1f\n", $1, $2/$4, $3/1e6/$4}' "$out/peers.txt"
awk 'BEGIN {printf "["} {sep = (NR > 1) ? "," : ""; printf "%s{\"name\":\"%s\",\"lines\":%d,\"bytes\":%d,\"seconds\":%s}", sep, $1, $2, $3, $4} END {print "]"}' \
  "$out/peers.txt" >"$out/peers.json"
printf '{"nginx":%s,"combined":%s,"peers":%s}\n' "$(cat "$out/nginx.json")" "$(cat "$out/combined.json")" \
  "$(cat "$out/peers.json")" >"$out/results.json"
echo "== results: $out/results.json"
