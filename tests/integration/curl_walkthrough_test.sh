#!/usr/bin/env bash
# The curl walkthrough of docs/api.md, run for real: a sluiced on a free port, the `sluice` CLI as
# the publisher that answers requests, and plain curl as every Maestra client would be.
# Usage: curl_walkthrough_test.sh SLUICED SLUICE_CLI
set -euo pipefail
sluiced=$1
cli=$2
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$sluiced" --http 127.0.0.1:0 --rtmp 127.0.0.1:0 --rtsp off --rtsp-udp-ports off --srt off --webrtc-udp off --onvif off --mdns off --osc off --mqtt off --history "$work/history.db" > "$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  port=$(grep -o 'listening http=127.0.0.1:[0-9]*' "$work/daemon.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "sluiced did not start: $(cat "$work/daemon.log")"
base=http://127.0.0.1:$port

# expect STATUS METHOD PATH [BODY] — runs curl, checks the status, leaves the body in $body.
expect() {
  local want=$1 method=$2 path=$3 data=${4:-}
  local args=(-s -o "$work/body" -w '%{http_code}' -X "$method" "$base$path")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' -d "$data")
  local got
  got=$(curl "${args[@]}")
  body=$(cat "$work/body")
  [ "$got" = "$want" ] || fail "$method $path: expected $want, got $got: $body"
}
has() { grep -q -- "$1" <<<"$body" || fail "expected $1 in: $body"; }

camera='{"name": "Stage Camera A", "stream_type": "ndi", "publisher_id": "td-workstation-01",
         "protocol": "ndi", "address": "192.168.1.50", "port": 5960,
         "config": {"resolution": "1920x1080", "fps": 30}}'

expect 201 POST /streams/advertise "$camera"
id=$(grep -o '"id":"[^"]*"' <<<"$body" | head -1 | cut -d'"' -f4)
has '"codec":"h264"'
expect 201 POST /streams/advertise "$camera"
has "\"id\":\"$id\""                               # idempotent: the same id again
expect 200 GET /streams
has "\"id\":\"$id\""
expect 200 GET '/streams?stream_type=ndi'
has "Stage Camera A"
expect 200 GET "/streams/$id"
has '"delivery_mode":"unicast"'
expect 404 GET /streams/00000000-0000-4000-8000-000000000000
has 'Stream not found or expired'
expect 422 GET /streams/not-a-uuid
expect 200 POST "/streams/$id/heartbeat"
has "{\"status\":\"ok\",\"stream_id\":\"$id\"}"

request='{"consumer_id": "max-workstation-02", "consumer_address": "192.168.1.60"}'
expect 504 POST "/streams/$id/request" "$request"
has 'No responder is listening'

# The publisher side, answering requests (the CLI re-advertises the same name: same id).
"$cli" --server "$base" advertise --name "Stage Camera A" --type ndi --protocol ndi \
  --publisher-id td-workstation-01 --address 192.168.1.50 --port 5960 --accept \
  --transport-config '{"ndi_name": "TD-WORKSTATION-01 (Stage Camera A)"}' > "$work/publisher.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  got=$(curl -s -o "$work/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -d "$request" "$base/streams/$id/request")
  [ "$got" = 200 ] && break
  sleep 0.1
done
body=$(cat "$work/body")
[ "$got" = 200 ] || fail "request never accepted: $got $body; publisher: $(cat "$work/publisher.log")"
has '"publisher_port":5960'
has 'TD-WORKSTATION-01 (Stage Camera A)'
session=$(grep -o '"session_id":"[^"]*"' <<<"$body" | cut -d'"' -f4)

expect 200 GET "/streams/sessions?stream_id=$id"
has "$session"
expect 200 POST "/streams/sessions/$session/heartbeat" '{"bytes_transferred": 73400320}'
has "{\"status\":\"ok\",\"session_id\":\"$session\"}"
expect 200 GET "/streams/sessions/history?publisher_id=td-workstation-01&since=2020-01-01T00:00:00Z&limit=20"
has '"bytes_transferred":73400320'
expect 200 GET "/streams/$id"
has '"active_sessions":1'
expect 200 DELETE "/streams/$id"
has '"status":"withdrawn"'
expect 200 GET "/streams/sessions/history?stream_id=$id"
has '"status":"stopped"'
expect 404 DELETE "/streams/sessions/$session"
echo "curl walkthrough: all steps passed"
