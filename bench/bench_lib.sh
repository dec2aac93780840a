#!/usr/bin/env bash
# Shared by the benchmark scripts (sourced, not run): logging, paths, JSON, ports, waiting for an
# idle machine, stopping processes. The sourcing script sets ROOT and BENCH_NAME first; die()
# and log() prefix messages with BENCH_NAME.

log() { echo "$BENCH_NAME: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# resolve PATH — a path given relative to the current directory or to the repo root.
resolve() {
  if [[ "$1" == /* || -e "$PWD/$1" ]]; then
    echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
  else
    echo "$ROOT/$1"
  fi
}

wanted() { [[ " $ONLY " == *" $1 "* ]]; }

# JSON extraction: jq when installed, else python3.
if command -v jq >/dev/null 2>&1; then
  json_get() { jq -r ".$2 // \"null\"" "$1"; } # json_get FILE KEY.PATH
elif command -v python3 >/dev/null 2>&1; then
  json_get() {
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("null" if v is None else v)' "$1" "$2"
  }
else
  die "need jq or python3 to read the JSON results"
fi

# free_port — a TCP port nobody listens on right now (the kernel's pick when python3 is there).
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    return
  fi
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || {
      echo "$p"
      return
    }
  done
}

# wait_port PORT PID WHAT — until PORT accepts connections (10 s), while PID lives.
wait_port() {
  local deadline=$((SECONDS + 10))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    kill -0 "$2" 2>/dev/null || die "$3 exited during startup"
    ((SECONDS < deadline)) || die "$3 is not accepting connections on port $1"
    sleep 0.1
  done
}

# busy_percent — how busy all CPUs were over the last second (every process, in %).
busy_percent() {
  local a b u1 n1 s1 i1 w1 q1 sq1 u2 n2 s2 i2 w2 q2 sq2
  read -r _ u1 n1 s1 i1 w1 q1 sq1 _ </proc/stat
  sleep 1
  read -r _ u2 n2 s2 i2 w2 q2 sq2 _ </proc/stat
  a=$(((u2 + n2 + s2 + q2 + sq2) - (u1 + n1 + s1 + q1 + sq1)))
  b=$((a + (i2 + w2) - (i1 + w1)))
  echo $((b > 0 ? 100 * a / b : 0))
}

# wait_for_quiet — waits (up to WAIT_IDLE s) until the CPUs are < 10% busy over a second; sets
# BUSY to the last figure (shown in the tables: a run that started on a busy machine is noisy).
wait_for_quiet() {
  local waited=0
  BUSY="$(busy_percent)"
  while ((BUSY >= 10 && waited < WAIT_IDLE)); do
    ((waited == 0)) && log "machine ${BUSY}% busy with other work; waiting up to ${WAIT_IDLE} s"
    waited=$((waited + 1))
    BUSY="$(busy_percent)"
  done
  ((BUSY < 10)) || log "WARNING: the machine is ${BUSY}% busy with other work; running anyway"
}

# stop PID — SIGTERM, up to 5 s, then SIGKILL.
stop() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# to_ms VALUE — a wrk latency (812.00us, 1.23ms, 2.01s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else { printf "nan" }
  }'
}

# advertise_streams PORT FROM TO IDS_FILE TYPE PUBLISHER — advertises streams bench-FROM ..
# bench-(TO-1) of TYPE on the sluiced at PORT through one curl process (one keep-alive
# connection), appending their ids to IDS_FILE; sets ADVERTISE_S (seconds taken). Fails unless
# every advertise answered 201. Needs WORK (a scratch directory).
advertise_streams() {
  local port="$1" from="$2" to="$3" ids="$4" type="$5" publisher="$6"
  local n=$((to - from))
  ((n > 0)) || return 0
  local cfg="$WORK/advertise-$port-$from.cfg" out="$WORK/advertise-$port-$from.out"
  awk -v from="$from" -v to="$to" -v url="http://127.0.0.1:$port/streams/advertise" \
    -v type="$type" -v publisher="$publisher" 'BEGIN {
    for (i = from; i < to; i++) {
      if (i > from) print "next"
      print "url = \"" url "\""
      print "header = \"Content-Type: application/json\""
      printf "data = \"{\\\"name\\\":\\\"bench-%05d\\\",\\\"stream_type\\\":\\\"%s\\\",", i, type
      printf "\\\"publisher_id\\\":\\\"%s\\\",\\\"protocol\\\":\\\"udp\\\",\\\"address\\\":\\\"10.0.0.1\\\",", publisher
      printf "\\\"port\\\":%d}\"\n", 9000 + (i % 50000)
      print "silent"
      print "write-out = \"\\t%{http_code}\\n\""
    }
  }' >"$cfg"
  local t0="$EPOCHREALTIME"
  curl -K "$cfg" >"$out" 2>"$out.err" ||
    die "advertising streams $from..$((to - 1)) on port $port failed (curl: $(tail -n3 "$out.err"))"
  ADVERTISE_S="$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')"
  local ok
  ok="$(awk -F'\t' '$2 == "201"' "$out" | wc -l)"
  ((ok == n)) ||
    die "advertising: $ok of $n requests answered 201; first failure:"$'\n'"$(awk -F'\t' '$2 != "201"' "$out" | head -n1)"
  awk -F'\t' '$2 == "201" && match($1, /"id":"[0-9a-fA-F-]+"/) {
    print substr($1, RSTART + 6, RLENGTH - 7)
  }' "$out" >>"$ids"
  log "advertised $n streams on port $port in $ADVERTISE_S s"
}

# The first built copy of program $1: build/bin, else build-bench/bin (default build/bin).
first_built() {
  local d
  for d in build build-bench; do
    [[ -x "$ROOT/$d/bin/$1" ]] && {
      echo "$ROOT/$d/bin/$1"
      return
    }
  done
  echo "$ROOT/build/bin/$1"
}

# The fan-out benchmarks' media file, made once in $BENCH_CACHE and printed: 30 s of 1280x720
# 30 fps H.264 (2.4 Mbit/s, 2.5 max, 2 s GOP) + AAC 128k, FLV. Needs FFMPEG and BENCH_CACHE.
fanout_media() {
  local media="$BENCH_CACHE/testsrc2-720p30-2500k-g60-30s.flv"
  if [[ ! -s "$media" ]]; then
    mkdir -p "$BENCH_CACHE"
    log "preparing $media (30 s of libx264 veryfast, once)"
    "$FFMPEG" -hide_banner -loglevel error -y \
      -f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
      -t 30 -map 0:v -map 1:a \
      -c:v libx264 -preset veryfast -pix_fmt yuv420p -b:v 2400k -maxrate 2500k -bufsize 5000k \
      -g 60 -keyint_min 60 -sc_threshold 0 -c:a aac -b:a 128k -ar 48000 -ac 2 \
      -f flv "$media.tmp" || die "ffmpeg could not make the media file"
    mv "$media.tmp" "$media"
  fi
  echo "$media"
}

# A JSON number of a report as text: num VALUE PRINTF-FORMAT [DIVISOR]; "n/a" for null or empty.
num() {
  awk -v v="$1" -v f="$2" -v d="${3:-1}" 'BEGIN { if (v == "null" || v == "") print "n/a"; else printf f, v / d }'
}
