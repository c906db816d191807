#!/usr/bin/env bash
# Installs every Debian package sitepulse builds, tests and benchmarks with. Idempotent: it only
# calls apt-get when something is missing. Run as root or with sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libsimdjson-dev libabsl-dev librdkafka-dev libyaml-cpp-dev libconcurrentqueue-dev
  libcurl4-openssl-dev libssl-dev libcpp-httplib-dev libmicrohttpd-dev libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev libgoogle-perftools-dev
  prometheus-alertmanager prometheus kcat jq goaccess time chromium
  curl openssl python3
  clang-14 libclang-rt-14-dev libfuzzer-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "install-deps: missing ${missing[*]} and not root (no sudo): install them and retry" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
