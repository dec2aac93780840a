#!/usr/bin/env bash
# Installs the Debian packages sluice needs, and nothing else. Idempotent: packages already
# present are not touched, so a warm machine pays one dpkg query.
#
#   scripts/install-deps.sh              what sluiced and the CLI need to build and run (`make run`),
#                                        Node.js and npm included (they build the web console)
#   scripts/install-deps.sh --test       that, plus what the tests and benchmarks use (`make test`):
#                                        GoogleTest, the real servers the integration tests start
#                                        (redis-server, nats-server, PostgreSQL), the ffmpeg and
#                                        ffprobe programs, GStreamer's RTSP clients, curl,
#                                        Chromium (the browser tests), wrk,
#                                        python3-zeroconf (mDNS), liblo-tools (OSC) and
#                                        mosquitto-clients (MQTT)
#   scripts/install-deps.sh [--test] PKG…  also the named packages (e.g. clang-16 for `make fuzz`)
#   scripts/install-deps.sh --list [--test]  prints the packages (one a line), installs nothing
set -euo pipefail

list_only=0
if [ "${1:-}" = "--list" ]; then
  list_only=1
  shift
fi

# To build and run: compilers and build tools, and the -dev packages of every library sluiced
# links (their runtime libraries come with them; libav* is the HLS muxer, snapshots, transcoding
# and pipelines, not the ffmpeg CLI; fonts-dejavu-core is the font pipelines draw clocks with).
run_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libsqlite3-dev libargon2-dev
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libswscale-dev libavfilter-dev libavdevice-dev
  fonts-dejavu-core
  libhiredis-dev libnats-dev libpq-dev libsrt-gnutls-dev libsrtp2-dev
  nodejs
)

# Only the tests (and bench/) use these.
test_packages=(
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server nats-server postgresql
  ffmpeg curl openssl chromium wrk clang libclang-rt-14-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-rtsp gstreamer1.0-libav
  python3-zeroconf liblo-tools mosquitto-clients
)

packages=("${run_packages[@]}")
# npm installs the web console's build tools (console/, at build time) and the browser tests'
# packages (tests/browser). Debian's nodejs comes without it (package npm); NodeSource's nodejs
# carries its own npm and conflicts with Debian's package.
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [ "${1:-}" = "--test" ]; then
  packages+=("${test_packages[@]}")
  shift
fi
packages+=("$@")
if [ "$list_only" = 1 ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

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
