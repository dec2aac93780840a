#!/usr/bin/env python3
"""Writes the relay wire-protocol seeds of tests/fuzz/corpus (wire_*.bin): frame sequences a
client sends a server (HELLO, OPEN, DATA with prefixes and fragments, …) and a server sends a
client (WELCOME, OPEN, DATA, …). Run from the repository root: python3 tests/fuzz/wire_seeds.py"""
import json
import os
import struct

HELLO, AUTH, WELCOME, OPEN, DATA, WINDOW_UPDATE, RESET, PING, PONG, GOAWAY, ACK, EVENT = range(1, 13)
MORE, FIN, GAP, REQUEST, REPLY, SUBJECT, ACK_REQUESTED = 1, 2, 4, 8, 16, 32, 64


def frame(kind, stream, payload=b"", flags=0):
    if isinstance(payload, str):
        payload = payload.encode()
    return struct.pack(">BBHII", 1, kind, flags, stream, len(payload)) + payload


def js(obj):
    return json.dumps(obj, separators=(",", ":"))


def error(code, reason):
    return struct.pack(">I", code) + reason.encode()


SETTINGS = {"stream_window": 65536, "connection_window": 262144, "max_frame": 16384,
            "max_message": 1048576, "lease_ms": 30000}

hello = frame(HELLO, 0, js({"version": 1, "client": "seed/1", **SETTINGS}))
welcome = frame(WELCOME, 0, js({"session": "s1", "server": "sluiced/0.1.0", **SETTINGS}))
publish = js({"channel": "sensors.a", "role": "publish", "priority": 500, "type": "data"})
subscribe = js({"channel": "sensors.>", "role": "subscribe", "priority": 900,
                "buffer_messages": 4, "buffer_bytes": 4096, "overflow": "drop-oldest",
                "max_stall_ms": 10})
request = js({"channel": "svc.echo", "role": "request", "timeout_ms": 100})
prefixed = (struct.pack(">Q", 3) + struct.pack(">Q", 42) + struct.pack(">H", 9) + b"sensors.b"
            + b"body")

seeds = {
    "wire_hello.bin": hello,
    "wire_session.bin": b"".join([
        hello,
        frame(OPEN, 1, publish),
        frame(DATA, 1, "hello"),
        frame(DATA, 1, "x" * 3000, MORE),
        frame(DATA, 1, "y" * 100),
        frame(OPEN, 3, subscribe),
        frame(DATA, 3, prefixed, GAP | REQUEST | SUBJECT | ACK_REQUESTED),
        frame(WINDOW_UPDATE, 0, struct.pack(">I", 65536)),
        frame(WINDOW_UPDATE, 3, struct.pack(">I", 4096)),
        frame(PING, 0, b"12345678"),
        frame(ACK, 1, struct.pack(">Q", 2)),
        frame(EVENT, 1, js({"event": "hello"})),
        frame(OPEN, 5, request),
        frame(DATA, 5, struct.pack(">Q", 7) + b"ping?", REQUEST),
        frame(DATA, 1, "bye", FIN),
        frame(RESET, 3, error(7, "cancel")),
        frame(GOAWAY, 0, error(0, "done")),
    ]),
    "wire_auth.bin": b"".join([
        frame(HELLO, 0, js({"version": 1, "client": "seed/1", "mechanism": "step",
                            "auth": "client-first"})),
        frame(AUTH, 0, js({"auth": "client-final"})),
        frame(OPEN, 1, publish),
        frame(DATA, 1, "after auth"),
    ]),
    "wire_client.bin": b"".join([
        welcome,
        frame(OPEN, 2, subscribe),
        frame(DATA, 2, "from the server"),
        frame(DATA, 1, struct.pack(">Q", 1) + b"reply", REPLY),
        frame(WINDOW_UPDATE, 1, struct.pack(">I", 8192)),
        frame(WINDOW_UPDATE, 0, struct.pack(">I", 8192)),
        frame(DATA, 3, "z" * 2000, MORE),
        frame(DATA, 3, "z" * 10, FIN),
        frame(PING, 0, b"abcdefgh"),
        frame(RESET, 5, error(11, "slow")),
        frame(DATA, 2, "", FIN),
    ]),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print(name, len(data))
