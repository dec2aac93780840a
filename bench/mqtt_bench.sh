#!/usr/bin/env bash
# MQTT fan-out benchmark: QoS 0 PUBLISH from 1 publisher to N subscribers on one topic, sluiced's
# MQTT broker (--mqtt) and mosquitto (Debian) side by side, on the same machine in one run.
# Target: sluice delivers >= 1.5x mosquitto's msgs/s at 16 B payloads, 1 -> 4.
#
#   bench/mqtt_bench.sh
#   SKIP_DEPS=1 SKIP_BUILD=1 ROUNDS=1 SECONDS_PER_RUN=5 bench/mqtt_bench.sh
#
# 1. Unless SKIP_DEPS=1: installs mosquitto if it is missing (scripts/install-deps.sh mosquitto;
#    bench only, not part of `make test`).
# 2. Unless SKIP_BUILD=1: builds sluiced (cmake --build BUILD_DIR --target sluiced -j JOBS) and the
#    load generator bench/mqtt_fanout (the CMake target mqtt_fanout).
#    sluiced runs from a private copy, so a rebuild during the run does not change it.
# 3. Starts both servers once, on free loopback ports:
#      mosquitto  -c WORK/mosquitto.conf: listener PORT 127.0.0.1, allow_anonymous true,
#                 persistence false, set_tcp_nodelay MOSQ_NODELAY (default true: sluiced sets
#                 TCP_NODELAY on its MQTT sockets), max_queued_messages MOSQ_QUEUE (default
#                 8 MiB / packet size: what sluice's 8 MiB per-connection backlog holds),
#                 max_queued_bytes 0, log_dest stderr (to WORK/mosquitto.log)
#      sluice     sluiced --mqtt 127.0.0.1:PORT --http 127.0.0.1:0 --wire 127.0.0.1:0 --rtmp off
#                 --rtsp off --rtsp-udp-ports off --srt off --webrtc-udp off --onvif off
#                 --mdns off --osc off --history :memory: --data-dir WORK/data $SLUICED_FLAGS
# 4. ROUNDS rounds (default 3), the order alternating (mosquitto first in odd rounds). Each run
#    waits (up to WAIT_IDLE s) for the CPUs to be idle, then runs
#      mqtt_fanout --port PORT --subscribers SUBS --payload PAYLOAD --seconds SECONDS_PER_RUN
#                  --drain DRAIN --nodelay 1 --cpu-pid SERVER_PID
#    (fresh clients each run: N subscribers SUBSCRIBE and get their SUBACK, then 1 publisher
#    writes QoS 0 PUBLISH packets as fast as its socket takes them, 64 KiB per write()). The
#    server's CPU (utime + stime of all its threads, /proc/PID/stat) is measured by the tool from
#    the first PUBLISH to the end of the drain; the whole machine's busy time from /proc/stat
#    over the same run gives "other CPU" (busy - server - tool).
# 5. Prints Markdown on stdout: every run, then the medians and the ratio sluice/mosquitto.
#    delivered/s = PUBLISH packets received by all subscribers together, from the first PUBLISH
#    until the publisher stopped plus a drain of at most DRAIN s (ends early once nothing arrives
#    for 0.25 s), divided by the publishing time; "window" counts only what arrived while the
#    publisher was writing. Progress goes to stderr. The servers are stopped by PID at exit.
#
# Environment (paths are relative to the current directory or to the repo root):
#   BUILD_DIR     CMake build directory (default build)
#   JOBS          build parallelism (default nproc)
#   SLUICED       sluice daemon (default BUILD_DIR/bin/sluiced)
#   MQTT_FANOUT   the load generator (default BUILD_DIR/bin/mqtt_fanout)
#   MOSQUITTO     default mosquitto from PATH, else /usr/sbin/mosquitto
#   SLUICED_FLAGS extra daemon flags (default none)
#   ROUNDS (3), SECONDS_PER_RUN (10), SUBS (4), PAYLOAD (16 bytes), DRAIN (1 s), TOPIC
#   (bench/fanout), MOSQ_NODELAY (true), MOSQ_QUEUE (8 MiB / packet size)
#   WAIT_IDLE     seconds to wait before each run for the CPUs to be idle (default 10; 0: do not
#                 wait); the busy share seen just before is in the table
#   RESULTS_DIR   if set, the runs' JSON files are copied there
#   SKIP_DEPS=1   do not install mosquitto;  SKIP_BUILD=1  use the binaries as they are
#
# Servers and load generator share this machine's cores over loopback; the figures are for that
# setup. With the defaults a run takes about 2 minutes after the build (at most ~3.5 minutes when
# the machine never gets idle).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
SLUICED_FLAGS="${SLUICED_FLAGS:-}"
ROUNDS="${ROUNDS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
SUBS="${SUBS:-4}"
PAYLOAD="${PAYLOAD:-16}"
DRAIN="${DRAIN:-1}"
TOPIC="${TOPIC:-bench/fanout}"
MOSQ_NODELAY="${MOSQ_NODELAY:-true}"
WAIT_IDLE="${WAIT_IDLE:-10}"

BENCH_NAME=mqtt_bench
# shellcheck source=bench/bench_lib.sh
. "$ROOT/bench/bench_lib.sh"

for v in ROUNDS SECONDS_PER_RUN SUBS JOBS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number, got '${!v}'"
done
[[ "$PAYLOAD" =~ ^[0-9]+$ ]] || die "PAYLOAD must be a number of bytes, got '$PAYLOAD'"
[[ "$DRAIN" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "DRAIN must be a number of seconds, got '$DRAIN'"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds, got '$WAIT_IDLE'"
[[ "$MOSQ_NODELAY" == true || "$MOSQ_NODELAY" == false ]] ||
  die "MOSQ_NODELAY must be true or false, got '$MOSQ_NODELAY'"
[[ "$TOPIC" =~ ^[A-Za-z0-9/_.-]+$ ]] || die "TOPIC must be a plain topic name, got '$TOPIC'"
# The PUBLISH packet: fixed header (2 bytes for these sizes), topic with its length, payload.
REMAINING=$((2 + ${#TOPIC} + PAYLOAD))
PACKET_BYTES=$((1 + 1 + REMAINING))
((REMAINING < 128)) || PACKET_BYTES=$((PACKET_BYTES + 1))
((REMAINING < 16384)) || PACKET_BYTES=$((PACKET_BYTES + 1))
((REMAINING < 2097152)) || PACKET_BYTES=$((PACKET_BYTES + 1))
MOSQ_QUEUE="${MOSQ_QUEUE:-$(((8 * 1024 * 1024 + PACKET_BYTES - 1) / PACKET_BYTES))}"
[[ "$MOSQ_QUEUE" =~ ^[0-9]+$ ]] || die "MOSQ_QUEUE must be a number, got '$MOSQ_QUEUE'"

# ---------------------------------------------------------------------------------------------
# 1. mosquitto (a runtime-only package of this benchmark).
MOSQUITTO="${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}"
if [[ ! -x "$MOSQUITTO" && "${SKIP_DEPS:-0}" != 1 ]]; then
  log "installing mosquitto"
  "$ROOT/scripts/install-deps.sh" mosquitto >&2
  MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
fi
[[ -x "$MOSQUITTO" ]] || die "mosquitto not found (Debian: apt-get install mosquitto, or set MOSQUITTO)"

# 2. The build.
BUILD="$(resolve "$BUILD_DIR")"
SLUICED="$(resolve "${SLUICED:-$BUILD/bin/sluiced}")"
MQTT_FANOUT="$(resolve "${MQTT_FANOUT:-$BUILD/bin/mqtt_fanout}")"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    log "configuring $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  log "building sluiced (cmake --build $BUILD --target sluiced -j $JOBS)"
  cmake --build "$BUILD" --target sluiced -j "$JOBS" >&2 || die "the sluiced build failed"
  log "building mqtt_fanout (cmake --build $BUILD --target mqtt_fanout -j $JOBS)"
  cmake --build "$BUILD" --target mqtt_fanout -j "$JOBS" >&2 || die "the mqtt_fanout build failed"
fi
[[ -x "$SLUICED" ]] || die "sluiced not found: $SLUICED (build it, or set SLUICED)"
[[ -x "$MQTT_FANOUT" ]] || die "mqtt_fanout not found: $MQTT_FANOUT (run without SKIP_BUILD=1, or set MQTT_FANOUT)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mqtt-bench.XXXXXX")"
MOSQ_PID=""
SLUICED_PID=""
cleanup() {
  stop "$SLUICED_PID"
  stop "$MOSQ_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private copy, so a rebuild of $SLUICED during the run cannot change the binary under test.
DAEMON_BIN="$WORK/sluiced"
cp "$SLUICED" "$DAEMON_BIN"
BIN_SHA="$(sha256sum "$DAEMON_BIN" | cut -c1-12)"
BIN_DATE="$(date -u -r "$SLUICED" +%Y-%m-%dT%H:%MZ)"
VERSION="$( (timeout 5 "$DAEMON_BIN" --version 2>/dev/null || true) | head -n1)"
REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$REV" != unknown ]] && ! GIT_OPTIONAL_LOCKS=0 git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then
  REV="$REV (modified)"
fi
MOSQ_VERSION="$( ("$MOSQUITTO" -h 2>&1 || true) | awk '/^mosquitto version/ {print $3; exit}')"
MOSQ_PKG="$( (dpkg-query -W -f '${Version}' mosquitto 2>/dev/null || true))"

# ---------------------------------------------------------------------------------------------
# 3. The servers.
MOSQ_PORT="$(free_port)"
cat >"$WORK/mosquitto.conf" <<EOF
listener $MOSQ_PORT 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay $MOSQ_NODELAY
max_queued_messages $MOSQ_QUEUE
max_queued_bytes 0
log_dest stderr
EOF
"$MOSQUITTO" -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
MOSQ_PID=$!
wait_port "$MOSQ_PORT" "$MOSQ_PID" mosquitto
log "mosquitto $MOSQ_VERSION on port $MOSQ_PORT (pid $MOSQ_PID)"

SLUICE_PORT="$(free_port)"
mkdir -p "$WORK/data"
# shellcheck disable=SC2086 # SLUICED_FLAGS is a list of flags
"$DAEMON_BIN" --mqtt "127.0.0.1:$SLUICE_PORT" --http 127.0.0.1:0 --wire 127.0.0.1:0 \
  --rtmp off --rtsp off --rtsp-udp-ports off --srt off --webrtc-udp off --onvif off --mdns off \
  --osc off --history :memory: --data-dir "$WORK/data" $SLUICED_FLAGS >"$WORK/sluiced.log" 2>&1 &
SLUICED_PID=$!
deadline=$((SECONDS + 15))
until grep -q "sluiced listening" "$WORK/sluiced.log"; do
  kill -0 "$SLUICED_PID" 2>/dev/null || die "sluiced exited during startup: $(tail -n 5 "$WORK/sluiced.log")"
  ((SECONDS < deadline)) || die "sluiced did not print 'sluiced listening' within 15 s"
  sleep 0.1
done
wait_port "$SLUICE_PORT" "$SLUICED_PID" sluiced
log "sluiced $VERSION on MQTT port $SLUICE_PORT (pid $SLUICED_PID)"

read -r UPTIME_BEFORE <<<"$(uptime)"

# machine_jiffies — "BUSY TOTAL" jiffies of all CPUs from /proc/stat.
machine_jiffies() {
  local u n s i w q sq st
  read -r _ u n s i w q sq st _ </proc/stat
  echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}

# run_one SERVER ROUND — one mqtt_fanout run; its JSON in WORK/SERVER-ROUND.json, and the machine's
# busy cores over it in WORK/SERVER-ROUND.busy.
run_one() {
  local server="$1" round="$2" port pid out rc=0 b0 t0 b1 t1
  if [[ "$server" == mosquitto ]]; then
    port="$MOSQ_PORT" pid="$MOSQ_PID"
  else
    port="$SLUICE_PORT" pid="$SLUICED_PID"
  fi
  out="$WORK/$server-$round.json"
  kill -0 "$pid" 2>/dev/null || die "$server (pid $pid) is not running any more"
  wait_for_quiet
  echo "$BUSY" >"$WORK/$server-$round.before"
  log "round $round: $server, 1 -> $SUBS, $PAYLOAD B, $SECONDS_PER_RUN s (machine ${BUSY}% busy before)"
  read -r b0 t0 <<<"$(machine_jiffies)"
  "$MQTT_FANOUT" --host 127.0.0.1 --port "$port" --subscribers "$SUBS" --payload "$PAYLOAD" \
    --seconds "$SECONDS_PER_RUN" --drain "$DRAIN" --topic "$TOPIC" --nodelay 1 \
    --client-prefix "bench-$round" --cpu-pid "$pid" >"$out" 2>"$WORK/$server-$round.err" || rc=$?
  read -r b1 t1 <<<"$(machine_jiffies)"
  awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v n="$(nproc)" \
    'BEGIN { printf "%.2f", (t > 0 ? n * b / t : 0) }' >"$WORK/$server-$round.busy"
  if ((rc != 0)); then
    log "WARNING: $server round $round: mqtt_fanout exit status $rc: $(tail -n 3 "$WORK/$server-$round.err")"
  fi
  [[ -s "$out" ]] && log "  delivered $(json_get "$out" delivered_per_s)/s, published $(json_get "$out" published_per_s)/s, $server CPU $(json_get "$out" cpu_percent)%"
  return 0
}

# 4. The rounds, alternating.
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order=(mosquitto sluice); else order=(sluice mosquitto); fi
  for s in "${order[@]}"; do
    run_one "$s" "$r"
  done
done
read -r UPTIME_AFTER <<<"$(uptime)"
[[ -z "${RESULTS_DIR:-}" ]] || { mkdir -p "$RESULTS_DIR" && cp "$WORK"/*.json "$RESULTS_DIR"/; }

# ---------------------------------------------------------------------------------------------
# 5. The report.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
# field SERVER KEY — the KEY of every run of SERVER that produced JSON, one a line.
field() {
  local f
  for f in "$WORK/$1"-*.json; do
    [[ -s "$f" ]] && json_get "$f" "$2"
  done
  return 0
}
per_cpu() { awk -v d="$1" -v c="$2" 'BEGIN { if (c + 0 > 0) printf "%.0f", d / (c / 100); else print "n/a" }'; }

echo "# MQTT fan-out: sluice vs mosquitto"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), loopback."
echo
echo "* sluiced ${VERSION:-?} (repo HEAD $REV), built $BIN_DATE (sha256 $BIN_SHA): \`--mqtt 127.0.0.1:PORT --http 127.0.0.1:0 --wire 127.0.0.1:0 --rtmp off --rtsp off --rtsp-udp-ports off --srt off --webrtc-udp off --onvif off --mdns off --osc off --history :memory: --data-dir TMP${SLUICED_FLAGS:+ $SLUICED_FLAGS}\`"
echo "* mosquitto $MOSQ_VERSION (Debian ${MOSQ_PKG:-?}): \`listener PORT 127.0.0.1\`, \`allow_anonymous true\`, \`persistence false\`, \`set_tcp_nodelay $MOSQ_NODELAY\`, \`max_queued_messages $MOSQ_QUEUE\`, \`max_queued_bytes 0\`"
echo "* load: \`mqtt_fanout --subscribers $SUBS --payload $PAYLOAD --seconds $SECONDS_PER_RUN --drain $DRAIN --topic $TOPIC --nodelay 1\` ($PACKET_BYTES-byte PUBLISH packets), $ROUNDS round(s), order alternating"
echo "* uptime before: \`$UPTIME_BEFORE\`"
echo "* uptime after: \`$UPTIME_AFTER\`"
echo
echo "| round | server | busy before | published/s | delivered/s | window delivered/s | delivered share | server CPU % | tool CPU % | machine busy (cores) | other CPU (cores) | errors |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order=(mosquitto sluice); else order=(sluice mosquitto); fi
  for s in "${order[@]}"; do
    f="$WORK/$s-$r.json"
    busy="$(cat "$WORK/$s-$r.busy" 2>/dev/null || echo n/a)"
    before="$(cat "$WORK/$s-$r.before" 2>/dev/null || echo "?")"
    if [[ ! -s "$f" ]]; then
      echo "| $r | $s | $before% | failed | | | | | | $busy | | $(tail -n1 "$WORK/$s-$r.err" 2>/dev/null) |"
      continue
    fi
    other="$(awk -v m="$busy" -v s="$(json_get "$f" cpu_percent)" -v t="$(json_get "$f" tool_cpu_percent)" \
      'BEGIN { o = m - s / 100 - t / 100; printf "%.2f", (o < 0 ? 0 : o) }')"
    errs="$(json_get "$f" errors)"
    [[ "$errs" == "[]" ]] && errs=""
    echo "| $r | $s | $before% | $(num "$(json_get "$f" published_per_s)" %.0f) |" \
      "$(num "$(json_get "$f" delivered_per_s)" %.0f) | $(num "$(json_get "$f" window_delivered_per_s)" %.0f) |" \
      "$(num "$(json_get "$f" delivered_share)" %.3f) | $(num "$(json_get "$f" cpu_percent)" %.1f) |" \
      "$(num "$(json_get "$f" tool_cpu_percent)" %.1f) | $busy | $other | $errs |"
  done
done
echo
echo "Medians over the rounds:"
echo
echo "| server | delivered/s | window delivered/s | published/s | delivered share | server CPU % | delivered per server CPU-second |"
echo "|---|---:|---:|---:|---:|---:|---:|"
declare -A MED WIN CPU
for s in mosquitto sluice; do
  d="$(field "$s" delivered_per_s | median)"
  w="$(field "$s" window_delivered_per_s | median)"
  p="$(field "$s" published_per_s | median)"
  sh="$(field "$s" delivered_share | median)"
  c="$(field "$s" cpu_percent | median)"
  MED[$s]="$d" WIN[$s]="$w" CPU[$s]="$c"
  echo "| $s | $(num "$d" %.0f) | $(num "$w" %.0f) | $(num "$p" %.0f) | $(num "$sh" %.3f) | $(num "$c" %.1f) | $(per_cpu "$d" "$c") |"
done
RATIO="$(ratio "${MED[sluice]}" "${MED[mosquitto]}")"
echo
echo "Ratio sluice/mosquitto, delivered msgs/s (medians): **$RATIO** (window only: $(ratio "${WIN[sluice]}" "${WIN[mosquitto]}");" \
  "per server CPU-second: $(ratio "$(per_cpu "${MED[sluice]}" "${CPU[sluice]}")" "$(per_cpu "${MED[mosquitto]}" "${CPU[mosquitto]}")"))."
verdict="not met"
awk -v r="$RATIO" 'BEGIN { exit !(r + 0 >= 1.5) }' && verdict="met"
echo "Target: sluice >= 1.5x mosquitto's delivered msgs/s at $PAYLOAD B, 1 -> $SUBS: **$verdict**."
echo
drops="$(grep -c "Outgoing messages are being dropped" "$WORK/mosquitto.log" || true)"
echo "mosquitto logged \"Outgoing messages are being dropped\" ${drops:-0} time(s) (once per client each time it starts dropping)."
