#!/usr/bin/env bash
# Authentication cost benchmark (issue 12): heartbeat throughput of `sluiced --auth open` against
# `sluiced --auth required`, in one run, on the same machine state.
#
# For every daemon thread count in $THREADS and every case in $CASES, $ROUNDS times, alternating
# (round 1: --threads 1 open, owner, token, basic, --threads 2 open, ..., basic; round 2: ...),
# the script waits for idle CPUs, starts a fresh sluiced (free loopback ports for HTTP and
# the relay, --rtmp off, --history :memory:, --stream-ttl 3600, a fresh --data-dir in its temp
# directory), advertises $STREAMS streams through one keep-alive curl with the case's credentials,
# checks that one heartbeat with those credentials answers 200, and drives
# POST /streams/{id}/heartbeat with wrk (bench/heartbeat.lua, round-robin over the ids,
# --latency), sending the same credentials on every request (-H "Authorization: ...", which
# wrk.format adds to each pre-formatted request). Cases:
#   open   --auth open: no credentials, no ownership check (sluice before identities)
#   owner  --auth owner (the default mode): no credentials; the streams belong to the client's
#          address and each heartbeat is checked against it
#   token  --auth required --admin-token <random>: a `publisher` API token made with
#          POST /auth/tokens advertises the streams (so it owns them) and every heartbeat sends
#          `Authorization: Bearer st_...` (token lookup + permission + owner check)
#   basic  --auth required: a `publisher` user made with POST /auth/users advertises the streams
#          and every heartbeat sends `Authorization: Basic ...` (argon2id once, then the
#          one-minute verification cache + permission + owner check)
# Reports each run (req/s, avg, p99, errors, CPU split incl. steal) and, per thread count and
# case, the medians over the undisturbed runs (other processes or the hypervisor took < 0.10 of a
# core), the ratio of the median req/s to open's, and the extra daemon CPU per heartbeat.
# Target: token/open ≥ 90 %.
#
# Why two thread counts: with --threads 1 the daemon's one thread is the bottleneck (wrk needs
# about half a core), so req/s follows the daemon's CPU per heartbeat and the ratio shows the
# authentication cost undiluted. With --threads 2 (the default on a 2-core machine) wrk and
# sluiced saturate both cores together and the daemon's CPU per request varies more between runs.
#
# Results go to stdout as Markdown; progress goes to stderr.
#
#   bench/auth_bench.sh > results.md
#   SLUICED=build-lead/bin/sluiced DURATION=10s ROUNDS=3 bench/auth_bench.sh
#   CASES="open token" THREADS=2 ROUNDS=2 bench/auth_bench.sh   # open, token, open, token
#
# Environment (paths relative to the current directory or to the repo root):
#   SLUICED      daemon binary (default build/bin/sluiced); a private copy is run
#   CASES        cases in the order they alternate (default "open owner token basic"); the
#                ratios are against `open`, which must be among them
#   ROUNDS       how many times each case runs (default 3); medians are over the rounds
#   DURATION     wrk duration per run (default 10s)
#   THREADS      daemon --threads values (default "1 2")
#   CONNECTIONS  wrk connections (default 64)
#   WRK_THREADS  wrk threads (default 2)
#   WRK_TIMEOUT  wrk request timeout (default 10s)
#   STREAMS      advertised streams (default 1000)
#   STRICT       1 to exit with status 2 when the target is missed (default 0)
#   WAIT_IDLE    seconds to wait, before each run, for other processes to leave the CPUs idle
#                (default 120; 0 to not wait); the CPU other processes used during each run is
#                reported either way, so a disturbed figure can be spotted
#
# wrk and sluiced share this machine's cores over loopback; the figures are for that setup.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_NAME=auth_bench
# shellcheck source=bench/bench_lib.sh
source "$ROOT/bench/bench_lib.sh"

SLUICED="${SLUICED:-build/bin/sluiced}"
CASES="${CASES:-open owner token basic}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-1 2}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_TIMEOUT="${WRK_TIMEOUT:-10s}"
STREAMS="${STREAMS:-1000}"
STRICT="${STRICT:-0}"
WAIT_IDLE="${WAIT_IDLE:-120}"

TARGET_RATIO=90 # % of open's heartbeat rate, for `--auth required` with a bearer token

# die — bench_lib's, plus the end of the daemon's log when it has died.
die() {
  log "error: $*"
  if [[ -n "${DAEMON_PID:-}" ]] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
    log "sluiced is no longer running; end of $DAEMON_LOG:"
    tail -n 20 "$DAEMON_LOG" 2>/dev/null | sed 's/^/    /' >&2 || true
  fi
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Preconditions

for tool in wrk curl awk base64; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found in PATH"
done
SLUICED="$(resolve "$SLUICED")"
[[ -x "$SLUICED" ]] || die "daemon not found or not executable: $SLUICED (build it, or set SLUICED=path/to/sluiced)"
HB_LUA="$ROOT/bench/heartbeat.lua"
[[ -r "$HB_LUA" ]] || die "missing $HB_LUA"
for c in $CASES; do
  [[ " open owner token basic " == *" $c "* ]] || die "unknown case '$c' (known: open owner token basic)"
done
[[ " $CASES " == *" open "* ]] || die "CASES must include open (the reference of the ratios)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive number"
[[ "$STREAMS" =~ ^[1-9][0-9]*$ ]] || die "STREAMS must be a positive number"
for t in $THREADS; do
  [[ "$t" =~ ^[0-9]+$ ]] || die "THREADS must be numbers, got '$t'"
done
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sluice-auth-bench.XXXXXX")"
chmod 700 "$WORK"
DAEMON_PID=""
DAEMON_LOG=""
PORT=""

stop_daemon() {
  [[ -n "$DAEMON_PID" ]] || return 0
  local pid="$DAEMON_PID"
  DAEMON_PID=""
  stop "$pid"
}
cleanup() {
  stop_daemon
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run a private copy, so a rebuild of $SLUICED during the run cannot change the binary under test.
DAEMON_BIN="$WORK/sluiced"
cp "$SLUICED" "$DAEMON_BIN"
BIN_SHA="$(sha256sum "$DAEMON_BIN" | cut -c1-12)"
BIN_DATE="$(date -u -r "$SLUICED" +%Y-%m-%dT%H:%MZ)"

# A random bootstrap admin token (from a file, so it is not on the process list) and user password.
random_secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }
ADMIN_TOKEN="$(random_secret)"
(umask 077 && printf '%s\n' "$ADMIN_TOKEN" >"$WORK/admin-token")
BENCH_USER=auth-bench
BENCH_PASSWORD="$(random_secret)"

# ---------------------------------------------------------------------------------------------
# Daemon

# start_daemon NAME MODE THREADS — a fresh sluiced with --auth MODE (plus --admin-token for
# required) and --threads THREADS; sets DAEMON_PID, DAEMON_LOG and PORT.
start_daemon() {
  local name="$1" mode="$2" threads="$3" wire data="$WORK/data-$1"
  local -a extra=()
  [[ "$mode" == required ]] && extra=(--admin-token "@$WORK/admin-token")
  PORT="$(free_port)" wire="$(free_port)"
  DAEMON_LOG="$WORK/sluiced-$name.log"
  mkdir -p "$data"
  "$DAEMON_BIN" --onvif off --mdns off --osc off --mqtt off --http "127.0.0.1:$PORT" --wire "127.0.0.1:$wire" --rtmp off --rtsp off --rtsp-udp-ports off --srt off \
    --history :memory: --stream-ttl 3600 --data-dir "$data" --threads "$threads" \
    --log-level warn --auth "$mode" "${extra[@]}" >"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  local deadline=$((SECONDS + 10)) health=""
  while :; do
    kill -0 "$DAEMON_PID" 2>/dev/null || die "sluiced ($name) exited during startup"
    health="$(curl -fsS --max-time 2 "http://127.0.0.1:$PORT/health" 2>/dev/null || true)"
    [[ "$health" == '{"status":"ok"'* ]] && break
    ((SECONDS < deadline)) || die "sluiced ($name) is not healthy after 10 s: ${health:-no answer}"
    sleep 0.1
  done
}

# admin_post PATH JSON OUT — POST as the bootstrap admin; fails unless the answer is 201.
admin_post() {
  local code
  code="$(curl -sS -o "$3" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' "http://127.0.0.1:$PORT$1" -d "$2")" ||
    die "POST $1 failed"
  [[ "$code" == 201 ]] || die "POST $1 answered $code: $(cat "$3")"
}

# credentials CASE — sets AUTH (the Authorization header value, empty for none) for CASE,
# creating the token or user on the running daemon.
credentials() {
  AUTH=""
  case "$1" in
    token)
      admin_post /auth/tokens '{"name":"auth-bench","role":"publisher"}' "$WORK/token.json"
      AUTH="Bearer $(json_get "$WORK/token.json" token)"
      [[ "$AUTH" == "Bearer st_"* ]] || die "POST /auth/tokens gave no token: $(cat "$WORK/token.json")"
      ;;
    basic)
      admin_post /auth/users \
        "{\"name\":\"$BENCH_USER\",\"password\":\"$BENCH_PASSWORD\",\"role\":\"publisher\"}" \
        "$WORK/user.json"
      AUTH="Basic $(printf '%s:%s' "$BENCH_USER" "$BENCH_PASSWORD" | base64 -w0)"
      ;;
  esac
}

# advertise_as IDS_FILE — STREAMS `sensor` streams through one keep-alive curl, sending AUTH;
# appends their ids to IDS_FILE. (bench_lib's advertise_streams, plus the header.)
advertise_as() {
  local ids="$1" cfg="$WORK/advertise.cfg" out="$WORK/advertise.out"
  awk -v n="$STREAMS" -v url="http://127.0.0.1:$PORT/streams/advertise" -v auth="$AUTH" 'BEGIN {
    for (i = 0; i < n; i++) {
      if (i > 0) print "next"
      print "url = \"" url "\""
      print "header = \"Content-Type: application/json\""
      if (auth != "") print "header = \"Authorization: " auth "\""
      printf "data = \"{\\\"name\\\":\\\"bench-%05d\\\",\\\"stream_type\\\":\\\"sensor\\\",", i
      printf "\\\"publisher_id\\\":\\\"sluice-auth-bench\\\",\\\"protocol\\\":\\\"udp\\\","
      printf "\\\"address\\\":\\\"10.0.0.1\\\",\\\"port\\\":%d}\"\n", 9000 + i % 50000
      print "silent"
      print "write-out = \"\\t%{http_code}\\n\""
    }
  }' >"$cfg"
  curl -K "$cfg" >"$out" 2>"$out.err" || die "advertising failed (curl: $(tail -n3 "$out.err"))"
  rm -f "$cfg" # it holds the credentials
  local ok
  ok="$(awk -F'\t' '$2 == "201"' "$out" | wc -l)"
  ((ok == STREAMS)) ||
    die "advertising: $ok of $STREAMS requests answered 201; first failure:"$'\n'"$(awk -F'\t' '$2 != "201"' "$out" | head -n1)"
  awk -F'\t' '$2 == "201" && match($1, /"id":"[0-9a-fA-F-]+"/) {
    print substr($1, RSTART + 6, RLENGTH - 7)
  }' "$out" >"$ids"
  [[ "$(wc -l <"$ids")" == "$STREAMS" ]] || die "advertising: could not read $STREAMS stream ids"
}

# as_client ARGS... — curl with AUTH, if any.
as_client() {
  if [[ -n "$AUTH" ]]; then
    curl -H "Authorization: $AUTH" "$@"
  else
    curl "$@"
  fi
}

last_heartbeat() {
  as_client -fsS "http://127.0.0.1:$PORT/streams/$1" |
    sed -n 's/.*"last_heartbeat":"\([^"]*\)".*/\1/p'
}

# ---------------------------------------------------------------------------------------------
# CPU accounting (no forks between snapshots, so the shell's children times are wrk's alone)

CLK_TCK="$(getconf CLK_TCK)"
NPROC="$(nproc)"

# cpu_snapshot — sets SNAP_T (s), SNAP_BUSY (machine busy jiffies, all cores), SNAP_STEAL
# (jiffies the hypervisor gave to other guests), SNAP_DAEMON (sluiced user+system jiffies) and
# SNAP_CHILD (user+system jiffies of waited-for children).
cpu_snapshot() {
  local user nice system irq softirq steal line
  local -a f
  SNAP_T="$EPOCHREALTIME"
  read -r _ user nice system _ _ irq softirq steal _ </proc/stat
  SNAP_BUSY=$((user + nice + system + irq + softirq))
  SNAP_STEAL="$steal"
  SNAP_DAEMON=0
  if [[ -n "$DAEMON_PID" ]] && read -r line <"/proc/$DAEMON_PID/stat"; then
    read -r -a f <<<"${line##*) }"
    SNAP_DAEMON=$((f[11] + f[12]))
  fi
  read -r line <"/proc/$$/stat"
  read -r -a f <<<"${line##*) }"
  SNAP_CHILD=$((f[13] + f[14]))
}

# cores JIFFIES SECONDS — average number of cores busy.
cores() { awk -v j="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", (s > 0 ? j / hz / s : 0)}'; }

# run_wrk NAME IDS_FILE — waits for idle CPUs, runs wrk on the heartbeats with AUTH and sets
# RPS, AVG_MS, P99_MS, ERRORS, CPU_DAEMON, CPU_WRK, CPU_OTHER, CPU_STEAL (cores) and US_PER_REQ
# (sluiced CPU µs per request).
run_wrk() {
  local name="$1" ids="$2" out="$WORK/wrk-$1.txt"
  local -a cmd=(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout "$WRK_TIMEOUT" --latency)
  [[ -n "$AUTH" ]] && cmd+=(-H "Authorization: $AUTH")
  cmd+=(-s "$HB_LUA" "http://127.0.0.1:$PORT" -- "$ids")
  wait_for_quiet
  echo "$BENCH_NAME: ${cmd[*]}" | sed -E 's/(Authorization: [A-Za-z]+) [^ ]+/\1 <secret>/' >&2
  cpu_snapshot
  local t0="$SNAP_T" b0="$SNAP_BUSY" d0="$SNAP_DAEMON" c0="$SNAP_CHILD" s0="$SNAP_STEAL"
  "${cmd[@]}" >"$out" 2>&1 || die "wrk failed for $name:"$'\n'"$(cat "$out")"
  cpu_snapshot
  local secs jd=$((SNAP_DAEMON - d0)) jw=$((SNAP_CHILD - c0)) jb=$((SNAP_BUSY - b0))
  secs="$(awk -v a="$t0" -v b="$SNAP_T" 'BEGIN {printf "%.3f", b - a}')"
  CPU_DAEMON="$(cores "$jd" "$secs")"
  CPU_WRK="$(cores "$jw" "$secs")"
  CPU_OTHER="$(cores $((jb - jd - jw < 0 ? 0 : jb - jd - jw)) "$secs")"
  CPU_STEAL="$(cores $((SNAP_STEAL - s0)) "$secs")"
  local requests non2xx sockerr
  requests="$(awk '/ requests in / {print $1; exit}' "$out")"
  US_PER_REQ="$(awk -v j="$jd" -v hz="$CLK_TCK" -v n="${requests:-0}" 'BEGIN {printf "%.1f", (n > 0 ? 1e6 * j / hz / n : 0)}')"
  RPS="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
  AVG_MS="$(to_ms "$(awk '$1 == "Latency" && NF >= 4 {print $2; exit}' "$out")")"
  P99_MS="$(to_ms "$(awk '$1 == "99%" {print $2; exit}' "$out")")"
  [[ -n "$RPS" && "$P99_MS" != nan && "$AVG_MS" != nan ]] ||
    die "cannot parse wrk output for $name:"$'\n'"$(cat "$out")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")"
  sockerr="$(awk '/Socket errors:/ {
      n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { gsub(",", "", $i); n += $i }; print n }' "$out")"
  ERRORS=$((${non2xx:-0} + ${sockerr:-0}))
  ((ERRORS == 0)) || log "WARNING: $name had $ERRORS failed requests (non-2xx ${non2xx:-0}, socket errors ${sockerr:-0})"
  log "  $name: $RPS req/s, avg $AVG_MS ms, p99 $P99_MS ms, errors $ERRORS;" \
    "CPU cores: sluiced $CPU_DAEMON ($US_PER_REQ us/req), wrk $CPU_WRK, other $CPU_OTHER, steal $CPU_STEAL"
}

# median NUMBERS... — the median (mean of the two middle values for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    print m
  }'
}

# ---------------------------------------------------------------------------------------------
# Runs

case_mode() {
  case "$1" in
    open) echo open ;;
    owner) echo owner ;;
    *) echo required ;;
  esac
}
# shellcheck disable=SC2016 # backquotes are Markdown
case_label() {
  case "$1" in
    open) echo '`--auth open`, no credentials' ;;
    owner) echo '`--auth owner`, no credentials (owner = address)' ;;
    token) echo '`--auth required`, `Bearer st_…` (publisher token)' ;;
    basic) echo '`--auth required`, `Basic` (publisher user)' ;;
  esac
}

CPU_MODEL="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
VERSION="$( (timeout 5 "$DAEMON_BIN" --version 2>/dev/null || true) | head -n1)"
REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$REV" != unknown && -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  REV="$REV (modified)"
fi
WRK_VERSION="$( (wrk -v 2>&1 || true) | head -n1 | awk '{print $1, $2}')"
COMMAND="SLUICED=${SLUICED#"$ROOT"/} DURATION=$DURATION ROUNDS=$ROUNDS"
[[ "$CASES" != "open owner token basic" ]] && COMMAND+=" CASES=\"$CASES\""
[[ "$THREADS" != "1 2" ]] && COMMAND+=" THREADS=\"$THREADS\""
[[ "$CONNECTIONS" != 64 ]] && COMMAND+=" CONNECTIONS=$CONNECTIONS"
[[ "$WRK_THREADS" != 2 ]] && COMMAND+=" WRK_THREADS=$WRK_THREADS"
[[ "$WRK_TIMEOUT" != 10s ]] && COMMAND+=" WRK_TIMEOUT=$WRK_TIMEOUT"
[[ "$STREAMS" != 1000 ]] && COMMAND+=" STREAMS=$STREAMS"
COMMAND+=" bench/auth_bench.sh"
STARTED="$(date -u +%Y-%m-%dT%H:%MZ)"

declare -a ROWS=()
# Per "THREADS/CASE": space-separated lists over the rounds; R_DIST is 1 for a run where other
# processes or the hypervisor took ≥ 0.10 of a core.
declare -A R_RPS=() R_P99=() R_US=() R_DIST=() R_ERR=()

for round in $(seq 1 "$ROUNDS"); do
  for t in $THREADS; do
    for c in $CASES; do
      name="t$t-$c-$round" key="$t/$c"
      log "=== round $round/$ROUNDS: --threads $t, $c ==="
      start_daemon "$name" "$(case_mode "$c")" "$t"
      credentials "$c"
      ids="$WORK/ids-$name.txt"
      advertise_as "$ids"
      probe="$(head -n1 "$ids")"
      # The credentials must be accepted, and a heartbeat with them must land (this also fills
      # the Basic verification cache before the measured run).
      code="$(as_client -sS -o /dev/null -w '%{http_code}' -X POST \
        "http://127.0.0.1:$PORT/streams/$probe/heartbeat")"
      [[ "$code" == 200 ]] || die "$c: a heartbeat with the case's credentials answered $code"
      if [[ "$(case_mode "$c")" == required ]]; then
        # Without credentials it must be refused, so the case really measures authenticated
        # heartbeats.
        code="$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
          "http://127.0.0.1:$PORT/streams/$probe/heartbeat")"
        [[ "$code" == 401 ]] || die "$c: a heartbeat without credentials answered $code, expected 401"
      fi
      before="$(last_heartbeat "$probe")"
      run_wrk "$name" "$ids"
      after="$(last_heartbeat "$probe")"
      [[ -n "$after" && "$after" != "$before" ]] || die "$c: heartbeats did not update last_heartbeat of $probe"
      kill -0 "$DAEMON_PID" 2>/dev/null || die "sluiced ($name) died during the run"
      stop_daemon
      rm -rf "$WORK/data-$name" # its audit.log (~200 bytes a heartbeat) is not left to write back
      disturbed=0 mark=""
      if awk -v o="$CPU_OTHER" -v s="$CPU_STEAL" 'BEGIN {exit !(o >= 0.10 || s >= 0.10)}'; then
        disturbed=1 mark=" (disturbed)"
      fi
      ROWS+=("| $round | $t | $c$mark | $RPS | $AVG_MS | $P99_MS | $ERRORS | $CPU_DAEMON | $US_PER_REQ | $CPU_WRK | $CPU_OTHER | $CPU_STEAL | $BUSY % |")
      R_RPS[$key]+="$RPS " R_P99[$key]+="$P99_MS " R_US[$key]+="$US_PER_REQ " R_DIST[$key]+="$disturbed "
      R_ERR[$key]=$((${R_ERR[$key]:-0} + ERRORS))
    done
  done
done

# ---------------------------------------------------------------------------------------------
# Report

# pick KEY ARRAY — sets PICKED to the values of ARRAY[KEY] from undisturbed runs (all of them
# when every run was disturbed) and USED to how many were used.
pick() {
  local -n arr="$2"
  local -a v d out=()
  local i
  read -r -a v <<<"${arr[$1]}"
  read -r -a d <<<"${R_DIST[$1]}"
  for i in "${!v[@]}"; do
    ((d[i] == 0)) && out+=("${v[i]}")
  done
  USED="${#out[@]} of ${#v[@]}"
  if ((${#out[@]} == 0)); then
    out=("${v[@]}")
    USED="${#v[@]} of ${#v[@]}, all disturbed"
  fi
  PICKED="${out[*]}"
}

declare -a SUMMARY=() VERDICTS=()
MET=1
for t in $THREADS; do
  # shellcheck disable=SC2086 # PICKED is a space-separated list
  pick "$t/open" R_RPS && open_rps="$(median $PICKED)" open_used="$USED"
  # shellcheck disable=SC2086
  pick "$t/open" R_US && open_us="$(median $PICKED)"
  for c in $CASES; do
    key="$t/$c"
    # shellcheck disable=SC2086
    pick "$key" R_RPS && rps="$(median $PICKED)"
    # shellcheck disable=SC2086
    pick "$key" R_P99 && p99="$(printf '%.2f' "$(median $PICKED)")"
    # shellcheck disable=SC2086
    pick "$key" R_US && us="$(printf '%.1f' "$(median $PICKED)")"
    ratio="$(awk -v a="$rps" -v b="$open_rps" 'BEGIN {printf "%.1f", (b > 0 ? 100 * a / b : 0)}')"
    cpu_ratio="$(awk -v a="$us" -v b="$open_us" 'BEGIN {printf "%.1f", (a > 0 ? 100 * b / a : 0)}')"
    extra_us="$(awk -v a="$us" -v b="$open_us" 'BEGIN {printf "%+.1f", a - b}')"
    # Each round's req/s over the open run of the same round ("–" when either was disturbed).
    per_round=""
    read -r -a a <<<"${R_RPS[$key]}"
    read -r -a o <<<"${R_RPS[$t/open]}"
    read -r -a da <<<"${R_DIST[$key]}"
    read -r -a dopen <<<"${R_DIST[$t/open]}"
    for i in "${!a[@]}"; do
      if ((da[i] || dopen[i])); then
        per_round+="– "
      else
        per_round+="$(awk -v x="${a[i]}" -v y="${o[i]}" 'BEGIN {printf "%.0f", (y > 0 ? 100 * x / y : 0)}') "
      fi
    done
    per_round="${per_round% }"
    SUMMARY+=("| $t | $(case_label "$c") | $(printf '%.0f' "$rps") | $p99 | $us | $extra_us | **$ratio %** | $cpu_ratio % | ${per_round// / / } | $USED | ${R_ERR[$key]} |")
    if [[ "$c" == token || "$c" == basic ]]; then
      ok=no
      if [[ "$open_used" == *disturbed || "$USED" == *disturbed ]]; then
        # Undisturbed runs of one side against disturbed runs of the other say nothing.
        ok="not measured: every run of open or of this case was disturbed; rerun on an idle machine"
        [[ "$c" == token ]] && MET=0
      elif awk -v r="$ratio" -v x="$TARGET_RATIO" 'BEGIN {exit !(r >= x)}' && ((${R_ERR[$key]} == 0)); then
        ok=yes
      elif [[ "$c" == token ]]; then
        MET=0
      fi
      VERDICTS+=("| \`--threads $t\`, $(case_label "$c"): ≥ $TARGET_RATIO % of open's heartbeats/s | $ratio % ($(printf '%.0f' "$rps") vs $(printf '%.0f' "$open_rps") req/s) | **$ok** |")
    fi
  done
done

cat <<EOF
### Authentication cost (heartbeats) — $STARTED

* Machine: $CPU_MODEL, \`nproc\` = $NPROC, Linux $(uname -r); wrk and sluiced share these cores over loopback
* Daemon: ${VERSION:-sluiced} (repo HEAD $REV), \`${SLUICED#"$ROOT"/}\` built $BIN_DATE (sha256 $BIN_SHA), a fresh one per run: \`--http 127.0.0.1:FREE --wire 127.0.0.1:FREE --rtmp off --history :memory: --stream-ttl 3600 --data-dir FRESH --log-level warn --threads T --auth MODE\`
* Load: $WRK_VERSION, \`wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --timeout $WRK_TIMEOUT --latency -s bench/heartbeat.lua\`, round-robin over $STREAMS streams advertised with the case's credentials
* Order: $ROUNDS rounds of \`--threads\` $THREADS × \`$CASES\`, each run after waiting for idle CPUs (up to $WAIT_IDLE s)
* Command: \`$COMMAND\`

| Round | \`--threads\` | Case | Req/s | Avg (ms) | p99 (ms) | Errors | sluiced CPU (cores) | sluiced CPU µs/req | wrk CPU (cores) | other CPU (cores) | steal (cores) | busy before |
|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
printf '%s\n' "${ROWS[@]}"
cat <<EOF

Medians over the undisturbed runs ("runs"; a run is disturbed when other processes or the
hypervisor took ≥ 0.10 of a core). "vs open" is the median req/s over open's at the same
\`--threads\`; "open µs / µs" is open's daemon CPU per heartbeat over the case's (the rate ratio
if the daemon alone were the limit); "per round" is each round's req/s over the open run of the
same round (– when either was disturbed):

| \`--threads\` | Case | Req/s | p99 (ms) | sluiced CPU µs/req | µs/req vs open | vs open | open µs / µs | per round (%) | runs | Errors |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|
EOF
printf '%s\n' "${SUMMARY[@]}"
if ((${#VERDICTS[@]} > 0)); then
  cat <<EOF

| Target | Measured | Met |
|---|---|---|
EOF
  printf '%s\n' "${VERDICTS[@]}"
fi
cat <<EOF

CPU columns are averages over each wrk run, in cores of the $NPROC-core machine (from /proc/stat
and /proc/PID/stat): sluiced, wrk, and everything else (about 0 on an idle machine); "steal" is
CPU time the hypervisor gave to other guests. "busy before" is how busy the CPUs were in the
second before the run.
EOF

if [[ "$STRICT" == 1 && "$MET" != 1 ]]; then
  log "the target was missed (STRICT=1)"
  exit 2
fi
