#!/usr/bin/env node
// Plays a sluiced path over WebRTC (WHEP) in Debian's Chromium (headless, driven by
// playwright-core) through a UDP proxy that loses a share of the server's RTP packets
// (udp_loss_proxy.mjs), and prints one JSON line about how the playback fared.
//
//   node tests/browser/whep_loss.mjs URL [--seconds N] [--loss PERCENT] [--seed N] [--drop-resent]
//                                        [--verbose]
//
// URL is the WHEP endpoint (http://HOST:PORT/live/NAME/whep). The page is served on URL's own
// origin, as in whep_play.mjs, and does what that player does (recvonly video and audio, POST of
// the offer as application/sdp, 201 with the answer), except that before it applies the answer
// it hands it to this script (window.viaLossProxy), which starts the proxy towards the answer's
// first UDP host candidate and gives the answer back with that candidate's address and port
// replaced by the proxy's (127.0.0.1), every other candidate removed: the server is ICE-lite and
// the browser sends its checks, and then everything else, to the candidates it was given, so all
// media flows through the proxy. (The server learns the proxy's upstream socket as the peer's
// address from the checks; the c= and m= ports play no part in ICE.) The proxy drops PERCENT %
// (default 5) of the server's RTP packets, retransmissions included, never STUN, DTLS or RTCP,
// with a PRNG seeded by --seed (default 1). With --drop-resent the proxy also drops everything the
// server sends again (the answers to NACKs and PLIs): the browser then sees what a server that
// never retransmits would give it, the control that shows what the loss does without recovery.
//
// It samples pc.getStats() every 500 ms for N seconds (default 10). The JSON line holds
//   {"decoded", "framesDecoded", "firstFrameMs", "rising", "freezes", "longestStallMs",
//    "fpsLast5s", "samples": [{t, frames, packetsReceived, packetsLost, nackCount, ...}],
//    "packetsReceived", "packetsLost", "steady": {fromMs, toMs, packetsReceived, packetsLost},
//    "residualLoss", "nackCount", "pliCount", "chromeFreezeCount", "totalFreezesDuration",
//    "codec", "ssrc", "proxy": (udp_loss_proxy.mjs's stats), "proxyVideo": (its counters of the
//    video SSRC), "proxyLoss", "connectionState", "selectedPair", "answer": {iceLite, setup,
//    candidates, server, rewritten, removed}, "errors", ...}
// of the inbound video. residualLoss is packetsLost / (packetsLost + packetsReceived) over
// "steady", from the first sample 1 s after the first frame to the last one: what the browser
// never got. Not over the whole run: Chromium counts packets from the first one it receives, so
// packets older than that which arrive later push its packetsLost below 0 for good, and that
// would hide as much loss later on. Every WHEP viewer gets some: its first packets are sent
// before its ICE check nominates the pair and never leave the server, the first it receives is
// not a keyframe, and the keyframe sent again for its PLI is older. proxyLoss is the share of the
// video's first copies that the proxy dropped, what the browser would have missed without
// retransmissions. rising, freezes and longestStallMs are as in whep_play.mjs; fpsLast5s is the
// frames decoded a second over the last 5 s of sampling.
// Exit 0 when frames were decoded and nothing went wrong ("errors" is empty), else 1; 2 on bad
// usage. A watchdog ends the run (and with it the browser) if anything hangs.
import { AUTOPLAY, RTC_PAGE_SCRIPT, WEBRTC_LOOPBACK, createHarness, frameGrowth, harnessError,
         rtcConnection } from './harness.mjs';
import { createLossProxy } from './udp_loss_proxy.mjs';

const h = createHarness('whep_loss', 'node whep_loss.mjs URL [--seconds N] [--loss PERCENT] ' +
                        '[--seed N] [--drop-resent] [--verbose]');
const options = { url: null, seconds: 10, loss: 5, seed: 1, dropResent: false, verbose: false };
h.parseArgs(options, {
  '--loss': (next) => {
    options.loss = Number(next());
    if (!(options.loss >= 0 && options.loss <= 100)) h.usage('--loss takes a percentage, 0 to 100');
  },
  '--seed': (next) => {
    options.seed = Number(next());
    if (!Number.isInteger(options.seed)) h.usage('--seed takes an integer');
  },
  '--drop-resent': () => { options.dropResent = true; },
});
const target = h.httpUrl(options.url);
const log = h.log;

// Launching, connecting and sampling together get this long; then the run fails.
h.guard((options.seconds + 60) * 1000, { decoded: false });

const { chromium } = await h.load((require) => require('playwright-core'));

// The answer with its candidates through `proxy`: the first UDP host candidate on IPv4 names the
// server (proxy.setTarget), each candidate on that address and port is rewritten to the proxy's,
// and the others are removed. {sdp, server, rewritten, removed}, or {error}.
function throughProxy(sdp, proxy) {
  const candidate = /^a=candidate:(\S+ \d+ udp \d+) (\d+\.\d+\.\d+\.\d+) (\d+) (typ host.*)$/i;
  let server = null;
  for (const line of sdp.split(/\r?\n/)) {
    const m = candidate.exec(line);
    if (m) {
      server = { host: m[2], port: Number(m[3]) };
      break;
    }
  }
  if (!server) return { error: 'the answer has no UDP host candidate on IPv4' };
  proxy.setTarget(server.host, server.port);
  const rewritten = [];
  const removed = [];
  const lines = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith('a=candidate:')) {
      lines.push(line);
      continue;
    }
    const m = candidate.exec(line);
    if (m && m[2] === server.host && Number(m[3]) === server.port) {
      lines.push(`a=candidate:${m[1]} 127.0.0.1 ${proxy.port} ${m[4]}`);
      rewritten.push(lines[lines.length - 1].slice(2));
    } else {
      removed.push(line.slice(2));
    }
  }
  return { sdp: lines.join('\r\n'), server: `${server.host}:${server.port}`, rewritten, removed };
}

// The page: the player, which keeps its observations in window.whepLoss (on window.rtcPlayer, see
// harness.mjs). Times are ms since the offer was POSTed.
const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice WHEP loss test</title></head>
<body><video id="v" muted playsinline autoplay></video>
<script>${RTC_PAGE_SCRIPT}</script>
<script>
window.whepLoss = Object.assign(window.rtcPlayer({
  errors: [], http: {}, answer: null, samples: [], states: [], firstFrameMs: null,
  gatherMs: null, last: null, audio: null, pair: null,
}, 'inbound-rtp'), {
  async start(url) {
    const s = this.state;
    const video = document.getElementById('v');
    const pc = this.recvonlyPeer(video);

    const offer = await this.offer(pc);
    const answerSdp = await this.post(url, { method: 'POST', body: offer,
                                             headers: { 'Content-Type': 'application/sdp' } },
                                      201, (body) => this.sdpAnswer(body, url));
    if (answerSdp === null) return;
    s.answer = this.answerBasics(answerSdp.split(/\\r?\\n/));
    const proxied = await window.viaLossProxy(answerSdp);  // this script's throughProxy()
    if (proxied.error) {
      this.fail('proxy', proxied.error);
      return;
    }
    Object.assign(s.answer, { server: proxied.server, rewritten: proxied.rewritten,
                              removed: proxied.removed });
    if (!(await this.accept(proxied.sdp))) return;
    this.watch('framesDecoded', 'firstFrameMs');  // 50 ms steps until the first frame
  },

  async sample() {
    const s = this.state;
    const { video, audio, pair } = await this.stats();
    if (video) s.last = video;
    if (audio) s.audio = { packetsReceived: audio.packetsReceived, packetsLost: audio.packetsLost };
    if (pair) s.pair = pair;
    const v = video || {};
    s.samples.push({ t: this.since(), frames: v.framesDecoded || 0,
                     packetsReceived: v.packetsReceived ?? null, packetsLost: v.packetsLost ?? null,
                     nackCount: v.nackCount ?? null, pliCount: v.pliCount ?? null,
                     freezeCount: v.freezeCount ?? null });
  },

  report() {
    return Object.assign({}, this.state, this.connection());
  },
});
</script></body></html>`;

// Frames decoded a second over the last `seconds` of samples (from the last sample at least that
// much older than the last one); null without such a sample.
function fpsOver(samples, seconds) {
  if (samples.length === 0) return null;
  const end = samples[samples.length - 1];
  let start = null;
  for (const s of samples) if (s.t <= end.t - seconds * 1000) start = s;
  if (!start) return null;
  return Math.round((end.frames - start.frames) / ((end.t - start.t) / 1000) * 10) / 10;
}

// The video's packets received and lost from the first sample 1 s after the first frame to the
// last sample; null when there are not two such samples.
function steadyState(samples, firstFrameMs) {
  if (firstFrameMs === null) return null;
  const settled = samples.filter((s) => s.t >= firstFrameMs + 1000 && s.packetsReceived !== null);
  if (settled.length < 2) return null;
  const [a, b] = [settled[0], settled[settled.length - 1]];
  return { fromMs: a.t, toMs: b.t, packetsReceived: b.packetsReceived - a.packetsReceived,
           packetsLost: b.packetsLost - a.packetsLost };
}

const pageUrl = h.originPageUrl(target);
const result = { decoded: false, url: target.href, lossPercent: options.loss, seed: options.seed,
                 dropResent: options.dropResent, framesDecoded: 0, firstFrameMs: null, errors: [] };
let proxy = null;
try {
  proxy = await createLossProxy({ lossPercent: options.loss, seed: options.seed,
                                  dropResent: options.dropResent, log });
  const browser = await h.launch(chromium, [AUTOPLAY, ...WEBRTC_LOOPBACK]);
  const pageErrors = [];
  const page = await h.newPage((e) => pageErrors.push(String(e)));
  await page.exposeFunction('viaLossProxy', (sdp) => throughProxy(sdp, proxy));
  await h.open(page, pageUrl, pageHtml);
  log(`page at ${pageUrl}, offering to ${target.href} through 127.0.0.1:${proxy.port}`);
  await page.evaluate((url) => window.whepLoss.start(url), target.href);

  const report = await h.sampleRtc(page, 'whepLoss', {
    seconds: options.seconds,
    hangUp: false,
    describe: (r) => {
      const last = r.last || {};
      const p = proxy.stats();
      const slowest = Math.max(0, ...Object.values(p.ssrcs).map((s) => s.recoveryMs.max ?? 0));
      return `t=${r.samples.length ? r.samples[r.samples.length - 1].t : 0} ` +
             `${r.connectionState} frames=${last.framesDecoded || 0} fps=${last.framesPerSecond} ` +
             `received=${last.packetsReceived} lost=${last.packetsLost} nack=${last.nackCount} ` +
             `pli=${last.pliCount} freezes=${last.freezeCount} | proxy rtp=${p.rtp} ` +
             `dropped=${p.dropped} resent=${p.resent} recovered=${p.recovered} ` +
             `blocked=${p.blockedResent} slowest recovery ${slowest} ms`;
    },
  });
  const last = report.last || {};
  const proxyStats = proxy.stats();
  const proxyVideo = last.ssrc !== undefined ? proxyStats.ssrcs[last.ssrc] ?? null : null;
  const steady = steadyState(report.samples, report.firstFrameMs);
  const counted = steady ? steady.packetsReceived + steady.packetsLost : 0;
  Object.assign(result, {
    framesDecoded: last.framesDecoded || 0,
    firstFrameMs: report.firstFrameMs,
    ...frameGrowth(report.samples, report.firstFrameMs),
    fpsLast5s: fpsOver(report.samples, 5),
    framesPerSecond: last.framesPerSecond ?? null,
    frameWidth: last.frameWidth ?? null,
    frameHeight: last.frameHeight ?? null,
    keyFramesDecoded: last.keyFramesDecoded ?? null,
    packetsReceived: last.packetsReceived ?? null,
    packetsLost: last.packetsLost ?? null,
    steady,
    residualLoss: counted > 0 ? steady.packetsLost / counted : null,
    nackCount: last.nackCount ?? null,
    pliCount: last.pliCount ?? null,
    firCount: last.firCount ?? null,
    chromeFreezeCount: last.freezeCount ?? null,
    totalFreezesDuration: last.totalFreezesDuration ?? null,
    jitterBufferDelay: last.jitterBufferDelay ?? null,
    codec: last.codec ?? null,
    ssrc: last.ssrc ?? null,
    proxy: proxyStats,
    proxyVideo,
    proxyLoss: proxyVideo && proxyVideo.sequences > 0
      ? proxyVideo.droppedFirst / proxyVideo.sequences : null,
    ...rtcConnection(report),
    http: report.http,
    answer: report.answer,
    samples: report.samples,
    errors: report.errors,
    pageErrors,
    chromium: browser.version(),
  });
  result.decoded = result.framesDecoded > 0;
  if (!result.decoded && result.errors.length === 0) {
    result.errors.push({ type: 'no-frames', details: `no video frame decoded in ${options.seconds} s ` +
                         `(connectionState ${report.connectionState})` });
  }
} catch (e) {
  result.errors.push(harnessError(e));
}
if (proxy) proxy.close();

await h.finish(result, result.decoded && result.errors.length === 0 ? 0 : 1);
