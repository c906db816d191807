#!/usr/bin/env bash
# The closed loop, live, about a minute of wall time: generated traffic for three sites
# (loggen --live) → sitepulse run → anomaly events → sitepulse heal. A "deploy" makes
# shop.example.com slow; sitepulse pages; heal rolls the deploy back with a script; the site
# recovers; the incident resolves (verified); the postmortem timeline is printed.
set -euo pipefail
build=${1:-build/release}
cd "$(dirname "$0")/.."
out=build/demo/heal
rm -rf "$out"
mkdir -p "$out"
echo v1 > "$out/version"
sp="$build/app/sitepulse"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

mkfifo "$out/traffic"
"$build/bench/loggen" --live --format nginx --sites 3 --rps 20 --duration 4m --seed 7 \
  --slow-if "$out/version" --out "$out/traffic" 2>"$out/loggen.err" &
generator=$!
trap 'kill $generator 2>/dev/null || true' EXIT
"$sp" run --config configs/demo-live.yaml <"$out/traffic" 2>"$out/run.err" |
  tee "$out/events.jsonl" |
  "$sp" heal --config configs/heal-demo.yaml --ledger "$out/ledger.db" --input - \
    --listen 127.0.0.1:0 --audit "file:$out/audit.jsonl" 2>"$out/heal.err" &
pipeline=$!
port=""
for _ in $(seq 50); do
  port=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out/heal.err" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { echo "heal did not start:"; cat "$out/heal.err"; exit 1; }
echo "== live traffic for 3 sites; sitepulse run | sitepulse heal (listening on 127.0.0.1:$port)"
sleep 12
echo "== $(date -u +%T) deploy v2 of shop.example.com (it makes the site 8x slower)"
echo slow > "$out/version"
curl -s -d "{\"site\":\"shop.example.com\",\"version\":\"v2\",\"previous_version\":\"v1\",\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}" \
  "127.0.0.1:$port/deploys" >/dev/null
verified=""
for _ in $(seq 120); do
  sleep 1
  if "$sp" heal status --ledger "$out/ledger.db" | grep -q '"verified"'; then verified=yes; break; fi
done
kill "$generator" 2>/dev/null || true  # the end of the traffic ends the run, then heal
wait "$pipeline" || true
echo "== anomaly events"
cat "$out/events.jsonl"
echo "== heal decisions (ledger $out/ledger.db)"
"$sp" heal status --ledger "$out/ledger.db"
echo
if [ -z "$verified" ]; then
  echo "the rollback was not verified within 2 minutes; see $out/*.err" >&2
  exit 1
fi
echo "== postmortem draft: sitepulse timeline --site shop.example.com"
"$sp" timeline --ledger "$out/ledger.db" --events "$out/events.jsonl" --stats "$out/stats.jsonl" \
  --site shop.example.com --from "$started" --to "$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)"
