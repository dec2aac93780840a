#!/usr/bin/env bash
# WebRTC viewer benchmark (issue 14): server CPU per WebRTC viewer of sluiced (WHEP) against Janus
# 1.1 (Debian package `janus`, streaming plugin), side by side on the same machine in one run.
#
# Once, and cached in $BENCH_CACHE: a 30 s 1280x720 30 fps H.264 file (libx264 veryfast,
# zerolatency, Constrained Baseline, 2.5 Mbit/s CBR-ish: -b:v/-maxrate/-bufsize 2500k, 2 s GOP,
# no audio) in MPEG-TS. Both servers get that same bitstream, looped in real time by
# `ffmpeg -re -stream_loop -1 -c copy` (no encoding during the runs):
#   janus   as RTP (`-f rtp -pkt_size 1212`: at most 1200 bytes of payload a packet, as sluiced
#           packetizes) to an RTP mountpoint of the streaming plugin;
#   sluice  over RTMP (`-f flv`) to the dev key's stream; sluiced packetizes it for WebRTC itself.
# Then for each N in $VIEWERS and each server in $ONLY, one after the other:
#   1. wait (up to WAIT_IDLE s, checking every 30 s) for the 1-minute load average to drop below
#      LOAD_MAX; if it never does, run anyway (the load is in the table);
#   2. start the server on free loopback ports and the source:
#        janus   janus -F CONF -o -d 4 -L LOG with a generated configuration: only
#                libjanus_streaming.so and libjanus_http.so (127.0.0.1:PORT, /janus), ICE lite,
#                session timeout off, one RTP mountpoint (id 1: video, mid v, pt 96, h264,
#                fmtp profile-level-id=42e01f;packetization-mode=1) on a free UDP port;
#        sluice  sluiced --http 127.0.0.1:HP --wire 127.0.0.1:0 --rtmp 127.0.0.1:RP --rtsp off
#                --rtsp-udp-ports off --srt off --onvif off --mdns off --osc off --mqtt off --webrtc-udp 127.0.0.1:UP --dev-key
#                --history :memory: --data-dir TMP --media-max-connections-per-address N+64
#                $SLUICED_FLAGS;
#   3. wait until one probe viewer receives RTP;
#   4. measure the server's CPU with the source alone for BASELINE s (what it spends per stream);
#   5. run `webrtc_viewers --viewers N --duration DURATION --cpu-pid SERVER`: N viewers (ICE
#      controlling, DTLS client, SRTP), and once every viewer receives RTP and WARMUP s more, the
#      server's CPU (utime + stime, all threads) over DURATION s, with every viewer's bitrate,
#      frame rate and lost packets;
#   6. stop the source and the server.
# Prints Markdown tables on stdout (per run, then sluice/janus ratios); progress on stderr.
#
#   bench/webrtc_bench.sh
#   VIEWERS="20 50 100" bench/webrtc_bench.sh > webrtc.md
#   ONLY=sluice VIEWERS=50 DURATION=10 bench/webrtc_bench.sh
#
# Environment (paths are relative to the current directory or to the repo root):
#   WEBRTC_VIEWERS the load generator (default: build/bin/webrtc_viewers, else build-bench/bin/...)
#   SLUICED        sluice daemon (default: build/bin/sluiced, else build-bench/bin/sluiced)
#   SLUICED_FLAGS  extra daemon flags (default none)
#   JANUS          the Janus binary (default janus from PATH)
#   JANUS_LIB      Janus's plugin/transport directory (default /usr/lib/x86_64-linux-gnu/janus or
#                  what `dpkg -L janus` lists)
#   FFMPEG         default ffmpeg from PATH
#   VIEWERS        viewer counts (default "20 50")
#   DURATION       measured seconds per run (default 30: one pass of the looped file)
#   WARMUP         seconds between the last viewer's first packet and the window (default 3)
#   BASELINE       seconds of server CPU measured with the source and no viewer (default 10)
#   WAVE           webrtc_viewers --wave (viewers at most setting up at once, default 10)
#   ONLY           servers to run: "janus sluice" (default both)
#   BENCH_CACHE    where the prepared file is kept (default ${XDG_CACHE_HOME:-~/.cache}/sluice-bench)
#   WAIT_IDLE      seconds to wait before each run for a quiet machine (default 600; 0: no wait)
#   LOAD_MAX       the 1-minute load average that counts as quiet (default 1.0)
#   SKIP_DEPS=1    do not run scripts/install-deps.sh for ffmpeg and janus
#
# Server, source and viewers share this machine's cores over loopback; the figures are for that
# setup. The viewers' own CPU and what other processes used during the window are in the table.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Runtime-only packages of this benchmark (not build dependencies, not in --test).
[[ "${SKIP_DEPS:-0}" == 1 ]] || "$ROOT/scripts/install-deps.sh" ffmpeg janus >&2

SLUICED_FLAGS="${SLUICED_FLAGS:-}"
JANUS="${JANUS:-janus}"
FFMPEG="${FFMPEG:-ffmpeg}"
VIEWERS="${VIEWERS:-20 50}"
DURATION="${DURATION:-30}"
WARMUP="${WARMUP:-3}"
BASELINE="${BASELINE:-10}"
WAVE="${WAVE:-10}"
ONLY="${ONLY:-janus sluice}"
BENCH_CACHE="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice-bench}"
WAIT_IDLE="${WAIT_IDLE:-600}"
LOAD_MAX="${LOAD_MAX:-1.0}"

BENCH_NAME=webrtc_bench
# shellcheck source=bench/bench_lib.sh
. "$ROOT/bench/bench_lib.sh"

for n in $VIEWERS; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "VIEWERS must be positive numbers, got '$n'"
done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a whole number of seconds, got '$DURATION'"
[[ "$BASELINE" =~ ^[0-9]+$ ]] || die "BASELINE must be a whole number of seconds, got '$BASELINE'"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds, got '$WAIT_IDLE'"
for s in $ONLY; do
  [[ "$s" == janus || "$s" == sluice ]] || die "ONLY takes janus and/or sluice, got '$s'"
done

WEBRTC_VIEWERS="$(resolve "${WEBRTC_VIEWERS:-$(first_built webrtc_viewers)}")"
[[ -x "$WEBRTC_VIEWERS" ]] ||
  die "load generator not found: $WEBRTC_VIEWERS (build target webrtc_viewers, or set WEBRTC_VIEWERS)"
command -v "$FFMPEG" >/dev/null 2>&1 || die "ffmpeg not found (Debian: apt-get install ffmpeg, or set FFMPEG)"
JANUS_VERSION=""
if wanted janus; then
  command -v "$JANUS" >/dev/null 2>&1 || die "janus not found (Debian: apt-get install janus, or set JANUS)"
  JANUS_VERSION="$(dpkg-query -W -f='${Version}' janus 2>/dev/null || true)"
  [[ -n "$JANUS_VERSION" ]] || JANUS_VERSION="$("$JANUS" --version 2>&1 | head -n 1 || true)"
  if [[ -z "${JANUS_LIB:-}" ]]; then
    JANUS_LIB="$(dpkg -L janus 2>/dev/null | grep -m1 '/janus/plugins$' | sed 's|/plugins$||' || true)"
    [[ -n "$JANUS_LIB" ]] || JANUS_LIB=/usr/lib/x86_64-linux-gnu/janus
  fi
  [[ -e "$JANUS_LIB/plugins/libjanus_streaming.so" && -e "$JANUS_LIB/transports/libjanus_http.so" ]] ||
    die "no libjanus_streaming.so / libjanus_http.so under $JANUS_LIB (set JANUS_LIB)"
fi
MAX_PER_ADDRESS_FLAG=0
if wanted sluice; then
  SLUICED="$(resolve "${SLUICED:-$(first_built sluiced)}")"
  [[ -x "$SLUICED" ]] || die "no sluiced at $SLUICED (set SLUICED, or ONLY=janus)"
  help="$("$SLUICED" --help 2>&1)" || die "'$SLUICED --help' failed"
  for flag in --rtmp --webrtc-udp --dev-key; do
    grep -q -- "$flag" <<<"$help" || die "$SLUICED does not accept $flag; build a newer sluiced or run ONLY=janus"
  done
  # Every viewer comes from 127.0.0.1: the per-address limit (default 64) would refuse some.
  grep -q -- --media-max-connections-per-address <<<"$help" && MAX_PER_ADDRESS_FLAG=1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/webrtc-bench.XXXXXX")"
SERVER_PID=""
PUB_PID=""
stop_all() {
  stop "$PUB_PID"
  PUB_PID=""
  stop "$SERVER_PID"
  SERVER_PID=""
}
cleanup() {
  stop_all
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_udp_port — a UDP port nobody is bound to right now (the kernel's pick).
free_udp_port() {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_of PID — utime + stime (all threads) in clock ticks.
cpu_of() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# wait_for_load — waits (up to WAIT_IDLE s, checking every 30 s) until the 1-minute load average
# is below LOAD_MAX; sets LOAD to the last figure and BUSY to how busy the CPUs were over a second.
wait_for_load() {
  local waited=0
  LOAD="$(cut -d' ' -f1 /proc/loadavg)"
  while awk -v l="$LOAD" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }' && ((waited < WAIT_IDLE)); do
    ((waited == 0)) && log "load average $LOAD (>= $LOAD_MAX); waiting up to ${WAIT_IDLE} s for a quiet machine"
    sleep 30
    waited=$((waited + 30))
    LOAD="$(cut -d' ' -f1 /proc/loadavg)"
  done
  if awk -v l="$LOAD" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }'; then
    log "WARNING: load average still $LOAD after ${waited} s; measuring anyway. Busiest processes:"
    ps -eo pcpu,pid,args --sort=-pcpu | head -n 6 | cut -c1-150 | sed 's/^/  /' >&2
  fi
  BUSY="$(busy_percent)"
}

# ---------------------------------------------------------------------------------------------
# The media file, made once: 30 s of 1280x720 30 fps H.264 Constrained Baseline, 2.5 Mbit/s,
# 2 s GOP, MPEG-TS (Annex B with SPS/PPS before every keyframe: what an RTP source sends in-band).
MEDIA="$BENCH_CACHE/testsrc2-720p30-2500k-g60-cbp-30s.ts"
if [[ ! -s "$MEDIA" ]]; then
  mkdir -p "$BENCH_CACHE"
  log "preparing $MEDIA (30 s of libx264 veryfast, once)"
  "$FFMPEG" -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" -t 30 \
    -c:v libx264 -preset veryfast -tune zerolatency -profile:v baseline -pix_fmt yuv420p \
    -b:v 2500k -maxrate 2500k -bufsize 2500k -g 60 -keyint_min 60 -sc_threshold 0 \
    -f mpegts "$MEDIA.tmp" || die "ffmpeg could not make the media file"
  mv "$MEDIA.tmp" "$MEDIA"
fi

# start_janus — Janus with a generated configuration, and the RTP source; sets SERVER_PID, PUB_PID,
# SIGNAL_ARGS.
start_janus() {
  local conf="$WORK/janus-conf" http rtp logfile="$WORK/janus.log"
  rm -rf "$conf"
  mkdir -p "$conf"
  http="$(free_port)"
  rtp="$(free_udp_port)"
  # Every plugin and transport but the streaming plugin and the HTTP transport is disabled.
  local plugins="" transports="" f
  for f in "$JANUS_LIB"/plugins/lib*.so; do
    [[ "${f##*/}" == libjanus_streaming.so ]] || plugins+="${plugins:+,}${f##*/}"
  done
  for f in "$JANUS_LIB"/transports/lib*.so; do
    [[ "${f##*/}" == libjanus_http.so ]] || transports+="${transports:+,}${f##*/}"
  done
  cat >"$conf/janus.jcfg" <<EOF
general: {
	configs_folder = "$conf"
	plugins_folder = "$JANUS_LIB/plugins"
	transports_folder = "$JANUS_LIB/transports"
	events_folder = "$JANUS_LIB/events"
	loggers_folder = "$JANUS_LIB/loggers"
	debug_level = 4
	session_timeout = 0
}
media: {
}
nat: {
	ice_lite = true
	ice_ignore_list = "vmnet"
}
plugins: {
	disable = "$plugins"
}
transports: {
	disable = "$transports"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
events: {
	broadcast = false
}
EOF
  cat >"$conf/janus.transport.http.jcfg" <<EOF
general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = $http
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
}
cors: {
}
certificates: {
}
EOF
  cat >"$conf/janus.plugin.streaming.jcfg" <<EOF
general: {
}
bench: {
	type = "rtp"
	id = 1
	description = "webrtc_bench"
	media = (
		{
			type = "video"
			mid = "v"
			label = "video"
			port = $rtp
			pt = 96
			codec = "h264"
			fmtp = "profile-level-id=42e01f;packetization-mode=1"
		}
	)
}
EOF
  : >"$logfile"
  "$JANUS" -F "$conf" -o -d 4 >"$logfile" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 15))
  until grep -q "HTTP webserver started" "$logfile"; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "janus exited during startup: $(tail -n 5 "$logfile")"
    ((SECONDS < deadline)) || die "janus did not start within 15 s: $(tail -n 5 "$logfile")"
    sleep 0.1
  done
  wait_port "$http" "$SERVER_PID" janus
  SIGNAL_ARGS=(--mode janus --url "http://127.0.0.1:$http/janus" --mountpoint 1)
  "$FFMPEG" -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy -an \
    -f rtp -pkt_size 1212 "rtp://127.0.0.1:$rtp" >"$WORK/publisher.log" 2>&1 &
  PUB_PID=$!
}

# start_sluice N — sluiced with RTMP and WebRTC on free ports and a dev publish key, then the
# RTMP source; sets SERVER_PID, PUB_PID, SIGNAL_ARGS. Fails (never hangs) if sluiced will not start.
start_sluice() {
  local n="$1" logfile="$WORK/sluiced.log" http rtmp udp key=""
  local -a limit=()
  ((MAX_PER_ADDRESS_FLAG)) && limit=(--media-max-connections-per-address $((n + 64)))
  http="$(free_port)"
  rtmp="$(free_port)"
  udp="$(free_udp_port)"
  : >"$logfile"
  # shellcheck disable=SC2086 # SLUICED_FLAGS is a list of flags
  "$SLUICED" --onvif off --mdns off --osc off --mqtt off --http "127.0.0.1:$http" --wire 127.0.0.1:0 --rtmp "127.0.0.1:$rtmp" \
    --rtsp off --rtsp-udp-ports off --srt off --webrtc-udp "127.0.0.1:$udp" --dev-key \
    --history :memory: --data-dir "$WORK/sluice-data-$n" "${limit[@]}" $SLUICED_FLAGS \
    >"$logfile" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 10))
  until key="$(grep -o 'sk_[A-Za-z0-9_-]*' "$logfile" | head -n 1)" && [[ -n "$key" ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "sluiced exited during startup: $(tail -n 5 "$logfile")"
    ((SECONDS < deadline)) || die "sluiced printed no publish key (sk_...) within 10 s: $(tail -n 5 "$logfile")"
    sleep 0.1
  done
  wait_port "$http" "$SERVER_PID" "sluiced (HTTP)"
  wait_port "$rtmp" "$SERVER_PID" "sluiced (RTMP)"
  SIGNAL_ARGS=(--mode whep --url "http://127.0.0.1:$http/live/dev/whep")
  "$FFMPEG" -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy -an \
    -f flv "rtmp://127.0.0.1:$rtmp/live/$key" >"$WORK/publisher.log" 2>&1 &
  PUB_PID=$!
}

# wait_live — one probe viewer receives RTP within 20 s.
wait_live() {
  local deadline=$((SECONDS + 20))
  until "$WEBRTC_VIEWERS" "${SIGNAL_ARGS[@]}" --viewers 1 --duration 0.5 --warmup 0 \
    --setup-timeout 5 >/dev/null 2>"$WORK/probe.log"; do
    kill -0 "$PUB_PID" 2>/dev/null || die "the source exited: $(tail -n 3 "$WORK/publisher.log")"
    ((SECONDS < deadline)) || die "no viewer receives the stream after 20 s: $(tail -n 3 "$WORK/probe.log")"
    sleep 0.5
  done
}

# run_one SERVER N OUT — one measured run; the viewers' JSON lands in OUT, the baseline CPU %
# in BASE_PCT. Returns 0 when OUT has a result.
run_one() {
  local server="$1" n="$2" out="$3" rc=0 c0 c1
  wait_for_load
  if [[ "$server" == janus ]]; then start_janus; else start_sluice "$n"; fi
  wait_live
  BASE_PCT="null"
  if ((BASELINE > 0)); then
    log "$server: ${BASELINE} s of the source alone (baseline)"
    c0="$(cpu_of "$SERVER_PID")"
    sleep "$BASELINE"
    c1="$(cpu_of "$SERVER_PID")"
    BASE_PCT="$(awk -v a="$c0" -v b="$c1" -v t="$(getconf CLK_TCK)" -v s="$BASELINE" 'BEGIN { printf "%.2f", 100 * (b - a) / t / s }')"
  fi
  log "$server, $n viewers: ${DURATION} s measured once all receive (+${WARMUP} s)"
  timeout $((DURATION + WARMUP + 240)) "$WEBRTC_VIEWERS" "${SIGNAL_ARGS[@]}" --viewers "$n" \
    --wave "$WAVE" --duration "$DURATION" --warmup "$WARMUP" --cpu-pid "$SERVER_PID" \
    --publisher-pid "$PUB_PID" --json >"$out" 2>"$WORK/viewers.log" || rc=$?
  kill -0 "$PUB_PID" 2>/dev/null || log "WARNING: the source died during the run"
  kill -0 "$SERVER_PID" 2>/dev/null || log "WARNING: $server died during the run"
  stop_all
  sed 's/^/  /' "$WORK/viewers.log" >&2
  if ((rc != 0)) || [[ ! -s "$out" ]]; then
    log "WARNING: $server with $n viewers failed (webrtc_viewers exit status $rc)"
    return 1
  fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "null" && b != "null" && a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
# net FILE BASE — server CPU % per viewer net of the no-viewer baseline.
net() {
  awk -v w="$(json_get "$1" server_cpu_pct)" -v b="$2" -v n="$(json_get "$1" receiving)" \
    'BEGIN { if (w == "null" || b == "null" || n + 0 <= 0) print "null"; else printf "%.4f", (w - b) / n }'
}
row() { # row SERVER N FILE LOAD BUSY BASE
  local f="$3"
  echo "| $2 | $1 | $4 / $5% | $(json_get "$f" receiving) | $(json_get "$f" failed) |" \
    "$(num "$(json_get "$f" setup_ms.p50)" %.0f) / $(num "$(json_get "$f" setup_ms.max)" %.0f) |" \
    "$(num "$(json_get "$f" kbps_per_viewer.mean)" %.0f) ($(num "$(json_get "$f" kbps_per_viewer.min)" %.0f)) |" \
    "$(num "$(json_get "$f" fps_per_viewer.min)" %.2f) |" \
    "$(json_get "$f" lost_packets) ($(json_get "$f" viewers_with_loss)) |" \
    "$(json_get "$f" unprotect_failures) | $(json_get "$f" srtp_profiles | tr -d '{}" \n' | sed 's/,/, /g') |" \
    "$(num "$6" %.1f) | **$(num "$(json_get "$f" server_cpu_pct)" %.1f)** |" \
    "**$(num "$(json_get "$f" server_cpu_pct_per_viewer)" %.3f)** | $(num "$(net "$f" "$6")" %.3f) |" \
    "$(num "$(json_get "$f" self_cpu_pct)" %.0f) | $(num "$(json_get "$f" others_cpu_pct)" %.0f) |" \
    "$(json_get "$f" udp_rcvbuf_errors) |"
}

# ---------------------------------------------------------------------------------------------
FFMPEG_VERSION="$("$FFMPEG" -version | head -n 1 | awk '{print $3}')"
rows=()
ratios=()
declare -A result=() base=()
for n in $VIEWERS; do
  for server in janus sluice; do
    wanted "$server" || continue
    out="$WORK/$server-$n.json"
    if run_one "$server" "$n" "$out"; then
      rows+=("$(row "$server" "$n" "$out" "$LOAD" "$BUSY" "$BASE_PCT")")
      result[$server-$n]="$out"
      base[$server-$n]="$BASE_PCT"
    else
      rows+=("| $n | $server | $LOAD / $BUSY% | failed | | | | | | | | | | | | | | |")
    fi
  done
  if [[ -n "${result[janus-$n]:-}" && -n "${result[sluice-$n]:-}" ]]; then
    s="${result[sluice-$n]}"
    j="${result[janus-$n]}"
    raw="$(ratio "$(json_get "$s" server_cpu_pct_per_viewer)" "$(json_get "$j" server_cpu_pct_per_viewer)")"
    netr="$(ratio "$(net "$s" "${base[sluice-$n]}")" "$(net "$j" "${base[janus-$n]}")")"
    verdict="n/a"
    [[ "$raw" != n/a ]] && verdict="$(awk -v r="$raw" 'BEGIN { print (r <= 1 ? "met" : "not met") }')"
    ratios+=("| $n | $raw | $netr | $(json_get "$s" lost_packets) / $(json_get "$j" lost_packets) | $verdict |")
  fi
done

echo "# WebRTC viewer benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback; a 30 s 1280x720 30 fps H.264" \
  "Constrained Baseline 2.5 Mbit/s (2 s GOP) MPEG-TS file looped by ffmpeg $FFMPEG_VERSION" \
  "\`-re -stream_loop -1 -c copy\`: RTP (1200-byte payloads) to the streaming mountpoint of Janus" \
  "${JANUS_VERSION:-(not run)}," \
  "RTMP to sluiced. Viewers: webrtc_viewers (ICE controlling, DTLS client, SRTP unprotect of every" \
  "packet), ${DURATION} s measured once every viewer receives (+${WARMUP} s); baseline: ${BASELINE} s" \
  "with the source and no viewer."
echo
echo "| viewers | server | load avg / busy before | receiving | failed | setup p50 / max ms | kbps per viewer mean (min) | fps per viewer (min) | lost packets (viewers) | SRTP unprotect failures | SRTP profile | baseline CPU % (no viewer) | server CPU % of a core | **CPU % per viewer** | CPU % per viewer, net of baseline | viewers' CPU % | others' CPU % | UDP rcvbuf errors |"
echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
if ((${#ratios[@]})); then
  echo "| viewers | CPU per viewer sluice/janus | net of baseline, sluice/janus | lost packets sluice / janus | target ≤ 1 |"
  echo "|---:|---:|---:|---:|---|"
  printf '%s\n' "${ratios[@]}"
  echo
fi
cat <<EOF
CPU: utime + stime of the server process (all threads) from /proc/PID/stat over the window, in %
of one core; per viewer: that / receiving viewers; net of baseline: (that - the no-viewer
baseline) / viewers. Viewers' CPU: webrtc_viewers itself; others': every other process on the
machine during the window (/proc/stat busy time minus server, source and viewers), i.e. other
work disturbing the run. kbps: SRTP packets' UDP payload bytes over the window per viewer. Lost
packets: RTP sequence numbers skipped (16-bit wrap) per viewer in the window. UDP rcvbuf errors:
the kernel's UDP receive-buffer overflows (all sockets) during the window.
EOF
