#!/usr/bin/env bash
# Pipelines vs ffmpeg (issue 15): the same encoder pipeline — 720p30 picture → libx264 veryfast,
# 2.5 Mbit/s → RTMP — run by sluiced's pipeline module and by the equivalent ffmpeg command line.
# Targets: CPU ≤ 1.05× ffmpeg's (median of RUNS runs), end-to-end latency no worse than ffmpeg's.
#
# Both contestants push to the same kind of receiver: a second sluiced started with --dev-key
# (publish rtmp://127.0.0.1:RP2/live/KEY, play rtmp://127.0.0.1:RP2/live/dev), fresh for every run.
# Only one contestant runs at a time; before each run the script waits (up to LOAD_WAIT s) for the
# 1-minute load average to fall below MAX_LOAD, and records it.
#
# Part "cpu" — the test pattern (testsrc2 1280x720 30 fps) encoded and pushed, RUNS rounds, the
# order of the cases rotated every round:
#   sluice       sluiced --http 127.0.0.1:HP --wire 127.0.0.1:WP --rtmp 127.0.0.1:RP --rtsp
#                127.0.0.1:TP --rtsp-udp-ports off --srt off --webrtc-udp off --onvif off --mdns off --osc off --mqtt off --history
#                :memory: --data-dir TMP --loopback-admin true; first IDLE_WINDOW s with no
#                pipeline (its idle CPU), then POST /pipelines
#                {"name":"bench","source":{"type":"testsrc","width":1280,"height":720,"fps":30,
#                 "clock":false},"encoder":{"codec":"h264","bitrate_kbps":2500,"preset":"veryfast",
#                 "gop":30,"zerolatency":true},"outputs":[{"type":"push","url":"rtmp://…/live/KEY"}]}
#                (sluiced's pipeline: libavfilter testsrc2, libx264 thread_count 1, VBV maxrate =
#                bufsize = bitrate, profile high; the rendition is also a live path of sluiced)
#   ffmpeg       ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i
#                testsrc2=size=1280x720:rate=30 -c:v libx264 -preset veryfast -tune zerolatency
#                -profile:v high -b:v 2500k -maxrate 2500k -bufsize 2500k -g 30 -threads 1
#                -pix_fmt yuv420p -f flv rtmp://…/live/KEY
#   ffmpeg-auto  the same without -threads 1 (libx264's default threading; an extra row)
# For each: wait until the stream is pushed (sluice: GET /pipelines/ID state "running", output
# "pushing"; both: the receiver logs the publisher), WARMUP s, then WINDOW s during which the
# contestant's CPU (utime + stime of all its threads, /proc/PID/stat, in CLK_TCK ticks) is taken,
# with each thread's share (/proc/PID/task/*/stat), the receiver's CPU and the whole machine's.
# For sluice the pipeline's share is its CPU in the window minus its idle CPU before the pipeline.
# Then the delivered stream is checked: VERIFY s copied from the receiver (ffmpeg -c copy -f flv)
# and read back with ffprobe: codec, profile, size, frame rate, bitrate (sum of packet sizes over
# their time span), keyframe interval.
#
# Part "latency" — glass-to-glass through each contestant and the receiver: bench/latency_clock.py
# gen --width 1280 --height 720 writes live raw yuv420p frames whose pixels carry the wall clock,
# through a FIFO into
#   ffmpeg       ffmpeg -hide_banner -nostdin -loglevel error -f rawvideo -pix_fmt yuv420p -s
#                1280x720 -r 30 -i - (the same x264 options, -threads 1) -f flv rtmp://…/live/KEY
#                (what the stream manager sluice replaces does: a renderer piping raw frames
#                into ffmpeg's stdin)
#   sluice       sluice pub frames.bench - --frame-bytes 1382400 --metadata
#                '{"format":"yuv420p","width":1280,"height":720,"fps":30}' --wire 127.0.0.1:WP
#                (each frame one relay message on channel frames.bench; WP a fixed free port
#                given to sluiced --wire) and a pipeline with "source": {"type": "relay",
#                "channel": "frames.bench", "clock": false}, "renditions": [{"path": "bench",
#                "width": 1280, "height": 720}] and the same encoder and push output
# and read back from the receiver by ffmpeg -fflags nobuffer -flags low_delay -i
# rtmp://127.0.0.1:RP2/live/dev -map 0:v:0 -f rawvideo -pix_fmt gray -fps_mode passthrough
# -flush_packets 1 - | latency_clock.py read --width 1280 --height 720 (LAT_WARMUP s not counted,
# then LAT_DURATION s), LAT_RUNS rounds, alternating. The contestant's CPU over the reading is
# recorded too (sluice: sluiced + sluice pub).
#
# Part "renditions" — two renditions from one decode against two independent ffmpeg transcodes.
# The source is live H.264: ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -c:v libx264
# -preset veryfast -tune zerolatency -g 30 -b:v SRC_KBPSk -maxrate … -bufsize … -threads 1
# -pix_fmt yuv420p -f flv rtmp://127.0.0.1:RP2/live/KEY (the receiver's path dev), read by both
# contestants at rtsp://127.0.0.1:TP2/live/dev (RTSP over TCP). Each rendition goes back to the
# receiver over RTMP on paths r720 and r360 (publish keys from POST /keys on the receiver).
#   sluice       a fresh sluiced (as above), idle IDLE_WINDOW s, then POST /pipelines
#                {"name":"two","source":{"type":"url","url":"rtsp://127.0.0.1:TP2/live/dev",
#                 "clock":false},"encoder":{"codec":"h264","bitrate_kbps":2500,"preset":"veryfast",
#                 "gop":30,"zerolatency":true},"renditions":[{"path":"r720","width":1280,
#                 "height":720},{"path":"r360","width":640,"height":360,"bitrate_kbps":800}],
#                 "outputs":[{"type":"push","rendition":"r720","url":"rtmp://…/live/K720"},
#                 {"type":"push","rendition":"r360","url":"rtmp://…/live/K360"}]}
#                (one decode, one libx264 per rendition, thread_count 1 each)
#   ffmpeg       two processes, ffmpeg -hide_banner -nostdin -loglevel error -filter_threads 1
#                -threads 1 -rtsp_transport tcp -i rtsp://…/live/dev -map 0:v:0 -an -vf
#                scale=W:H (the same x264 options; 800k for 360p) -threads 1 -pix_fmt yuv420p
#                -f flv rtmp://…/live/K720 (K360); their CPU summed
# REND_RUNS rounds, order rotated; WARMUP s after both renditions are published, then WINDOW s of
# utime + stime, with the receiver's, the source publisher's and everything else's; each
# rendition is then probed on the receiver (ffprobe: codec, size). Ratio sluice / ffmpeg pair.
#
# Part "framepath" — the latency sluice's own frame path adds: a live source's picture from its
# arrival in sluiced to its hand-over to the encoders, as sluiced reports it (GET /pipelines/ID
# frame_path_ms, the mean over the last second, and /metrics
# sluice_pipeline_frame_path_seconds{pipeline="NAME"}), sampled once a second for FP_SECONDS
# after WARMUP s, in FP_SETUPS: relay (the latency part's raw 720p30 frames through sluice pub and
# a relay-source pipeline), url (the renditions part's pipeline, RTSP source, decoded) and path
# (the same pipeline with {"type":"path","path":"cam"}, the publisher pushing into the measuring
# sluiced itself). Median, max and min of the samples, against one frame (1000/30 ms).
#
# Markdown tables on stdout, progress on stderr.
#
#   bench/pipeline_bench.sh > pipeline.md
#   PARTS=cpu RUNS=3 WINDOW=20 bench/pipeline_bench.sh
#   PARTS=latency LAT_RUNS=3 bench/pipeline_bench.sh
#   PARTS="framepath renditions" REND_RUNS=5 bench/pipeline_bench.sh
#
# Environment (paths relative to the current directory or to the repo root):
#   SLUICED, SLUICE  daemon and CLI (default build/bin/sluiced, build/bin/sluice); the run uses
#                    copies of them (a rebuild during the run cannot change what is measured)
#   FFMPEG, FFPROBE, PYTHON  default ffmpeg, ffprobe, python3 from PATH
#   PARTS          "cpu latency" (default both); also renditions, framepath (run only when named)
#   CPU_CASES      default "sluice ffmpeg ffmpeg-auto"; LAT_CASES default "sluice ffmpeg"
#   RUNS           rounds of the cpu part (default 5); LAT_RUNS of the latency part (default 5)
#   REND_CASES     default "sluice ffmpeg"; REND_RUNS rounds of the renditions part (default 3)
#   SRC_KBPS       the live source's bitrate for renditions and framepath (default 4000)
#   FP_SETUPS      default "relay url path"; FP_RUNS rounds (default 1); FP_SECONDS samples (30)
#   WARMUP         seconds after the stream is pushed before the CPU window (default 5)
#   WINDOW         CPU window, seconds (default 30); IDLE_WINDOW idle sluiced (default 30)
#   VERIFY         seconds of the delivered stream checked after each window (default 10)
#   LAT_WARMUP, LAT_DURATION  seconds not counted / counted by the latency reader (default 5, 30)
#   MAX_LOAD       1-minute load average to wait for before each run (default 1.0)
#   DISTURBED      a CPU run during whose window other processes (not the contestant, not the
#                  receiver) used more than this % of a core is marked disturbed (default 25); the
#                  summary gives the medians of all runs and of the undisturbed ones
#   LOAD_WAIT      at most this many seconds of waiting for it (default 180; then run, noted)
#   KEEP=1         keep the scratch directory (logs, JSON, per-thread figures, and each latency
#                  run's samples in arrival order, lat-CASE-ROUND.samples)
#   SKIP_DEPS=1    do not run scripts/install-deps.sh ffmpeg
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

[[ "${SKIP_DEPS:-0}" == 1 ]] || "$ROOT/scripts/install-deps.sh" ffmpeg >&2

FFMPEG="${FFMPEG:-ffmpeg}"
FFPROBE="${FFPROBE:-ffprobe}"
PYTHON="${PYTHON:-python3}"
PARTS="${PARTS:-cpu latency}"
CPU_CASES="${CPU_CASES:-sluice ffmpeg ffmpeg-auto}"
LAT_CASES="${LAT_CASES:-sluice ffmpeg}"
RUNS="${RUNS:-5}"
LAT_RUNS="${LAT_RUNS:-5}"
WARMUP="${WARMUP:-5}"
WINDOW="${WINDOW:-30}"
IDLE_WINDOW="${IDLE_WINDOW:-30}"
VERIFY="${VERIFY:-10}"
LAT_WARMUP="${LAT_WARMUP:-5}"
LAT_DURATION="${LAT_DURATION:-30}"
REND_CASES="${REND_CASES:-sluice ffmpeg}"
REND_RUNS="${REND_RUNS:-3}"
SRC_KBPS="${SRC_KBPS:-4000}"
FP_SETUPS="${FP_SETUPS:-relay url path}"
FP_RUNS="${FP_RUNS:-1}"
FP_SECONDS="${FP_SECONDS:-30}"
MAX_LOAD="${MAX_LOAD:-1.0}"
LOAD_WAIT="${LOAD_WAIT:-180}"
DISTURBED="${DISTURBED:-25}"
KEEP="${KEEP:-0}"
WIDTH=1280
HEIGHT=720
FPS=30
KBPS=2500
GOP=30
CHANNEL=frames.bench
FRAME_BYTES=$((WIDTH * HEIGHT * 3 / 2))
FRAME_META="{\"format\":\"yuv420p\",\"width\":$WIDTH,\"height\":$HEIGHT,\"fps\":$FPS}"
CLK_TCK="$(getconf CLK_TCK)"

# shellcheck disable=SC2034 # read by bench_lib.sh
BENCH_NAME=pipeline_bench
# shellcheck source=bench/bench_lib.sh
. "$ROOT/bench/bench_lib.sh"

for v in RUNS LAT_RUNS WARMUP WINDOW IDLE_WINDOW VERIFY LAT_WARMUP LAT_DURATION LOAD_WAIT DISTURBED \
  REND_RUNS SRC_KBPS FP_RUNS FP_SECONDS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((WINDOW > 0 && VERIFY > 0 && LAT_DURATION > 0)) || die "WINDOW, VERIFY and LAT_DURATION must be positive"
[[ "$MAX_LOAD" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "MAX_LOAD must be a number, got '$MAX_LOAD'"
for p in $PARTS; do
  [[ "$p" == cpu || "$p" == latency || "$p" == renditions || "$p" == framepath ]] ||
    die "PARTS takes cpu, latency, renditions, framepath, got '$p'"
done
for c in $REND_CASES; do
  [[ "$c" == sluice || "$c" == ffmpeg ]] || die "unknown renditions case '$c' (sluice ffmpeg)"
done
for c in $FP_SETUPS; do
  [[ "$c" == relay || "$c" == url || "$c" == path ]] || die "unknown frame path setup '$c' (relay url path)"
done
for c in $CPU_CASES; do
  [[ "$c" == sluice || "$c" == ffmpeg || "$c" == ffmpeg-auto ]] || die "unknown CPU case '$c' (sluice ffmpeg ffmpeg-auto)"
done
for c in $LAT_CASES; do
  [[ "$c" == sluice || "$c" == ffmpeg ]] || die "unknown latency case '$c' (sluice ffmpeg)"
done
for tool in "$FFMPEG" "$FFPROBE" "$PYTHON" curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian: apt-get install ffmpeg python3 curl)"
done
[[ "$("$FFMPEG" -hide_banner -encoders 2>/dev/null)" == *libx264* ]] || die "this ffmpeg has no libx264"
SLUICED_SRC="$(resolve "${SLUICED:-build/bin/sluiced}")"
SLUICE_SRC="$(resolve "${SLUICE:-build/bin/sluice}")"
[[ -x "$SLUICED_SRC" ]] || die "no sluiced at $SLUICED_SRC (cmake --build build --target sluiced, or set SLUICED)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pipeline-bench.XXXXXX")"
GROUPS_STARTED=() # every process this script started, each the leader of its own process group

# spawn LOG CMD... — CMD in a process group (and session) of its own, stdout and stderr to LOG;
# sets SPAWNED (its PID: CMD itself, setsid does not fork here).
spawn() {
  local logfile="$1"
  shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  SPAWNED=$!
  GROUPS_STARTED+=("$SPAWNED")
}
# spawn_in LOG INPUT CMD... — the same with stdin from INPUT (a FIFO).
spawn_in() {
  local logfile="$1" input="$2"
  shift 2
  setsid "$@" >"$logfile" 2>&1 <"$input" &
  SPAWNED=$!
  GROUPS_STARTED+=("$SPAWNED")
}
# spawn_out LOG OUTPUT CMD... — the same with stdout to OUTPUT (a FIFO), stderr to LOG.
spawn_out() {
  local logfile="$1" output="$2"
  shift 2
  setsid "$@" >"$output" 2>"$logfile" </dev/null &
  SPAWNED=$!
  GROUPS_STARTED+=("$SPAWNED")
}
# stop_group PID — the process group PID leads, TERM then KILL after 5 s.
stop_group() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_all() {
  local pid
  for pid in "${GROUPS_STARTED[@]}"; do stop_group "$pid"; done
  GROUPS_STARTED=()
}
cleanup() {
  stop_all
  if [[ "$KEEP" == 1 ]]; then log "scratch directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The run's own copies of the binaries.
copy_binaries() {
  cp "$SLUICED_SRC" "$WORK/sluiced"
  SLUICED="$WORK/sluiced"
  SLUICED_SHA="$(sha256sum "$SLUICED" | cut -c1-12)"
  SLUICED_VERSION="$("$SLUICED" --version 2>&1 | head -n 1 || true)"
  SLUICED_MTIME="$(date -u -r "$SLUICED_SRC" +%Y-%m-%dT%H:%MZ)"
  SLUICE=""
  if [[ -x "$SLUICE_SRC" ]]; then
    cp "$SLUICE_SRC" "$WORK/sluice"
    SLUICE="$WORK/sluice"
  fi
}
copy_binaries

# ---------------------------------------------------------------------------------------------
# Measuring.

# proc_ticks PID — utime + stime of the process (all its threads), in clock ticks; 0 when gone.
proc_ticks() {
  local s
  s="$(cat "/proc/$1/stat" 2>/dev/null)" || {
    echo 0
    return
  }
  s="${s##*) }"
  local -a f
  read -r -a f <<<"$s"
  echo $((f[11] + f[12]))
}
# thread_ticks PID — one line per thread: TID TICKS COMM.
thread_ticks() {
  local t s comm
  local -a f
  for t in /proc/"$1"/task/*; do
    s="$(cat "$t/stat" 2>/dev/null)" || continue
    comm="${s#*(}"
    comm="${comm%%)*}"
    s="${s##*) }"
    read -r -a f <<<"$s"
    echo "${t##*/} $((f[11] + f[12])) ${comm// /_}"
  done
}
# cpu_jiffies — busy, total and steal jiffies of all CPUs so far (steal: not busy, in the total).
cpu_jiffies() {
  local u n s i w q sq st
  read -r _ u n s i w q sq st _ </proc/stat
  echo "$((u + n + s + q + sq)) $((u + n + s + q + sq + i + w + st)) $st"
}
load1() { cut -d' ' -f1 /proc/loadavg; }
now_s() { echo "$EPOCHREALTIME"; }
# pct TICKS SECONDS — TICKS of CPU over SECONDS of wall time as % of one core.
pct() { awk -v t="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (s > 0) ? 100 * t / hz / s : 0 }'; }

# wait_for_load — up to LOAD_WAIT s until the 1-minute load average is below MAX_LOAD; sets
# LOAD_START (the load when the run starts) and LOAD_NOTE ("" or why it did not wait for it).
wait_for_load() {
  local waited=0
  LOAD_NOTE=""
  while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
    if ((waited == 0)); then log "load average $(load1) ≥ $MAX_LOAD; waiting up to $LOAD_WAIT s"; fi
    if ((waited >= LOAD_WAIT)); then
      LOAD_NOTE="load still $(load1) after $LOAD_WAIT s"
      log "WARNING: $LOAD_NOTE; running anyway"
      break
    fi
    sleep 5
    waited=$((waited + 5))
  done
  LOAD_START="$(load1)"
  ((waited == 0)) || [[ -n "$LOAD_NOTE" ]] || LOAD_NOTE="waited ${waited} s for the load"
}

# window PREFIX SECONDS PID [PID...] — measures SECONDS of wall time; writes PREFIX.win (one line:
# wall seconds, ticks of each PID, machine busy jiffies, total jiffies, steal jiffies) and
# PREFIX.t0 / PREFIX.t1 (the first PID's threads before and after).
window() {
  local prefix="$1" secs="$2"
  shift 2
  local -a before=() after=()
  local p t0 t1 j0 j1
  thread_ticks "$1" >"$prefix.t0"
  j0="$(cpu_jiffies)"
  t0="$(now_s)"
  for p in "$@"; do before+=("$(proc_ticks "$p")"); done
  sleep "$secs"
  for p in "$@"; do after+=("$(proc_ticks "$p")"); done
  t1="$(now_s)"
  j1="$(cpu_jiffies)"
  thread_ticks "$1" >"$prefix.t1"
  local line wall i b0 a0 s0 b1 a1 s1
  wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  line="$wall"
  for i in "${!before[@]}"; do line+=" $((after[i] - before[i]))"; done
  read -r b0 a0 s0 <<<"$j0"
  read -r b1 a1 s1 <<<"$j1"
  line+=" $((b1 - b0)) $((a1 - a0)) $((s1 - s0))"
  echo "$line" >"$prefix.win"
}

# thread_split PREFIX KNOWN KIND PID — per-thread CPU (% of a core) over the window PREFIX measured, as
# "label pct" pairs joined by ", ", largest first. KNOWN: a file of TIDs that existed before the
# pipeline (sluiced's own threads); threads not in it are labelled by their order of creation
# (sluice: the pipeline thread first, then its push output's).
thread_split() {
  local prefix="$1" known="${2:-}" wall
  wall="$(cut -d' ' -f1 "$prefix.win")"
  awk -v wall="$wall" -v hz="$CLK_TCK" -v known="$known" -v kind="$3" -v main="$4" '
    FILENAME == known { old[$1] = 1; next }
    FILENAME ~ /\.t0$/ { t0[$1] = $2; next }
    {
      d = $2 - ((($1) in t0) ? t0[$1] : 0)
      tid[++n] = $1; ticks[$1] = d
    }
    END {
      # new threads in TID order
      m = 0
      for (i = 1; i <= n; i++) if (known != "" && !(tid[i] in old)) newt[++m] = tid[i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (newt[j] + 0 < newt[i] + 0) { x = newt[i]; newt[i] = newt[j]; newt[j] = x }
      for (i = 1; i <= m; i++) {
        if (kind == "sluice") label[newt[i]] = (i == 1) ? "pipeline thread" : (i == 2) ? "push output thread" : "new thread " i
        else label[newt[i]] = "new thread " i
      }
      rest = 0; out = ""
      for (i = 1; i <= n; i++) {
        t = tid[i]
        if (t in label) { parts[label[t]] = ticks[t] }
        else if (kind == "sluice") rest += ticks[t]
        else if (t == main) parts["main thread"] += ticks[t]
        else { other_t[++no] = t }
      }
      if (kind == "sluice") parts["other sluiced threads"] = rest
      # the other threads of a program, numbered in their order of creation (TID order)
      for (i = 1; i <= no; i++) for (j = i + 1; j <= no; j++) if (other_t[j] + 0 < other_t[i] + 0) { x = other_t[i]; other_t[i] = other_t[j]; other_t[j] = x }
      for (i = 1; i <= no; i++) parts["thread " (i + 1)] = ticks[other_t[i]]
      # largest first
      k = 0
      for (l in parts) { key[++k] = l }
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (parts[key[j]] > parts[key[i]]) { x = key[i]; key[i] = key[j]; key[j] = x }
      for (i = 1; i <= k; i++) {
        if (kind != "sluice" && i > 4) { other += parts[key[i]]; continue }
        out = out (out == "" ? "" : ", ") sprintf("%s %.1f", key[i], 100 * parts[key[i]] / hz / wall)
      }
      if (other > 0) out = out sprintf(", other threads %.1f", 100 * other / hz / wall)
      print out
    }' ${known:+"$known"} "$prefix.t0" "$prefix.t1"
}

# verify PREFIX — VERIFY s of the receiver's dev path copied and read back; writes PREFIX.verify
# (a JSON line: codec, profile, width, height, frames, fps, kbps, keyint) and echoes a summary.
verify() {
  local prefix="$1"
  timeout $((VERIFY + 25)) "$FFMPEG" -hide_banner -nostdin -loglevel error -i "rtmp://127.0.0.1:$RP2/live/dev" \
    -map 0:v:0 -c copy -t "$VERIFY" -f flv -y "$prefix.flv" 2>"$prefix.verify.err" || true
  if [[ ! -s "$prefix.flv" ]]; then
    echo '{"ok": false}' >"$prefix.verify"
    echo "nothing received ($(tail -n 1 "$prefix.verify.err"))"
    return
  fi
  "$FFPROBE" -v error -select_streams v:0 -show_entries \
    stream=codec_name,profile,width,height:packet=pts_time,size,flags -of json "$prefix.flv" \
    >"$prefix.probe.json" 2>"$prefix.probe.err" || true
  "$PYTHON" - "$prefix.probe.json" >"$prefix.verify" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print(json.dumps({"ok": False})); sys.exit()
s = (d.get("streams") or [{}])[0]
pk = [p for p in d.get("packets", []) if "pts_time" in p]
pk.sort(key=lambda p: float(p["pts_time"]))
r = {"ok": bool(pk), "codec": s.get("codec_name"), "profile": s.get("profile"),
     "width": s.get("width"), "height": s.get("height"), "frames": len(pk)}
if len(pk) > 1:
    t0, t1 = float(pk[0]["pts_time"]), float(pk[-1]["pts_time"])
    fps = (len(pk) - 1) / (t1 - t0) if t1 > t0 else 0
    span = t1 - t0 + (1 / fps if fps else 0)
    r["fps"] = round(fps, 2)
    r["kbps"] = round(sum(int(p["size"]) for p in pk) * 8 / span / 1000, 0) if span > 0 else None
    keys = [i for i, p in enumerate(pk) if "K" in p.get("flags", "")]
    gaps = sorted({b - a for a, b in zip(keys, keys[1:])})
    r["keyint"] = "/".join(str(g) for g in gaps) if gaps else "n/a"
print(json.dumps(r))
EOF
  echo "$(json_get "$prefix.verify" codec) $(json_get "$prefix.verify" profile)" \
    "$(json_get "$prefix.verify" width)x$(json_get "$prefix.verify" height)" \
    "$(json_get "$prefix.verify" fps) fps $(json_get "$prefix.verify" kbps) kbit/s, keyframe every $(json_get "$prefix.verify" keyint)"
}

# ---------------------------------------------------------------------------------------------
# Servers and contestants.

# wait_log FILE PATTERN SECONDS PID WHAT — until FILE has PATTERN, while PID lives.
wait_log() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$4" 2>/dev/null || die "$5 exited: $(tail -n 5 "$1")"
    ((SECONDS < deadline)) || die "$5: no '$2' within $3 s: $(tail -n 5 "$1")"
    sleep 0.1
  done
}

# start_receiver TAG — the receiving sluiced (--dev-key) on free ports; sets RECV_PID RP2 KEY (and
# HP2, TP2: its HTTP and RTSP ports).
start_receiver() {
  local tag="$1" hp tp logfile="$WORK/$1.receiver.log"
  hp="$(free_port)"
  RP2="$(free_port)"
  tp="$(free_port)"
  spawn "$logfile" "$SLUICED" --http "127.0.0.1:$hp" --wire 127.0.0.1:0 --rtmp "127.0.0.1:$RP2" \
    --rtsp "127.0.0.1:$tp" --rtsp-udp-ports off --srt off --webrtc-udp off --onvif off --mdns off --osc off --mqtt off \
    --history :memory: --data-dir "$WORK/$tag.receiver-data" --loopback-admin true --dev-key
  RECV_PID="$SPAWNED"
  HP2="$hp"
  TP2="$tp"
  wait_log "$logfile" 'sluiced listening' 10 "$RECV_PID" "the receiving sluiced"
  KEY="$(grep -o 'sk_[A-Za-z0-9_-]*' "$logfile" | head -n 1)"
  [[ -n "$KEY" ]] || die "the receiving sluiced printed no publish key: $(tail -n 5 "$logfile")"
  wait_port "$RP2" "$RECV_PID" "the receiving sluiced (RTMP)"
}

# start_sluiced TAG — the contestant sluiced; sets SL_PID HP WP (a fixed free wire port) RP1 (its
# RTMP port).
start_sluiced() {
  local tag="$1" rp tp logfile="$WORK/$1.sluiced.log"
  HP="$(free_port)"
  WP="$(free_port)"
  rp="$(free_port)"
  tp="$(free_port)"
  spawn "$logfile" "$SLUICED" --http "127.0.0.1:$HP" --wire "127.0.0.1:$WP" --rtmp "127.0.0.1:$rp" \
    --rtsp "127.0.0.1:$tp" --rtsp-udp-ports off --srt off --webrtc-udp off --onvif off --mdns off --osc off --mqtt off \
    --history :memory: --data-dir "$WORK/$tag.sluiced-data" --loopback-admin true
  SL_PID="$SPAWNED"
  RP1="$rp"
  wait_log "$logfile" 'sluiced listening' 10 "$SL_PID" "sluiced"
  wait_port "$HP" "$SL_PID" "sluiced (HTTP)"
  wait_port "$WP" "$SL_PID" "sluiced (wire)"
}

# pipeline_body SOURCE_JSON [MORE] — the POST /pipelines body (MORE: more fields, ending in ",").
pipeline_body() {
  echo "{\"name\":\"bench\",\"source\":$1,${2:-}\"encoder\":{\"codec\":\"h264\",\"bitrate_kbps\":$KBPS,\"preset\":\"veryfast\",\"gop\":$GOP,\"zerolatency\":true},\"outputs\":[{\"type\":\"push\",\"url\":\"rtmp://127.0.0.1:$RP2/live/$KEY\"}]}"
}

# states FILE — a GET /pipelines/ID answer's state and its first output's state.
states() {
  "$PYTHON" -c 'import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print(d.get("state"), ((d.get("outputs") or [{}])[0]).get("state"))
except Exception:
    print("?", "?")' "$1"
}

# create_pipeline TAG SOURCE_JSON [MORE] — POST /pipelines; waits (up to 20 s) for state running and the
# push output pushing, and for the receiver to log the publisher. Sets PIPE_ID; returns 1 (with
# PIPE_ERROR) when that does not happen.
create_pipeline() {
  local tag="$1" out="$WORK/$1.create.json" code st ost deadline
  PIPE_ERROR=""
  code="$(curl -s -o "$out" -w '%{http_code}' -X POST "http://127.0.0.1:$HP/pipelines" \
    -H 'content-type: application/json' -d "$(pipeline_body "$2" "${3:-}")")" || code=000
  if [[ "$code" != 201 ]]; then
    PIPE_ERROR="POST /pipelines answered $code: $(head -c 400 "$out")"
    return 1
  fi
  PIPE_ID="$(json_get "$out" id)"
  deadline=$((SECONDS + 20))
  while :; do
    curl -s -o "$WORK/$tag.state.json" "http://127.0.0.1:$HP/pipelines/$PIPE_ID" || true
    read -r st ost < <(states "$WORK/$tag.state.json")
    if [[ "$st" == running && "$ost" == pushing ]] && grep -q "publishes 'dev'" "$WORK/$tag.receiver.log"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      PIPE_ERROR="after 20 s: state $st, output $ost, error $(json_get "$WORK/$tag.state.json" error); $(head -c 600 "$WORK/$tag.state.json")"
      return 1
    fi
    sleep 0.25
  done
}

# pipeline_status TAG — GET /pipelines/ID as one line: state, fps, frames dropped, output state,
# sent, dropped, reconnects.
pipeline_status() {
  local sf="$WORK/$1.status.json"
  curl -s -o "$sf" "http://127.0.0.1:$HP/pipelines/$PIPE_ID" || true
  if command -v jq >/dev/null 2>&1; then
    jq -r '"\(.state), \(.fps|floor) fps, \(.dropped_frames) frames dropped; push \(.outputs[0].state) (sent \(.outputs[0].sent), dropped \(.outputs[0].dropped), reconnects \(.outputs[0].reconnects))\(if .error then "; error: " + .error else "" end)\(if .outputs[0].error then "; push error: " + .outputs[0].error else "" end)"' "$sf" 2>/dev/null ||
      head -c 300 "$sf"
  else
    "$PYTHON" -c 'import json,sys
d = json.load(open(sys.argv[1])); o = (d.get("outputs") or [{}])[0]
print("%s, %d fps, %s frames dropped; push %s (sent %s, dropped %s, reconnects %s)%s" % (d.get("state"), int(d.get("fps", 0)), d.get("dropped_frames"), o.get("state"), o.get("sent"), o.get("dropped"), o.get("reconnects"), ("; error: " + d["error"]) if d.get("error") else ""))' "$sf" 2>/dev/null || head -c 300 "$sf"
  fi
}

X264=(-c:v libx264 -preset veryfast -tune zerolatency -profile:v high -b:v "${KBPS}k" -maxrate "${KBPS}k"
  -bufsize "${KBPS}k" -g "$GOP")
R2_WIDTH=640
R2_HEIGHT=360
R2_KBPS=800
X264_R2=(-c:v libx264 -preset veryfast -tune zerolatency -profile:v high -b:v "${R2_KBPS}k" -maxrate "${R2_KBPS}k"
  -bufsize "${R2_KBPS}k" -g "$GOP")
X264_TEXT="-c:v libx264 -preset veryfast -tune zerolatency -profile:v high -b:v ${KBPS}k -maxrate ${KBPS}k -bufsize ${KBPS}k -g $GOP"

# ---------------------------------------------------------------------------------------------
# Part cpu.

# cpu_run CASE ROUND — one run; appends a row to $WORK/cpu.rows (tab-separated).
cpu_run() {
  local c="$1" r="$2" tag="cpu-$1-$2" prefix status verified idle_pct="" share="" pid threads note=""
  prefix="$WORK/$tag"
  wait_for_load
  local busy_before
  busy_before="$(busy_percent)"
  log "round $r, $c: load $LOAD_START, machine ${busy_before}% busy"
  start_receiver "$tag"
  if [[ "$c" == sluice ]]; then
    start_sluiced "$tag"
    sleep 3
    thread_ticks "$SL_PID" | cut -d' ' -f1 >"$prefix.known"
    window "$prefix.idle" "$IDLE_WINDOW" "$SL_PID"
    idle_pct="$(pct "$(cut -d' ' -f2 "$prefix.idle.win")" "$(cut -d' ' -f1 "$prefix.idle.win")")"
    log "  sluiced idle: $idle_pct% of a core"
    thread_ticks "$SL_PID" | cut -d' ' -f1 >"$prefix.known"
    if ! create_pipeline "$tag" "{\"type\":\"testsrc\",\"width\":$WIDTH,\"height\":$HEIGHT,\"fps\":$FPS,\"clock\":false}"; then
      log "  the pipeline did not start: $PIPE_ERROR"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$LOAD_START" "$busy_before" \
        "" "$idle_pct" "" "" "" "" "FAILED: $PIPE_ERROR" "$LOAD_NOTE" 0 >>"$WORK/cpu.rows"
      stop_all
      return
    fi
    pid="$SL_PID"
  else
    local -a threads_opt=(-threads 1)
    [[ "$c" == ffmpeg ]] || threads_opt=()
    spawn "$prefix.ffmpeg.log" "$FFMPEG" -hide_banner -nostdin -loglevel error -re -f lavfi \
      -i "testsrc2=size=${WIDTH}x$HEIGHT:rate=$FPS" "${X264[@]}" "${threads_opt[@]}" -pix_fmt yuv420p \
      -f flv "rtmp://127.0.0.1:$RP2/live/$KEY"
    pid="$SPAWNED"
    wait_log "$WORK/$tag.receiver.log" "publishes 'dev'" 20 "$pid" "ffmpeg ($c)"
  fi
  sleep "$WARMUP"
  window "$prefix" "$WINDOW" "$pid" "$RECV_PID"
  local wall ticks rticks busy steal cpu rcpu other
  read -r wall ticks rticks busy _ steal <"$prefix.win"
  cpu="$(pct "$ticks" "$wall")"
  rcpu="$(pct "$rticks" "$wall")"
  other="$(pct $((busy - ticks - rticks)) "$wall")"
  if [[ "$c" == sluice ]]; then
    share="$(awk -v a="$cpu" -v b="$idle_pct" 'BEGIN { printf "%.1f", a - b }')"
    threads="$(thread_split "$prefix" "$prefix.known" sluice "$pid")"
    status="$(pipeline_status "$tag")"
  else
    threads="$(thread_split "$prefix" "" ffmpeg "$pid")"
    if kill -0 "$pid" 2>/dev/null; then status="running"; else status="EXITED"; fi
    [[ ! -s "$prefix.ffmpeg.log" ]] || status+="; stderr: $(tail -n 2 "$prefix.ffmpeg.log" | tr '\n' ' ')"
  fi
  local disturbed=0 idle_other=""
  if [[ "$c" == sluice ]]; then
    local iw it ib
    read -r iw it ib _ <"$prefix.idle.win"
    idle_other="$(pct $((ib - it)) "$iw")"
  fi
  if awk -v a="$other" -v d="$DISTURBED" 'BEGIN { exit !(a > d) }'; then
    disturbed=1
    note="**disturbed**: other processes ${other}% of a core"
  fi
  if [[ -n "$idle_other" ]] && awk -v a="$idle_other" -v d="$DISTURBED" 'BEGIN { exit !(a > d) }'; then
    note+="${note:+; }idle window: other processes ${idle_other}% of a core"
  fi
  note+="${note:+; }load avg after $(load1)"
  local steal_pct
  steal_pct="$(pct "$steal" "$wall")"
  awk -v s="$steal_pct" 'BEGIN { exit !(s >= 0.5) }' && note+="; steal ${steal_pct}% of a core"
  [[ -z "$LOAD_NOTE" ]] || note="${note:+$note; }$LOAD_NOTE"
  log "  $c: $cpu% of a core (receiver $rcpu%, other processes $other%); $threads"
  verified="$(verify "$prefix")"
  log "  delivered: $verified; sender: $status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$LOAD_START" "$busy_before" \
    "$cpu" "$idle_pct" "$share" "$rcpu" "$other" "$verified" "$status" "$note" "$disturbed" >>"$WORK/cpu.rows"
  echo "$threads" >"$prefix.split"
  printf '%s\t%s\t%s\n' "$r" "$c" "$threads" >>"$WORK/cpu.threads"
  stop_all
}

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# column CASE FIELD [UNDISTURBED] — the values of FIELD (1-based, cpu.rows) over the CASE's runs
# (with a third argument, the undisturbed runs only), one a line.
column() { awk -F'\t' -v c="$1" -v f="$2" -v u="${3:-}" '$2 == c && $f != "" && (u == "" || $13 == 0) { print $f }' "$WORK/cpu.rows"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
met() { awk -v r="$1" 'BEGIN { if (r == "n/a") print "no result"; else print (r <= 1.05) ? "**yes**" : "**no**" }'; }

describe_case() {
  case "$1" in
    sluice) echo "sluiced pipeline (libx264 thread_count 1)" ;;
    ffmpeg) echo "ffmpeg -threads 1" ;;
    ffmpeg-auto) echo "ffmpeg, default threading (extra)" ;;
  esac
}

declare -A MED=() MEDU=()
cpu_part() {
  : >"$WORK/cpu.rows"
  : >"$WORK/cpu.threads"
  local -a cases
  read -r -a cases <<<"$CPU_CASES"
  local n=${#cases[@]} r i
  CPU_START="$(date -u +%Y-%m-%dT%H:%MZ)"
  for ((r = 1; r <= RUNS; r++)); do
    for ((i = 0; i < n; i++)); do
      cpu_run "${cases[$(((i + r - 1) % n))]}" "$r"
    done
  done
  CPU_END="$(date -u +%Y-%m-%dT%H:%MZ)"

  echo "### CPU ($CPU_START – $CPU_END, $RUNS rounds, ${WINDOW} s windows after ${WARMUP} s)"
  echo
  echo "| round | contestant | load avg before | busy before | CPU % of a core | sluiced idle % | pipeline share % | receiver % | other processes % | delivered (ffprobe of the receiver) | sender | notes |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
  awk -F'\t' -v OFS=' | ' '{ print "| " $1, $2, $3, $4 "%", $5, ($6 == "" ? "—" : $6), ($7 == "" ? "—" : $7), $8, $9, $10, $11, $12 " |" }' "$WORK/cpu.rows"
  echo
  echo "Per-thread CPU in each window (% of a core):"
  echo
  echo "| round | contestant | threads |"
  echo "|---:|---|---|"
  awk -F'\t' '{ print "| " $1 " | " $2 " | " $3 " |" }' "$WORK/cpu.threads"
  echo
  echo "| contestant | runs | CPU % of a core, all runs | **median** | median, undisturbed runs (n) | sluiced idle, median | pipeline share (CPU − idle), median | pipeline share, undisturbed |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|"
  local c vals med medu nu
  for c in $CPU_CASES; do
    vals="$(column "$c" 5 | paste -sd' ')"
    med="$(column "$c" 5 | median)"
    medu="$(column "$c" 5 u | median)"
    nu="$(column "$c" 5 u | wc -l)"
    MED[$c]="$med"
    MEDU[$c]="$medu"
    if [[ "$c" == sluice ]]; then
      MED[idle]="$(column sluice 6 | median)"
      MED[share]="$(column sluice 7 | median)"
      MEDU[share]="$(column sluice 7 u | median)"
      echo "| $(describe_case "$c") | $(column "$c" 5 | wc -l) | $vals | **$med** | $medu ($nu) | ${MED[idle]} | **${MED[share]}** | ${MEDU[share]} |"
    else
      echo "| $(describe_case "$c") | $(column "$c" 5 | wc -l) | $vals | **$med** | $medu ($nu) | — | — | — |"
    fi
  done
  echo
  if [[ " $CPU_CASES " == *" sluice "* && " $CPU_CASES " == *" ffmpeg "* ]]; then
    local rt rs rtu rsu
    rt="$(ratio "${MED[sluice]}" "${MED[ffmpeg]}")"
    rs="$(ratio "${MED[share]}" "${MED[ffmpeg]}")"
    rtu="$(ratio "${MEDU[sluice]}" "${MEDU[ffmpeg]}")"
    rsu="$(ratio "${MEDU[share]}" "${MEDU[ffmpeg]}")"
    echo "| comparison | ratio of the medians, all runs | ≤ 1.05× met | ratio, undisturbed runs |"
    echo "|---|---:|---|---:|"
    echo "| sluiced with the pipeline (whole process) / ffmpeg -threads 1 | $rt | $(met "$rt") | $rtu |"
    echo "| pipeline share (sluiced − its idle) / ffmpeg -threads 1 | $rs | $(met "$rs") | $rsu |"
    if [[ " $CPU_CASES " == *" ffmpeg-auto "* ]]; then
      local ra rau
      ra="$(ratio "${MED[sluice]}" "${MED[ffmpeg-auto]}")"
      rau="$(ratio "${MEDU[sluice]}" "${MEDU[ffmpeg-auto]}")"
      echo "| sluiced with the pipeline / ffmpeg default threading (extra) | $ra | $(met "$ra") | $rau |"
    fi
    echo
  fi
}

# ---------------------------------------------------------------------------------------------
# Part latency.

# lat_run CASE ROUND — one glass-to-glass run; appends a row to $WORK/lat.rows.
lat_run() {
  local c="$1" r="$2" tag="lat-$1-$2" prefix fifo gen_pid enc_pid pub_pid="" status="" cpu="" note=""
  prefix="$WORK/$tag"
  wait_for_load
  log "latency round $r, $c: load $LOAD_START"
  start_receiver "$tag"
  fifo="$prefix.fifo"
  mkfifo "$fifo"
  if [[ "$c" == sluice ]]; then
    start_sluiced "$tag"
    spawn_in "$prefix.pub.log" "$fifo" "$SLUICE" pub "$CHANNEL" - --frame-bytes "$FRAME_BYTES" \
      --metadata "$FRAME_META" --wire "127.0.0.1:$WP"
    pub_pid="$SPAWNED"
    spawn_out "$prefix.gen.log" "$fifo" "$PYTHON" "$ROOT/bench/latency_clock.py" gen --width "$WIDTH" \
      --height "$HEIGHT" --fps "$FPS"
    gen_pid="$SPAWNED"
    sleep 1
    # "clock": false — no wall clock drawn on the frames (it is on by default; ffmpeg draws
    # none). The rendition's size is given: without it the push output of a relay-source
    # pipeline is opened at 0x0 and libavformat's FLV muxer refuses it ("dimensions not set").
    if ! create_pipeline "$tag" "{\"type\":\"relay\",\"channel\":\"$CHANNEL\",\"clock\":false}" \
      "\"renditions\":[{\"path\":\"bench\",\"width\":$WIDTH,\"height\":$HEIGHT}],"; then
      log "  the pipeline did not start: $PIPE_ERROR; sluice pub: $(tail -n 3 "$prefix.pub.log")"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$LOAD_START" '{"samples": 0}' "" "FAILED: $PIPE_ERROR" "$LOAD_NOTE" >>"$WORK/lat.rows"
      stop_all
      return
    fi
    enc_pid="$SL_PID"
  else
    spawn_in "$prefix.ffmpeg.log" "$fifo" "$FFMPEG" -hide_banner -nostdin -loglevel error -f rawvideo \
      -pix_fmt yuv420p -s "${WIDTH}x$HEIGHT" -r "$FPS" -i - "${X264[@]}" -threads 1 -pix_fmt yuv420p \
      -f flv "rtmp://127.0.0.1:$RP2/live/$KEY"
    enc_pid="$SPAWNED"
    spawn_out "$prefix.gen.log" "$fifo" "$PYTHON" "$ROOT/bench/latency_clock.py" gen --width "$WIDTH" \
      --height "$HEIGHT" --fps "$FPS"
    gen_pid="$SPAWNED"
    wait_log "$WORK/$tag.receiver.log" "publishes 'dev'" 20 "$enc_pid" "ffmpeg (latency)"
  fi
  sleep 2
  # The reader: its own process group, waited for (a signal to this script still ends it).
  local -a pids=("$enc_pid" "$gen_pid" "$RECV_PID")
  [[ -z "$pub_pid" ]] || pids+=("$pub_pid")
  local -a before=()
  local p t0 t1 j0 j1
  for p in "${pids[@]}"; do before+=("$(proc_ticks "$p")"); done
  j0="$(cpu_jiffies)"
  t0="$(now_s)"
  setsid bash -c '"$1" -hide_banner -nostdin -loglevel error -fflags nobuffer -flags low_delay \
      -i "$2" -map 0:v:0 -f rawvideo -pix_fmt gray -fps_mode passthrough -flush_packets 1 - 2>"$3.reader.err" |
    "$4" "$5" read --width "$6" --height "$7" --warmup "$8" --duration "$9" --label "${10}" \
      --samples "$3.samples" >"$3.lat"' \
    _ "$FFMPEG" "rtmp://127.0.0.1:$RP2/live/dev" "$prefix" "$PYTHON" "$ROOT/bench/latency_clock.py" \
    "$WIDTH" "$HEIGHT" "$LAT_WARMUP" "$LAT_DURATION" "$c" </dev/null &
  local reader=$!
  GROUPS_STARTED+=("$reader")
  local deadline=$((SECONDS + LAT_WARMUP + LAT_DURATION + 60))
  while kill -0 "$reader" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  stop_group "$reader"
  t1="$(now_s)"
  j1="$(cpu_jiffies)"
  local wall i
  wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
  local enc_ticks=$(($(proc_ticks "$enc_pid") - before[0]))
  cpu="$(pct "$enc_ticks" "$wall")"
  if [[ -n "$pub_pid" ]]; then
    cpu+=" + sluice pub $(pct $(($(proc_ticks "$pub_pid") - before[3])) "$wall")"
    status="$(pipeline_status "$tag")"
  else
    if kill -0 "$enc_pid" 2>/dev/null; then status="running"; else status="EXITED"; fi
    [[ ! -s "$prefix.ffmpeg.log" ]] || status+="; stderr: $(tail -n 2 "$prefix.ffmpeg.log" | tr '\n' ' ')"
  fi
  cpu+="; generator $(pct $(($(proc_ticks "$gen_pid") - before[1])) "$wall"), receiver $(pct $(($(proc_ticks "$RECV_PID") - before[2])) "$wall")"
  local b0 b1
  read -r b0 _ <<<"$j0"
  read -r b1 _ <<<"$j1"
  cpu+="; whole machine $(pct $((b1 - b0)) "$wall") (reader included)"
  [[ -s "$prefix.lat" ]] || echo '{"samples": 0}' >"$prefix.lat"
  [[ "$(json_get "$prefix.lat" samples)" != 0 ]] || note="reader: $(tail -n 2 "$prefix.reader.err" | tr '\n' ' ')"
  [[ -z "$LOAD_NOTE" ]] || note="${note:+$note; }$LOAD_NOTE"
  log "  $c: $(cat "$prefix.lat"); CPU $cpu; $status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$LOAD_START" "$(cat "$prefix.lat")" "$cpu" "$status" "$note" >>"$WORK/lat.rows"
  stop_all
}

latency_part() {
  if [[ " $LAT_CASES " == *" sluice "* ]]; then
    [[ -n "$SLUICE" ]] || die "no sluice CLI at $SLUICE_SRC (set SLUICE)"
    [[ "$("$SLUICE" pub --help 2>&1)" == *--frame-bytes* ]] ||
      die "this sluice CLI has no 'pub --frame-bytes' (raw frames to a relay channel): build a newer one, or LAT_CASES=ffmpeg"
  fi
  : >"$WORK/lat.rows"
  local -a cases
  read -r -a cases <<<"$LAT_CASES"
  local n=${#cases[@]} r i
  LAT_START="$(date -u +%Y-%m-%dT%H:%MZ)"
  for ((r = 1; r <= LAT_RUNS; r++)); do
    for ((i = 0; i < n; i++)); do
      lat_run "${cases[$(((i + r - 1) % n))]}" "$r"
    done
  done
  LAT_END="$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "### Glass-to-glass latency ($LAT_START – $LAT_END, $LAT_RUNS rounds, ${LAT_DURATION} s counted after ${LAT_WARMUP} s)"
  echo
  echo "| round | contestant | load avg before | samples | median ms | p90 ms | min ms | max ms | unreadable | missing | CPU % of a core over the reading | sender | notes |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
  "$PYTHON" - "$WORK/lat.rows" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    d = json.loads(f[3]) if f[3] else {}
    g = lambda k: "n/a" if d.get(k) is None else d[k]
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        f[0], f[1], f[2], g("samples"), g("median_ms"), g("p90_ms"), g("min_ms"), g("max_ms"),
        g("unreadable"), g("missing"), f[4], f[5], f[6]))
EOF
  echo
  echo "| contestant | runs with samples | median of each run, ms | **median of the medians** | p90, median of runs |"
  echo "|---|---:|---|---:|---:|"
  "$PYTHON" - "$WORK/lat.rows" "$LAT_CASES" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    d = json.loads(f[3]) if f[3] else {}
    if d.get("samples"):
        runs.setdefault(f[1], []).append(d)
meds = {}
for c in sys.argv[2].split():
    r = runs.get(c, [])
    m = [d["median_ms"] for d in r]
    p = [d["p90_ms"] for d in r]
    meds[c] = statistics.median(m) if m else None
    label = {"sluice": "sluiced pipeline (relay raw frames)", "ffmpeg": "ffmpeg -threads 1 (raw frames on stdin)"}[c]
    print("| %s | %d | %s | **%s** | %s |" % (label, len(r), ", ".join(str(x) for x in m),
          "n/a" if not m else round(statistics.median(m), 1), "n/a" if not p else round(statistics.median(p), 1)))
if meds.get("sluice") is not None and meds.get("ffmpeg") is not None:
    d = meds["sluice"] - meds["ffmpeg"]
    print()
    print("sluice − ffmpeg, medians: %+.1f ms (no worse: %s)" % (d, "**yes**" if d <= 0 else "**no**"))
EOF
  echo
}

# ---------------------------------------------------------------------------------------------
# Parts renditions and framepath: a live H.264 source. The receiving sluiced doubles as the
# source server: SRC_PUB publishes the test pattern, encoded, to its path dev, read back over
# RTSP (TCP) by the contestants at rtsp://127.0.0.1:TP2/live/dev; the renditions are pushed back
# to it on paths r720 and r360 (publish keys made with POST /keys).

# start_source TAG [RTMP_URL LOG_FILE PATH] — the live publisher into the receiver's path dev (or to
# RTMP_URL, waiting for LOG_FILE to show PATH published); sets SRC_PID, SRC_URL, SRC_JSON (the
# pipeline source reading it: url, RTSP over TCP from the receiver).
start_source() {
  local tag="$1" url="${2:-rtmp://127.0.0.1:$RP2/live/$KEY}" logf="${3:-$WORK/$1.receiver.log}" path="${4:-dev}"
  spawn "$WORK/$tag.source.log" "$FFMPEG" -hide_banner -nostdin -loglevel error -re -f lavfi \
    -i "testsrc2=size=${WIDTH}x$HEIGHT:rate=$FPS" -c:v libx264 -preset veryfast -tune zerolatency \
    -g "$GOP" -b:v "${SRC_KBPS}k" -maxrate "${SRC_KBPS}k" -bufsize "${SRC_KBPS}k" -threads 1 \
    -pix_fmt yuv420p -f flv "$url"
  SRC_PID="$SPAWNED"
  wait_log "$logf" "publishes '$path'" 20 "$SRC_PID" "the source publisher"
  SRC_URL="rtsp://127.0.0.1:$TP2/live/dev"
  SRC_JSON="{\"type\":\"url\",\"url\":\"$SRC_URL\",\"clock\":false}"
  sleep 1
}

# receiver_key TAG STREAM [HTTP_PORT] — a publish key for STREAM on the receiver (or the sluiced
# at HTTP_PORT) (POST /keys); echoes it.
receiver_key() {
  local out="$WORK/$1.key-$2.json" k
  curl -s -o "$out" -X POST "http://127.0.0.1:${3:-$HP2}/keys" -H 'content-type: application/json' \
    -d "{\"stream\":\"$2\",\"kind\":\"publish\"}" || true
  k="$(grep -o 'sk_[A-Za-z0-9_-]*' "$out" | head -n 1)"
  [[ -n "$k" ]] || die "POST /keys on the receiver gave no key for $2: $(head -c 300 "$out")"
  echo "$k"
}

# two_body K720 K360 — the two-rendition pipeline, source SRC_JSON, each rendition pushed back.
two_body() {
  echo "{\"name\":\"two\",\"source\":$SRC_JSON,\"encoder\":{\"codec\":\"h264\",\"bitrate_kbps\":$KBPS,\"preset\":\"veryfast\",\"gop\":$GOP,\"zerolatency\":true},\"renditions\":[{\"path\":\"r720\",\"width\":$WIDTH,\"height\":$HEIGHT},{\"path\":\"r360\",\"width\":$R2_WIDTH,\"height\":$R2_HEIGHT,\"bitrate_kbps\":$R2_KBPS}],\"outputs\":[{\"type\":\"push\",\"rendition\":\"r720\",\"url\":\"rtmp://127.0.0.1:$RP2/live/$1\"},{\"type\":\"push\",\"rendition\":\"r360\",\"url\":\"rtmp://127.0.0.1:$RP2/live/$2\"}]}"
}

# create_two TAG — POST /pipelines (two_body); waits (30 s) for state running, both outputs
# pushing and the receiver to log both publishers. Sets PIPE_ID; returns 1 with PIPE_ERROR.
create_two() {
  local tag="$1" out="$WORK/$1.create.json" code st deadline k720 k360
  PIPE_ERROR=""
  k720="$(receiver_key "$tag" r720)"
  k360="$(receiver_key "$tag" r360)"
  code="$(curl -s -o "$out" -w '%{http_code}' -X POST "http://127.0.0.1:$HP/pipelines" \
    -H 'content-type: application/json' -d "$(two_body "$k720" "$k360")")" || code=000
  if [[ "$code" != 201 ]]; then
    PIPE_ERROR="POST /pipelines answered $code: $(head -c 400 "$out")"
    return 1
  fi
  PIPE_ID="$(json_get "$out" id)"
  deadline=$((SECONDS + 30))
  while :; do
    curl -s -o "$WORK/$tag.state.json" "http://127.0.0.1:$HP/pipelines/$PIPE_ID" || true
    st="$("$PYTHON" -c 'import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print(d.get("state"), *[o.get("state") for o in d.get("outputs") or []])
except Exception:
    print("?")' "$WORK/$tag.state.json")"
    if [[ "$st" == "running pushing pushing" ]] && grep -q "publishes 'r720'" "$WORK/$tag.receiver.log" &&
      grep -q "publishes 'r360'" "$WORK/$tag.receiver.log"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      PIPE_ERROR="after 30 s: state and outputs: $st; $(head -c 600 "$WORK/$tag.state.json")"
      return 1
    fi
    sleep 0.25
  done
}

# two_status TAG — the two-rendition pipeline as one line.
two_status() {
  local sf="$WORK/$1.status.json"
  curl -s -o "$sf" "http://127.0.0.1:$HP/pipelines/$PIPE_ID" || true
  "$PYTHON" -c 'import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print("no answer"); sys.exit()
outs = "; ".join("push %s %s (sent %s, dropped %s, reconnects %s)" % (o.get("rendition"), o.get("state"), o.get("sent"), o.get("dropped"), o.get("reconnects")) for o in d.get("outputs") or [])
print("%s, %d fps, %s frames dropped; %s%s" % (d.get("state"), int(d.get("fps") or 0), d.get("dropped_frames"), outs, ("; error: " + d["error"]) if d.get("error") else ""))' "$sf"
}

# probe_renditions — each rendition as the receiver plays it: codec WxH.
probe_renditions() {
  local p r out=""
  for p in r720 r360; do
    r="$(timeout 15 "$FFPROBE" -v error -select_streams v:0 -show_entries stream=codec_name,width,height \
      -of csv=p=0 "rtmp://127.0.0.1:$RP2/live/$p" 2>/dev/null | head -n 1 | tr ',' ' ')" || true
    out+="${out:+, }$p: ${r:-nothing}"
  done
  echo "$out"
}

# rend_run CASE ROUND — one run of the renditions part; appends a row to $WORK/rend.rows.
rend_run() {
  local c="$1" r="$2" tag="rend-$1-$2" prefix idle_pct="" share="" status note="" busy_before
  prefix="$WORK/$tag"
  wait_for_load
  busy_before="$(busy_percent)"
  log "renditions round $r, $c: load $LOAD_START, machine ${busy_before}% busy"
  start_receiver "$tag"
  start_source "$tag"
  local -a pids=()
  if [[ "$c" == sluice ]]; then
    start_sluiced "$tag"
    sleep 3
    thread_ticks "$SL_PID" | cut -d' ' -f1 >"$prefix.known"
    window "$prefix.idle" "$IDLE_WINDOW" "$SL_PID"
    idle_pct="$(pct "$(cut -d' ' -f2 "$prefix.idle.win")" "$(cut -d' ' -f1 "$prefix.idle.win")")"
    log "  sluiced idle: $idle_pct% of a core"
    thread_ticks "$SL_PID" | cut -d' ' -f1 >"$prefix.known"
    if ! create_two "$tag"; then
      log "  the pipeline did not start: $PIPE_ERROR"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$LOAD_START" "$busy_before" \
        "" "$idle_pct" "" "" "" "" "" "FAILED: $PIPE_ERROR" "$LOAD_NOTE" >>"$WORK/rend.rows"
      stop_all
      return
    fi
    pids=("$SL_PID")
  else
    local k720 k360
    k720="$(receiver_key "$tag" r720)"
    k360="$(receiver_key "$tag" r360)"
    # One decode and one encode each: decoder, scaler and encoder on one thread (-threads 1
    # before -i is the decoder's, after it the encoder's).
    spawn "$prefix.ffmpeg720.log" "$FFMPEG" -hide_banner -nostdin -loglevel error -filter_threads 1 \
      -threads 1 -rtsp_transport tcp -i "$SRC_URL" -map 0:v:0 -an -vf "scale=$WIDTH:$HEIGHT" \
      "${X264[@]}" -threads 1 -pix_fmt yuv420p -f flv "rtmp://127.0.0.1:$RP2/live/$k720"
    pids+=("$SPAWNED")
    spawn "$prefix.ffmpeg360.log" "$FFMPEG" -hide_banner -nostdin -loglevel error -filter_threads 1 \
      -threads 1 -rtsp_transport tcp -i "$SRC_URL" -map 0:v:0 -an -vf "scale=$R2_WIDTH:$R2_HEIGHT" \
      "${X264_R2[@]}" -threads 1 -pix_fmt yuv420p -f flv "rtmp://127.0.0.1:$RP2/live/$k360"
    pids+=("$SPAWNED")
    wait_log "$WORK/$tag.receiver.log" "publishes 'r720'" 20 "${pids[0]}" "ffmpeg (720p)"
    wait_log "$WORK/$tag.receiver.log" "publishes 'r360'" 20 "${pids[1]}" "ffmpeg (360p)"
  fi
  sleep "$WARMUP"
  window "$prefix" "$WINDOW" "${pids[@]}" "$RECV_PID" "$SRC_PID"
  local -a w
  read -r -a w <"$prefix.win"
  local wall="${w[0]}" n=${#pids[@]} ticks=0 i
  for ((i = 1; i <= n; i++)); do ticks=$((ticks + w[i])); done
  local rticks="${w[n + 1]}" sticks="${w[n + 2]}" busy="${w[n + 3]}" steal="${w[n + 5]}"
  local cpu rcpu scpu other each=""
  cpu="$(pct "$ticks" "$wall")"
  rcpu="$(pct "$rticks" "$wall")"
  scpu="$(pct "$sticks" "$wall")"
  other="$(pct $((busy - ticks - rticks - sticks)) "$wall")"
  if [[ "$c" == sluice ]]; then
    share="$(awk -v a="$cpu" -v b="$idle_pct" 'BEGIN { printf "%.1f", a - b }')"
    each="$(thread_split "$prefix" "$prefix.known" sluice "$SL_PID")"
    status="$(two_status "$tag")"
  else
    each="720p $(pct "${w[1]}" "$wall"), 360p $(pct "${w[2]}" "$wall")"
    status=""
    for i in 0 1; do
      if kill -0 "${pids[i]}" 2>/dev/null; then status+="${status:+, }running"; else status+="${status:+, }EXITED"; fi
    done
    for f in "$prefix.ffmpeg720.log" "$prefix.ffmpeg360.log"; do
      [[ ! -s "$f" ]] || status+="; stderr: $(tail -n 2 "$f" | tr '\n' ' ')"
    done
  fi
  note="load avg after $(load1)"
  local steal_pct
  steal_pct="$(pct "$steal" "$wall")"
  awk -v s="$steal_pct" 'BEGIN { exit !(s >= 0.5) }' && note+="; steal ${steal_pct}% of a core"
  [[ -z "$LOAD_NOTE" ]] || note+="; $LOAD_NOTE"
  local delivered
  delivered="$(probe_renditions)"
  log "  $c: $cpu% of a core ($each; receiver $rcpu%, source publisher $scpu%, other processes $other%)"
  log "  delivered: $delivered; sender: $status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$LOAD_START" "$busy_before" \
    "$cpu" "$idle_pct" "$share" "$each" "$rcpu / $scpu / $other" "$delivered" "$status" "$note" "" >>"$WORK/rend.rows"
  stop_all
}

renditions_part() {
  : >"$WORK/rend.rows"
  local -a cases
  read -r -a cases <<<"$REND_CASES"
  local n=${#cases[@]} r i
  REND_START="$(date -u +%Y-%m-%dT%H:%MZ)"
  for ((r = 1; r <= REND_RUNS; r++)); do
    for ((i = 0; i < n; i++)); do
      rend_run "${cases[$(((i + r - 1) % n))]}" "$r"
    done
  done
  REND_END="$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "### Two renditions from one decode ($REND_START – $REND_END, $REND_RUNS rounds, ${WINDOW} s windows after ${WARMUP} s)"
  echo
  echo "Source: testsrc2 ${WIDTH}x$HEIGHT $FPS fps, libx264 veryfast zerolatency ${SRC_KBPS} kbit/s, published to the receiver, read at rtsp://127.0.0.1:TP2/live/dev (TCP)."
  echo "Renditions: ${WIDTH}x$HEIGHT $KBPS kbit/s and ${R2_WIDTH}x$R2_HEIGHT $R2_KBPS kbit/s, each pushed back to the receiver over RTMP."
  echo
  echo "| round | contestant | load avg before | busy before | CPU % of a core | sluiced idle % | pipeline share % | split | receiver / source publisher / other processes % | delivered (ffprobe of the receiver) | sender | notes |"
  echo "|---:|---|---:|---:|---:|---:|---:|---|---|---|---|---|"
  awk -F'\t' -v OFS=' | ' '{ print "| " $1, $2, $3, $4 "%", $5, ($6 == "" ? "—" : $6), ($7 == "" ? "—" : $7), $8, $9, $10, $11, $12 " |" }' "$WORK/rend.rows"
  echo
  # shellcheck disable=SC2016 # an awk program
  local col='$2 == c && $f != "" { print $f }'
  local sl_all sl_share ff_all
  sl_all="$(awk -F'\t' -v c=sluice -v f=5 "$col" "$WORK/rend.rows" | median)"
  sl_share="$(awk -F'\t' -v c=sluice -v f=7 "$col" "$WORK/rend.rows" | median)"
  ff_all="$(awk -F'\t' -v c=ffmpeg -v f=5 "$col" "$WORK/rend.rows" | median)"
  echo "| contestant | runs | CPU % of a core, each run | **median** |"
  echo "|---|---:|---|---:|"
  if [[ " $REND_CASES " == *" sluice "* ]]; then
    echo "| sluiced, one pipeline, two renditions (whole process) | $(awk -F'\t' -v c=sluice -v f=5 "$col" "$WORK/rend.rows" | wc -l) | $(awk -F'\t' -v c=sluice -v f=5 "$col" "$WORK/rend.rows" | paste -sd' ') | **$sl_all** |"
    echo "| sluiced pipeline share (CPU − idle) | $(awk -F'\t' -v c=sluice -v f=7 "$col" "$WORK/rend.rows" | wc -l) | $(awk -F'\t' -v c=sluice -v f=7 "$col" "$WORK/rend.rows" | paste -sd' ') | **$sl_share** |"
  fi
  if [[ " $REND_CASES " == *" ffmpeg "* ]]; then
    echo "| two ffmpeg -threads 1 (sum) | $(awk -F'\t' -v c=ffmpeg -v f=5 "$col" "$WORK/rend.rows" | wc -l) | $(awk -F'\t' -v c=ffmpeg -v f=5 "$col" "$WORK/rend.rows" | paste -sd' ') | **$ff_all** |"
  fi
  echo
  if [[ " $REND_CASES " == *" sluice "* && " $REND_CASES " == *" ffmpeg "* ]]; then
    local a b
    a="$(ratio "$sl_all" "$ff_all")"
    b="$(ratio "$sl_share" "$ff_all")"
    echo "| comparison | ratio of the medians | less than the ffmpeg pair |"
    echo "|---|---:|---|"
    echo "| sluiced with the pipeline (whole process) / two ffmpeg | $a | $(awk -v r="$a" 'BEGIN { print (r == "n/a") ? "no result" : (r < 1) ? "**yes**" : "**no**" }') |"
    echo "| pipeline share / two ffmpeg | $b | $(awk -v r="$b" 'BEGIN { print (r == "n/a") ? "no result" : (r < 1) ? "**yes**" : "**no**" }') |"
    echo
  fi
}

# fp_sample PREFIX — FP_SECONDS samples, one a second, of GET /pipelines/ID frame_path_ms and of
# /metrics sluice_pipeline_frame_path_seconds{pipeline="NAME"}, to PREFIX.samples (ms ms).
fp_sample() {
  local prefix="$1" name="$2" i a m
  : >"$prefix.samples"
  for ((i = 0; i < FP_SECONDS; i++)); do
    a="$(curl -s "http://127.0.0.1:$HP/pipelines/$PIPE_ID" | "$PYTHON" -c 'import json, sys
try:
    v = json.load(sys.stdin).get("frame_path_ms")
    print("-" if v is None else v)
except Exception:
    print("-")')"
    m="$(curl -s "http://127.0.0.1:$HP/metrics" | awk -v n="sluice_pipeline_frame_path_seconds{pipeline=\"$name\"}" \
      'index($0, n) == 1 { printf "%.3f", $2 * 1000; found = 1 } END { if (!found) print "-" }')"
    echo "$a $m" >>"$prefix.samples"
    sleep 1
  done
}

# fp_run SETUP ROUND — SETUP relay (raw 720p30 frames, sluice pub) or url (the live H.264 source
# of part renditions); appends a row to $WORK/fp.rows.
fp_run() {
  local s="$1" r="$2" tag="fp-$1-$2" prefix name status
  prefix="$WORK/$tag"
  wait_for_load
  log "frame path round $r, $s: load $LOAD_START"
  start_receiver "$tag"
  start_sluiced "$tag"
  if [[ "$s" == relay ]]; then
    local fifo="$prefix.fifo"
    mkfifo "$fifo"
    spawn_in "$prefix.pub.log" "$fifo" "$SLUICE" pub "$CHANNEL" - --frame-bytes "$FRAME_BYTES" \
      --metadata "$FRAME_META" --wire "127.0.0.1:$WP"
    spawn_out "$prefix.gen.log" "$fifo" "$PYTHON" "$ROOT/bench/latency_clock.py" gen --width "$WIDTH" \
      --height "$HEIGHT" --fps "$FPS"
    sleep 1
    name=bench
    if ! create_pipeline "$tag" "{\"type\":\"relay\",\"channel\":\"$CHANNEL\",\"clock\":false}" \
      "\"renditions\":[{\"path\":\"bench\",\"width\":$WIDTH,\"height\":$HEIGHT}],"; then
      PIPE_ID=""
    fi
  elif [[ "$s" == url ]]; then
    start_source "$tag"
    name=two
    create_two "$tag" || PIPE_ID=""
  else
    # path: the publisher into this sluiced's own path cam, read by the pipeline as a reader.
    local k
    k="$(receiver_key "$tag" cam "$HP")"
    start_source "$tag" "rtmp://127.0.0.1:$RP1/live/$k" "$WORK/$tag.sluiced.log" cam
    SRC_JSON='{"type":"path","path":"cam"}'
    name=two
    create_two "$tag" || PIPE_ID=""
  fi
  if [[ -z "$PIPE_ID" ]]; then
    log "  the pipeline did not start: $PIPE_ERROR"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$LOAD_START" '{}' "FAILED: $PIPE_ERROR" "$LOAD_NOTE" >>"$WORK/fp.rows"
    stop_all
    return
  fi
  sleep "$WARMUP"
  fp_sample "$prefix" "$name"
  if [[ "$s" == relay ]]; then status="$(pipeline_status "$tag")"; else status="$(two_status "$tag")"; fi
  local sum
  sum="$("$PYTHON" - "$prefix.samples" "$FPS" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def col(i):
    return [float(r[i]) for r in rows if len(r) > i and r[i] != "-"]
out = {"samples": len(rows)}
for key, i in (("api", 0), ("metrics", 1)):
    v = col(i)
    out[key + "_n"] = len(v)
    if v:
        out[key + "_median"] = round(statistics.median(v), 2)
        out[key + "_max"] = round(max(v), 2)
        out[key + "_min"] = round(min(v), 2)
print(json.dumps(out))
PY
)"
  log "  $s: $sum; $status"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$s" "$LOAD_START" "$sum" "$status" "${LOAD_NOTE:-}; load avg after $(load1)" >>"$WORK/fp.rows"
  stop_all
}

framepath_part() {
  if [[ " $FP_SETUPS " == *" relay "* ]]; then
    [[ -n "$SLUICE" ]] || die "no sluice CLI at $SLUICE_SRC (set SLUICE)"
  fi
  : >"$WORK/fp.rows"
  local r s
  FP_START="$(date -u +%Y-%m-%dT%H:%MZ)"
  for ((r = 1; r <= FP_RUNS; r++)); do
    for s in $FP_SETUPS; do fp_run "$s" "$r"; done
  done
  FP_END="$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "### Frame path ($FP_START – $FP_END, $FP_RUNS rounds, $FP_SECONDS samples a second apart after ${WARMUP} s)"
  echo
  echo "| round | source | load avg before | samples | frame_path_ms (GET): n, median, max, min | /metrics ×1000: n, median, max, min | one frame | pipeline | notes |"
  echo "|---:|---|---:|---:|---|---|---:|---|---|"
  "$PYTHON" - "$WORK/fp.rows" "$FPS" <<'PY'
import json, sys
fps = float(sys.argv[2])
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    d = json.loads(f[3]) if f[3] else {}
    def cell(k):
        n = d.get(k + "_n", 0)
        return "%d, %s, %s, %s" % (n, d.get(k + "_median"), d.get(k + "_max"), d.get(k + "_min")) if n else "%d (absent)" % n
    label = {"relay": "relay raw frames (sluice pub)", "url": "url rtsp://…/live/dev (decoded)",
             "path": "path cam of the same sluiced (decoded)"}.get(f[1], f[1])
    print("| %s | %s | %s | %s | %s | %s | %.1f ms | %s | %s |" % (f[0], label, f[2], d.get("samples", 0),
          cell("api"), cell("metrics"), 1000 / fps, f[4], f[5]))
PY
  echo
}

# ---------------------------------------------------------------------------------------------

echo "## Pipelines vs ffmpeg (issue 15): results of bench/pipeline_bench.sh"
echo
echo "sluiced \`$SLUICED_VERSION\` (sha256 $SLUICED_SHA…, built $SLUICED_MTIME); $("$FFMPEG" -version | head -n 1 | cut -d' ' -f1-3);"
echo "$(nproc) CPUs, $(uname -sr); encoder settings: ${WIDTH}x$HEIGHT $FPS fps, $X264_TEXT."
echo
for p in $PARTS; do
  case "$p" in
    cpu) cpu_part ;;
    latency) latency_part ;;
    renditions) renditions_part ;;
    framepath) framepath_part ;;
  esac
done
