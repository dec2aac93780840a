#!/usr/bin/env bash
# Distributed mode benchmark (issue 5): sluiced nodes sharing one Redis (--store redis://) and
# one NATS server (--bus nats://).
#
# Starts one redis-server (no persistence) and one nats-server on free loopback ports, then:
#
# 1. Heartbeat throughput. For each case in $CASES: fresh nodes, $STREAMS streams advertised
#    (spread over the nodes, TTL 3600 s so nothing expires), and `wrk --latency` driving
#    POST /streams/{id}/heartbeat (bench/heartbeat.lua, round-robin over the ids). With two nodes
#    there is one wrk per node, run concurrently; each gets half the streams, half the
#    connections and half the wrk threads (so the total load is the same as the one-node case).
#    Reported per node and summed: req/s, p50, p99, errors; and the CPU each process used during
#    the run (utime+stime deltas from /proc/PID/stat: every sluiced, redis-server, nats-server,
#    wrk, and everything else; plus steal time), CPU µs per heartbeat, and how long each
#    process's threads waited for a core (/proc/PID/task/*/schedstat), so a reader sees where
#    the cores went and whether the machine, rather than sluice, is the limit.
#    Case keys: STORE-NxT — N nodes with --threads T each; STORE is
#      memory       the embedded store and local bus (the single-node reference)
#      redis        --store redis:// --bus nats:// (the distributed mode)
#      redis-local  --store redis:// with the local bus (isolates the bus's cost)
# 2. Expiry -> event latency. Two nodes (--store redis:// --bus nats://, --stream-ttl
#    $EXPIRY_TTL, --threads 1 each) and bench/nats_peer's sluice_expiry_probe: per round it
#    advertises $EXPIRY_STREAMS streams spread over both nodes, each followed at once by one
#    heartbeat through the other node, stops, and times each stream's maestra.stream.withdraw.<id> event on NATS
#    and on each node's SSE stream (GET /streams/events) against the stream's deadline (send
#    time of its last request + TTL). Each event must arrive exactly once on each. Run on idle
#    nodes and, with EXPIRY_LOAD=1, again while wrk drives heartbeats at both nodes flat out.
#
# Results go to stdout as Markdown; progress goes to stderr.
#
#   cmake --build build --target sluiced sluice_expiry_probe
#   bench/cluster_bench.sh > results.md
#   SLUICED=build-lead/bin/sluiced PROBE=build-lead/bin/sluice_expiry_probe bench/cluster_bench.sh
#   CASES="redis-1x1 redis-2x1" EXPIRY=0 bench/cluster_bench.sh      # throughput only
#
# Environment (paths relative to the current directory or to the repo root):
#   SLUICED         daemon binary (default build/bin/sluiced); a private copy is run
#   PROBE           sluice_expiry_probe (default: next to SLUICED)
#   REDIS_SERVER    redis-server binary (default: from PATH)
#   NATS_SERVER     nats-server binary (default: from PATH, else /usr/sbin/nats-server)
#   CASES           throughput cases (default "memory-1x1 redis-1x1 redis-1x2 redis-2x1
#                   redis-2x2 redis-local-1x1"); each multi-node case's ratio is judged against
#                   the best one-node `redis` case (the other one-node ratios are shown too)
#   DURATION        wrk duration per case (default 10s)
#   CONNECTIONS     wrk connections in total, split evenly over the nodes (default 64)
#   WRK_THREADS     wrk threads in total, split evenly over the nodes (default 2)
#   WRK_TIMEOUT     wrk request timeout (default 10s)
#   STREAMS         streams for the throughput cases (default 1000)
#   EXPIRY          1 to run the expiry part (default 1)
#   EXPIRY_TTL      --stream-ttl of the expiry nodes, seconds (default 2)
#   EXPIRY_STREAMS  streams per probe round (default 200)
#   EXPIRY_ROUNDS   probe rounds (default 5)
#   EXPIRY_LOAD     1 to also run the probe under heartbeat load (default 1)
#   STRICT          1 to exit with status 2 when a target is missed (default 0)
#   WAIT_IDLE       seconds to wait, before each run, for other processes to leave the CPUs
#                   idle (default 120; 0 to not wait); the busy share seen is reported either way
#
# Everything (redis, nats, the nodes, wrk, the probe) shares this machine's cores over loopback.
# The CPU columns show how they split them; read the two-node ratio with that in mind.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_NAME=cluster_bench
# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"

SLUICED="${SLUICED:-build/bin/sluiced}"
PROBE="${PROBE:-}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"
NATS_SERVER="${NATS_SERVER:-}"
CASES="${CASES:-memory-1x1 redis-1x1 redis-1x2 redis-2x1 redis-2x2 redis-local-1x1}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_TIMEOUT="${WRK_TIMEOUT:-10s}"
STREAMS="${STREAMS:-1000}"
EXPIRY="${EXPIRY:-1}"
EXPIRY_TTL="${EXPIRY_TTL:-2}"
EXPIRY_STREAMS="${EXPIRY_STREAMS:-200}"
EXPIRY_ROUNDS="${EXPIRY_ROUNDS:-5}"
EXPIRY_LOAD="${EXPIRY_LOAD:-1}"
STRICT="${STRICT:-0}"
WAIT_IDLE="${WAIT_IDLE:-120}"

# Targets from the issue.
TARGET_RATIO=1.6
TARGET_EXPIRY_P99_MS=1000

# ---------------------------------------------------------------------------------------------
# Preconditions

for tool in wrk curl awk; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH (scripts/install-deps.sh --test installs it)"
done
command -v "$REDIS_SERVER" >/dev/null 2>&1 ||
  die "redis-server not found ($REDIS_SERVER; scripts/install-deps.sh --test installs redis-server, or set REDIS_SERVER)"
REDIS_SERVER="$(command -v "$REDIS_SERVER")"
if [[ -z "$NATS_SERVER" ]]; then
  NATS_SERVER="$(command -v nats-server || true)"
  [[ -n "$NATS_SERVER" ]] || NATS_SERVER=/usr/sbin/nats-server
fi
[[ -x "$NATS_SERVER" ]] ||
  die "nats-server not found ($NATS_SERVER; scripts/install-deps.sh --test installs it, or set NATS_SERVER)"

SLUICED="$(resolve "$SLUICED")"
[[ -x "$SLUICED" ]] || die "daemon not found or not executable: $SLUICED (build it, or set SLUICED=path/to/sluiced)"
"$SLUICED" --help 2>/dev/null | grep -q -- '--store' ||
  die "$SLUICED has no --store option (an older daemon?)"
"$SLUICED" --help 2>/dev/null | grep -q -- '--bus' || die "$SLUICED has no --bus option"
if [[ "$EXPIRY" == 1 ]]; then
  PROBE="$(resolve "${PROBE:-$(dirname "$SLUICED")/sluice_expiry_probe}")"
  [[ -x "$PROBE" ]] || die "expiry probe not found: $PROBE (cmake --build BUILD --target sluice_expiry_probe; needs libnats-dev; or EXPIRY=0)"
fi
HB_LUA="$ROOT/bench/heartbeat.lua"
[[ -r "$HB_LUA" ]] || die "missing $HB_LUA"

declare -a CASE_KEYS=()
for c in $CASES; do
  [[ "$c" =~ ^(memory|redis|redis-local)-([1-9])x([1-9][0-9]*)$ ]] ||
    die "bad case '$c' in CASES (expected STORE-NxT, STORE one of memory redis redis-local)"
  CASE_KEYS+=("$c")
done
[[ "$STREAMS" =~ ^[1-9][0-9]*$ ]] || die "STREAMS must be a positive number"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive number"
[[ "$WRK_THREADS" =~ ^[1-9][0-9]*$ ]] || die "WRK_THREADS must be a positive number"
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sluice-cluster-bench.XXXXXX")"
REDIS_PID="" NATS_PID="" REDIS_PORT="" NATS_PORT=""
declare -a NODE_PIDS=() NODE_PORTS=() NODE_LOGS=() WRK_PIDS=() NOTES=()

stop_nodes() {
  local pid
  for pid in "${NODE_PIDS[@]}"; do stop "$pid"; done
  NODE_PIDS=() NODE_PORTS=() NODE_LOGS=()
}

cleanup() {
  local pid
  for pid in "${WRK_PIDS[@]}"; do stop "$pid"; done
  stop_nodes
  stop "$NATS_PID"
  stop "$REDIS_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Private copies, so a rebuild during the run cannot change what is measured.
cp "$SLUICED" "$WORK/sluiced"
DAEMON_BIN="$WORK/sluiced"
BIN_SHA="$(sha256sum "$DAEMON_BIN" | cut -c1-12)"
BIN_DATE="$(date -u -r "$SLUICED" +%Y-%m-%dT%H:%MZ)"
if [[ "$EXPIRY" == 1 ]]; then
  cp "$PROBE" "$WORK/sluice_expiry_probe"
  PROBE_BIN="$WORK/sluice_expiry_probe"
fi

# ---------------------------------------------------------------------------------------------
# Redis, NATS, nodes

start_redis() {
  REDIS_PORT="$(free_port)"
  mkdir -p "$WORK/redis"
  "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK/redis" --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  wait_port "$REDIS_PORT" "$REDIS_PID" redis-server
  log "redis-server $("$REDIS_SERVER" --version | awk '{print $3}') on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
}

start_nats() {
  NATS_PORT="$(free_port)"
  "$NATS_SERVER" -a 127.0.0.1 -p "$NATS_PORT" -l "$WORK/nats.log" &
  NATS_PID=$!
  wait_port "$NATS_PORT" "$NATS_PID" nats-server
  log "nats-server $("$NATS_SERVER" --version | awk '{print $2}') on 127.0.0.1:$NATS_PORT (pid $NATS_PID)"
}

# redis_cmd ARGS... — one command to the benchmark's Redis (redis-cli, else bash's /dev/tcp).
redis_cmd() {
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@" >/dev/null
  else
    local line
    exec 9<>"/dev/tcp/127.0.0.1/$REDIS_PORT"
    printf '%s\r\n' "$*" >&9
    read -r line <&9
    exec 9<&-
    [[ "$line" == +* ]] || die "redis: $* answered $line"
  fi
}

# node_flags STORE — the --store/--bus flags of a case's store key.
node_flags() {
  case "$1" in
    memory) echo "" ;;
    redis) echo "--store redis://127.0.0.1:$REDIS_PORT --bus nats://127.0.0.1:$NATS_PORT" ;;
    redis-local) echo "--store redis://127.0.0.1:$REDIS_PORT" ;;
  esac
}

# start_node NAME THREADS TTL FLAGS... — one sluiced on a free HTTP port; appends to NODE_*.
start_node() {
  local name="$1" threads="$2" ttl="$3"
  shift 3
  local port log="$WORK/sluiced-$name.log"
  port="$(free_port)"
  mkdir -p "$WORK/data-$name"
  "$DAEMON_BIN" --onvif off --mdns off --osc off --mqtt off --http "127.0.0.1:$port" --wire 127.0.0.1:0 --rtmp off --rtsp off --rtsp-udp-ports off --srt off --webrtc-udp off --history :memory: \
    --data-dir "$WORK/data-$name" --stream-ttl "$ttl" --threads "$threads" --log-level warn "$@" \
    >"$log" 2>&1 &
  local pid=$!
  NODE_PIDS+=("$pid") NODE_PORTS+=("$port") NODE_LOGS+=("$log")
  local deadline=$((SECONDS + 10)) health=""
  while :; do
    kill -0 "$pid" 2>/dev/null || die "sluiced $name exited during startup; its log:"$'\n'"$(cat "$log")"
    health="$(curl -fsS --max-time 2 "http://127.0.0.1:$port/health" 2>/dev/null || true)"
    [[ "$health" == '{"status":"ok"'* ]] && break
    ((SECONDS < deadline)) || die "sluiced $name is not healthy after 10 s: ${health:-no answer}; its log:"$'\n'"$(cat "$log")"
    sleep 0.1
  done
}

# check_nodes — every node still runs (else its log).
check_nodes() {
  local i
  for i in "${!NODE_PIDS[@]}"; do
    kill -0 "${NODE_PIDS[$i]}" 2>/dev/null ||
      die "sluiced node $i died; end of its log:"$'\n'"$(tail -n 20 "${NODE_LOGS[$i]}")"
  done
}

# advertise PORT FROM TO IDS_FILE — bench_lib's advertise_streams, `video` streams.
advertise() { advertise_streams "$1" "$2" "$3" "$4" video sluice-cluster-bench; }

# advertise_spread IDS_PREFIX — STREAMS streams, the k-th share on node k; node k's ids in
# IDS_PREFIX-k.txt.
advertise_spread() {
  local prefix="$1" nodes=${#NODE_PORTS[@]} k from to
  for k in "${!NODE_PORTS[@]}"; do
    from=$((STREAMS * k / nodes)) to=$((STREAMS * (k + 1) / nodes))
    : >"$prefix-$k.txt"
    advertise "${NODE_PORTS[$k]}" "$from" "$to" "$prefix-$k.txt"
  done
}

# stream_count PORT — streams the node at PORT says the registry holds (GET /health).
stream_count() {
  curl -fsS "http://127.0.0.1:$1/health" | sed -n 's/.*"registry":{[^}]*"streams":\([0-9][0-9]*\).*/\1/p'
}

last_heartbeat() {
  curl -fsS "http://127.0.0.1:$1/streams/$2" | sed -n 's/.*"last_heartbeat":"\([^"]*\)".*/\1/p'
}

# ---------------------------------------------------------------------------------------------
# CPU accounting: no forks between the two snapshots of a run (command substitutions would be
# children too), so the shell's children times are the wrk processes' alone.

CLK_TCK="$(getconf CLK_TCK)"
NPROC="$(nproc)"

# proc_jiffies PID — utime+stime of PID (all threads) into JIFFIES (0 when it is gone).
proc_jiffies() {
  local line
  local -a f
  JIFFIES=0
  if [[ -n "$1" ]] && read -r line 2>/dev/null <"/proc/$1/stat"; then
    read -r -a f <<<"${line##*) }"
    JIFFIES=$((f[11] + f[12]))
  fi
}

# proc_wait PID — nanoseconds PID's threads have spent runnable but waiting for a CPU
# (/proc/PID/task/*/schedstat, 2nd field; threads that already ended are not counted) into
# WAITED.
proc_wait() {
  local f wait
  WAITED=0
  [[ -n "$1" ]] || return 0
  for f in /proc/"$1"/task/*/schedstat; do
    read -r _ wait _ 2>/dev/null <"$f" || continue
    WAITED=$((WAITED + wait))
  done
}

# cpu_snapshot — SNAP_T, SNAP_BUSY (all CPUs), SNAP_NODE[i], SNAP_REDIS, SNAP_NATS, SNAP_CHILD;
# run-queue waits SNAP_WNODE (all nodes), SNAP_WREDIS, SNAP_WNATS.
cpu_snapshot() {
  local user nice system irq softirq steal line i
  local -a f
  SNAP_T="$EPOCHREALTIME"
  read -r _ user nice system _ _ irq softirq steal _ </proc/stat
  SNAP_BUSY=$((user + nice + system + irq + softirq)) SNAP_STEAL=$steal
  SNAP_NODE=() SNAP_WNODE=0
  for i in "${!NODE_PIDS[@]}"; do
    proc_jiffies "${NODE_PIDS[$i]}"
    SNAP_NODE[i]=$JIFFIES
    proc_wait "${NODE_PIDS[$i]}"
    SNAP_WNODE=$((SNAP_WNODE + WAITED))
  done
  proc_jiffies "$REDIS_PID"
  SNAP_REDIS=$JIFFIES
  proc_wait "$REDIS_PID"
  SNAP_WREDIS=$WAITED
  proc_jiffies "$NATS_PID"
  SNAP_NATS=$JIFFIES
  proc_wait "$NATS_PID"
  SNAP_WNATS=$WAITED
  read -r line <"/proc/$$/stat"
  read -r -a f <<<"${line##*) }"
  SNAP_CHILD=$((f[13] + f[14]))
}

# cores JIFFIES SECONDS — average number of cores busy.
cores() { awk -v j="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (s > 0 ? j / hz / s : 0)}'; }
# waiting NANOSECONDS SECONDS — average number of threads waiting for a CPU.
waiting() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.2f", (s > 0 ? n / 1e9 / s : 0)}'; }
# us_per JIFFIES REQUESTS — CPU microseconds per request.
us_per() { awk -v j="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", (n > 0 ? 1e6 * j / hz / n : 0)}'; }

# wait_idle — bench_lib's wait_for_quiet, skipped with WAIT_IDLE=0; sets BUSY.
wait_idle() {
  if ((WAIT_IDLE > 0)); then wait_for_quiet; else BUSY="$(busy_percent)"; fi
}

# ---------------------------------------------------------------------------------------------
# wrk

# parse_wrk FILE — sets W_RPS, W_REQS, W_P50, W_P99, W_ERRORS from a wrk --latency report.
parse_wrk() {
  local out="$1" non2xx sockerr
  W_RPS="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
  W_REQS="$(awk '/ requests in / {print $1; exit}' "$out")"
  W_P50="$(to_ms "$(awk '$1 == "50%" {print $2; exit}' "$out")")"
  W_P99="$(to_ms "$(awk '$1 == "99%" {print $2; exit}' "$out")")"
  [[ -n "$W_RPS" && -n "$W_REQS" && "$W_P99" != nan && "$W_P50" != nan ]] ||
    die "cannot parse the wrk report $out:"$'\n'"$(cat "$out")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  sockerr="$(awk '/Socket errors:/ {
      n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { gsub(",", "", $i); n += $i }; print n }' "$out")"
  W_ERRORS=$((${non2xx:-0} + ${sockerr:-0}))
}

# wrk_command K DURATION IDS_FILE — sets WRK_CMD: the wrk command line for node K, with
# CONNECTIONS/N connections and WRK_THREADS/N threads (at least 1), N the number of nodes.
wrk_command() {
  local k="$1" duration="$2" ids="$3" nodes=${#NODE_PORTS[@]}
  local conns=$((CONNECTIONS / nodes)) threads=$((WRK_THREADS / nodes))
  ((threads >= 1)) || threads=1
  ((conns >= threads)) || conns=$threads
  WRK_CMD="wrk -t$threads -c$conns -d$duration --timeout $WRK_TIMEOUT --latency -s $HB_LUA http://127.0.0.1:${NODE_PORTS[$k]} -- $ids"
}

# start_wrk NAME K CMD — starts CMD in the background (report in $WORK/wrk-NAME-K.txt); appends
# its pid to WRK_PIDS. Forks nothing but wrk.
start_wrk() {
  # shellcheck disable=SC2086  # the command line is built by wrk_command from safe words
  $3 >"$WORK/wrk-$1-$2.txt" 2>&1 &
  WRK_PIDS+=("$!")
}

# start_wrks NAME DURATION IDS_PREFIX — one wrk per node, each on its node's ids
# (IDS_PREFIX-k.txt), started together: the commands are built first.
start_wrks() {
  local name="$1" duration="$2" prefix="$3" k
  local -a cmds=()
  for k in "${!NODE_PORTS[@]}"; do
    wrk_command "$k" "$duration" "$prefix-$k.txt"
    cmds+=("$WRK_CMD")
  done
  log "wrk per node: ${cmds[0]%% -s *}"
  WRK_PIDS=()
  for k in "${!cmds[@]}"; do start_wrk "$name" "$k" "${cmds[$k]}"; done
}

# wait_wrks NAME — waits for the wrk processes; dies when one failed.
wait_wrks() {
  local name="$1" k status
  for k in "${!WRK_PIDS[@]}"; do
    status=0
    wait "${WRK_PIDS[$k]}" || status=$?
    ((status == 0)) || die "wrk for node $k exited with status $status:"$'\n'"$(cat "$WORK/wrk-$name-$k.txt")"
  done
  WRK_PIDS=()
}

# ---------------------------------------------------------------------------------------------
# Part 1: heartbeat throughput

CPU_MODEL="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
VERSION="$( (timeout 5 "$DAEMON_BIN" --version 2>/dev/null || true) | head -n1)"
REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$REV" != unknown && -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  REV="$REV (modified)"
fi
WRK_VERSION="$( (wrk -v 2>&1 || true) | head -n1 | awk '{print $1, $2}')"
STARTED="$(date -u +%Y-%m-%dT%H:%MZ)"

start_redis
start_nats

declare -a TP_ROWS=() CPU_ROWS=() VERDICTS=()
declare -A CASE_RPS=()
ALL_MET=1

for c in "${CASE_KEYS[@]}"; do
  [[ "$c" =~ ^(memory|redis|redis-local)-([1-9])x([1-9][0-9]*)$ ]]
  store="${BASH_REMATCH[1]}" nodes="${BASH_REMATCH[2]}" threads="${BASH_REMATCH[3]}"
  log "=== $c: $nodes node(s), --threads $threads, store $store ==="
  redis_cmd FLUSHALL
  read -r -a flags <<<"$(node_flags "$store")"
  for ((k = 0; k < nodes; k++)); do
    start_node "$c-$k" "$threads" 3600 "${flags[@]}"
  done
  advertise_spread "$WORK/ids-$c"
  held="$(stream_count "${NODE_PORTS[0]}")"
  [[ "$held" == "$STREAMS" ]] || die "$c: node 0 holds '$held' streams after advertising $STREAMS"
  if ((nodes > 1)); then
    held="$(stream_count "${NODE_PORTS[$((nodes - 1))]}")"
    [[ "$held" == "$STREAMS" ]] || die "$c: the last node sees '$held' streams, expected $STREAMS"
  fi
  # A stream of node 0, read back through the last node after the run: its heartbeat moved.
  probe_id="$(head -n1 "$WORK/ids-$c-0.txt")"
  last_port="${NODE_PORTS[$((nodes - 1))]}"
  before="$(last_heartbeat "$last_port" "$probe_id")"

  wait_idle
  busy_before="$BUSY"
  cpu_snapshot
  t0="$SNAP_T" b0="$SNAP_BUSY" r0="$SNAP_REDIS" n0="$SNAP_NATS" c0="$SNAP_CHILD"
  wn0="$SNAP_WNODE" wr0="$SNAP_WREDIS" wt0="$SNAP_WNATS" st0="$SNAP_STEAL"
  node0=("${SNAP_NODE[@]}")
  start_wrks "$c" "$DURATION" "$WORK/ids-$c"
  wait_wrks "$c"
  cpu_snapshot
  check_nodes
  secs="$(awk -v a="$t0" -v b="$SNAP_T" 'BEGIN {printf "%.3f", b - a}')"

  after="$(last_heartbeat "$last_port" "$probe_id")"
  [[ -n "$after" && "$after" != "$before" ]] ||
    die "$c: heartbeats did not move last_heartbeat of $probe_id (read through the last node)"

  total_rps=0 total_reqs=0 total_err=0 max_p99=0 jd_total=0
  node_cpu=""
  for ((k = 0; k < nodes; k++)); do
    parse_wrk "$WORK/wrk-$c-$k.txt"
    sed 's/^/    /' "$WORK/wrk-$c-$k.txt" >&2
    total_rps=$((total_rps + W_RPS)) total_reqs=$((total_reqs + W_REQS))
    total_err=$((total_err + W_ERRORS))
    max_p99="$(awk -v a="$max_p99" -v b="$W_P99" 'BEGIN {print (b > a ? b : a)}')"
    jd=$((SNAP_NODE[k] - node0[k]))
    jd_total=$((jd_total + jd))
    node_cpu+="${node_cpu:+ + }$(cores "$jd" "$secs")"
    label="$c"
    ((nodes > 1)) && label="$c, node $((k + 1))"
    TP_ROWS+=("| $label | $((CONNECTIONS / nodes)) | $W_RPS | $W_P50 | $W_P99 | $W_ERRORS |")
    ((W_ERRORS == 0)) || log "WARNING: $c node $k: $W_ERRORS failed requests"
  done
  if ((nodes > 1)); then
    TP_ROWS+=("| **$c, both nodes** | $CONNECTIONS | **$total_rps** | – | ≤ $max_p99 (worst node) | $total_err |")
  fi
  CASE_RPS[$c]=$total_rps
  jr=$((SNAP_REDIS - r0)) jn=$((SNAP_NATS - n0)) jw=$((SNAP_CHILD - c0)) jb=$((SNAP_BUSY - b0))
  jo=$((jb - jd_total - jr - jn - jw))
  ((jo >= 0)) || jo=0
  ((nodes > 1)) && node_cpu="$node_cpu = $(cores "$jd_total" "$secs")"
  redis_col="–" nats_col="–" redis_us="–"
  [[ "$store" != memory ]] && redis_col="$(cores "$jr" "$secs")" redis_us="$(us_per "$jr" "$total_reqs")"
  [[ "$store" == redis ]] && nats_col="$(cores "$jn" "$secs")"
  wait_col="$(waiting $((SNAP_WNODE - wn0)) "$secs")"
  [[ "$store" != memory ]] && wait_col+=" / $(waiting $((SNAP_WREDIS - wr0)) "$secs")"
  [[ "$store" == redis ]] && wait_col+=" / $(waiting $((SNAP_WNATS - wt0)) "$secs")"
  CPU_ROWS+=("| $c | $node_cpu | $redis_col | $nats_col | $(cores "$jw" "$secs") | $(cores "$jo" "$secs") | $(cores "$jb" "$secs") of $NPROC | $(cores $((SNAP_STEAL - st0)) "$secs") | $(us_per "$jd_total" "$total_reqs") | $redis_us | $wait_col | $busy_before % |")
  log "$c: $total_rps heartbeats/s (worst p99 $max_p99 ms, errors $total_err); CPU cores: sluiced $node_cpu," \
    "redis $redis_col, nats $nats_col, wrk $(cores "$jw" "$secs"), other $(cores "$jo" "$secs")"
  stop_nodes
done

# The multi-node ratios: against every one-node case on the same store (redis, NATS bus). The
# target is judged against the best of them (a one-node figure can only be beaten by adding
# nodes, not by choosing a weak baseline); the same-configuration ratio is shown too.
best_one_key="" best_one=0
one_keys=() multi_keys=()
for c in "${CASE_KEYS[@]}"; do
  [[ "$c" =~ ^redis-([1-9])x ]] || continue
  if [[ "${BASH_REMATCH[1]}" == 1 ]]; then
    one_keys+=("$c")
    if ((${CASE_RPS[$c]} > best_one)); then best_one="${CASE_RPS[$c]}" best_one_key="$c"; fi
  else
    multi_keys+=("$c")
  fi
done
for c in "${multi_keys[@]}"; do
  if [[ -z "$best_one_key" ]]; then
    NOTES+=("no one-node \`redis\` case ran, so the ratio of $c is not computed")
    continue
  fi
  ratio="$(awk -v a="${CASE_RPS[$c]}" -v b="$best_one" 'BEGIN {printf "%.2f", a / b}')"
  met=no
  if awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN {exit !(r >= t)}'; then met=yes; else ALL_MET=0; fi
  others=""
  for o in "${one_keys[@]}"; do
    [[ "$o" != "$best_one_key" ]] || continue
    others+="; vs \`$o\` (${CASE_RPS[$o]}/s): $(awk -v a="${CASE_RPS[$c]}" -v b="${CASE_RPS[$o]}" 'BEGIN {printf "%.2f", a / b}')×"
  done
  VERDICTS+=("| \`$c\` ≥ $TARGET_RATIO× one node (the best one-node case) | ${CASE_RPS[$c]}/s vs \`$best_one_key\` ${best_one}/s: **${ratio}×**$others | **$met** |")
done

# ---------------------------------------------------------------------------------------------
# Part 2: expiry -> event latency

declare -a EXP_ROWS=()
# run_probe LABEL — the probe against the running nodes; adds a table row and a verdict.
run_probe() {
  local label="$1" json="$WORK/probe-${1// /-}.json" k
  local -a node_args=()
  for k in "${!NODE_PORTS[@]}"; do node_args+=(--node "127.0.0.1:${NODE_PORTS[$k]}"); done
  local status=0
  log "$PROBE_BIN --nats nats://127.0.0.1:$NATS_PORT ${node_args[*]} --streams $EXPIRY_STREAMS --rounds $EXPIRY_ROUNDS --sse --json"
  "$PROBE_BIN" --nats "nats://127.0.0.1:$NATS_PORT" "${node_args[@]}" --streams "$EXPIRY_STREAMS" \
    --rounds "$EXPIRY_ROUNDS" --sse --json >"$json" || status=$?
  ((status == 0 || status == 3)) || die "sluice_expiry_probe failed (exit status $status)"
  ((status == 0)) || log "WARNING: the probe reports a failed check (see the table)"
  local n
  n="$(json_get "$json" nats.expected)"
  local row
  row="| $label | $(json_get "$json" nats.received) / $n | $(json_get "$json" nats.duplicates) | $(json_get "$json" nats.missing) | $(json_get "$json" nats.latency_ms.p50) | $(json_get "$json" nats.latency_ms.p90) | **$(json_get "$json" nats.latency_ms.p99)** | $(json_get "$json" nats.latency_ms.max)"
  local sse_cols="" sse_ok=1
  for k in "${!NODE_PORTS[@]}"; do
    local d m r p
    # json_get has no array indexing.
    if command -v jq >/dev/null 2>&1; then
      r="$(jq -r ".sse[$k].received" "$json")" d="$(jq -r ".sse[$k].duplicates" "$json")"
      m="$(jq -r ".sse[$k].missing" "$json")" p="$(jq -r ".sse[$k].latency_ms.p99" "$json")"
    else
      read -r r d m p < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["sse"][int(sys.argv[2])]
print(s["received"], s["duplicates"], s["missing"], s["latency_ms"]["p99"])' "$json" "$k")
    fi
    sse_cols+="${sse_cols:+; }node $((k + 1)): $r, dup $d, miss $m, p99 $p"
    ((d == 0 && m == 0)) || sse_ok=0
  done
  local dup miss other left hbf unknown
  dup="$(json_get "$json" nats.duplicates)" miss="$(json_get "$json" nats.missing)"
  other="$(json_get "$json" nats.other_reasons)" left="$(json_get "$json" still_present)"
  hbf="$(json_get "$json" heartbeat_failures)" unknown="$(json_get "$json" nats.unknown)"
  row+=" | $sse_cols | $unknown | $hbf | $(json_get "$json" max_request_rtt_ms) | $left |"
  EXP_ROWS+=("$row")
  # Judged on the probe's own streams: p99, and each event exactly once on NATS and every SSE
  # stream, with reason "expired", every heartbeat accepted and every stream gone afterwards.
  local p99 met=no
  p99="$(json_get "$json" nats.latency_ms.p99)"
  if ((dup == 0 && miss == 0 && other == 0 && left == 0 && hbf == 0 && sse_ok == 1)) &&
    awk -v p="$p99" -v t="$TARGET_EXPIRY_P99_MS" 'BEGIN {exit !(p < t)}'; then
    met=yes
  else
    ALL_MET=0
  fi
  VERDICTS+=("| expiry → NATS event p99 < $TARGET_EXPIRY_P99_MS ms, each event exactly once ($label) | p99 $p99 ms; $(json_get "$json" nats.duplicates) duplicates, $(json_get "$json" nats.missing) missing (SSE: $([[ $sse_ok == 1 ]] && echo "all exactly once" || echo "**not** exactly once")) | **$met** |")
  log "$label: $(tail -c 400 "$json")"
}

if [[ "$EXPIRY" == 1 ]]; then
  log "=== expiry: 2 nodes, --stream-ttl $EXPIRY_TTL ==="
  redis_cmd FLUSHALL
  read -r -a flags <<<"$(node_flags redis)"
  start_node expiry-0 1 "$EXPIRY_TTL" "${flags[@]}"
  start_node expiry-1 1 "$EXPIRY_TTL" "${flags[@]}"
  wait_idle
  EXP_BUSY_IDLE="$BUSY"
  run_probe "idle nodes"
  check_nodes
  if [[ "$EXPIRY_LOAD" == 1 ]]; then
    # Background load: STREAMS streams kept alive by wrk on both nodes until the probe is done
    # (wrk is stopped with SIGINT, which makes it print its report). Each node's wrk starts as
    # soon as that node's streams are advertised, so none of them lives unheartbeated for long
    # (the TTL is short here); any that expired anyway would show as wrk errors (404) below.
    wait_idle
    EXP_BUSY_LOAD="$BUSY"
    WRK_PIDS=()
    for k in "${!NODE_PORTS[@]}"; do
      from=$((STREAMS * k / ${#NODE_PORTS[@]})) to=$((STREAMS * (k + 1) / ${#NODE_PORTS[@]}))
      : >"$WORK/ids-expiry-$k.txt"
      advertise "${NODE_PORTS[$k]}" "$from" "$to" "$WORK/ids-expiry-$k.txt"
      wrk_command "$k" 3600s "$WORK/ids-expiry-$k.txt"
      start_wrk expiry-load "$k" "$WRK_CMD"
    done
    log "wrk per node: ${WRK_CMD%% -s *}"
    sleep 2
    run_probe "under heartbeat load"
    for pid in "${WRK_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    wait_wrks expiry-load
    check_nodes
    load_rps=0 load_err=0 load_p99=0
    for k in "${!NODE_PORTS[@]}"; do
      parse_wrk "$WORK/wrk-expiry-load-$k.txt"
      load_rps=$((load_rps + W_RPS)) load_err=$((load_err + W_ERRORS))
      load_p99="$(awk -v a="$load_p99" -v b="$W_P99" 'BEGIN {print (b > a ? b : a)}')"
    done
    LOAD_NOTE="$load_rps heartbeats/s on $STREAMS other streams (worst node p99 $load_p99 ms, $load_err errors)"
    log "load during the probe: $LOAD_NOTE"
  fi
  stop_nodes
fi

# ---------------------------------------------------------------------------------------------
# Report

COMMAND="SLUICED=${SLUICED#"$ROOT"/}"
[[ "$EXPIRY" == 1 ]] && COMMAND+=" PROBE=${PROBE#"$ROOT"/}"
[[ "$CASES" != "memory-1x1 redis-1x1 redis-1x2 redis-2x1 redis-2x2 redis-local-1x1" ]] && COMMAND+=" CASES=\"$CASES\""
[[ "$DURATION" != 10s ]] && COMMAND+=" DURATION=$DURATION"
[[ "$CONNECTIONS" != 64 ]] && COMMAND+=" CONNECTIONS=$CONNECTIONS"
[[ "$WRK_THREADS" != 2 ]] && COMMAND+=" WRK_THREADS=$WRK_THREADS"
[[ "$STREAMS" != 1000 ]] && COMMAND+=" STREAMS=$STREAMS"
[[ "$EXPIRY" != 1 ]] && COMMAND+=" EXPIRY=$EXPIRY"
[[ "$EXPIRY_TTL" != 2 ]] && COMMAND+=" EXPIRY_TTL=$EXPIRY_TTL"
[[ "$EXPIRY_STREAMS" != 200 ]] && COMMAND+=" EXPIRY_STREAMS=$EXPIRY_STREAMS"
[[ "$EXPIRY_ROUNDS" != 5 ]] && COMMAND+=" EXPIRY_ROUNDS=$EXPIRY_ROUNDS"
[[ "$EXPIRY_LOAD" != 1 ]] && COMMAND+=" EXPIRY_LOAD=$EXPIRY_LOAD"
COMMAND+=" bench/cluster_bench.sh"

cat <<EOF
### Distributed mode — $STARTED

* Machine: $CPU_MODEL, \`nproc\` = $NPROC, Linux $(uname -r); redis-server, nats-server, the nodes, wrk and the probe all share these cores over loopback
* Daemon: ${VERSION:-sluiced} (repo HEAD $REV), \`${SLUICED#"$ROOT"/}\` built $BIN_DATE (sha256 $BIN_SHA); nodes run \`--history :memory: --rtmp off --log-level warn\`
* Redis $("$REDIS_SERVER" --version | awk '{print $3}' | sed 's/v=//') (\`--save "" --appendonly no\`), nats-server $("$NATS_SERVER" --version | awk '{print $2}'), $WRK_VERSION
* Command: \`$COMMAND\`

#### Heartbeat throughput ($STREAMS streams, TTL 3600 s, \`wrk --latency -d$DURATION --timeout $WRK_TIMEOUT\`, $CONNECTIONS connections and $WRK_THREADS wrk threads in total)

Case \`STORE-NxT\`: N nodes with \`--threads T\`; \`memory\` = embedded store and local bus,
\`redis\` = \`--store redis:// --bus nats://\`, \`redis-local\` = \`--store redis://\` with the local bus.
With two nodes each has its own wrk (half the connections and threads, heartbeating the half of
the streams advertised on it).

| Case | Connections | Heartbeats/s | p50 (ms) | p99 (ms) | Errors |
|---|---:|---:|---:|---:|---:|
EOF
printf '%s\n' "${TP_ROWS[@]}"
cat <<EOF

CPU during each run, in cores of the $NPROC-core machine (utime+stime from /proc/PID/stat and
/proc/stat; "steal" is time the hypervisor gave this VM's vCPUs to others). "Waiting for a CPU"
is the run-queue delay of each process's threads (/proc/PID/task/*/schedstat) per second of run:
the average number of its threads that were runnable but had no core (sluiced, all nodes /
redis-server / nats-server). "Busy before" is how busy the machine was just before the run
(other work).

| Case | sluiced | redis-server | nats-server | wrk | other | all | steal | sluiced µs/heartbeat | redis µs/heartbeat | waiting for a CPU | busy before |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
printf '%s\n' "${CPU_ROWS[@]}"

if [[ "$EXPIRY" == 1 ]]; then
  cat <<EOF

#### Expiry → event (2 nodes, \`--threads 1\`, \`--stream-ttl $EXPIRY_TTL\`)

\`sluice_expiry_probe\`: $EXPIRY_ROUNDS rounds of $EXPIRY_STREAMS streams advertised alternately on
the two nodes, one heartbeat each through the other node, then silence. Latency = arrival of the
stream's \`maestra.stream.withdraw.<id>\` event − (send time of its last request + TTL), in ms;
the SSE column is the same for each node's \`GET /streams/events\`. "Max request RTT" bounds how
much the deadline taken at send time can be early. "Events of other streams": withdraw events for
streams the probe did not create (none expected). Machine busy before: ${EXP_BUSY_IDLE:-?} % (idle run)${EXP_BUSY_LOAD:+, $EXP_BUSY_LOAD % (load run)}.

| Condition | NATS events / streams | Duplicates | Missing | p50 | p90 | p99 | max | SSE per node (events, duplicates, missing, p99 ms) | Events of other streams | Heartbeats refused | Max request RTT (ms) | Streams left |
|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|
EOF
  printf '%s\n' "${EXP_ROWS[@]}"
  [[ -n "${LOAD_NOTE:-}" ]] && printf '\nLoad during the second run: %s.\n' "$LOAD_NOTE"
fi

cat <<EOF

| Target | Measured | Met |
|---|---|---|
EOF
printf '%s\n' "${VERDICTS[@]}"
if ((${#NOTES[@]} > 0)); then
  echo
  printf -- '* Note: %s\n' "${NOTES[@]}"
fi

if [[ "$STRICT" == 1 && "$ALL_MET" != 1 ]]; then
  log "a target was missed (STRICT=1)"
  exit 2
fi
