#!/usr/bin/env bash
# RTMP fan-out benchmark: one 2.5 Mbps publisher and N RTMP readers, nginx-rtmp (Debian nginx +
# libnginx-mod-rtmp) and sluiced side by side, on the same machine in one run (issue 4).
#
# Once, and cached in $BENCH_CACHE: a 30 s 1280x720 30 fps H.264 + AAC FLV made by ffmpeg
# (testsrc2, libx264 veryfast, -b:v 2400k -maxrate 2500k -bufsize 5000k -g 60, AAC 128k).
# Then for each N in $READERS and each server in $ONLY:
#   1. wait (up to WAIT_IDLE s) for the CPUs to be idle;
#   2. start the server on free loopback ports:
#        nginx   a temporary prefix and nginx.conf (load_module ngx_rtmp_module.so,
#                worker_processes 1, daemon off, chunk_size 4096, application live { live on;
#                wait_key on; wait_video on; }); publish and play rtmp://127.0.0.1:PORT/live/bench
#        sluice  sluiced --http 127.0.0.1:HP --wire 127.0.0.1:0 --rtmp 127.0.0.1:RP --dev-key
#                --history :memory: --data-dir TMP --media-max-connections-per-address N+64
#                $SLUICED_FLAGS; it prints a publish key sk_... for the stream
#                "dev": publish to rtmp://127.0.0.1:RP/live/KEY, play rtmp://127.0.0.1:RP/live/dev
#   3. publish with `ffmpeg -re -stream_loop -1 -i FILE -c copy -f flv URL` (no encoding cost);
#   4. wait until one probe reader gets a video frame (the stream is live);
#   5. run `rtmp_readers --readers N --duration DURATION --fps 30 --cpu-pid SERVER...`: it opens
#      the N players (in waves), waits until each has its first video frame (or failed), then
#      measures DURATION seconds; the server's CPU time (utime + stime of all its threads and
#      processes, /proc/PID/stat) over that window is part of its JSON;
#   6. stop the publisher and the server.
# Prints Markdown tables on stdout (per run, then the sluice/nginx ratios); progress on stderr.
#
#   bench/media_bench.sh
#   ONLY=nginx READERS="50 200 500" bench/media_bench.sh
#   RTMP_READERS=build-bench/bin/rtmp_readers SLUICED=build-bench/bin/sluiced bench/media_bench.sh
#
# Environment (paths are relative to the current directory or to the repo root):
#   RTMP_READERS  the load generator (default: build/bin/rtmp_readers, else build-bench/bin/...)
#   SLUICED       sluice daemon (default: build/bin/sluiced, else build-bench/bin/sluiced)
#   SLUICED_FLAGS extra daemon flags (default none)
#   NGINX         nginx binary (default: nginx from PATH, else /usr/sbin/nginx)
#   NGINX_RTMP_MODULE  default /usr/lib/nginx/modules/ngx_rtmp_module.so
#   FFMPEG        default ffmpeg from PATH
#   READERS       reader counts (default "50 200 500")
#   DURATION      measured seconds per run (default 20)
#   RAMP, WAVE    rtmp_readers --ramp (connections/s, 0 = as fast as the wave allows; default 0)
#                 and --wave (players at most between connect() and play start; default 50)
#   LATE_MS       rtmp_readers --late-ms, lag growth tolerated before frames count as late
#                 (default 500)
#   ONLY          servers to run: "nginx sluice" (default both)
#   BENCH_CACHE   where the prepared FLV is kept (default ${XDG_CACHE_HOME:-~/.cache}/sluice-bench)
#   WAIT_IDLE     seconds to wait before each run for other processes to leave the CPUs idle
#                 (default 60; 0 to not wait); the busy share seen is in the table
#   SKIP_DEPS=1   do not run scripts/install-deps.sh for ffmpeg, nginx and libnginx-mod-rtmp
#
# Server, publisher and readers share this machine's cores over loopback; the figures are for that
# setup. The reader's CPU is printed too: when it nears a core, its own lag shows up as "late".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Runtime-only packages of this benchmark (not build dependencies).
[[ "${SKIP_DEPS:-0}" == 1 ]] || "$ROOT/scripts/install-deps.sh" ffmpeg nginx libnginx-mod-rtmp >&2

SLUICED_FLAGS="${SLUICED_FLAGS:-}"
NGINX_RTMP_MODULE="${NGINX_RTMP_MODULE:-/usr/lib/nginx/modules/ngx_rtmp_module.so}"
FFMPEG="${FFMPEG:-ffmpeg}"
READERS="${READERS:-50 200 500}"
DURATION="${DURATION:-20}"
RAMP="${RAMP:-0}"
WAVE="${WAVE:-50}"
LATE_MS="${LATE_MS:-500}"
FPS=30
ONLY="${ONLY:-nginx sluice}"
BENCH_CACHE="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice-bench}"
WAIT_IDLE="${WAIT_IDLE:-60}"

BENCH_NAME=media_bench
# shellcheck source=bench/bench_lib.sh
. "$ROOT/bench/bench_lib.sh"


for n in $READERS; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "READERS must be positive numbers, got '$n'"
done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a whole number of seconds, got '$DURATION'"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds, got '$WAIT_IDLE'"
for s in $ONLY; do
  [[ "$s" == nginx || "$s" == sluice ]] || die "ONLY takes nginx and/or sluice, got '$s'"
done

RTMP_READERS="$(resolve "${RTMP_READERS:-$(first_built rtmp_readers)}")"
[[ -x "$RTMP_READERS" ]] || die "load generator not found: $RTMP_READERS (build target rtmp_readers, or set RTMP_READERS)"
command -v "$FFMPEG" >/dev/null 2>&1 || die "ffmpeg not found (Debian: apt-get install ffmpeg, or set FFMPEG)"
if wanted nginx; then
  NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
  [[ -x "$NGINX" ]] || die "nginx not found (Debian: apt-get install nginx, or set NGINX)"
  [[ -f "$NGINX_RTMP_MODULE" ]] || die "no nginx RTMP module at $NGINX_RTMP_MODULE (Debian: libnginx-mod-rtmp)"
fi
MAX_PER_ADDRESS_FLAG=0
if wanted sluice; then
  SLUICED="$(resolve "${SLUICED:-$(first_built sluiced)}")"
  [[ -x "$SLUICED" ]] || die "no sluiced at $SLUICED (set SLUICED, or ONLY=nginx)"
  # Fail now, not after the nginx runs, when this sluiced has no RTMP server yet.
  help="$("$SLUICED" --help 2>&1)" || die "'$SLUICED --help' failed"
  if ! grep -q -- --rtmp <<<"$help" || ! grep -q -- --dev-key <<<"$help"; then
    die "$SLUICED does not accept --rtmp and --dev-key (no RTMP server in this build); build a newer sluiced or run ONLY=nginx"
  fi
  # The per-address limit on media connections (default 64) would refuse most players: every
  # player comes from 127.0.0.1.
  grep -q -- --media-max-connections-per-address <<<"$help" && MAX_PER_ADDRESS_FLAG=1
fi


WORK="$(mktemp -d "${TMPDIR:-/tmp}/media-bench.XXXXXX")"
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
# The media file, made once: 30 s, 1280x720 30 fps H.264 (2.4 Mbit/s, 2.5 max, 2 s GOP) + AAC.
MEDIA="$(fanout_media)"

# start_nginx — nginx-rtmp on a free port; sets SERVER_PID, CPU_PIDS, PUBLISH_URL, PLAY_URL.
start_nginx() {
  local prefix="$WORK/nginx" port
  port="$(free_port)"
  rm -rf "$prefix"
  mkdir -p "$prefix/logs" "$prefix/temp"
  {
    echo "load_module $NGINX_RTMP_MODULE;"
    # As root, nginx would switch the worker to nobody/www-data, which cannot write the prefix.
    [[ "$(id -u)" == 0 ]] && echo "user root;"
    cat <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
master_process on;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 8192; }
rtmp {
  server {
    listen 127.0.0.1:$port;
    chunk_size 4096;
    application live {
      live on;
      wait_key on;
      wait_video on;
    }
  }
}
EOF
  } >"$prefix/nginx.conf"
  "$NGINX" -t -q -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" >"$prefix/test.log" 2>&1 ||
    die "nginx rejects its configuration: $(tail -n 5 "$prefix/test.log")"
  "$NGINX" -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" >"$prefix/stdout.log" 2>&1 &
  SERVER_PID=$!
  wait_port "$port" "$SERVER_PID" nginx
  local -a workers=()
  mapfile -t workers < <(ps -o pid= --ppid "$SERVER_PID" | tr -d ' ')
  ((${#workers[@]})) || die "nginx started no worker process"
  CPU_PIDS=("$SERVER_PID" "${workers[@]}")
  PUBLISH_URL="rtmp://127.0.0.1:$port/live/bench"
  PLAY_URL="rtmp://127.0.0.1:$port/live/bench"
}

# start_sluice N — sluiced with its RTMP server on a free port and a dev publish key; sets
# SERVER_PID, CPU_PIDS, PUBLISH_URL, PLAY_URL. Fails (never hangs) if sluiced will not start.
start_sluice() {
  local n="$1" logfile="$WORK/sluiced.log" http rtmp key=""
  local -a limit=()
  ((MAX_PER_ADDRESS_FLAG)) && limit=(--media-max-connections-per-address $((n + 64)))
  http="$(free_port)"
  rtmp="$(free_port)"
  # A fresh --data-dir per run: the --dev-key key is stored there for 24 h, and a second
  # sluiced on the same data dir could not create it again.
  # shellcheck disable=SC2086 # SLUICED_FLAGS is a list of flags
  "$SLUICED" --onvif off --mdns off --osc off --mqtt off --http "127.0.0.1:$http" --wire 127.0.0.1:0 --rtmp "127.0.0.1:$rtmp" --rtsp off --rtsp-udp-ports off --srt off --dev-key \
    --history :memory: --data-dir "$WORK/sluice-data-$n" "${limit[@]}" $SLUICED_FLAGS >"$logfile" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 10))
  until key="$(grep -o 'sk_[A-Za-z0-9_-]*' "$logfile" | head -n 1)" && [[ -n "$key" ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "sluiced exited during startup: $(tail -n 5 "$logfile")"
    ((SECONDS < deadline)) || die "sluiced printed no publish key (sk_...) within 10 s: $(tail -n 5 "$logfile")"
    sleep 0.1
  done
  wait_port "$rtmp" "$SERVER_PID" "sluiced (RTMP)"
  CPU_PIDS=("$SERVER_PID")
  PUBLISH_URL="rtmp://127.0.0.1:$rtmp/live/$key"
  PLAY_URL="rtmp://127.0.0.1:$rtmp/live/dev"
}

# start_publisher — ffmpeg pushes the file in a loop at its own pace, then the stream must be
# live: one probe reader gets a video frame within 15 s.
start_publisher() {
  "$FFMPEG" -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy \
    -f flv "$PUBLISH_URL" >"$WORK/publisher.log" 2>&1 &
  PUB_PID=$!
  local deadline=$((SECONDS + 15))
  until "$RTMP_READERS" --url "$PLAY_URL" --readers 1 --duration 0.2 --setup-timeout 5 \
    >/dev/null 2>"$WORK/probe.log"; do
    kill -0 "$PUB_PID" 2>/dev/null || die "the publisher exited: $(tail -n 3 "$WORK/publisher.log")"
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
  "start_$server" "$n"
  start_publisher
  for pid in "${CPU_PIDS[@]}"; do cpu+=(--cpu-pid "$pid"); done
  log "$server, $n readers: measuring ${DURATION} s"
  timeout $((DURATION + 180)) "$RTMP_READERS" --url "$PLAY_URL" --readers "$n" \
    --duration "$DURATION" --fps "$FPS" --ramp "$RAMP" --wave "$WAVE" --late-ms "$LATE_MS" \
    "${cpu[@]}" --json >"$out" 2>"$WORK/readers.log" || rc=$?
  kill -0 "$PUB_PID" 2>/dev/null || log "WARNING: the publisher died during the run"
  kill -0 "$SERVER_PID" 2>/dev/null || log "WARNING: $server died during the run"
  stop_all
  sed 's/^/  /' "$WORK/readers.log" >&2
  if ((rc != 0)) || [[ ! -s "$out" ]]; then
    log "WARNING: $server with $n readers failed (rtmp_readers exit status $rc)"
    return 1
  fi
}

# Table cells.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
# cpu_per_reader FILE — server CPU ms per reader-second of the window.
cpu_per_reader() {
  awk -v c="$(json_get "$1" server_cpu_s)" -v p="$(json_get "$1" playing)" \
    -v w="$(json_get "$1" window_s)" \
    'BEGIN { if (c == "null" || p + 0 <= 0 || w + 0 <= 0) print "null"; else printf "%.3f", 1000 * c / (p * w) }'
}
row() { # row SERVER N FILE BUSY
  local f="$3"
  echo "| $2 | $1 | $4% | $(json_get "$f" playing) | $(json_get "$f" connect_failures) |" \
    "$(json_get "$f" closed_after_play) | $(json_get "$f" readers_zero_drops) |" \
    "$(json_get "$f" dropped_frames) ($(json_get "$f" gap_dropped_frames) gap, $(json_get "$f" late_frames) late) |" \
    "$(num "$(json_get "$f" first_frame_ms.p50)" %.0f) | $(num "$(json_get "$f" first_frame_ms.p99)" %.0f) |" \
    "$(num "$(json_get "$f" mean_kbps_per_reader)" %.0f) | $(num "$(json_get "$f" window_fps_per_reader)" %.2f) |" \
    "$(num "$(json_get "$f" max_lag_excess_ms.p99)" %.0f) |" \
    "$(awk -v c="$(json_get "$f" server_cpu_s)" -v w="$(json_get "$f" window_s)" 'BEGIN { if (c == "null") print "n/a"; else printf "%.1f", 100 * c / w }') |" \
    "$(num "$(cpu_per_reader "$f")" %.3f) |" \
    "$(awk -v c="$(json_get "$f" self_cpu_s)" -v w="$(json_get "$f" window_s)" 'BEGIN { printf "%.0f", 100 * c / w }') |"
}

# ---------------------------------------------------------------------------------------------
NGINX_VERSION=""
if wanted nginx; then
  NGINX_VERSION="$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
  NGINX_VERSION+=" with libnginx-mod-rtmp $(dpkg-query -W -f='${Version}' libnginx-mod-rtmp 2>/dev/null || echo '(version unknown)')"
fi
FFMPEG_VERSION="$("$FFMPEG" -version | head -n 1 | awk '{print $3}')"
rows=()
ratios=()
for n in $READERS; do
  declare -A res=()
  for server in nginx sluice; do
    wanted "$server" || continue
    out="$WORK/$server-$n.json"
    if run_one "$server" "$n" "$out"; then
      rows+=("$(row "$server" "$n" "$out" "$BUSY")")
      res[$server]="$out"
    else
      rows+=("| $n | $server | $BUSY% | failed | | | | | | | | | | | | |")
    fi
  done
  if [[ -n "${res[nginx]:-}" && -n "${res[sluice]:-}" ]]; then
    s="${res[sluice]}"
    g="${res[nginx]}"
    r="| $n | $(ratio "$(cpu_per_reader "$s")" "$(cpu_per_reader "$g")") |"
    r+=" $(json_get "$s" readers_zero_drops) / $(json_get "$g" readers_zero_drops) |"
    r+=" $(ratio "$(json_get "$s" first_frame_ms.p50)" "$(json_get "$g" first_frame_ms.p50)") |"
    ratios+=("$r")
  fi
  unset res
done

echo "# RTMP fan-out benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback; publisher: ffmpeg $FFMPEG_VERSION" \
  "\`-re -stream_loop -1 -c copy\` of a 30 s 1280x720 30 fps H.264 2.4 Mbit/s (2 s GOP) + AAC 128k" \
  "FLV${NGINX_VERSION:+; $NGINX_VERSION}; ${DURATION} s measured" \
  "per run after every reader has its first frame."
echo
echo "| readers | server | busy before | playing | failed | closed after play | readers with zero drops | dropped frames | first frame p50 ms | first frame p99 ms | kbps/reader | video fps/reader | lag growth p99 ms | server CPU % of a core | server CPU ms per reader-s | reader CPU % |"
echo "|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
if ((${#ratios[@]})); then
  echo "| readers | CPU per reader sluice/nginx | readers with zero drops sluice / nginx | first frame p50 sluice/nginx |"
  echo "|---:|---:|---:|---:|"
  printf '%s\n' "${ratios[@]}"
  echo
fi
cat <<EOF
First frame: from the reader's connect() to its first coded video frame (not the sequence
header). nginx-rtmp has no GOP cache; it runs with \`wait_key on; wait_video on;\`, so a player
starts on a keyframe (decodable) and its first frame waits for the publisher's next keyframe
(2 s GOP: about 1 s on average). Dropped frames, by video timestamps (30 fps, interval 33.3 ms):
consecutive coded frames more than 2.5 intervals apart count round(gap / interval) - 1 dropped
("gap"); at the end of the window, a reader whose lag (wall time minus stream time since its first
frame) exceeds the smallest lag it had by more than ${LATE_MS} ms counts floor(excess / interval)
dropped ("late": it fell behind or stalled).
"lag growth p99": over readers, the largest growth of a reader's lag during the window. CPU:
utime + stime of the server's processes (nginx master and worker; sluiced, all threads) during
the measured window. "reader CPU": the single-threaded load generator, which shares the machine.
EOF
