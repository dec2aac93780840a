#!/usr/bin/python3
"""What python3-zeroconf (a DNS-SD client nobody here wrote) finds on 127.0.0.1.

  mdns_browse.py browse TYPE [SECONDS]   JSON list of {name, port, addresses, txt} per instance
  mdns_browse.py watch TYPE SECONDS      JSON list of ["added"|"removed", name] events, in order
  mdns_browse.py legacy TYPE             a legacy unicast query (RFC 6762 6.7) from a random port
                                         to 127.0.0.1:5353: JSON {id, answered_id, names, ttls}
"""
import json
import random
import socket
import struct
import sys
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceListener, Zeroconf


class Collect(ServiceListener):
    def __init__(self):
        self.names = []
        self.events = []

    def add_service(self, zc, type_, name):
        self.names.append(name)
        self.events.append(["added", name])

    def remove_service(self, zc, type_, name):
        self.events.append(["removed", name])

    def update_service(self, zc, type_, name):
        pass


def browse(type_, seconds):
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    found = Collect()
    ServiceBrowser(zc, type_, found)
    time.sleep(seconds)
    out = []
    for name in sorted(set(found.names)):
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is None:
            continue
        txt = {k.decode(): (v.decode() if v is not None else None)
               for k, v in info.properties.items()}
        out.append({"name": name, "port": info.port, "server": info.server,
                    "addresses": info.parsed_addresses(), "txt": txt})
    zc.close()
    print(json.dumps(out))


def watch(type_, seconds):
    zc = Zeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    found = Collect()
    ServiceBrowser(zc, type_, found)
    print("watching", flush=True, file=sys.stderr)
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.1)
    zc.close()
    print(json.dumps(found.events))


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_name(data, at):
    labels, jumped, end = [], False, at
    for _ in range(64):
        n = data[at]
        if n == 0:
            at += 1
            break
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = at + 2
            at, jumped = ((n & 0x3F) << 8) | data[at + 1], True
            continue
        labels.append(data[at + 1:at + 1 + n].decode(errors="replace"))
        at += 1 + n
    return ".".join(labels), (end if jumped else at)


def legacy(type_):
    qid = random.randrange(1, 65535)
    query = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + encode_name(type_) + struct.pack(">HH", 12, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    s.sendto(query, ("127.0.0.1", 5353))
    data, _ = s.recvfrom(9000)
    rid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", data[:12])
    at = 12
    for _ in range(qd):
        _, at = read_name(data, at)
        at += 4
    names, ttls = [], []
    for _ in range(an + ns + ar):
        name, at = read_name(data, at)
        rtype, rclass, ttl, length = struct.unpack(">HHIH", data[at:at + 10])
        at += 10 + length
        names.append(name)
        ttls.append(ttl)
    print(json.dumps({"id": qid, "answered_id": rid, "questions": qd, "names": names, "ttls": ttls}))


if __name__ == "__main__":
    what, type_ = sys.argv[1], sys.argv[2]
    if what == "browse":
        browse(type_, float(sys.argv[3]) if len(sys.argv) > 3 else 2)
    elif what == "watch":
        watch(type_, float(sys.argv[3]))
    else:
        legacy(type_)
