#!/usr/bin/env node
// Publishes to sluiced over WebRTC (WHIP) from Debian's Chromium (headless, driven by
// playwright-core, which downloads no browser of its own) and prints one JSON line about the
// publishing.
//
//   node tests/browser/whip_publish.mjs URL --key KEY [--seconds N] [--delete] [--verbose]
//
// URL is the WHIP endpoint (http://HOST:PORT/live/NAME/whip), KEY a stream key of NAME (POST
// /keys). The page is served on URL's own origin (playwright answers one made-up path there
// itself), so the offer is a same-origin request, as from a publisher page that sluiced serves: no
// CORS preflight, Location is readable, and (on 127.0.0.1) the page is a secure context, which
// getUserMedia needs.
//
// Chromium runs with its fake capture devices (a 640x480 test pattern and a beeping tone) and
// grants them without asking. The page takes getUserMedia({video: 640x480 at 30 fps, audio}),
// adds each track with a sendonly transceiver, and puts H.264 with packetization-mode=1 first
// among the video codecs (RTCRtpTransceiver.setCodecPreferences; the other codecs follow, in
// Chromium's order: sluiced takes only H.264, and answers with the offer's H.264 payload type).
// It creates the offer, waits for ICE gathering (at most 2 s: the ICE-lite server needs no
// candidates of ours), then POSTs it to URL with Content-Type: application/sdp and
// Authorization: Bearer KEY; expects 201, an application/sdp answer and a Location header
// (relative to URL) naming the session. It applies the answer and keeps publishing for N seconds
// (default 10), sampling the video and audio outbound-rtp stats every 500 ms. With --delete it
// then DELETEs the Location. The JSON line holds
//   {"sent", "connected", "framesEncoded", "framesSent", "keyFramesEncoded", "bytesSent",
//    "packetsSent", "pliCount", "firCount", "nackCount", "encoderImplementation", "codec",
//    "frameWidth", "frameHeight", "framesPerSecond", "qualityLimitationReason",
//    "firstFrameSentMs", "audio": {codec, packetsSent, bytesSent}, "connectionState", "states",
//    "capture": {width, height, frameRate}, "codecPreferences",
//    "http": {status, contentType, location, deleteStatus},
//    "answer": {iceLite, setup, candidates, videoCodecs, audioCodecs}, "samples", "errors", ...}
// "connected" means the connection state was 'connected' at some point; firstFrameSentMs counts
// from the POST to the first sent frame. Exit 0 when frames were sent, the connection reached
// 'connected' and nothing went wrong ("errors" is empty), else 1; 2 on bad usage. A watchdog
// ends the run (and with it the browser) if anything hangs.
import { createRequire } from 'node:module';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SAMPLE_MS = 500;

function usage(message) {
  if (message) console.error(`whip_publish: ${message}`);
  console.error('usage: node whip_publish.mjs URL --key KEY [--seconds N] [--delete] [--verbose]');
  process.exit(2);
}

const options = { url: null, key: null, seconds: 10, del: false, verbose: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
  const a = argv[i];
  if (a === '--seconds') {
    options.seconds = Number(argv[++i]);
    if (!(options.seconds > 0)) usage('--seconds takes a positive number');
  } else if (a === '--key') {
    options.key = argv[++i];
    if (!options.key) usage('--key takes a stream key');
  } else if (a === '--delete') {
    options.del = true;
  } else if (a === '--verbose') {
    options.verbose = true;
  } else if (a.startsWith('--')) {
    usage(`unknown option ${a}`);
  } else if (!options.url) {
    options.url = a;
  } else {
    usage(`unexpected argument ${a}`);
  }
}
if (!options.url) usage('no URL');
if (!options.key) usage('no --key');
let target;
try {
  target = new URL(options.url);
} catch {
  usage(`not a URL: ${options.url}`);
}
if (target.protocol !== 'http:' && target.protocol !== 'https:') usage('URL must be http(s)');

const log = (...args) => {
  if (options.verbose) console.error('whip_publish:', ...args);
};

let browser = null;
let finished = false;

// Prints the result line once and exits; the browser is closed first (playwright-core also kills
// it when this process exits).
async function finish(result, code) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify(result));
  const closing = Promise.allSettled([browser ? browser.close() : null]);
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5000))]);
  process.exit(code);
}

// Launching, connecting and sampling together get this long; then the run fails.
const watchdogMs = (options.seconds + 60) * 1000;
const watchdog = setTimeout(() => {
  finish({ sent: false, errors: [{ type: 'watchdog', details: `no result within ${watchdogMs} ms` }] }, 1);
}, watchdogMs);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => finish({ sent: false, errors: [{ type: 'signal', details: signal }] }, 1));
}

const require = createRequire(import.meta.url);
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error(`whip_publish: ${e.message}\nRun: npm ci --prefix tests/browser (make test-deps does)`);
  process.exit(2);
}

// The page: the publisher, which keeps its observations in window.whipPublish. Times are ms since
// the offer was POSTed.
const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice WHIP test</title></head>
<body>
<script>
window.whipPublish = {
  state: {
    errors: [], http: {}, answer: null, samples: [], states: [], connected: false,
    firstFrameSentMs: null, gatherMs: null, last: null, audio: null, pair: null, capture: null,
    codecPreferences: null,
  },
  since() { return this.t0 === undefined ? 0 : Math.round(performance.now() - this.t0); },
  fail(type, details) { this.state.errors.push({ type, details: String(details) }); },

  // H.264 with packetization-mode=1 first (Chromium's order among them kept), then the rest.
  preferH264(codecs) {
    const isH264 = (c) => c.mimeType.toLowerCase() === 'video/h264' &&
                          /(^|;)\\s*packetization-mode=1/.test(c.sdpFmtpLine || '');
    return codecs.filter(isH264).concat(codecs.filter((c) => !isH264(c)));
  },

  async start(url, key) {
    const s = this.state;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 640, height: 480, frameRate: 30 }, audio: true });
    } catch (e) {
      return this.fail('getUserMedia', e && e.message ? e.name + ': ' + e.message : e);
    }
    const video = stream.getVideoTracks()[0];
    const audio = stream.getAudioTracks()[0];
    if (!video) return this.fail('getUserMedia', 'no video track');
    const settings = video.getSettings();
    s.capture = { width: settings.width, height: settings.height, frameRate: settings.frameRate,
                  label: video.label, audio: audio ? audio.label : null };

    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const videoTransceiver = pc.addTransceiver(video, { direction: 'sendonly', streams: [stream] });
    if (audio) pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
    const capabilities = RTCRtpSender.getCapabilities('video');
    const preferred = this.preferH264(capabilities ? capabilities.codecs : []);
    s.codecPreferences = preferred.map((c) => c.mimeType + (c.sdpFmtpLine ? ' ' + c.sdpFmtpLine : ''));
    if (!preferred.length || preferred[0].mimeType.toLowerCase() !== 'video/h264') {
      return this.fail('codecs', 'this Chromium cannot send H.264 (packetization-mode=1): ' +
                       JSON.stringify(s.codecPreferences));
    }
    try {
      videoTransceiver.setCodecPreferences(preferred);
    } catch (e) {
      return this.fail('setCodecPreferences', e && e.message ? e.message : e);
    }

    const onState = () => {
      if (pc.connectionState === 'connected') s.connected = true;
      s.states.push({ t: this.since(), connection: pc.connectionState, ice: pc.iceConnectionState });
    };
    pc.onconnectionstatechange = onState;
    pc.oniceconnectionstatechange = onState;

    await pc.setLocalDescription(await pc.createOffer());
    const gatherStart = performance.now();
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
      setTimeout(resolve, 2000);
    });
    s.gatherMs = Math.round(performance.now() - gatherStart);
    const offer = pc.localDescription.sdp;

    this.t0 = performance.now();
    let answerSdp;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + key },
        body: offer,
      });
      const body = await res.text();
      s.http = { status: res.status, contentType: res.headers.get('content-type'),
                 location: res.headers.get('location') };
      if (res.status !== 201) {
        return this.fail('http', 'POST ' + url + ' answered ' + res.status + ': ' + body.slice(0, 500));
      }
      if (!/^application\\/sdp/i.test(s.http.contentType || '')) {
        this.fail('answer', 'Content-Type ' + s.http.contentType + ', not application/sdp');
      }
      if (!s.http.location) this.fail('answer', '201 without a Location header');
      else this.session = new URL(s.http.location, url).href;
      answerSdp = body;
    } catch (e) {
      return this.fail('http', 'POST ' + url + ': ' + (e && e.message ? e.message : e));
    }
    const lines = answerSdp.split(/\\r?\\n/);
    // The codecs (rtpmap) of each m= section of the answer, by kind.
    const codecs = { video: [], audio: [] };
    let kind = null;
    for (const l of lines) {
      const m = /^m=(\\w+) (\\d+)/.exec(l);
      if (m) kind = m[2] === '0' ? null : m[1];
      const r = /^a=rtpmap:(\\d+) (.*)$/.exec(l);
      if (r && codecs[kind]) codecs[kind].push(r[1] + ' ' + r[2]);
    }
    s.answer = {
      iceLite: lines.includes('a=ice-lite'),
      setup: (lines.find((l) => l.startsWith('a=setup:')) || '').slice(8) || null,
      candidates: lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2)),
      directions: lines.filter((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l))
                       .map((l) => l.slice(2)),
      videoCodecs: codecs.video,
      audioCodecs: codecs.audio,
      videoFmtp: lines.filter((l) => l.startsWith('a=fmtp:')).map((l) => l.slice(7)),
    };
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    } catch (e) {
      return this.fail('setRemoteDescription', e && e.message ? e.message : e);
    }
    this.firstFramePoll = setInterval(async () => {  // 50 ms steps until the first sent frame
      const { video } = await this.stats();
      if (video && video.framesSent > 0 && s.firstFrameSentMs === null) {
        s.firstFrameSentMs = this.since();
        clearInterval(this.firstFramePoll);
      }
    }, 50);
    this.sampler = setInterval(() => this.sample(), ${SAMPLE_MS});
  },

  // The outbound-rtp video stat (with its codec's mimeType), the audio one, the selected pair.
  async stats() {
    const report = await this.pc.getStats();
    let video = null, audio = null, pair = null;
    report.forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') video = Object.assign({}, r);
      if (r.type === 'outbound-rtp' && r.kind === 'audio') audio = Object.assign({}, r);
      if (r.type === 'transport' && r.selectedCandidatePairId) {
        pair = report.get(r.selectedCandidatePairId);
      }
    });
    for (const stat of [video, audio]) {
      if (stat && stat.codecId && report.get(stat.codecId)) {
        const c = report.get(stat.codecId);
        stat.codec = c.mimeType;
        stat.payloadType = c.payloadType;
        stat.sdpFmtpLine = c.sdpFmtpLine;
      }
    }
    const cand = (id) => {
      const c = id && report.get(id);
      return c ? c.candidateType + ' ' + c.address + ':' + c.port : null;
    };
    return { video, audio, pair: pair ? { local: cand(pair.localCandidateId),
                                          remote: cand(pair.remoteCandidateId),
                                          state: pair.state } : null };
  },

  async sample() {
    const s = this.state;
    const { video, audio, pair } = await this.stats();
    if (video) s.last = video;
    if (audio) s.audio = { codec: audio.codec, packetsSent: audio.packetsSent, bytesSent: audio.bytesSent };
    if (pair) s.pair = pair;
    s.samples.push({ t: this.since(), framesSent: video ? video.framesSent || 0 : 0,
                     bytesSent: video ? video.bytesSent || 0 : 0,
                     pli: video ? video.pliCount || 0 : 0,
                     keyFrames: video ? video.keyFramesEncoded || 0 : 0,
                     width: video ? video.frameWidth ?? null : null,
                     state: this.pc.connectionState });
  },

  stop() {
    clearInterval(this.sampler);
    clearInterval(this.firstFramePoll);
  },

  // DELETE of the session's Location, then the connection state 1 s later.
  async hangUp() {
    const s = this.state;
    if (!this.session) return this.fail('delete', 'no session URL to DELETE');
    try {
      const res = await fetch(this.session, { method: 'DELETE',
                                              headers: { 'Authorization': 'Bearer ' + this.key } });
      s.http.deleteStatus = res.status;
      if (res.status !== 200 && res.status !== 204) {
        this.fail('delete', 'DELETE ' + this.session + ' answered ' + res.status + ': ' +
                  (await res.text()).slice(0, 500));
      }
    } catch (e) {
      return this.fail('delete', 'DELETE ' + this.session + ': ' + (e && e.message ? e.message : e));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    s.afterDelete = { connectionState: this.pc.connectionState };
  },

  report() {
    return Object.assign({}, this.state, {
      connectionState: this.pc ? this.pc.connectionState : 'new',
      iceConnectionState: this.pc ? this.pc.iceConnectionState : 'new',
    });
  },
};
</script></body></html>`;

// The page's own address: a path sluiced does not serve, answered by playwright (page.route).
const pageUrl = new URL('/.sluice-test/whip_publish.html', target).href;
const result = { sent: false, connected: false, url: target.href, framesSent: 0, errors: [] };
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      // A test pattern and a tone as camera and microphone, granted without a prompt.
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      // Candidates on loopback too, and as plain addresses rather than mDNS names.
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      // This machine has no network beyond loopback: no background fetches, no QUIC.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
    ],
  });
  log(`chromium ${browser.version()}`);
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => log(`console.${m.type()}: ${m.text()}`));
  await page.route(pageUrl, (route) => route.fulfill({
    status: 200, contentType: 'text/html; charset=utf-8', body: pageHtml,
  }));
  await page.goto(pageUrl, { waitUntil: 'load' });
  log(`page at ${pageUrl}, offering to ${target.href}`);
  await page.evaluate(([url, key]) => {
    window.whipPublish.key = key;
    return window.whipPublish.start(url, key);
  }, [target.href, options.key]);

  let report = await page.evaluate(() => window.whipPublish.report());
  if (report.errors.length === 0) {
    const end = Date.now() + options.seconds * 1000;
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      report = await page.evaluate(() => window.whipPublish.report());
      const last = report.last || {};
      log(`t=${report.samples.length ? report.samples[report.samples.length - 1].t : 0} ` +
          `${report.connectionState} encoded=${last.framesEncoded || 0} sent=${last.framesSent || 0} ` +
          `key=${last.keyFramesEncoded} fps=${last.framesPerSecond} ${last.frameWidth}x${last.frameHeight} ` +
          `bytes=${last.bytesSent} pli=${last.pliCount} nack=${last.nackCount} ` +
          `limit=${last.qualityLimitationReason} ${last.codec} ${last.encoderImplementation}`);
      if (report.connectionState === 'failed') break;
    }
    await page.evaluate(() => window.whipPublish.stop());
    if (options.del) await page.evaluate(() => window.whipPublish.hangUp());
    report = await page.evaluate(() => window.whipPublish.report());
  }
  const last = report.last || {};
  Object.assign(result, {
    connected: report.connected,
    framesEncoded: last.framesEncoded || 0,
    framesSent: last.framesSent || 0,
    keyFramesEncoded: last.keyFramesEncoded ?? null,
    bytesSent: last.bytesSent ?? null,
    packetsSent: last.packetsSent ?? null,
    retransmittedPacketsSent: last.retransmittedPacketsSent ?? null,
    pliCount: last.pliCount ?? null,
    firCount: last.firCount ?? null,
    nackCount: last.nackCount ?? null,
    encoderImplementation: last.encoderImplementation ?? null,
    codec: last.codec ?? null,
    payloadType: last.payloadType ?? null,
    sdpFmtpLine: last.sdpFmtpLine ?? null,
    frameWidth: last.frameWidth ?? null,
    frameHeight: last.frameHeight ?? null,
    framesPerSecond: last.framesPerSecond ?? null,
    qualityLimitationReason: last.qualityLimitationReason ?? null,
    firstFrameSentMs: report.firstFrameSentMs,
    audio: report.audio,
    connectionState: report.connectionState,
    iceConnectionState: report.iceConnectionState,
    states: report.states,
    selectedPair: report.pair,
    gatherMs: report.gatherMs,
    capture: report.capture,
    codecPreferences: report.codecPreferences,
    http: report.http,
    answer: report.answer,
    afterDelete: report.afterDelete ?? null,
    samples: report.samples,
    errors: report.errors,
    pageErrors,
    chromium: browser.version(),
  });
  result.sent = result.framesSent > 0;
  if (report.errors.length === 0) {
    if (!result.connected) {
      result.errors.push({ type: 'not-connected', details: `connectionState never 'connected' ` +
                           `(now ${report.connectionState})` });
    } else if (!result.sent) {
      result.errors.push({ type: 'no-frames', details: `no video frame sent in ${options.seconds} s` });
    }
  }
} catch (e) {
  result.errors.push({ type: 'harness', details: String(e && e.message ? e.message : e) });
}

await finish(result, result.sent && result.connected && result.errors.length === 0 ? 0 : 1);
