#!/usr/bin/env bash
# Soak (docs/reliability.md): `make soak MINUTES=30`. loggen streams live nginx logs of 1,000
# site slots at about 8,000 lines/s through a FIFO for MINUTES minutes, each slot taking a new
# site name every ROTATE (staggered: sites leave and arrive all the time, past limits.max_sites);
# every 10 s the sampler writes RSS, open descriptors, lines, parsed, rejected and sites to
# OUT/soak.csv. At the end scripts/soak_report.py draws OUT/soak.svg and checks: RSS over the
# last third within 5% of the middle third, no growth in open descriptors, and
# lines == parsed + rejected in the exit summary. Exit 1 when a check fails.
# usage: scripts/soak.sh MINUTES [BUILD_DIR] [OUT_DIR]
set -euo pipefail
minutes=${1:-30}
build=${2:-build/release}
out=${3:-build/soak}
rotate=${ROTATE:-5m}
cd "$(dirname "$0")/.."
rm -rf "$out"
mkdir -p "$out"
cat > "$out/soak.yaml" <<YAML
format: {preset: nginx}
listen: 127.0.0.1:0
outputs: [file:$out/events.jsonl]
dlq: file:$out/dlq.jsonl
limits: {max_sites: 1500}
# Windows of a minute: a site's ring is full after a minute, so the run reaches its steady state
# early (the 2-minute version in make test has to). traffic_drop's is 30 s: it first learns a
# window after its site appears, and its model's seasonal means come with that first rate
# (detect/baseline_model.h), so a site's state is complete within the warm-up.
detectors:
  - {name: slow, metric: p99, threshold: 0.5, window: 1m, for: 1m}
  - {name: errors, metric: error_rate, threshold: 0.05, window: 1m, min_requests: 50}
  - {name: traffic, type: traffic_drop, window: 30s, learn_for: 2m}
  - {name: quiet, type: no_data, after: 1m}
YAML
mkfifo "$out/in.fifo"
"$build/app/sitepulse" run --config "$out/soak.yaml" --input "$out/in.fifo" --threads 1 \
  2> "$out/stderr.txt" &
sp=$!
"$build/bench/loggen" --format nginx --live --sites 1000 --rps 5 --duration "${minutes}m" \
  --rotate-sites "$rotate" --bad-lines 0.001 --seed 7 --out "$out/in.fifo" &
gen=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*serving \/metrics, \/healthz, \/readyz on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out/stderr.txt")
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "soak: sitepulse never served /metrics" >&2
  cat "$out/stderr.txt" >&2
  kill "$gen" "$sp" 2>/dev/null || true
  exit 1
fi
metric() { awk -v n="$1" '$1 == n {print $2; f=1} END {if (!f) print 0}' "$out/metrics.txt"; }
echo "seconds,rss_kb,fds,lines,parsed,rejected,sites" > "$out/soak.csv"
t0=$(date +%s)
while kill -0 "$gen" 2>/dev/null; do
  sleep 10
  kill -0 "$sp" 2>/dev/null || break
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$sp/status" 2>/dev/null || echo 0)
  fds=$(ls "/proc/$sp/fd" 2>/dev/null | wc -l)
  curl -s --max-time 2 "127.0.0.1:$port/metrics" > "$out/metrics.txt" || true
  echo "$(( $(date +%s) - t0 )),$rss,$fds,$(metric sitepulse_lines_total),$(metric sitepulse_lines_parsed_total),$(awk '$1 ~ /^sitepulse_lines_rejected_total/ {s += $2} END {print s + 0}' "$out/metrics.txt"),$(metric sitepulse_sites_active)" >> "$out/soak.csv"
done
wait "$gen" || true
status=0
wait "$sp" || status=$?
if [ "$status" -ne 0 ]; then
  echo "soak: sitepulse exited $status" >&2
  tail -5 "$out/stderr.txt" >&2
  exit 1
fi
tail -n 1 "$out/stderr.txt" > "$out/summary.json"
python3 scripts/soak_report.py "$out/soak.csv" "$out/summary.json" "$out/soak.svg"
