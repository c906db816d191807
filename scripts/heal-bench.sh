#!/usr/bin/env bash
# How fast heal decides: SITES sites with four incidents each over a day (a firing and, three
# minutes later, a resolved event), read with the event clock, in shadow mode and in enforce mode
# with `exec: [/bin/true, '{site}']`. Prints heal's summary and wall time for each.
#   scripts/heal-bench.sh [SITES=5000]
set -euo pipefail
cd "$(dirname "$0")/.."
sites=${1:-5000}
sp=build/release/app/sitepulse
out=build/heal-bench
rm -rf "$out"
mkdir -p "$out"
awk -v sites="$sites" 'BEGIN {
  t0 = 1767225600  # 2026-01-01T00:00:00Z
  for (k = 0; k < 4; k++) for (i = 0; i < sites; i++) {
    start = t0 + k * 21600 + (i % 3600)
    id = sprintf("%08x%08x", i, k)
    site = sprintf("site-%05d.example.com", i)
    print start, "firing", id, site, start
    print start + 180, "resolved", id, site, start
  }
}' | sort -n -k1,1 -s | awk '{
  at = strftime("%Y-%m-%dT%H:%M:%SZ", $1, 1); started = strftime("%Y-%m-%dT%H:%M:%SZ", $5, 1)
  printf "{\"v\":1,\"id\":\"%s\",\"site\":\"%s\",\"detector\":\"error_rate_high\",\"state\":\"%s\",\"severity\":\"page\",\"metric\":\"error_rate\",\"value\":0.2,\"threshold\":0.05,\"window_s\":300,\"started_at\":\"%s\",\"at\":\"%s\",\"summary\":\"x\",\"labels\":{}}\n", $3, $4, $2, started, at
}' >"$out/events.jsonl"
for mode in shadow enforce; do
  cat >"$out/heal-$mode.yaml" <<YAML
heal:
  mode: $mode
  breaker: {max_sites: 100000, within: 10m}
rules:
  - name: restart
    match: {detector: error_rate_high}
    action: {exec: [/bin/true, '{site}']}
    verify_for: 5m
    cooldown: 0s
YAML
  echo "== $mode: $(wc -l <"$out/events.jsonl") events, $sites sites"
  start=$EPOCHREALTIME
  "$sp" heal --config "$out/heal-$mode.yaml" --ledger "$out/ledger-$mode.db" \
    --input "$out/events.jsonl" --clock event --exit-at-end
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f s wall\n", b - a}'
done
