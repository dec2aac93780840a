// A user-space UDP proxy that loses RTP media, for the WebRTC tests (whep_loss.mjs): this kernel
// has no netem, so packet loss is made here, on 127.0.0.1. Importing this module loads no npm
// package.
//
//   const proxy = await createLossProxy({ lossPercent, seed, dropResent, log })
//     Listens on a free 127.0.0.1 UDP port (proxy.port). proxy.setTarget(host, port) names the
//     server (the WebRTC UDP port of the SDP answer's host candidate); datagrams that arrive
//     before are dropped (counted as early). Each browser address gets an upstream socket of its
//     own (on a free 127.0.0.1 port, which the server learns as the peer's address): the
//     browser's datagrams go out of it to the server unchanged, and the server's replies to it go
//     back to that browser address, of which lossPercent % are dropped when they are RTP media.
//   proxy.stats()   what went through, below; proxy.close(). Times are ms since the proxy
//     started; target.atMs is when setTarget() was called.
//
// What is dropped is told apart by the first bytes (RFC 7983, RFC 5761): STUN (first byte 0–3)
// and DTLS (20–63) always pass, as does RTCP (first byte 128–191 and second byte, the RTCP packet
// type, 192–223: SR 200, RR 201, SDES 202, BYE 203, RTPFB 205, PSFB 206); RTP (first byte 128–191
// otherwise) is dropped with probability lossPercent / 100, drawn from a PRNG seeded with `seed`
// (mulberry32), the retransmissions the server sends included. The browser's datagrams are never
// dropped. SRTP leaves the RTP header in the clear, so the proxy sees each packet's payload type,
// sequence number and SSRC. With dropResent it also drops every RTP packet whose sequence number
// came through it before (the answers to NACKs, the keyframe resent for a PLI): what the browser
// would get from a server that never retransmits. stats() tells per SSRC:
//   packets    the RTP packets from the server (first copies and resent ones)
//   sequences  the distinct sequence numbers among them (the first copies)
//   dropped    the RTP packets it dropped (first copies and resent ones)
//   droppedFirst  first copies dropped: the loss the browser would see without retransmission
//   resent     packets whose sequence number had come before: retransmissions
//   recovered  sequence numbers dropped at first and later delivered (a retransmission got
//              through)
//   recoveryMs {mean, max}: from dropping a first copy to delivering a copy, over those
//   unrecovered   the sequence numbers never delivered (the last 20): {sequence, atMs (when its
//              first copy was dropped, since the proxy started), copies (dropped), marker}
//   blockedResent  resent packets dropped for dropResent (not in dropped)
// and in all: {port, target, lossPercent, seed, dropResent, early, toServer, fromServer, stun,
// dtls, rtcp, rtp, dropped, droppedFirst, recovered, resent, blockedResent,
// ssrcs: {SSRC: {payloadType, ...}}}.
import { createSocket } from 'node:dgram';

// A PRNG of [0, 1) from a 32-bit seed (mulberry32): the same seed drops the same positions.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// 'stun', 'dtls', 'rtcp', 'rtp' or 'other' (RFC 7983 demultiplexing, RFC 5761 for RTCP).
export function classify(d) {
  if (d.length < 1) return 'other';
  const b = d[0];
  if (b <= 3) return 'stun';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 128 && b <= 191) {
    if (d.length < 12) return 'other';
    return d[1] >= 192 && d[1] <= 223 ? 'rtcp' : 'rtp';
  }
  return 'other';
}

// Sequence numbers remembered per SSRC (the oldest forgotten first): a few seconds of video.
const SEEN_LIMIT = 8192;

export async function createLossProxy({ lossPercent = 5, seed = 1, dropResent = false,
                                         log = () => {} } = {}) {
  const random = mulberry32(seed);
  const listener = createSocket('udp4');
  const upstreams = new Map();  // browser "address:port" -> socket towards the server
  let target = null;
  const totals = { early: 0, toServer: 0, fromServer: 0, stun: 0, dtls: 0, rtcp: 0, rtp: 0,
                   other: 0 };
  const started = performance.now();
  const now = () => performance.now() - started;
  // SSRC -> {payloadType, counters, seen}; seen: sequence number -> true once a copy got
  // through, else {atMs, copies, marker}: when its first copy was dropped, the copies dropped.
  const ssrcs = new Map();

  function onRtp(d) {
    const ssrc = d.readUInt32BE(8);
    const sequence = d.readUInt16BE(2);
    let s = ssrcs.get(ssrc);
    if (!s) {
      s = { payloadType: d[1] & 0x7f, packets: 0, sequences: 0, dropped: 0, droppedFirst: 0,
            resent: 0, recovered: 0, blockedResent: 0, recoveryMs: { mean: null, max: null },
            seen: new Map() };
      ssrcs.set(ssrc, s);
    }
    ++s.packets;
    const before = s.seen.get(sequence);  // undefined: the first copy
    const lost = before !== undefined && before !== true;  // no copy got through yet
    if (before === undefined) {
      ++s.sequences;
    } else {
      ++s.resent;
      if (dropResent) {
        ++s.blockedResent;
        return true;
      }
    }
    const drop = random() * 100 < lossPercent;
    if (drop) {
      ++s.dropped;
      if (before === undefined) {
        ++s.droppedFirst;
        s.seen.set(sequence, { atMs: now(), copies: 1, marker: d[1] >> 7 === 1 });
        if (s.seen.size > SEEN_LIMIT) s.seen.delete(s.seen.keys().next().value);
      } else if (lost) {
        ++before.copies;
      }
      return true;
    }
    if (lost) {
      const ms = now() - before.atMs;
      s.recoveryMs.mean = ((s.recoveryMs.mean ?? 0) * s.recovered + ms) / (s.recovered + 1);
      s.recoveryMs.max = Math.max(s.recoveryMs.max ?? 0, ms);
      ++s.recovered;
    }
    if (before !== true) {
      s.seen.set(sequence, true);
      if (s.seen.size > SEEN_LIMIT) s.seen.delete(s.seen.keys().next().value);
    }
    return false;
  }

  function upstreamFor(address, port) {
    const key = `${address}:${port}`;
    let socket = upstreams.get(key);
    if (socket) return socket;
    socket = createSocket('udp4');
    socket.on('message', (d) => {
      ++totals.fromServer;
      const kind = classify(d);
      ++totals[kind];
      if (kind === 'rtp' && onRtp(d)) return;
      listener.send(d, port, address);
    });
    socket.on('error', (e) => log(`proxy upstream ${key}: ${e.message}`));
    socket.bind(0, '127.0.0.1');
    upstreams.set(key, socket);
    log(`proxy: browser ${key} gets an upstream socket`);
    return socket;
  }

  listener.on('message', (d, from) => {
    if (!target) {
      ++totals.early;
      return;
    }
    ++totals.toServer;
    upstreamFor(from.address, from.port).send(d, target.port, target.host);
  });
  listener.on('error', (e) => log(`proxy: ${e.message}`));
  await new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.bind(0, '127.0.0.1', resolve);
  });
  const port = listener.address().port;
  log(`proxy on 127.0.0.1:${port}, dropping ${lossPercent} % of the server's RTP (seed ${seed})` +
      (dropResent ? ' and everything it resends' : ''));

  return {
    port,
    setTarget(host, targetPort) {
      target = { host, port: targetPort, atMs: Math.round(now()) };
      log(`proxy: 127.0.0.1:${port} -> ${host}:${targetPort}`);
    },
    stats() {
      const out = { port, target, lossPercent, seed, dropResent, ...totals, dropped: 0,
                    droppedFirst: 0, recovered: 0, resent: 0, blockedResent: 0, ssrcs: {} };
      for (const [ssrc, s] of ssrcs) {
        const { seen, recoveryMs, ...counters } = s;
        const round = (ms) => (ms === null ? null : Math.round(ms * 10) / 10);
        const unrecovered = [];
        for (const [sequence, v] of seen) {
          if (v !== true) unrecovered.push({ sequence, ...v, atMs: Math.round(v.atMs) });
        }
        out.ssrcs[ssrc] = { ...counters,
                            recoveryMs: { mean: round(recoveryMs.mean), max: round(recoveryMs.max) },
                            unrecovered: unrecovered.slice(-20) };
        for (const k of ['dropped', 'droppedFirst', 'recovered', 'resent', 'blockedResent']) {
          out[k] += s[k];
        }
      }
      return out;
    },
    close() {
      for (const socket of upstreams.values()) socket.close();
      listener.close();
    },
  };
}
