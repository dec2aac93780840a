#!/usr/bin/env bash
# Glass-to-glass latency benchmark (issue 13): how long from the moment a frame is made until a
# player has it decoded, through sluiced, for each way of playing it, on one machine in one run.
# Targets: LL-HLS in hls.js < 2 s; RTSP and SRT < 300 ms (issue 13); WebRTC (WHEP) in Chromium
# < 200 ms, and its first frame < 300 ms after the offer (issue 14).
#
# The source: bench/latency_clock.py gen writes live 640x360 30 fps video whose every frame carries
# the wall clock of its making (Unix ms as 64 16x16 black/white blocks, plus the same time as text
# for the eye), with a 600 Hz tone on the same clock through a FIFO (AUDIO=1); ffmpeg encodes it
# like a live encoder (libx264 -preset veryfast -tune zerolatency -g 30: a 1 s GOP, no B-frames;
# AAC 96k) and publishes it. The clock is read back from each decoded frame and compared with the
# reader's clock: the figure is capture → encode → publish → sluiced → transport → decode (→ the
# browser's compositor for hls.js and WHEP). Everything runs on this machine, so there is one clock.
#
# For each publisher in $PUBLISHERS (rtmp, srt):
#   1. start sluiced on free loopback ports: sluiced --http 127.0.0.1:HP --wire 127.0.0.1:0
#      --rtmp 127.0.0.1:RP --rtsp 127.0.0.1:TP --rtsp-udp-ports off --srt 127.0.0.1:SP
#      --webrtc-udp 127.0.0.1:WP (a free UDP port; WebRTC host candidate 127.0.0.1) --onvif off --mdns off --osc off --mqtt off
#      --dev-key --history :memory: --data-dir TMP --hls-segment 1 $SLUICED_FLAGS (HLS variant: its
#      default, lowlatency); the publish key is the sk_... that --dev-key prints, the path is live/dev;
#   2. publish: rtmp  -f flv rtmp://127.0.0.1:RP/live/KEY
#               srt   -f mpegts "srt://127.0.0.1:SP?streamid=#!::r=live/KEY,m=publish"
#   3. for each receiver in $RECEIVERS, one after the other (never two at once):
#        rtsp, srt, rtmp, flv   ffmpeg -fflags nobuffer -flags low_delay -i URL -map 0:v:0
#                               -f rawvideo -pix_fmt gray -fps_mode passthrough -flush_packets 1 -
#                               | latency_clock.py read   ("low-delay receiver")
#        rtsp-default, srt-default, rtmp-default, flv-default
#                               the same without -fflags nobuffer -flags low_delay (ffmpeg's
#                               defaults: frame-threaded decoding)
#        hls                    node bench/hls_latency.mjs: hls.js (new Hls($HLS_CONFIG)) in
#                               Debian's Chromium, requestVideoFrameCallback → canvas → blocks
#        hls-catchup            the same with $HLS_CATCHUP_CONFIG (hls.js may play up to 1.5x
#                               fast to get back to its target latency; by default it never does)
#        whep                   node bench/whep_latency.mjs: WHEP (POST of the offer to
#                               http://127.0.0.1:HP/live/dev/whep, recvonly video + audio) in
#                               Chromium, requestVideoFrameCallback → canvas → blocks; first
#                               WHEP_FIRST_FRAMES fresh sessions for the first frame (ms from just
#                               before the POST to the first presented frame; each DELETEd), then
#                               one session for glass-to-glass, with Chromium's jitter buffer delay
#                               (getStats) over the same window. Two rows: glass-to-glass, and
#                               first frame (median over the sessions; met when every one is).
#                               Chromium lines the video up with the audio (A/V sync) step by step
#                               over the first 10-30 s of a session, so the figure still rises
#                               during the window: a longer DURATION gives a higher median
#        whep-video             the same with a video transceiver only (diagnostic: no audio for
#                               Chromium to line the video up with)
#      A receiver may be listed more than once (one row each). sluiced starts HLS for a path at
#      its first playlist request, so the first hls row is the path's first HLS viewer and the
#      second one joins a running HLS stream; the rows say which.
#      URLs: rtsp://127.0.0.1:TP/live/dev (-rtsp_transport tcp),
#      srt://127.0.0.1:SP?streamid=#!::r=live/dev,m=request, rtmp://127.0.0.1:RP/live/dev,
#      http://127.0.0.1:HP/live/dev.flv, http://127.0.0.1:HP/live/dev/index.m3u8;
#      the first WARMUP s of frames (HLS_WARMUP s after playback starts for hls; WARMUP s after the
#      first presented frame for whep) are not counted, then DURATION s are;
#   4. stop the publisher and sluiced.
# With FLOOR=1 (default), first the same source and encoder with no server and no network:
# ffmpeg … -flush_packets 1 -f nut FIFO, ffmpeg -fflags nobuffer -flags low_delay -f nut -i FIFO …
# | latency_clock.py read — what encoding, the muxer's wait for audio and decoding cost alone.
# Prints Markdown tables on stdout (per publisher: samples, median, p90, min, max, target, met);
# progress on stderr.
#
#   bench/latency_bench.sh
#   PUBLISHERS=rtmp RECEIVERS="rtsp srt hls" DURATION=60 bench/latency_bench.sh
#   SRT_LATENCY_MS=40 PUBLISHERS=srt RECEIVERS=srt bench/latency_bench.sh
#   bench/hls_parts.py http://127.0.0.1:HP/live/dev/index.m3u8   # when parts appear (diagnostic)
#
# Environment (paths are relative to the current directory or to the repo root):
#   SLUICED        sluice daemon (default build/bin/sluiced); the run uses a copy of it
#   SLUICED_FLAGS  extra daemon flags (default none)
#   FFMPEG         default ffmpeg from PATH (needs libx264, AAC, libsrt)
#   PYTHON         default python3 (standard library only)
#   NODE           default node (>= 20); CHROMIUM default /usr/bin/chromium
#   BROWSER_MODULES  directory whose node_modules has playwright-core and hls.js (default
#                  tests/browser: `make test-deps` or `npm ci --prefix tests/browser`)
#   PUBLISHERS     "rtmp srt" (default both)
#   RECEIVERS      default "rtsp rtsp-default srt srt-default rtmp flv hls hls whep"
#   FLOOR          1 (default) to measure the no-server floor first, 0 not to
#   DURATION       counted seconds per receiver (default 30)
#   WARMUP         seconds of frames not counted after an ffmpeg receiver's first frame (default 5)
#   HLS_WARMUP     seconds not counted after hls.js starts playing (default 10)
#   HLS_CONFIG     hls.js config as JSON (default {"lowLatencyMode":true}; the rest its defaults)
#   HLS_CATCHUP_CONFIG  for hls-catchup (default {"lowLatencyMode":true,"maxLiveSyncPlaybackRate":1.5})
#   WHEP_FIRST_FRAMES  fresh WHEP sessions measured for the first frame (default 5)
#   WHEP_FLAGS     extra bench/whep_latency.mjs options for whep rows (default none), e.g.
#                  "--jitter-target 50" (a diagnostic: the page sets every receiver's
#                  jitterBufferTarget, which Chromium takes as a minimum)
#   AUDIO          1 (default): publish the tone as AAC too; 0: video only
#   X264_PROFILE   the H.264 profile of the source (-profile:v): default main when a whep receiver
#                  is listed (sluiced forwards the publisher's H.264 to WebRTC viewers as it is, and
#                  Debian's Chromium offers Constrained Baseline, Baseline, Main and High 4:4:4
#                  Predictive but no High, x264's own pick for these settings), else none (x264's
#                  pick: High); "auto" for x264's pick always
#   PUBLISH_FLAGS  extra ffmpeg output options for the publisher (default none), e.g.
#                  "-pes_payload_size 0" (one MPEG-TS audio PES per AAC frame)
#   SRT_LATENCY_MS unset (default): libsrt's and sluiced's default SRT latency (120 ms); set: passed
#                  to sluiced (--srt-latency) and to every ffmpeg SRT URL (&latency=, in µs)
#   WAIT_IDLE      seconds to wait before each publisher for other processes to leave the CPUs
#                  idle (default 60; 0 to not wait)
#   SKIP_DEPS=1    do not run scripts/install-deps.sh for ffmpeg, nodejs and chromium
#
# The encoder, sluiced, the readers and Chromium share this machine's cores over loopback; each row
# shows how busy the machine was while it ran (all processes, these included).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

[[ "${SKIP_DEPS:-0}" == 1 ]] || "$ROOT/scripts/install-deps.sh" ffmpeg nodejs chromium >&2

SLUICED_FLAGS="${SLUICED_FLAGS:-}"
FFMPEG="${FFMPEG:-ffmpeg}"
PYTHON="${PYTHON:-python3}"
NODE="${NODE:-node}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
PUBLISHERS="${PUBLISHERS:-rtmp srt}"
RECEIVERS="${RECEIVERS:-rtsp rtsp-default srt srt-default rtmp flv hls hls whep}"
FLOOR="${FLOOR:-1}"
DURATION="${DURATION:-30}"
WARMUP="${WARMUP:-5}"
HLS_WARMUP="${HLS_WARMUP:-10}"
HLS_CONFIG="${HLS_CONFIG:-}"
[[ -n "$HLS_CONFIG" ]] || HLS_CONFIG='{"lowLatencyMode":true}'
WHEP_FIRST_FRAMES="${WHEP_FIRST_FRAMES:-5}"
WHEP_FLAGS="${WHEP_FLAGS:-}"
HLS_CATCHUP_CONFIG="${HLS_CATCHUP_CONFIG:-}"
[[ -n "$HLS_CATCHUP_CONFIG" ]] || HLS_CATCHUP_CONFIG='{"lowLatencyMode":true,"maxLiveSyncPlaybackRate":1.5}'
AUDIO="${AUDIO:-1}"
SRT_LATENCY_MS="${SRT_LATENCY_MS:-}"
PUBLISH_FLAGS="${PUBLISH_FLAGS:-}"
WAIT_IDLE="${WAIT_IDLE:-60}"
WIDTH=640
HEIGHT=360
FPS=30

BENCH_NAME=latency_bench
# shellcheck source=bench/bench_lib.sh
. "$ROOT/bench/bench_lib.sh"

for p in $PUBLISHERS; do
  [[ "$p" == rtmp || "$p" == srt ]] || die "PUBLISHERS takes rtmp and/or srt, got '$p'"
done
for r in $RECEIVERS; do
  case "$r" in
    rtsp | rtsp-default | srt | srt-default | rtmp | rtmp-default | flv | flv-default | hls | hls-catchup | whep | whep-video) ;;
    *) die "unknown receiver '$r' (rtsp, srt, rtmp, flv, each also -default; hls, hls-catchup; whep, whep-video)" ;;
  esac
done
for v in DURATION WARMUP HLS_WARMUP WAIT_IDLE WHEP_FIRST_FRAMES; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number of seconds, got '${!v}'"
done
((DURATION > 0)) || die "DURATION must be positive"
[[ -z "$SRT_LATENCY_MS" || "$SRT_LATENCY_MS" =~ ^[0-9]+$ ]] || die "SRT_LATENCY_MS must be a number of ms"

command -v "$FFMPEG" >/dev/null 2>&1 || die "ffmpeg not found (Debian: apt-get install ffmpeg, or set FFMPEG)"
command -v "$PYTHON" >/dev/null 2>&1 || die "python3 not found (set PYTHON)"
"$FFMPEG" -hide_banner -protocols 2>/dev/null | grep -qx ' *srt' ||
  [[ " $PUBLISHERS $RECEIVERS " != *srt* ]] || die "this ffmpeg has no SRT protocol (libsrt)"
HAS_HLS=0
[[ " $RECEIVERS " != *" hls"* ]] || HAS_HLS=1
HAS_WHEP=0
[[ " $RECEIVERS " != *" whep"* ]] || HAS_WHEP=1
HAS_BROWSER=$((HAS_HLS || HAS_WHEP))
if ((HAS_BROWSER)); then
  command -v "$NODE" >/dev/null 2>&1 || die "node not found (Debian: apt-get install nodejs, or set NODE)"
  [[ -x "$CHROMIUM" ]] || die "no Chromium at $CHROMIUM (Debian: apt-get install chromium, or set CHROMIUM)"
  BROWSER_MODULES="$(resolve "${BROWSER_MODULES:-tests/browser}")"
  export BROWSER_MODULES
  [[ -d "$BROWSER_MODULES/node_modules/playwright-core" ]] ||
    die "no playwright-core in $BROWSER_MODULES/node_modules (make test-deps, or npm ci --prefix tests/browser)"
  ((!HAS_HLS)) || [[ -d "$BROWSER_MODULES/node_modules/hls.js" ]] ||
    die "no hls.js in $BROWSER_MODULES/node_modules (make test-deps, or npm ci --prefix tests/browser)"
fi
X264_PROFILE="${X264_PROFILE-}"
if [[ -z "${X264_PROFILE}" ]] && ((HAS_WHEP)); then X264_PROFILE=main; fi
SLUICED_SRC="$(resolve "${SLUICED:-build/bin/sluiced}")"
[[ -x "$SLUICED_SRC" ]] || die "no sluiced at $SLUICED_SRC (cmake --build build --target sluiced, or set SLUICED)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/latency-bench.XXXXXX")"
SERVER_PID=""
SOURCE_PID=""
# stop_group PID — the process group PID leads (a source pipeline), TERM then KILL after 5 s.
stop_group() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 -- "-$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_all() {
  stop_group "$SOURCE_PID"
  SOURCE_PID=""
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

# The run's own copy of the daemon: a rebuild during the run cannot change what is measured.
SLUICED="$WORK/sluiced"
cp "$SLUICED_SRC" "$SLUICED"
SLUICED_SHA="$(sha256sum "$SLUICED" | cut -c1-12)"
SLUICED_VERSION="$("$SLUICED" --version 2>&1 | head -n 1 || true)"

# free_udp_port — a loopback UDP port nobody has bound right now (the kernel's pick).
free_udp_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(type=socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# srt_opts — the latency option of ffmpeg SRT URLs, when SRT_LATENCY_MS is set (ffmpeg takes µs).
srt_opts() { [[ -z "$SRT_LATENCY_MS" ]] || echo "&latency=$((SRT_LATENCY_MS * 1000))"; }

# The encoder's settings, for every source.
ENCODE=(-map 1:v -c:v libx264 -preset veryfast -tune zerolatency -g "$FPS" -pix_fmt yuv420p)
ENCODE_TEXT="libx264 -preset veryfast -tune zerolatency -g $FPS"
if [[ -n "$X264_PROFILE" && "$X264_PROFILE" != auto ]]; then
  ENCODE+=(-profile:v "$X264_PROFILE")
  ENCODE_TEXT+=" -profile:v $X264_PROFILE"
fi
if [[ "$AUDIO" == 1 ]]; then
  ENCODE+=(-map 0:a -c:a aac -b:a 96k)
  ENCODE_TEXT+=" (CRF 23), AAC 96k 48 kHz mono"
else
  ENCODE_TEXT+=" (CRF 23), no audio"
fi

# start_source OUTPUT_ARGS... — the clock generator piped into the encoder, writing OUTPUT_ARGS;
# its own process group (SOURCE_PID), killed as a whole. Input 0 is the audio FIFO (or a silent
# placeholder with AUDIO=0, never mapped), input 1 the video on stdin.
start_source() {
  local fifo="$WORK/audio.fifo"
  local -a gen=("$PYTHON" "$ROOT/bench/latency_clock.py" gen --width "$WIDTH" --height "$HEIGHT" --fps "$FPS")
  local -a ain=(-f lavfi -i anullsrc=r=48000:cl=mono)
  if [[ "$AUDIO" == 1 ]]; then
    rm -f "$fifo"
    mkfifo "$fifo"
    gen+=(--audio "$fifo")
    ain=(-probesize 32 -analyzeduration 0 -f s16le -ar 48000 -ac 1 -thread_queue_size 64 -i "$fifo")
  fi
  set -m
  {
    "${gen[@]}" 2>>"$WORK/generator.log" |
      "$FFMPEG" -hide_banner -nostdin -loglevel warning "${ain[@]}" \
        -probesize 32 -analyzeduration 0 -f rawvideo -pix_fmt yuv420p -s "${WIDTH}x$HEIGHT" -r "$FPS" \
        -thread_queue_size 64 -i - "${ENCODE[@]}" "$@"
  } >>"$WORK/source.log" 2>&1 &
  SOURCE_PID=$!
  set +m
}

# start_sluice PUBLISHER — sluiced on free ports, then the source publishing to it; sets
# SERVER_PID, SOURCE_PID, HP RP TP SP WP. Fails (never hangs) if either will not start.
start_sluice() {
  local publisher="$1" logfile="$WORK/sluiced-$1.log" key=""
  local -a srt_flag=()
  [[ -z "$SRT_LATENCY_MS" ]] || srt_flag=(--srt-latency "$SRT_LATENCY_MS")
  HP="$(free_port)"
  RP="$(free_port)"
  TP="$(free_port)"
  SP="$(free_port)"
  WP="$(free_udp_port)"
  : >"$logfile"
  # shellcheck disable=SC2086 # SLUICED_FLAGS is a list of flags
  "$SLUICED" --onvif off --mdns off --osc off --mqtt off --http "127.0.0.1:$HP" --wire 127.0.0.1:0 --rtmp "127.0.0.1:$RP" --rtsp "127.0.0.1:$TP" \
    --rtsp-udp-ports off --srt "127.0.0.1:$SP" "${srt_flag[@]}" --webrtc-udp "127.0.0.1:$WP" --dev-key --history :memory: \
    --data-dir "$WORK/data-$publisher" --hls-segment 1 $SLUICED_FLAGS >"$logfile" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 10))
  until key="$(grep -o 'sk_[A-Za-z0-9_-]*' "$logfile" | head -n 1)" && [[ -n "$key" ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "sluiced exited during startup: $(tail -n 5 "$logfile")"
    ((SECONDS < deadline)) || die "sluiced printed no publish key (sk_...) within 10 s: $(tail -n 5 "$logfile")"
    sleep 0.1
  done
  wait_port "$HP" "$SERVER_PID" "sluiced (HTTP)"
  wait_port "$RP" "$SERVER_PID" "sluiced (RTMP)"
  wait_port "$TP" "$SERVER_PID" "sluiced (RTSP)"
  local -a extra=()
  read -r -a extra <<<"$PUBLISH_FLAGS"
  if [[ "$publisher" == rtmp ]]; then
    start_source "${extra[@]}" -f flv "rtmp://127.0.0.1:$RP/live/$key"
  else
    start_source "${extra[@]}" -f mpegts "srt://127.0.0.1:$SP?streamid=#!::r=live/$key,m=publish$(srt_opts)"
  fi
  deadline=$((SECONDS + 20))
  until grep -q "publishes 'dev'" "$logfile"; do
    kill -0 -- "-$SOURCE_PID" 2>/dev/null || die "the publisher exited: $(tail -n 5 "$WORK/source.log")"
    ((SECONDS < deadline)) || die "no publisher on 'dev' after 20 s: $(tail -n 3 "$WORK/source.log") / $(tail -n 3 "$logfile")"
    sleep 0.2
  done
  sleep 3 # a few GOPs in: the GOP cache and HLS have something to give
}

# cpu_ticks — busy and total jiffies of all CPUs so far.
cpu_ticks() {
  local u n s i w q sq
  read -r _ u n s i w q sq _ </proc/stat
  echo "$((u + n + s + q + sq)) $((u + n + s + q + sq + i + w))"
}
busy_since() { # busy_since "BUSY TOTAL" — % of all CPUs busy since then
  local a b c d
  read -r a b <<<"$1"
  read -r c d <<<"$(cpu_ticks)"
  echo $(((d - b) > 0 ? 100 * (c - a) / (d - b) : 0))
}

# receive NAME OUT — one receiver against the running sluiced; its JSON lands in OUT, the machine's
# busy share in OUT.busy.
receive() {
  local name="$1" out="$2" url proto="${1%-default}" t0 config="$HLS_CONFIG"
  proto="${proto%-catchup}"
  proto="${proto%-video}"
  [[ "$name" != hls-catchup ]] || config="$HLS_CATCHUP_CONFIG"
  local -a flags=(-fflags nobuffer -flags low_delay) pre=()
  [[ "$name" == *-default ]] && flags=()
  case "$proto" in
    rtsp) url="rtsp://127.0.0.1:$TP/live/dev" pre=(-rtsp_transport tcp) ;;
    srt) url="srt://127.0.0.1:$SP?streamid=#!::r=live/dev,m=request$(srt_opts)" ;;
    rtmp) url="rtmp://127.0.0.1:$RP/live/dev" ;;
    flv) url="http://127.0.0.1:$HP/live/dev.flv" ;;
    hls) url="http://127.0.0.1:$HP/live/dev/index.m3u8" ;;
    whep) url="http://127.0.0.1:$HP/live/dev/whep" ;;
  esac
  log "$name: ${url/\?*/?…}"
  t0="$(cpu_ticks)"
  if [[ "$proto" == hls ]]; then
    timeout $((HLS_WARMUP + DURATION + 120)) "$NODE" "$ROOT/bench/hls_latency.mjs" "$url" \
      --warmup "$HLS_WARMUP" --seconds "$DURATION" --config "$config" >"$out" 2>"$WORK/$name.err" || true
  elif [[ "$proto" == whep ]]; then
    local -a wflags=()
    read -r -a wflags <<<"$WHEP_FLAGS"
    [[ "$name" != whep-video ]] || wflags+=(--video-only)
    timeout $((WHEP_FIRST_FRAMES * 20 + WARMUP + DURATION + 120)) "$NODE" "$ROOT/bench/whep_latency.mjs" "$url" \
      --warmup "$WARMUP" --seconds "$DURATION" --first-frames "$WHEP_FIRST_FRAMES" "${wflags[@]}" \
      >"$out" 2>"$WORK/$name.err" || true
  else
    { timeout $((WARMUP + DURATION + 60)) "$FFMPEG" -hide_banner -nostdin -loglevel error \
      "${flags[@]}" "${pre[@]}" -i "$url" -map 0:v:0 -f rawvideo -pix_fmt gray -fps_mode passthrough \
      -flush_packets 1 - 2>"$WORK/$name.err" || true; } |
      "$PYTHON" "$ROOT/bench/latency_clock.py" read --width "$WIDTH" --height "$HEIGHT" \
        --warmup "$WARMUP" --duration "$DURATION" --label "$name" >"$out" || true
  fi
  busy_since "$t0" >"$out.busy"
  [[ -s "$out" ]] || echo '{"samples": 0}' >"$out"
  log "$name: $(cat "$out")"
  [[ "$(json_get "$out" samples)" != 0 ]] || log "$name failed: $(tail -n 3 "$WORK/$name.err")"
}

# floor OUT — the source into a decoder through a pipe, no server.
floor() {
  local out="$1" t0
  log "floor: encoder | nut pipe | decoder, no server"
  t0="$(cpu_ticks)"
  local fifo="$WORK/floor.fifo"
  rm -f "$fifo"
  mkfifo "$fifo"
  start_source -flush_packets 1 -f nut -y "$fifo"
  { timeout $((WARMUP + DURATION + 60)) "$FFMPEG" -hide_banner -nostdin -loglevel error \
    -fflags nobuffer -flags low_delay -f nut -i "$fifo" -map 0:v:0 -f rawvideo -pix_fmt gray \
    -fps_mode passthrough -flush_packets 1 - 2>"$WORK/floor.err" || true; } |
    "$PYTHON" "$ROOT/bench/latency_clock.py" read --width "$WIDTH" --height "$HEIGHT" \
      --warmup "$WARMUP" --duration "$DURATION" --label floor >"$out" || true
  busy_since "$t0" >"$out.busy"
  stop_group "$SOURCE_PID"
  SOURCE_PID=""
  [[ -s "$out" ]] || echo '{"samples": 0}' >"$out"
  log "floor: $(cat "$out")"
}

target_of() {
  case "$1" in
    rtsp* | srt*) echo 300 ;;
    hls*) echo 2000 ;;
    whep*) echo 200 ;;
    *) echo "" ;;
  esac
}
describe() {
  case "$1" in
    floor) echo "no server: encoder → NUT pipe → ffmpeg, low-delay flags" ;;
    rtsp) echo "RTSP (TCP), ffmpeg low-delay" ;;
    rtsp-default) echo "RTSP (TCP), ffmpeg defaults" ;;
    srt) echo "SRT, ffmpeg low-delay" ;;
    srt-default) echo "SRT, ffmpeg defaults" ;;
    rtmp) echo "RTMP, ffmpeg low-delay" ;;
    rtmp-default) echo "RTMP, ffmpeg defaults" ;;
    flv) echo "HTTP-FLV, ffmpeg low-delay" ;;
    flv-default) echo "HTTP-FLV, ffmpeg defaults" ;;
    hls) echo "LL-HLS, hls.js in Chromium" ;;
    hls-catchup) echo "LL-HLS, hls.js in Chromium, catch-up config" ;;
    whep) echo "WebRTC (WHEP), Chromium" ;;
    whep-video) echo "WebRTC (WHEP), Chromium, video transceiver only" ;;
  esac
}
row() { # row NAME FILE [ORDINAL]
  local f="$2" t med met="" notes label
  label="$(describe "$1")"
  [[ -z "${3:-}" ]] || label+=", HLS viewer $3 of the path"
  t="$(target_of "$1")"
  med="$(json_get "$f" median_ms)"
  if [[ -n "$t" ]]; then
    if [[ "$med" == null ]]; then met="no result"; else
      met="$(awk -v m="$med" -v t="$t" 'BEGIN { print (m < t) ? "**yes**" : "**no**" }')"
    fi
    t="< $t"
  else
    t="—"
  fi
  if [[ "$1" == hls* ]]; then
    notes="hls.latency median $(json_get "$f" hls_latency_s.median) s ($(json_get "$f" hls_latency_s.min)–$(json_get "$f" hls_latency_s.max)),"
    notes+=" target $(json_get "$f" hls_target_latency_s) s, fastest rate $(json_get "$f" max_playback_rate);"
    notes+=" buffered ahead of the playhead $(json_get "$f" buffer_ahead_s) s;"
    notes+=" stalls $(json_get "$f" stalls_before) before counting, $(json_get "$f" stalls) while;"
    notes+=" at expectedDisplayTime $(num "$(json_get "$f" display_median_ms)" %.0f) ms;"
    notes+=" dropped $(json_get "$f" dropped_frames), parts $(json_get "$f" parts_loaded)"
  elif [[ "$1" == whep* ]]; then
    notes="stamp → last packet received $(num "$(json_get "$f" receive_median_ms)" %.0f) ms, received → presented"
    notes+=" $(num "$(json_get "$f" held_median_ms)" %.0f) ms; video jitter buffer $(num "$(json_get "$f" video.jitter_buffer_ms)" %.0f) ms"
    notes+=" (target $(num "$(json_get "$f" video.jitter_target_ms)" %.0f), minimum $(num "$(json_get "$f" video.jitter_minimum_ms)" %.0f)),"
    notes+=" decode $(num "$(json_get "$f" video.decode_ms)" %.1f) ms; audio jitter buffer $(num "$(json_get "$f" audio.jitter_buffer_ms)" %.0f) ms"
    notes+=" (target $(num "$(json_get "$f" audio.jitter_target_ms)" %.0f)) + device $(num "$(json_get "$f" audio.playout_delay_ms)" %.0f) ms;"
    notes+=" at expectedDisplayTime $(num "$(json_get "$f" display_median_ms)" %.0f) ms;"
    notes+=" dropped $(json_get "$f" video.frames_dropped), lost $(json_get "$f" video.packets_lost), NACKs $(json_get "$f" video.nacks),"
    notes+=" freezes $(json_get "$f" video.freezes)"
  else
    notes="$(json_get "$f" frames) frames read"
  fi
  echo "| $label | $(json_get "$f" samples) | $(num "$med" %.0f) | $(num "$(json_get "$f" p90_ms)" %.0f) |" \
    "$(num "$(json_get "$f" min_ms)" %.0f) | $(num "$(json_get "$f" max_ms)" %.0f) | $(json_get "$f" unreadable) / $(json_get "$f" missing) |" \
    "$(cat "$f.busy")% | $t | ${met:-—} | $notes |"
  if [[ "$1" == whep* ]]; then # the first-frame row
    local fmax ages
    fmax="$(json_get "$f" first_frame.max_ms)"
    if [[ "$fmax" == null ]]; then met="no result"; else
      met="$(awk -v m="$fmax" 'BEGIN { print (m < 300) ? "**yes**" : "**no**" }')"
    fi
    ages="$("$PYTHON" -c 'import json, sys
v = (json.load(open(sys.argv[1])).get("first_frame") or {})
f = lambda k: ", ".join("n/a" if x is None else "%.0f" % x for x in v.get(k) or [])
print("each: %s ms; age of that frame %s ms; latency 3-4 s later %s ms" % (f("ms"), f("age_ms"), f("latency_after_ms")))' "$f" 2>/dev/null || echo "")"
    echo "| $(describe "$1"): first frame after the offer (fresh sessions) | $(json_get "$f" first_frame.sessions) |" \
      "$(num "$(json_get "$f" first_frame.median_ms)" %.0f) | $(num "$(json_get "$f" first_frame.p90_ms)" %.0f) |" \
      "$(num "$(json_get "$f" first_frame.min_ms)" %.0f) | $(num "$fmax" %.0f) | — | — | < 300 (every session) | $met |" \
      "$ages; the glass-to-glass session's own $(json_get "$f" session_first_frame_ms) ms (age $(num "$(json_get "$f" session_first_frame_age_ms)" %.0f) ms) |"
  fi
}
HEADER="| receiver | samples | median ms | p90 ms | min ms | max ms | unreadable / missing frames | machine busy | target ms | met | notes |
|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"

# ---------------------------------------------------------------------------------------------
FFMPEG_VERSION="$("$FFMPEG" -version | head -n 1 | awk '{print $3}')"
CHROMIUM_VERSION=""
((!HAS_BROWSER)) || CHROMIUM_VERSION="$("$CHROMIUM" --version 2>/dev/null | head -n 1 | awk '{print $2}')"
HLSJS_VERSION=""
((!HAS_HLS)) ||
  HLSJS_VERSION="$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$BROWSER_MODULES/node_modules/hls.js/package.json")"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
SRT_TEXT="120 ms (the default of sluiced and libsrt)"
[[ -z "$SRT_LATENCY_MS" ]] || SRT_TEXT="$SRT_LATENCY_MS ms (SRT_LATENCY_MS)"

floor_row=""
if [[ "$FLOOR" == 1 ]]; then
  wait_for_quiet
  floor "$WORK/floor.json"
  floor_row="$(row floor "$WORK/floor.json")"
fi
declare -A tables=() busy_before=()
for publisher in $PUBLISHERS; do
  wait_for_quiet
  busy_before[$publisher]="$BUSY"
  log "publisher $publisher: starting sluiced and the source"
  start_sluice "$publisher"
  rows=""
  i=0
  viewer=0
  for r in $RECEIVERS; do
    i=$((i + 1))
    out="$WORK/$publisher-$i-$r.json"
    kill -0 "$SERVER_PID" 2>/dev/null || die "sluiced died: $(tail -n 5 "$WORK/sluiced-$publisher.log")"
    kill -0 -- "-$SOURCE_PID" 2>/dev/null || die "the publisher died: $(tail -n 5 "$WORK/source.log")"
    receive "$r" "$out"
    ordinal=""
    if [[ "$r" == hls* ]]; then
      viewer=$((viewer + 1))
      ordinal="$viewer"
    fi
    rows+="$(row "$r" "$out" "$ordinal" %.0f)"$'\n'
  done
  tables[$publisher]="$rows"
  stop_all
done

echo "# Glass-to-glass latency"
echo
echo "$started, $(nproc) cores, loopback. Source: bench/latency_clock.py, ${WIDTH}x$HEIGHT $FPS fps, each frame" \
  "stamped with the wall clock as it is made; encoded by ffmpeg $FFMPEG_VERSION $ENCODE_TEXT." \
  "sluiced $SLUICED_VERSION (sha256 $SLUICED_SHA…) --hls-segment 1 (LL-HLS, parts of 0.2 s)" \
  "${SLUICED_FLAGS:+$SLUICED_FLAGS }${PUBLISH_FLAGS:+Publisher flags: $PUBLISH_FLAGS. }SRT latency $SRT_TEXT." \
  "Per receiver: ${WARMUP} s warm-up (hls.js: ${HLS_WARMUP} s after playback starts), then ${DURATION} s counted." \
  "${HLSJS_VERSION:+hls.js $HLSJS_VERSION in Chromium $CHROMIUM_VERSION (headless), config $HLS_CONFIG (hls-catchup: $HLS_CATCHUP_CONFIG).}" \
  "$( ((!HAS_WHEP)) || echo "WHEP in Chromium $CHROMIUM_VERSION (headless; WebRTC on 127.0.0.1 UDP): $WHEP_FIRST_FRAMES fresh sessions for the first frame, then one for glass-to-glass${WHEP_FLAGS:+, $WHEP_FLAGS}.")"
echo
if [[ -n "$floor_row" ]]; then
  echo "## No server (floor)"
  echo
  echo "$HEADER"
  echo "$floor_row"
  echo
fi
for publisher in $PUBLISHERS; do
  echo "## Published over ${publisher^^} (machine ${busy_before[$publisher]}% busy before the source started)"
  echo
  echo "$HEADER"
  printf '%s' "${tables[$publisher]}"
  echo
done
cat <<EOF
Latency: the reader's clock when a decoded frame is in its hands (ffmpeg receivers: the whole
raw frame read from ffmpeg's pipe; hls.js and WHEP: Date.now() in the video's
requestVideoFrameCallback) minus the stamp drawn into that frame as it was made. WHEP first frame:
from just before the POST of the offer to the first requestVideoFrameCallback, for each fresh
session (RTCPeerConnection + WHEP session, DELETEd after a few seconds); its "age" is how old the
first presented frame's stamp was then (the GOP cache replays from the last keyframe). WHEP
jitter buffer: getStats() jitterBufferDelay / jitterBufferEmittedCount over the counted window;
"device": the audio output's playout delay (media-playout stats), which Chromium's A/V sync adds
to the audio side. "low-delay": ffmpeg -fflags nobuffer -flags low_delay (no frame-threaded
decoding); "defaults": neither. Unreadable: frames whose blocks failed
their check; missing: gaps in the 8-bit frame numbers while counting. Machine busy: all CPUs,
every process (source, sluiced, receiver, anything else), during the row.
EOF
