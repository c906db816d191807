#!/usr/bin/env bash
# Chaos runs on the real broker (docs/reliability.md, "Chaos"): N seeded runs, each with one
# fault (Alertmanager restart, kill -9, broker stop, member join, member leave) at a random point
# of a Kafka backfill, its anomaly events classified against a file run as lost, duplicated or
# wrong. Starts the local broker and Alertmanager when they are not running (and leaves them so).
# usage: scripts/chaos.sh N [--seed FIRST] [--build BUILD_DIR] [--out DIR] [--markdown FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 N [--seed FIRST] [--build DIR] [--out DIR] [--markdown FILE]" >&2; exit 2; }
scripts/kafka.sh status >/dev/null 2>&1 || scripts/kafka.sh start
scripts/alertmanager.sh status >/dev/null 2>&1 || scripts/alertmanager.sh start
command -v kcat >/dev/null || { echo "chaos.sh: kcat is missing (scripts/install-deps.sh)" >&2; exit 1; }
exec python3 scripts/chaos.py "$@"
