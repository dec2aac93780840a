#!/usr/bin/env bash
# Relay benchmark: nats-server (through bench/nats_peer, sluice_nats_bench) and the sluice relay
# (`sluice bench`), on the same cases and the same machine.
#
# Starts `nats-server -a 127.0.0.1 -p PORT` on a free loopback port and runs (case key, what):
#   small     pubsub 1->1   16 B       PUBSUB_MSGS  (default 2,000,000)
#   fanout    pubsub 1->4   128 B      FANOUT_MSGS  (default 500,000; FANOUT_SUBS subscribers, default 4)
#   large     pubsub 1->1   65,536 B   LARGE_MSGS   (default 20,000)
#   reqrep    reqrep        16 B       REQREP_MSGS  (default 20,000 sequential round trips)
#   tls       pubsub 1->1   65,536 B over TLS 1.3, TLS_MSGS (default LARGE_MSGS); sluice only
#             (sluiced --wire-tls with a throwaway self-signed P-256 certificate, `sluice bench
#             pubsub --tls --ca CERT`)
#   priority  `sluice bench priority`: a PRIORITY_BYTES bulk transfer (default 1 GiB, 64 KiB
#             messages, priority 1) and a priority-1000 probe stream at PRIORITY_RATE msgs/s
#             (default 1000) on the same session; then the same with the probe at priority 1
#             (baseline); sluice only
# Each case prints one JSON object (the keys are shared by both tools); the script turns them into
# Markdown tables on stdout. Progress and warnings go to stderr.
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
#   SLUICED_FLAGS daemon flags besides --wire (default "--http 127.0.0.1:0 --history :memory: --onvif off --mdns off --osc off --mqtt off")
#   PUBSUB_MSGS, FANOUT_MSGS, FANOUT_SUBS, LARGE_MSGS, REQREP_MSGS, TLS_MSGS, PRIORITY_BYTES,
#   PRIORITY_RATE   case sizes (see above)
#   ONLY          case keys to run, e.g. ONLY="tls priority" (default: all)
#   WAIT_IDLE     seconds to wait before each case for other processes to leave the CPUs idle
#                 (default 60; 0 to not wait); the busy share seen just before is in the tables
#   SKIP_DEPS=1   do not run scripts/install-deps.sh for nats-server and libnats-dev
#
# Both the server and the clients run on this machine and share its cores over loopback; the
# figures are for that setup. Unpaced pubsub latency includes queueing (the publisher outruns the
# subscribers); reqrep latency is the round trip.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The NATS side is optional for the build (bench/nats_peer is skipped without libnats-dev), so
# its packages are installed here rather than by `make deps`.
[[ "${SKIP_DEPS:-0}" == 1 ]] || "$ROOT/scripts/install-deps.sh" nats-server libnats-dev >&2

NATS_BENCH="${NATS_BENCH:-build/bin/sluice_nats_bench}"
SLUICE="${SLUICE:-build/bin/sluice}"
SLUICED="${SLUICED:-build/bin/sluiced}"
SLUICED_FLAGS="${SLUICED_FLAGS:---http 127.0.0.1:0 --history :memory: --onvif off --mdns off --osc off --mqtt off}"
PUBSUB_MSGS="${PUBSUB_MSGS:-2000000}"
FANOUT_MSGS="${FANOUT_MSGS:-500000}"
FANOUT_SUBS="${FANOUT_SUBS:-4}"
LARGE_MSGS="${LARGE_MSGS:-20000}"
REQREP_MSGS="${REQREP_MSGS:-20000}"
TLS_MSGS="${TLS_MSGS:-$LARGE_MSGS}"
PRIORITY_BYTES="${PRIORITY_BYTES:-1073741824}"
PRIORITY_RATE="${PRIORITY_RATE:-1000}"
ONLY="${ONLY:-small fanout large reqrep tls priority}"
WAIT_IDLE="${WAIT_IDLE:-60}"

BENCH_NAME=relay_bench
# shellcheck source=bench/bench_lib.sh
. "$ROOT/bench/bench_lib.sh"


for v in PUBSUB_MSGS FANOUT_MSGS FANOUT_SUBS LARGE_MSGS REQREP_MSGS TLS_MSGS PRIORITY_BYTES \
  PRIORITY_RATE; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number, got '${!v}'"
done
[[ "$WAIT_IDLE" =~ ^[0-9]+$ ]] || die "WAIT_IDLE must be a number of seconds, got '$WAIT_IDLE'"

NATS_BENCH="$(resolve "$NATS_BENCH")"
SLUICE="$(resolve "$SLUICE")"
SLUICED="$(resolve "$SLUICED")"
[[ -x "$NATS_BENCH" ]] || die "NATS peer not found: $NATS_BENCH (build target sluice_nats_bench, or set NATS_BENCH)"
NATS_SERVER="${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}"
[[ -x "$NATS_SERVER" ]] || die "nats-server not found (Debian: apt-get install nats-server, or set NATS_SERVER)"


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
PRIORITY_OK=0
((SLUICE_OK)) && "$SLUICE" bench priority --help 2>&1 | grep -q -- --probe-rate && PRIORITY_OK=1

# tls_cert — a throwaway self-signed P-256 certificate for localhost and 127.0.0.1 in $WORK.
tls_cert() {
  [[ -s "$WORK/cert.pem" ]] && return 0
  command -v openssl >/dev/null 2>&1 || die "the tls case needs openssl"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || die "openssl could not make a certificate"
}

# start_sluiced [tls] — a fresh daemon with its wire relay on a free port (and with "tls", its
# TLS relay on another); sets SLUICED_PID, WIRE and WIRE_TLS.
start_sluiced() {
  local logfile="$WORK/sluiced.log"
  local -a tls=()
  WIRE="127.0.0.1:$(free_port)"
  WIRE_TLS=""
  if [[ "${1:-}" == tls ]]; then
    tls_cert
    WIRE_TLS="127.0.0.1:$(free_port)"
    tls=(--tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --wire-tls "$WIRE_TLS")
  fi
  # shellcheck disable=SC2086 # SLUICED_FLAGS is a list of flags
  "$SLUICED" $SLUICED_FLAGS --wire "$WIRE" "${tls[@]}" >"$logfile" 2>&1 &
  SLUICED_PID=$!
  local deadline=$((SECONDS + 10))
  until grep -q "sluiced listening" "$logfile"; do
    kill -0 "$SLUICED_PID" 2>/dev/null || die "sluiced exited during startup: $(tail -n 5 "$logfile")"
    ((SECONDS < deadline)) || die "sluiced did not print 'sluiced listening' within 10 s"
    sleep 0.1
  done
  wait_port "${WIRE##*:}" "$SLUICED_PID" sluiced
  [[ -z "$WIRE_TLS" ]] || wait_port "${WIRE_TLS##*:}" "$SLUICED_PID" "sluiced (TLS)"
}

# run_case OUT TOOL MODE MSGS SIZE SUBS — runs one case; the JSON lands in OUT. Returns 0 when
# OUT holds a result (exit 3, incomplete, still has one: warned, and the table shows delivered).
# MODE pubsub-tls is pubsub over the relay's TLS listener.
run_case() {
  local out="$1" tool="$2" mode="$3" msgs="$4" size="$5" subs="$6" rc=0
  local -a args=("${mode%-tls}" --msgs "$msgs" --size "$size" --json)
  [[ "$mode" == pubsub* ]] && args+=(--subs "$subs")
  wait_for_quiet
  if [[ "$tool" == nats ]]; then
    "$NATS_BENCH" "${args[@]}" --url "nats://127.0.0.1:$NATS_PORT" >"$out" || rc=$?
  elif [[ "$mode" == *-tls ]]; then
    start_sluiced tls
    "$SLUICE" bench "${args[@]}" --tls --ca "$WORK/cert.pem" --wire "$WIRE_TLS" >"$out" || rc=$?
    stop "$SLUICED_PID"
    SLUICED_PID=""
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

# key|name|mode|msgs|size|subs
CASES=(
  "small|pubsub 1->1 16 B|pubsub|$PUBSUB_MSGS|16|1"
  "fanout|pubsub 1->$FANOUT_SUBS 128 B|pubsub|$FANOUT_MSGS|128|$FANOUT_SUBS"
  "large|pubsub 1->1 64 KiB|pubsub|$LARGE_MSGS|65536|1"
  "reqrep|reqrep 16 B|reqrep|$REQREP_MSGS|16|0"
  "tls|pubsub 1->1 64 KiB, TLS 1.3|pubsub-tls|$TLS_MSGS|65536|1"
)

# num VALUE FORMAT [DIVISOR] — a JSON number for the table; "n/a" for null.
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
header="| case | msgs | busy before | nats msgs/s | nats MB/s | nats p50 µs | nats p99 µs | nats dropped |"
rule="|---|---:|---:|---:|---:|---:|---:|---:|"
if ((SLUICE_OK)); then
  header+=" sluice msgs/s | sluice MB/s | sluice p50 µs | sluice p99 µs | msgs/s sluice/nats | bytes/s sluice/nats |"
  rule+="---:|---:|---:|---:|---:|---:|"
fi
rows=()
i=0
for c in "${CASES[@]}"; do
  IFS='|' read -r key name mode msgs size subs <<<"$c"
  wanted "$key" || continue
  i=$((i + 1))
  n="$WORK/nats-$i.json"
  busy=""
  row="| $name | $msgs |"
  if [[ "$mode" == *-tls ]]; then
    row+=" BUSYCELL | n/a | n/a | n/a | n/a | n/a |"  # the NATS peer has no TLS options
  else
    log "case $i: $name, $msgs msgs (nats)"
    if run_case "$n" nats "$mode" "$msgs" "$size" "$subs"; then
      row+=" BUSYCELL |$(cells "$n") $(json_get "$n" dropped) |"
    else
      row+=" BUSYCELL | failed | | | | |"
    fi
    busy="nats ${BUSY}%"
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
    busy+="${busy:+, }sluice ${BUSY}%"
  fi
  rows+=("${row/BUSYCELL/$busy}")
done

if ((${#rows[@]})); then
  echo "$header"
  echo "$rule"
  printf '%s\n' "${rows[@]}"
  echo
  echo "msgs/s and MB/s are deliveries (all subscribers together; reqrep: round trips). Latency:"
  echo "pubsub one-way, unpaced, so it includes queueing; reqrep round trip. \"busy before\": how"
  echo "busy the CPUs were with other work in the second before each tool's run."
  ((SLUICE_OK)) || echo "sluice column skipped: $SLUICE_WHY."
  echo
fi

# ---------------------------------------------------------------------------------------------
# Priority: one session, a bulk transfer and a priority-1000 probe (sluice only).
if wanted priority; then
  if ((!PRIORITY_OK)); then
    log "priority case skipped: no 'sluice bench priority' in $SLUICE"
    echo "priority case skipped: no \`sluice bench priority\` in $SLUICE."
  else
    log "priority: $PRIORITY_BYTES bulk bytes, probe at $PRIORITY_RATE msgs/s (sluice)"
    p="$WORK/priority.json"
    wait_for_quiet
    start_sluiced
    rc=0
    "$SLUICE" bench priority --wire "$WIRE" --bulk-bytes "$PRIORITY_BYTES" \
      --probe-rate "$PRIORITY_RATE" --json >"$p" || rc=$?
    stop "$SLUICED_PID"
    SLUICED_PID=""
    if [[ ! -s "$p" ]]; then
      log "WARNING: sluice bench priority failed (exit status $rc)"
      echo "priority case failed (exit status $rc)."
    else
      ((rc == 0)) || log "WARNING: sluice bench priority: incomplete run (exit status $rc)"
      echo "Priority: $(num "$(json_get "$p" bulk_bytes)" %.0f 1048576) MiB bulk in" \
        "$(json_get "$p" bulk_size)-byte messages, probe $(json_get "$p" probe_size) B at" \
        "$(json_get "$p" probe_rate) msgs/s, one publishing and one subscribing session;" \
        "CPUs ${BUSY}% busy with other work before."
      echo
      echo "| run | probe prio | bulk prio | bulk MB/s | bulk dropped | probes during | probes dropped | probe p50 µs | p90 µs | p99 µs | max µs | idle p50 µs | idle p99 µs |"
      echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
      for run in prioritized baseline; do
        [[ "$(json_get "$p" "$run.probe_priority")" == null ]] && continue
        echo "| $run | $(json_get "$p" "$run.probe_priority") | $(json_get "$p" "$run.bulk_priority") |" \
          "$(num "$(json_get "$p" "$run.bulk_bytes_per_sec")" %.0f 1e6) |" \
          "$(json_get "$p" "$run.bulk_dropped") | $(json_get "$p" "$run.latency_us.samples") |" \
          "$(json_get "$p" "$run.probe_dropped") |" \
          "$(num "$(json_get "$p" "$run.latency_us.p50")" %.0f) |" \
          "$(num "$(json_get "$p" "$run.latency_us.p90")" %.0f) |" \
          "$(num "$(json_get "$p" "$run.latency_us.p99")" %.0f) |" \
          "$(num "$(json_get "$p" "$run.latency_us.max")" %.0f) |" \
          "$(num "$(json_get "$p" "$run.idle_latency_us.p50")" %.0f) |" \
          "$(num "$(json_get "$p" "$run.idle_latency_us.p99")" %.0f) |"
      done
      echo
      echo "Probe latency is publish→receive of the probes sent during the transfer; \"idle\" is"
      echo "the same probe on the same sessions before the transfer starts."
    fi
  fi
fi
