#!/usr/bin/env bash
# Relay benchmark: nats-server (through bench/nats_peer, sluice_nats_bench) and, once `sluice
# bench` exists, the sluice relay, on the same cases and the same machine.
#
# Starts `nats-server -a 127.0.0.1 -p PORT` on a free loopback port and runs:
#   pubsub 1->1   16 B       PUBSUB_MSGS  (default 2,000,000)
#   pubsub 1->4   128 B      FANOUT_MSGS  (default 500,000; FANOUT_SUBS subscribers, default 4)
#   pubsub 1->1   65,536 B   LARGE_MSGS   (default 20,000)
#   reqrep        16 B       REQREP_MSGS  (default 20,000 sequential round trips)
# Each case prints one JSON object (the keys are shared by both tools); the script turns them into
# a Markdown table on stdout. Progress and warnings go to stderr.
#
# The sluice column: for each case, when $SLUICE and $SLUICED exist and `sluice bench` is there,
# a fresh `sluiced $SLUICED_FLAGS --wire 127.0.0.1:FREEPORT` is started (it must print
# "sluiced listening" on stdout) and `sluice bench MODE --wire 127.0.0.1:FREEPORT` runs with the
# same flags as the NATS peer; the table then adds sluice's figures and the ratios sluice/nats.
# Otherwise the sluice column is skipped with a message.
#
#   bench/relay_bench.sh
#   NATS_BENCH=build-nats/bin/sluice_nats_bench PUBSUB_MSGS=500000 bench/relay_bench.sh
#
# Environment (paths are relative to the current directory or to the repo root):
#   NATS_BENCH    the NATS peer (default build/bin/sluice_nats_bench)
#   NATS_SERVER   nats-server binary (default: nats-server from PATH, else /usr/sbin/nats-server)
#   SLUICE        sluice CLI (default build/bin/sluice)
#   SLUICED       sluice daemon (default build/bin/sluiced)
#   SLUICED_FLAGS daemon flags besides --wire (default "--http 127.0.0.1:0 --history :memory:")
#   PUBSUB_MSGS, FANOUT_MSGS, FANOUT_SUBS, LARGE_MSGS, REQREP_MSGS   case sizes (see above)
#
# Both the server and the clients run on this machine and share its cores over loopback; the
# figures are for that setup. Unpaced pubsub latency includes queueing (the publisher outruns the
# subscribers); reqrep latency is the round trip.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

NATS_BENCH="${NATS_BENCH:-build/bin/sluice_nats_bench}"
SLUICE="${SLUICE:-build/bin/sluice}"
SLUICED="${SLUICED:-build/bin/sluiced}"
SLUICED_FLAGS="${SLUICED_FLAGS:---http 127.0.0.1:0 --history :memory:}"
PUBSUB_MSGS="${PUBSUB_MSGS:-2000000}"
FANOUT_MSGS="${FANOUT_MSGS:-500000}"
FANOUT_SUBS="${FANOUT_SUBS:-4}"
LARGE_MSGS="${LARGE_MSGS:-20000}"
REQREP_MSGS="${REQREP_MSGS:-20000}"

log() { echo "relay_bench: $*" >&2; }
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

for v in PUBSUB_MSGS FANOUT_MSGS FANOUT_SUBS LARGE_MSGS REQREP_MSGS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number, got '${!v}'"
done

NATS_BENCH="$(resolve "$NATS_BENCH")"
SLUICE="$(resolve "$SLUICE")"
SLUICED="$(resolve "$SLUICED")"
[[ -x "$NATS_BENCH" ]] || die "NATS peer not found: $NATS_BENCH (build target sluice_nats_bench, or set NATS_BENCH)"
NATS_SERVER="${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}"
[[ -x "$NATS_SERVER" ]] || die "nats-server not found (Debian: apt-get install nats-server, or set NATS_SERVER)"

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

WORK="$(mktemp -d "${TMPDIR:-/tmp}/relay-bench.XXXXXX")"
NATS_PID=""
SLUICED_PID=""
cleanup() {
  stop "$SLUICED_PID"
  stop "$NATS_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Is the sluice column possible? `sluice bench --help` must succeed and be the help of a `bench`
# command (CLI11 prints the top-level help, with exit 0, for an unknown subcommand and --help).
SLUICE_OK=0
SLUICE_WHY=""
if [[ ! -x "$SLUICE" ]]; then
  SLUICE_WHY="no sluice CLI at $SLUICE"
elif [[ ! -x "$SLUICED" ]]; then
  SLUICE_WHY="no sluiced at $SLUICED"
elif ! help="$("$SLUICE" bench --help 2>&1)"; then
  SLUICE_WHY="'sluice bench --help' failed"
elif ! grep -q pubsub <<<"$help" || ! grep -q reqrep <<<"$help" ||
  ! "$SLUICE" bench pubsub --help 2>&1 | grep -q -- --wire; then
  SLUICE_WHY="'sluice bench pubsub/reqrep --wire' is not implemented by $SLUICE"
else
  SLUICE_OK=1
fi
((SLUICE_OK)) || log "sluice column skipped: $SLUICE_WHY"

# start_sluiced — a fresh daemon with its wire relay on a free port; sets SLUICED_PID, WIRE.
start_sluiced() {
  local logfile="$WORK/sluiced.log"
  WIRE="127.0.0.1:$(free_port)"
  # shellcheck disable=SC2086 # SLUICED_FLAGS is a list of flags
  "$SLUICED" $SLUICED_FLAGS --wire "$WIRE" >"$logfile" 2>&1 &
  SLUICED_PID=$!
  local deadline=$((SECONDS + 10))
  until grep -q "sluiced listening" "$logfile"; do
    kill -0 "$SLUICED_PID" 2>/dev/null || die "sluiced exited during startup: $(tail -n 5 "$logfile")"
    ((SECONDS < deadline)) || die "sluiced did not print 'sluiced listening' within 10 s"
    sleep 0.1
  done
  wait_port "${WIRE##*:}" "$SLUICED_PID" sluiced
}

# run_case OUT TOOL MODE MSGS SIZE SUBS — runs one case; the JSON lands in OUT. Returns 0 when
# OUT holds a result (exit 3, incomplete, still has one: warned, and the table shows delivered).
run_case() {
  local out="$1" tool="$2" mode="$3" msgs="$4" size="$5" subs="$6" rc=0
  local -a args=("$mode" --msgs "$msgs" --size "$size" --json)
  [[ "$mode" == pubsub ]] && args+=(--subs "$subs")
  if [[ "$tool" == nats ]]; then
    "$NATS_BENCH" "${args[@]}" --url "nats://127.0.0.1:$NATS_PORT" >"$out" || rc=$?
  else
    start_sluiced
    "$SLUICE" bench "${args[@]}" --wire "$WIRE" >"$out" || rc=$?
    stop "$SLUICED_PID"
    SLUICED_PID=""
  fi
  if ((rc == 3)); then
    log "WARNING: $tool $mode ${size} B: incomplete run (see delivered_msgs)"
  elif ((rc != 0)) || [[ ! -s "$out" ]]; then
    log "WARNING: $tool $mode ${size} B failed (exit status $rc)"
    return 1
  fi
  return 0
}

# ---------------------------------------------------------------------------------------------
NATS_PORT="$(free_port)"
"$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" >"$WORK/nats-server.log" 2>&1 &
NATS_PID=$!
wait_port "$NATS_PORT" "$NATS_PID" nats-server
log "$("$NATS_SERVER" --version 2>&1 | head -n 1) on port $NATS_PORT"

# name|mode|msgs|size|subs
CASES=(
  "pubsub 1->1 16 B|pubsub|$PUBSUB_MSGS|16|1"
  "pubsub 1->$FANOUT_SUBS 128 B|pubsub|$FANOUT_MSGS|128|$FANOUT_SUBS"
  "pubsub 1->1 64 KiB|pubsub|$LARGE_MSGS|65536|1"
  "reqrep 16 B|reqrep|$REQREP_MSGS|16|0"
)

# num VALUE FORMAT [DIVISOR] — a JSON number for the table; "n/a" for null.
num() {
  awk -v v="$1" -v f="$2" -v d="${3:-1}" 'BEGIN { if (v == "null" || v == "") print "n/a"; else printf f, v / d }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
# cells FILE — msgs/s, MB/s, p50 and p99 cells of one result.
cells() {
  echo -n " $(num "$(json_get "$1" delivered_msgs_per_sec)" %.0f) |"
  echo -n " $(num "$(json_get "$1" delivered_bytes_per_sec)" %.1f 1e6) |"
  echo -n " $(num "$(json_get "$1" latency_us.p50)" %.1f) | $(num "$(json_get "$1" latency_us.p99)" %.1f) |"
}

echo "# Relay benchmark"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $("$NATS_SERVER" --version 2>&1 | head -n 1), loopback."
echo
header="| case | msgs | nats msgs/s | nats MB/s | nats p50 µs | nats p99 µs | nats dropped |"
rule="|---|---:|---:|---:|---:|---:|---:|"
if ((SLUICE_OK)); then
  header+=" sluice msgs/s | sluice MB/s | sluice p50 µs | sluice p99 µs | msgs/s sluice/nats | bytes/s sluice/nats |"
  rule+="---:|---:|---:|---:|---:|---:|"
fi
rows=()
i=0
for c in "${CASES[@]}"; do
  IFS='|' read -r name mode msgs size subs <<<"$c"
  i=$((i + 1))
  log "case $i: $name, $msgs msgs (nats)"
  n="$WORK/nats-$i.json"
  row="| $name | $msgs |"
  if run_case "$n" nats "$mode" "$msgs" "$size" "$subs"; then
    row+="$(cells "$n") $(json_get "$n" dropped) |"
  else
    row+=" failed | | | | |"
  fi
  if ((SLUICE_OK)); then
    log "case $i: $name, $msgs msgs (sluice)"
    s="$WORK/sluice-$i.json"
    if run_case "$s" sluice "$mode" "$msgs" "$size" "$subs"; then
      row+="$(cells "$s")"
      if [[ -s "$n" ]]; then
        row+=" $(ratio "$(json_get "$s" delivered_msgs_per_sec)" "$(json_get "$n" delivered_msgs_per_sec)") |"
        row+=" $(ratio "$(json_get "$s" delivered_bytes_per_sec)" "$(json_get "$n" delivered_bytes_per_sec)") |"
      else
        row+=" n/a | n/a |"
      fi
    else
      row+=" failed | | | | | |"
    fi
  fi
  rows+=("$row")
done

echo "$header"
echo "$rule"
printf '%s\n' "${rows[@]}"
echo
echo "msgs/s and MB/s are deliveries (all subscribers together; reqrep: round trips). Latency:"
echo "pubsub one-way, unpaced, so it includes queueing; reqrep round trip."
((SLUICE_OK)) || echo "sluice column skipped: $SLUICE_WHY."
