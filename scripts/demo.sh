#!/usr/bin/env bash
# The demo: generate an hour of nginx JSON access logs and nginx error logs for three sites, with
# injected incidents (a latency regression, a 5xx burst, an error-log spike, an error message
# never logged before) and a decoy (a 30-second latency blip that must not page), then run
# sitepulse on them with configs/demo.yaml.
set -euo pipefail
build=${1:-build/release}
cd "$(dirname "$0")/.."
out=build/demo
mkdir -p "$out"

"$build/bench/loggen" --format nginx --out "$out/access.log" --error-out "$out/error.log" \
  --sites 3 --rps 20 --duration 1h --bad-lines 0.0005 --base-5xx 0.0005 --seed 42 --truth "$out/truth.jsonl" \
  --incident latency,0,20m,10m --incident errors,1,35m,6m --incident blip,2,15m,30s \
  --incident error_spike,1,50m,5m --incident new_error,0,42m,2m

echo "== injected incidents (ground truth, $out/truth.jsonl)"
cat "$out/truth.jsonl"
echo
echo "== sitepulse run --config configs/demo.yaml   ($(wc -l < "$out/access.log") access lines, $(wc -l < "$out/error.log") error lines)"
echo "== anomaly events (stdout):"
"$build/app/sitepulse" run --config configs/demo.yaml 2> "$out/stderr.txt"
echo
echo "== exit summary (last line of stderr):"
tail -n 1 "$out/stderr.txt"
echo
echo "== per-bucket stats: $out/stats.jsonl ($(wc -l < "$out/stats.jsonl") lines); first one:"
head -n 1 "$out/stats.jsonl"
echo "== rejected lines: $out/dlq.jsonl ($(wc -l < "$out/dlq.jsonl") lines); first one:"
head -n 1 "$out/dlq.jsonl"
echo
echo "== sitepulse replay: the same logs against the injected incidents, compared with a tighter p99 threshold"
grep -v '"decoy":true' "$out/truth.jsonl" > "$out/labels.jsonl"
sed 's/threshold: 0.5 /threshold: 0.3 /' configs/demo.yaml > "$out/demo-tight.yaml"
# A deploy a minute before the latency regression, as a deploy pipeline would have posted it.
echo '{"site":"shop.example.com","version":"v2.4.1","previous_version":"v2.4.0","at":"2025-01-01T00:19:00Z"}' \
  > "$out/deploys.jsonl"
"$build/app/sitepulse" replay --config configs/demo.yaml --compare "$out/demo-tight.yaml" \
  --input "file:$out/access.log?preset=nginx" --input "file:$out/error.log?kind=error&preset=error_text" \
  --labels "$out/labels.jsonl" --deploys "$out/deploys.jsonl" --report "$out/replay.html" \
  --json "$out/replay.json" --progress never \
  2>/dev/null
echo "report: file://$(pwd)/$out/replay.html   (summary: $out/replay.json)"
