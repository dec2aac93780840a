#!/usr/bin/env python3
"""Bounded resources at the scale of issue 12: the attacks, one daemon each, with RSS and /health.

Each case starts `sluiced` (default limits unless --flags), runs one attack from a second
process (this one), and meanwhile samples the daemon's VmRSS and asks GET /health every 100 ms
on a fresh connection. Prints a Markdown table on stdout: RSS before, peak RSS, the slowest
/health answer, and what the daemon counted (sluice_refused_total by kind).

  streams  advertise STREAMS streams, then READERS clients send GET /streams and never read
  sse      SSE_CLIENTS clients on /streams/events never read while a /ws client publishes
           EVENTS events of EVENT_BYTES on their subject
  rtmp     IDLE_RTMP sockets to the RTMP port from 127.0.0.2 that never handshake, then an
           "encoder" from 127.0.0.1 must still get its RTMP handshake answered

Attackers connect from 127.0.2.1-16 (127.0.0.2 for RTMP), the /health probe from 127.0.0.1.

  bench/limits_bench.py --sluiced build/bin/sluiced                 # all three
  bench/limits_bench.py --sluiced build/bin/sluiced --only streams --streams 100000

With a daemon that does not know the limit flags (an older build) the cases still run: that is
the "before" column. The machine needs RAM for it (30 x 50 MB replies at 100k streams).
"""
import argparse
import base64
import http.client
import json
import os
import re
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time


def log(*a):
    print("limits_bench:", *a, file=sys.stderr, flush=True)


class Daemon:
    def __init__(self, binary, flags, work):
        self.log_path = os.path.join(work, "sluiced-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "w")
        argv = [binary, "--onvif", "off", "--http", "127.0.0.1:0", "--wire", "127.0.0.1:0", "--rtmp", "127.0.0.1:0", "--rtsp", "off", "--rtsp-udp-ports", "off", "--srt", "off",
                "--history", ":memory:", "--stream-ttl", "3600", "--log-level", "info",
                "--key-secret-file", os.path.join(work, "key-secret"),
                "--data-dir", self.log_path[:-4] + ".data"] + flags  # each daemon its own
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            text = open(self.log_path).read()
            m = re.search(r"sluiced listening http=[^\s:]+:(\d+) wire=[^\s]*:(\d+) rtmp=[^\s]*:(\d+)", text)
            if m:
                self.port, self.wire_port, self.rtmp_port = map(int, m.groups())
                return
            if self.proc.poll() is not None:
                raise SystemExit("sluiced exited: " + text)
            time.sleep(0.05)
        raise SystemExit("sluiced did not start")

    def rss_mb(self):
        try:
            for line in open("/proc/%d/status" % self.proc.pid):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0

    def cpu_seconds(self):
        try:
            fields = open("/proc/%d/stat" % self.proc.pid).read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0

    def log_lines(self):
        return sum(1 for _ in open(self.log_path))

    def refused(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
        except OSError:
            return {}
        return {k: int(float(v)) for k, v in
                re.findall(r'sluice_refused_total\{kind="([a-z_]+)"\} (\S+)', text) if float(v) > 0}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Watch:
    """Samples RSS and /health latency every 100 ms until stopped."""

    def __init__(self, daemon):
        self.daemon, self.stop_flag = daemon, False
        self.peak_rss, self.health = daemon.rss_mb(), []
        self.cpu0, self.t0 = daemon.cpu_seconds(), time.monotonic()
        self.threads = [threading.Thread(target=self._rss), threading.Thread(target=self._health)]
        for t in self.threads:
            t.start()

    def _rss(self):
        while not self.stop_flag:
            self.peak_rss = max(self.peak_rss, self.daemon.rss_mb())
            time.sleep(0.1)

    def _health(self):
        while not self.stop_flag:
            t0 = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=30)
                c.request("GET", "/health")
                ok = c.getresponse().status == 200
                c.close()
            except OSError:
                ok = False
            self.health.append(time.monotonic() - t0 if ok else float("inf"))
            time.sleep(0.1)

    def stop(self):
        self.stop_flag = True
        for t in self.threads:
            t.join()
        cores = (self.daemon.cpu_seconds() - self.cpu0) / (time.monotonic() - self.t0)
        h = sorted(self.health) or [float("nan")]
        return (self.peak_rss, (h[len(h) // 2], h[min(len(h) - 1, len(h) * 99 // 100)], h[-1]),
                len(self.health), cores)


# Attackers connect from 127.0.2.1-16 (clients of their own), the /health probe from 127.0.0.1.
def attacker_address(i):
    return "127.0.2.%d" % (1 + i % 16)


def non_reader(port, request, source):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    if request:
        s.sendall(request)
    return s


def case_streams(args, d):
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    for i in range(args.streams):
        body = json.dumps({"name": "s%d" % i, "stream_type": "sensor", "publisher_id": "bench",
                           "protocol": "udp", "address": "10.0.0.1", "port": 9000,
                           "config": {"channel": i, "rate_hz": 100, "units": "m/s"}})
        c.request("POST", "/streams/advertise", body, {"Content-Type": "application/json"})
        c.getresponse().read()
    c.request("GET", "/streams")
    size = len(c.getresponse().read())
    log("streams: %d advertised, GET /streams is %.1f MB" % (args.streams, size / 1e6))
    before = d.rss_mb()
    w = Watch(d)
    readers = [non_reader(d.port, b"GET /streams HTTP/1.1\r\nHost: b\r\n\r\n", attacker_address(i))
               for i in range(args.readers)]
    time.sleep(args.hold)
    result = w.stop()
    for r in readers:
        r.close()
    return "%d readers of a %.0f MB GET /streams (%d streams)" % (
        args.readers, size / 1e6, args.streams), before, result


def ws_client(port, path="/ws"):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    if b" 101 " not in buf.split(b"\r\n")[0]:
        raise SystemExit("no WebSocket: %r" % buf[:200])
    return s


def ws_send(s, text):
    data = text.encode()
    mask = b"\0\0\0\0"  # a client must mask; a zero key spares this process the XOR loop
    n = len(data)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                            bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                            bytes([0x80 | 127]) + struct.pack(">Q", n))
    s.sendall(head + mask + data)


def case_sse(args, d):
    before = d.rss_mb()
    pub = ws_client(d.port)  # first: /ws clients count against max-event-streams too
    w = Watch(d)
    clients = []
    for i in range(args.sse_clients):
        clients.append(non_reader(d.port, b"GET /streams/events?subject=load.%3E HTTP/1.1\r\nHost: b\r\n\r\n",
                                  attacker_address(i)))
    time.sleep(1)
    payload = '{"op":"pub","subject":"load.x","data":"%s"}' % ("e" * args.event_bytes)
    interval = 1.0 / args.event_rate
    for i in range(args.events):
        ws_send(pub, payload)
        time.sleep(interval)
    time.sleep(args.hold)
    result = w.stop()
    for c in clients:
        c.close()
    pub.close()
    return "%d SSE clients that never read, %d events of %d KB" % (
        args.sse_clients, args.events, args.event_bytes // 1000), before, result


def rtmp_handshake_answered(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"\x03" + b"\x00" * 1536)  # C0 + C1
    got = b""
    try:
        while len(got) < 1 + 1536:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    s.close()
    return len(got) >= 1 + 1536


def case_rtmp(args, d):
    before = d.rss_mb()
    lines_before = d.log_lines()
    w = Watch(d)
    t0 = time.monotonic()
    idle = []
    for _ in range(args.idle_rtmp):
        try:
            idle.append(non_reader(d.rtmp_port, b"", source="127.0.0.2"))
        except OSError as e:
            log("rtmp: connect failed after %d sockets: %s" % (len(idle), e))
            break
    answered = rtmp_handshake_answered(d.rtmp_port)
    time.sleep(args.hold)
    seconds = time.monotonic() - t0
    result = w.stop()
    lines = d.log_lines() - lines_before
    for s in idle:
        s.close()
    return "%d idle RTMP sockets from one address; encoder's handshake answered: %s; %d log lines in %.0f s" % (
        len(idle), "yes" if answered else "NO", lines, seconds), before, result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sluiced", default="build/bin/sluiced")
    p.add_argument("--flags", default="", help="extra daemon flags, e.g. '--memory-budget 256MiB'")
    p.add_argument("--only", default="streams,sse,rtmp")
    p.add_argument("--streams", type=int, default=100000)
    p.add_argument("--readers", type=int, default=30)
    p.add_argument("--sse-clients", type=int, default=2000)
    p.add_argument("--events", type=int, default=300)
    p.add_argument("--event-bytes", type=int, default=16000)
    p.add_argument("--event-rate", type=float, default=50)
    p.add_argument("--idle-rtmp", type=int, default=4096)
    p.add_argument("--hold", type=float, default=10, help="seconds the attack is held after set-up")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cases = {"streams": case_streams, "sse": case_sse, "rtmp": case_rtmp}
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in args.only.split(","):
            d = Daemon(os.path.abspath(args.sluiced), args.flags.split(), work)
            try:
                log("%s: running" % name)
                what, before, (peak, worst, probes, cores) = cases[name](args, d)
                refused = d.refused()
            finally:
                d.stop()
            rows.append("| %s | %s | %.0f | %.0f | %.0f / %.0f / %.0f ms (%d) | %.2f | %s |" % (
                name, what, before, peak, worst[0] * 1000, worst[1] * 1000, worst[2] * 1000, probes,
                cores,
                ", ".join("%s %d" % kv for kv in sorted(refused.items())) or "none"))
    print("| case | attack | RSS before (MB) | peak RSS (MB) | /health p50 / p99 / max (probes) | sluiced CPU (cores) | refused (sluice_refused_total) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
