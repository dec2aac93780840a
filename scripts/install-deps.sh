#!/usr/bin/env bash
# Installs the Debian packages sluice needs to build, test and benchmark, and nothing else.
# Idempotent: packages already present are not touched, so a warm machine pays one dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libsqlite3-dev libargon2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl wrk clang libclang-rt-14-dev nodejs
  ffmpeg libavformat-dev libavcodec-dev libavutil-dev
  libhiredis-dev redis-server libnats-dev nats-server
  libpq-dev postgresql
)

# Extra packages for optional targets may be named on the command line: clang-16 and
# libclang-rt-16-dev for `make fuzz`/`make fuzz-ci`.
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "sluice: installing missing Debian packages: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
