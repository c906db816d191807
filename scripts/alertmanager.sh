#!/usr/bin/env bash
# A local Alertmanager (Debian's prometheus-alertmanager) for tests and demos, on 127.0.0.1.
#   scripts/alertmanager.sh start|stop|status|restart
# Env: SITEPULSE_AM_PORT (default 9093), SITEPULSE_SERVICES_DIR (default build/services).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${SITEPULSE_AM_PORT:-9093}
dir=${SITEPULSE_SERVICES_DIR:-$PWD/build/services}/alertmanager
pidfile=$dir/pid
bin=$(command -v prometheus-alertmanager || command -v alertmanager || true)

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
  if [ -z "$bin" ]; then
    echo "alertmanager.sh: prometheus-alertmanager is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
  if running; then echo "alertmanager already running (pid $(cat "$pidfile"))"; return; fi
  # Another process on the port would answer the readiness check below for us, and the tests
  # that stop and restart "our" Alertmanager would then test nothing: refuse instead.
  if curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
    echo "alertmanager.sh: something else already listens on 127.0.0.1:$port (another checkout's" \
      "Alertmanager?); stop it or set SITEPULSE_AM_PORT" >&2
    exit 1
  fi
  mkdir -p "$dir/data"
  "$bin" --config.file="$PWD/scripts/alertmanager/alertmanager.yml" \
    --storage.path="$dir/data" --web.listen-address="127.0.0.1:$port" \
    --cluster.listen-address= --log.level=warn >"$dir/log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    if running && curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && running; then
      echo "alertmanager ready on 127.0.0.1:$port (pid $(cat "$pidfile"))"
      return
    fi
    if ! running; then break; fi
    sleep 0.1
  done
  echo "alertmanager.sh: Alertmanager did not become ready on 127.0.0.1:$port; its log:" >&2
  cat "$dir/log" >&2 || true
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 1 50); do running || break; sleep 0.1; done
    running && kill -9 "$(cat "$pidfile")" || true
    echo "alertmanager stopped"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo "running (pid $(cat "$pidfile"), port $port)"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
