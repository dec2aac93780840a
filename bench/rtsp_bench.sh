#!/usr/bin/env bash
# RTSP fan-out benchmark: one 2.5 Mbit/s H.264 + AAC stream and N RTSP readers over TCP
# (interleaved), gst-rtsp-server (the server the camera runs) and sluiced side by side, on the
# same machine in one run (issue 13).
#
# Once, and cached in $BENCH_CACHE: the 30 s 1280x720 30 fps H.264 + AAC FLV of media_bench.sh
# (same file, same name), and for gst-rtsp-server a longer copy of it, looped by
# `ffmpeg -stream_loop -1 -c copy` (continuous timestamps, no re-encoding).
# Then for each N in $READERS and each server in $ONLY:
#   1. wait (up to WAIT_IDLE s) for the CPUs to be idle;
#   2. start the server on free loopback ports:
#        gst     bench/gst_rtsp_peer.py: gst-rtsp-server 1.22 through python3-gi, one shared media
#                (filesrc ! flvdemux ! h264parse ! rtph264pay / aacparse ! rtpmp4gpay) playing
#                the looped copy in real time; play rtsp://127.0.0.1:PORT/bench
#        sluice  sluiced --http 127.0.0.1:HP --wire 127.0.0.1:0 --rtmp 127.0.0.1:RP --rtsp
#                127.0.0.1:SP --rtsp-udp-ports off --srt off --dev-key --history :memory:
#                --data-dir TMP --media-max-connections-per-address N+64 $SLUICED_FLAGS (a fresh
#                data dir: the --dev-key key is stored there for 24 h); the 30 s file is
#                published with `ffmpeg -re -stream_loop -1 -c copy -f flv` to
#                rtmp://127.0.0.1:RP/live/KEY (KEY: the sk_... --dev-key prints); play
#                rtsp://127.0.0.1:SP/live/dev
#   3. wait until one probe reader gets a video frame;
#   4. run `rtsp_readers --readers N --baseline BASELINE --duration DURATION --cpu-pid SERVER`:
#      reader 1 alone first, the server's CPU measured for BASELINE s with it (the baseline: the
#      server's cost per stream — reading, demuxing, payloading or ingesting — plus one reader);
#      then the other N-1 readers (in waves), and once each has its first video frame (or
#      failed), DURATION s measured;
#   5. stop the publisher and the server.
# CPU per reader is given raw (window CPU / N) and net of the baseline ((window CPU rate -
# baseline CPU rate) / (N - 1)), and, when two N ran, as the slope between them; the target
# compares the net figures (gst-rtsp-server's CPU includes reading and payloading the file, a
# constant that sluice pays as RTMP ingest instead).
# Prints Markdown tables on stdout (per run, then sluice/gst ratios); progress on stderr.
#
#   bench/rtsp_bench.sh
#   ONLY=gst READERS="50 200" bench/rtsp_bench.sh
#   RTSP_READERS=build-bench/bin/rtsp_readers SLUICED=build-bench/bin/sluiced bench/rtsp_bench.sh
#
# Environment (paths are relative to the current directory or to the repo root):
#   RTSP_READERS  the load generator (default: build/bin/rtsp_readers, else build-bench/bin/...)
#   SLUICED       sluice daemon (default: build/bin/sluiced, else build-bench/bin/sluiced)
#   SLUICED_FLAGS extra daemon flags (default none)
#   GST_PYTHON    the Python with python3-gi (default /usr/bin/python3)
#   FFMPEG        default ffmpeg from PATH
#   READERS       reader counts (default "50 200")
#   DURATION      measured seconds per run (default 20)
#   BASELINE      seconds of the one-reader baseline before the others open (default 10)
#   RAMP, WAVE    rtsp_readers --ramp (connections/s, 0 = as fast as the wave allows; default 0)
#                 and --wave (readers at most between connect() and first frame; default 50)
#   LATE_MS       rtsp_readers --late-ms (default 500)
#   KEEPALIVE     rtsp_readers --keepalive, seconds between GET_PARAMETERs (default 20)
#   ONLY          servers to run: "gst sluice" (default both)
#   BENCH_CACHE   where the prepared files are kept (default ${XDG_CACHE_HOME:-~/.cache}/sluice-bench)
#   WAIT_IDLE     seconds to wait before each run for other processes to leave the CPUs idle
#                 (default 60; 0 to not wait); the busy share seen is in the table
#   SKIP_DEPS=1   do not run scripts/install-deps.sh for ffmpeg and the GStreamer peer's packages
#
# Server, publisher and readers share this machine's cores over loopback; the figures are for that
# setup. The reader's CPU is printed too: when it nears a core, its own lag shows up as "late".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Runtime-only packages of this benchmark (not build dependencies, not in --test): ffmpeg, and
# gst-rtsp-server with its Python bindings and the plugins of the peer's pipeline.
GST_PACKAGES=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
[[ "${SKIP_DEPS:-0}" == 1 ]] || "$ROOT/scripts/install-deps.sh" ffmpeg "${GST_PACKAGES[@]}" >&2

SLUICED_FLAGS="${SLUICED_FLAGS:-}"
GST_PYTHON="${GST_PYTHON:-/usr/bin/python3}"
FFMPEG="${FFMPEG:-ffmpeg}"
READERS="${READERS:-50 200}"
DURATION="${DURATION:-20}"
BASELINE="${BASELINE:-10}"
RAMP="${RAMP:-0}"
WAVE="${WAVE:-50}"
LATE_MS="${LATE_MS:-500}"
KEEPALIVE="${KEEPALIVE:-20}"
FPS=30
ONLY="${ONLY:-gst sluice}"
BENCH_CACHE="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice-bench}"
WAIT_IDLE="${WAIT_IDLE:-60}"

BENCH_NAME=rtsp_bench
# shellcheck source=bench/bench_lib.sh
. "$ROOT/bench/bench_lib.sh"


for n in $READERS; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "READERS must be positive numbers, got '$n'"
  ((n >= 2)) || die "READERS must be at least 2 (reader 1 is the baseline), got '$n'"
done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a whole number of seconds, got '$DURATION'"
[[ "$BASELINE" =~ ^[1-9][0-9]*$ ]] || die "BASELINE must be a whole number of seconds, got '$BASELINE'"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds, got '$WAIT_IDLE'"
for s in $ONLY; do
  [[ "$s" == gst || "$s" == sluice ]] || die "ONLY takes gst and/or sluice, got '$s'"
done

RTSP_READERS="$(resolve "${RTSP_READERS:-$(first_built rtsp_readers)}")"
[[ -x "$RTSP_READERS" ]] || die "load generator not found: $RTSP_READERS (build target rtsp_readers, or set RTSP_READERS)"
command -v "$FFMPEG" >/dev/null 2>&1 || die "ffmpeg not found (Debian: apt-get install ffmpeg, or set FFMPEG)"
GST_VERSION=""
if wanted gst; then
  GST_VERSION="$("$GST_PYTHON" "$ROOT/bench/gst_rtsp_peer.py" --check 2>&1)" ||
    die "the gst-rtsp-server peer cannot run with $GST_PYTHON: $GST_VERSION (Debian: ${GST_PACKAGES[*]})"
  GST_VERSION="${GST_VERSION#GStreamer }"
  rtsp_server_pkg="$(dpkg-query -W -f='${Version}' libgstrtspserver-1.0-0 2>/dev/null || true)"
  GST_VERSION="gst-rtsp-server ${rtsp_server_pkg:-(package version unknown)} (GStreamer $GST_VERSION)"
fi
MAX_PER_ADDRESS_FLAG=0
if wanted sluice; then
  SLUICED="$(resolve "${SLUICED:-$(first_built sluiced)}")"
  [[ -x "$SLUICED" ]] || die "no sluiced at $SLUICED (set SLUICED, or ONLY=gst)"
  # Fail now, not after the gst runs, when this sluiced has no RTSP server yet.
  help="$("$SLUICED" --help 2>&1)" || die "'$SLUICED --help' failed"
  for flag in --rtmp --rtsp --rtsp-udp-ports --dev-key; do
    grep -q -- "$flag" <<<"$help" || die "$SLUICED does not accept $flag; build a newer sluiced or run ONLY=gst"
  done
  # The per-address limit on media connections (default 64) would refuse most readers: every
  # reader comes from 127.0.0.1.
  grep -q -- --media-max-connections-per-address <<<"$help" && MAX_PER_ADDRESS_FLAG=1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rtsp-bench.XXXXXX")"
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

# ---------------------------------------------------------------------------------------------
# The media file, made once (the same as media_bench.sh's): 30 s, 1280x720 30 fps H.264
# (2.4 Mbit/s, 2.5 max, 2 s GOP) + AAC.
MEDIA="$(fanout_media)"
# gst-rtsp-server plays its file once from the start each time a run's first reader arrives: a
# looped copy long enough for a run (the probe, the baseline, opening the readers, the window).
LOOPED_S=$(((BASELINE + DURATION + 240 + 59) / 60 * 60))
((LOOPED_S >= 300)) || LOOPED_S=300
LOOPED="$BENCH_CACHE/testsrc2-720p30-2500k-g60-looped-${LOOPED_S}s.flv"
if wanted gst && [[ ! -s "$LOOPED" ]]; then
  log "preparing $LOOPED (the 30 s file looped, -c copy, once)"
  "$FFMPEG" -hide_banner -loglevel error -y -stream_loop -1 -i "$MEDIA" -c copy -t "$LOOPED_S" \
    -f flv "$LOOPED.tmp" || die "ffmpeg could not make the looped file"
  mv "$LOOPED.tmp" "$LOOPED"
fi

# start_gst — the gst-rtsp-server peer on a free port; sets SERVER_PID, CPU_PIDS, PLAY_URL.
start_gst() {
  local port logfile="$WORK/gst.log"
  port="$(free_port)"
  "$GST_PYTHON" "$ROOT/bench/gst_rtsp_peer.py" --port "$port" --file "$LOOPED" --path /bench \
    >"$logfile" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 10))
  until grep -q "gst_rtsp_peer listening" "$logfile"; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "gst_rtsp_peer exited during startup: $(tail -n 5 "$logfile")"
    ((SECONDS < deadline)) || die "gst_rtsp_peer did not start within 10 s: $(tail -n 5 "$logfile")"
    sleep 0.1
  done
  wait_port "$port" "$SERVER_PID" gst_rtsp_peer
  CPU_PIDS=("$SERVER_PID")
  PLAY_URL="rtsp://127.0.0.1:$port/bench"
}

# start_sluice N — sluiced with RTMP and RTSP on free ports and a dev publish key, then the
# publisher; sets SERVER_PID, CPU_PIDS, PUB_PID, PLAY_URL. Fails (never hangs) if sluiced will
# not start.
start_sluice() {
  local n="$1" logfile="$WORK/sluiced.log" http rtmp rtsp key=""
  local -a limit=()
  ((MAX_PER_ADDRESS_FLAG)) && limit=(--media-max-connections-per-address $((n + 64)))
  http="$(free_port)"
  rtmp="$(free_port)"
  rtsp="$(free_port)"
  # shellcheck disable=SC2086 # SLUICED_FLAGS is a list of flags
  "$SLUICED" --onvif off --mdns off --osc off --mqtt off --http "127.0.0.1:$http" --wire 127.0.0.1:0 --rtmp "127.0.0.1:$rtmp" \
    --rtsp "127.0.0.1:$rtsp" --rtsp-udp-ports off --srt off --dev-key --history :memory: \
    --data-dir "$WORK/sluice-data-$n" "${limit[@]}" $SLUICED_FLAGS >"$logfile" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 10))
  until key="$(grep -o 'sk_[A-Za-z0-9_-]*' "$logfile" | head -n 1)" && [[ -n "$key" ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "sluiced exited during startup: $(tail -n 5 "$logfile")"
    ((SECONDS < deadline)) || die "sluiced printed no publish key (sk_...) within 10 s: $(tail -n 5 "$logfile")"
    sleep 0.1
  done
  wait_port "$rtmp" "$SERVER_PID" "sluiced (RTMP)"
  wait_port "$rtsp" "$SERVER_PID" "sluiced (RTSP)"
  CPU_PIDS=("$SERVER_PID")
  PLAY_URL="rtsp://127.0.0.1:$rtsp/live/dev"
  "$FFMPEG" -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy \
    -f flv "rtmp://127.0.0.1:$rtmp/live/$key" >"$WORK/publisher.log" 2>&1 &
  PUB_PID=$!
}

# wait_live — one probe reader gets a video frame within 15 s.
wait_live() {
  local deadline=$((SECONDS + 15))
  until "$RTSP_READERS" --url "$PLAY_URL" --readers 1 --duration 0.2 --setup-timeout 5 \
    >/dev/null 2>"$WORK/probe.log"; do
    [[ -z "$PUB_PID" ]] || kill -0 "$PUB_PID" 2>/dev/null ||
      die "the publisher exited: $(tail -n 3 "$WORK/publisher.log")"
    ((SECONDS < deadline)) || die "the stream is not live after 15 s: $(tail -n 3 "$WORK/probe.log")"
    sleep 0.5
  done
}

# run_one SERVER N OUT — one measured run; the reader's JSON lands in OUT. Returns 0 when OUT has
# a result.
run_one() {
  local server="$1" n="$2" out="$3" rc=0 pid
  local -a cpu=()
  wait_for_quiet
  if [[ "$server" == gst ]]; then start_gst; else start_sluice "$n"; fi
  wait_live
  for pid in "${CPU_PIDS[@]}"; do cpu+=(--cpu-pid "$pid"); done
  log "$server, $n readers: ${BASELINE} s baseline with 1 reader, then ${DURATION} s measured"
  timeout $((BASELINE + DURATION + 180)) "$RTSP_READERS" --url "$PLAY_URL" --readers "$n" \
    --baseline "$BASELINE" --duration "$DURATION" --fps "$FPS" --ramp "$RAMP" --wave "$WAVE" \
    --late-ms "$LATE_MS" --keepalive "$KEEPALIVE" --trace-gaps "${cpu[@]}" --json >"$out" \
    2>"$WORK/readers.log" || rc=$?
  [[ -z "$PUB_PID" ]] || kill -0 "$PUB_PID" 2>/dev/null || log "WARNING: the publisher died during the run"
  kill -0 "$SERVER_PID" 2>/dev/null || log "WARNING: $server died during the run"
  stop_all
  # The summary, and the first gaps traced (one line per gap and reader; there may be many).
  grep -v '^reader [0-9]*:' "$WORK/readers.log" | sed 's/^/  /' >&2
  local gaps
  gaps="$(grep -c '^reader [0-9]*:' "$WORK/readers.log" || true)"
  if ((gaps > 0)); then
    log "$server, $n readers: $gaps gaps traced; the first ones:"
    grep '^reader [0-9]*:' "$WORK/readers.log" | head -n 20 | sed 's/^/  /' >&2
  fi
  if ((rc != 0)) || [[ ! -s "$out" ]]; then
    log "WARNING: $server with $n readers failed (rtsp_readers exit status $rc)"
    return 1
  fi
}

# Table cells.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "null" && b != "null" && a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
pct_of_core() { # pct_of_core CPU_S SECONDS
  awk -v c="$1" -v w="$2" 'BEGIN { if (c == "null" || w + 0 <= 0) print "n/a"; else printf "%.1f", 100 * c / w }'
}
# rate FILE — server CPU seconds per second in the window.
rate() {
  awk -v c="$(json_get "$1" server_cpu_s)" -v w="$(json_get "$1" window_s)" \
    'BEGIN { if (c == "null" || w + 0 <= 0) print "null"; else printf "%.6f", c / w }'
}
# slope A B — CPU ms per added reader-second between two runs (more readers in B).
slope() {
  awk -v ra="$(rate "$1")" -v rb="$(rate "$2")" -v na="$(json_get "$1" playing)" \
    -v nb="$(json_get "$2" playing)" \
    'BEGIN { if (ra == "null" || rb == "null" || nb - na <= 0) print "null"; else printf "%.4f", 1000 * (rb - ra) / (nb - na) }'
}
row() { # row SERVER N FILE BUSY
  local f="$3"
  echo "| $2 | $1 | $4% | $(json_get "$f" playing) | $(json_get "$f" connect_failures) |" \
    "$(json_get "$f" closed_after_play) | $(json_get "$f" readers_zero_drops) |" \
    "$(json_get "$f" lost_packets) | $(json_get "$f" dropped_frames) ($(json_get "$f" gap_dropped_frames) gap, $(json_get "$f" late_frames) late) |" \
    "$(num "$(json_get "$f" play_ms.p50)" %.0f) | $(num "$(json_get "$f" first_frame_ms.p50)" %.0f) |" \
    "$(num "$(json_get "$f" first_keyframe_ms.p50)" %.0f) | $(num "$(json_get "$f" first_keyframe_ms.p99)" %.0f) |" \
    "$(num "$(json_get "$f" mean_kbps_per_reader)" %.0f) | $(num "$(json_get "$f" window_fps_per_reader)" %.2f) |" \
    "$(num "$(json_get "$f" max_lag_excess_ms.p99)" %.0f) |" \
    "$(pct_of_core "$(json_get "$f" baseline_cpu_s)" "$(json_get "$f" baseline_s)") |" \
    "$(pct_of_core "$(json_get "$f" server_cpu_s)" "$(json_get "$f" window_s)") |" \
    "$(num "$(json_get "$f" server_cpu_ms_per_reader_s)" %.3f) |" \
    "$(num "$(json_get "$f" net_cpu_ms_per_reader_s)" %.3f) |" \
    "$(pct_of_core "$(json_get "$f" self_cpu_s)" "$(json_get "$f" window_s)" | awk '{ printf "%.0f", $1 }') |"
}

# ---------------------------------------------------------------------------------------------
FFMPEG_VERSION="$("$FFMPEG" -version | head -n 1 | awk '{print $3}')"
rows=()
ratios=()
declare -A result=()
for n in $READERS; do
  for server in gst sluice; do
    wanted "$server" || continue
    out="$WORK/$server-$n.json"
    if run_one "$server" "$n" "$out"; then
      rows+=("$(row "$server" "$n" "$out" "$BUSY")")
      result[$server-$n]="$out"
    else
      rows+=("| $n | $server | $BUSY% | failed | | | | | | | | | | | | | | | | | |")
    fi
  done
  if [[ -n "${result[gst-$n]:-}" && -n "${result[sluice-$n]:-}" ]]; then
    s="${result[sluice-$n]}"
    g="${result[gst-$n]}"
    r="| $n | $(ratio "$(json_get "$s" net_cpu_ms_per_reader_s)" "$(json_get "$g" net_cpu_ms_per_reader_s)") |"
    r+=" $(ratio "$(json_get "$s" server_cpu_ms_per_reader_s)" "$(json_get "$g" server_cpu_ms_per_reader_s)") |"
    r+=" $(json_get "$s" readers_zero_drops) / $(json_get "$g" readers_zero_drops) |"
    r+=" $(ratio "$(json_get "$s" first_keyframe_ms.p50)" "$(json_get "$g" first_keyframe_ms.p50)") |"
    ratios+=("$r")
  fi
done
# The slope between consecutive reader counts, per server: the other way to leave out the
# per-stream constant.
slopes=()
prev=""
for n in $READERS; do
  if [[ -n "$prev" ]]; then
    sg="null" ss="null"
    [[ -n "${result[gst-$prev]:-}" && -n "${result[gst-$n]:-}" ]] &&
      sg="$(slope "${result[gst-$prev]}" "${result[gst-$n]}")"
    [[ -n "${result[sluice-$prev]:-}" && -n "${result[sluice-$n]:-}" ]] &&
      ss="$(slope "${result[sluice-$prev]}" "${result[sluice-$n]}")"
    slopes+=("| $prev → $n | $(num "$sg" %.3f) | $(num "$ss" %.3f) | $(ratio "$ss" "$sg") |")
  fi
  prev="$n"
done

echo "# RTSP fan-out benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback, RTP/AVP/TCP interleaved;" \
  "a 30 s 1280x720 30 fps H.264 2.4 Mbit/s (2 s GOP) + AAC 128k FLV:" \
  "${GST_VERSION:+$GST_VERSION plays a looped copy (filesrc ! flvdemux ! h264parse ! rtph264pay, aacparse ! rtpmp4gpay, one shared media);}" \
  "sluiced gets it from ffmpeg $FFMPEG_VERSION \`-re -stream_loop -1 -c copy\` over RTMP." \
  "Per run: ${BASELINE} s with 1 reader (baseline), then the others, then ${DURATION} s measured" \
  "once every reader has its first frame."
echo
echo "| readers | server | busy before | playing | failed | closed after play | readers with zero drops | lost RTP packets | dropped frames | PLAY answered p50 ms | first frame p50 ms | first keyframe p50 ms | first keyframe p99 ms | kbps/reader | video fps/reader | lag growth p99 ms | baseline CPU % (1 reader) | server CPU % of a core | CPU ms per reader-s, raw | CPU ms per reader-s, net of baseline | reader CPU % |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
if ((${#ratios[@]})); then
  echo "| readers | CPU per reader sluice/gst, net of baseline | CPU per reader sluice/gst, raw | readers with zero drops sluice / gst | first keyframe p50 sluice/gst |"
  echo "|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ratios[@]}"
  echo
fi
if ((${#slopes[@]})); then
  echo "| readers | gst CPU ms per added reader-s | sluice CPU ms per added reader-s | sluice/gst |"
  echo "|---|---:|---:|---:|"
  printf '%s\n' "${slopes[@]}"
  echo
fi
cat <<EOF
CPU: utime + stime of the server process (all threads; for gst the Python process that runs
gst-rtsp-server and its pipeline) from /proc. "net of baseline": (CPU rate in the window - CPU
rate with 1 reader in the baseline) / (readers - 1); "raw": window CPU / readers; "per added
reader-s": (CPU rate at the larger N - at the smaller N) / (readers added). The baseline holds
what a server spends once per stream: gst-rtsp-server reads, demuxes and payloads the file;
sluiced ingests RTMP from ffmpeg and packetizes once.
Drops: lost RTP packets (sequence gaps, per track); "gap" frames: from a reader's first keyframe,
consecutive video frames (by RTP timestamp, in presentation order) more than 2.5 intervals
apart; "late" frames: at the end, lag (wall time minus RTP time) grown by more than ${LATE_MS} ms.
First frame: connect() to the first complete video frame (marker bit); first keyframe: to the
first IDR access unit (decodable). gst-rtsp-server starts a reader wherever the shared media is
(it waits for no keyframe); sluice starts it at the cached GOP's keyframe.
EOF
