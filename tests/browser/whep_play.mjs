#!/usr/bin/env node
// Plays a sluiced path over WebRTC in Debian's Chromium (headless, driven by playwright-core, which
// downloads no browser of its own) and prints one JSON line about the playback.
//
//   node tests/browser/whep_play.mjs URL [--seconds N] [--camera] [--delete] [--verbose]
//
// URL is the WHEP endpoint (http://HOST:PORT/live/NAME/whep), or with --camera the JSON offer
// endpoint (http://HOST:PORT/api/webrtc/offer?path=NAME). The page is served on URL's own origin
// (playwright answers one made-up path there itself), so the offer is a same-origin request, as
// from a player page that sluiced serves: no CORS preflight, and Location is readable.
//
// The page makes an RTCPeerConnection with recvonly video and audio transceivers, waits for ICE
// gathering (at most 2 s: the ICE-lite server needs no candidates of ours), then
//   WHEP:     POST URL, Content-Type: application/sdp, body the offer SDP; expects 201, an
//             application/sdp answer and a Location header (relative to URL) naming the session;
//   --camera: POST URL with no Content-Type, body {"type":"offer","sdp":…}; expects 200 and
//             {"type":"answer","sdp":…}.
// It applies the answer, plays the track in a muted <video>, and samples pc.getStats() every
// 500 ms for N seconds (default 6). With --delete (WHEP only) it then DELETEs the Location and
// watches whether frames stop. The JSON line holds
//   {"decoded", "framesDecoded", "firstFrameMs", "rising", "freezes", "longestStallMs",
//    "framesPerSecond", "frameWidth", "frameHeight", "packetsLost", "nackCount", "pliCount",
//    "codec", "connectionState", "http": {status, contentType, location, deleteStatus},
//    "answer": {iceLite, setup, candidates, hasAudio}, "samples", "errors", ...}
// firstFrameMs counts from the POST to the first decoded frame; "rising" means framesDecoded grew
// in every 1-s window after the first frame (no freeze). Exit 0 when frames were decoded and
// nothing went wrong ("errors" is empty), else 1; 2 on bad usage. A watchdog ends the run (and
// with it the browser) if anything hangs.
import { createRequire } from 'node:module';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SAMPLE_MS = 500;

function usage(message) {
  if (message) console.error(`whep_play: ${message}`);
  console.error('usage: node whep_play.mjs URL [--seconds N] [--camera] [--delete] [--verbose]');
  process.exit(2);
}

const options = { url: null, seconds: 6, camera: false, del: false, verbose: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
  const a = argv[i];
  if (a === '--seconds') {
    options.seconds = Number(argv[++i]);
    if (!(options.seconds > 0)) usage('--seconds takes a positive number');
  } else if (a === '--camera') {
    options.camera = true;
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
let target;
try {
  target = new URL(options.url);
} catch {
  usage(`not a URL: ${options.url}`);
}
if (target.protocol !== 'http:' && target.protocol !== 'https:') usage('URL must be http(s)');
if (options.camera && options.del) usage('--delete needs a WHEP session (no --camera)');

const log = (...args) => {
  if (options.verbose) console.error('whep_play:', ...args);
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
  finish({ decoded: false, errors: [{ type: 'watchdog', details: `no result within ${watchdogMs} ms` }] }, 1);
}, watchdogMs);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => finish({ decoded: false, errors: [{ type: 'signal', details: signal }] }, 1));
}

const require = createRequire(import.meta.url);
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error(`whep_play: ${e.message}\nRun: npm ci --prefix tests/browser (make test-deps does)`);
  process.exit(2);
}

// The page: the player, which keeps its observations in window.whepPlay. Times are ms since the
// offer was POSTed.
const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice WHEP test</title></head>
<body><video id="v" muted playsinline autoplay></video>
<script>
window.whepPlay = {
  state: {
    errors: [], http: {}, answer: null, samples: [], states: [], firstFrameMs: null,
    gatherMs: null, last: null, audio: null, pair: null, presentedFrames: 0, done: false,
  },
  since() { return this.t0 === undefined ? 0 : Math.round(performance.now() - this.t0); },
  fail(type, details) { this.state.errors.push({ type, details: String(details) }); },

  async start(url, camera) {
    const s = this.state;
    const video = document.getElementById('v');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      video.srcObject = e.streams[0] || new MediaStream([e.track]);
      const p = video.play();
      if (p) p.catch((err) => this.fail('play', err));
    };
    const onState = () => s.states.push({ t: this.since(), connection: pc.connectionState,
                                           ice: pc.iceConnectionState });
    pc.onconnectionstatechange = onState;
    pc.oniceconnectionstatechange = onState;
    if (video.requestVideoFrameCallback) {
      const onFrame = (now, meta) => {
        s.presentedFrames = meta.presentedFrames;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }

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
      // A Blob without a type sends no Content-Type (a string body would send text/plain).
      const res = camera
        ? await fetch(url, { method: 'POST', body: new Blob([JSON.stringify({ type: 'offer', sdp: offer })]) })
        : await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
      const body = await res.text();
      s.http = { status: res.status, contentType: res.headers.get('content-type'),
                 location: res.headers.get('location') };
      if (res.status !== (camera ? 200 : 201)) {
        return this.fail('http', 'POST ' + url + ' answered ' + res.status + ': ' + body.slice(0, 500));
      }
      if (camera) {
        const json = JSON.parse(body);
        if (json.type !== 'answer' || typeof json.sdp !== 'string') {
          return this.fail('answer', 'not {"type":"answer","sdp":…}: ' + body.slice(0, 500));
        }
        answerSdp = json.sdp;
      } else {
        if (!/^application\\/sdp/i.test(s.http.contentType || '')) {
          this.fail('answer', 'Content-Type ' + s.http.contentType + ', not application/sdp');
        }
        if (!s.http.location) this.fail('answer', '201 without a Location header');
        else this.session = new URL(s.http.location, url).href;
        answerSdp = body;
      }
    } catch (e) {
      return this.fail('http', 'POST ' + url + ': ' + (e && e.message ? e.message : e));
    }
    const lines = answerSdp.split(/\\r?\\n/);
    s.answer = {
      iceLite: lines.includes('a=ice-lite'),
      setup: (lines.find((l) => l.startsWith('a=setup:')) || '').slice(8) || null,
      candidates: lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2)),
      hasVideo: lines.some((l) => /^m=video [1-9]/.test(l)),
      hasAudio: lines.some((l) => /^m=audio [1-9]/.test(l)),
    };
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    } catch (e) {
      return this.fail('setRemoteDescription', e && e.message ? e.message : e);
    }
    this.firstFramePoll = setInterval(async () => {  // 50 ms steps until the first frame
      const v = await this.videoStats();
      if (v && v.framesDecoded > 0 && s.firstFrameMs === null) {
        s.firstFrameMs = this.since();
        clearInterval(this.firstFramePoll);
      }
    }, 50);
    this.sampler = setInterval(() => this.sample(), ${SAMPLE_MS});
  },

  // The inbound-rtp video stat (with its codec's mimeType), the audio one, the selected pair.
  async stats() {
    const report = await this.pc.getStats();
    let video = null, audio = null, pair = null;
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') video = Object.assign({}, r);
      if (r.type === 'inbound-rtp' && r.kind === 'audio') audio = r;
      if (r.type === 'transport' && r.selectedCandidatePairId) {
        pair = report.get(r.selectedCandidatePairId);
      }
    });
    if (video && video.codecId && report.get(video.codecId)) {
      video.codec = report.get(video.codecId).mimeType;
    }
    const cand = (id) => {
      const c = id && report.get(id);
      return c ? c.candidateType + ' ' + c.address + ':' + c.port : null;
    };
    return { video, audio, pair: pair ? { local: cand(pair.localCandidateId),
                                          remote: cand(pair.remoteCandidateId),
                                          state: pair.state } : null };
  },
  async videoStats() { return this.pc ? (await this.stats()).video : null; },

  async sample() {
    const s = this.state;
    const { video, audio, pair } = await this.stats();
    if (video) s.last = video;
    if (audio) s.audio = { packetsReceived: audio.packetsReceived, packetsLost: audio.packetsLost };
    if (pair) s.pair = pair;
    s.samples.push({ t: this.since(), frames: video ? video.framesDecoded || 0 : 0,
                     fps: video && video.framesPerSecond !== undefined ? video.framesPerSecond : null });
  },

  stop() {
    clearInterval(this.sampler);
    clearInterval(this.firstFramePoll);
  },

  // DELETE of the session's Location, then framesDecoded 500 ms and 2500 ms later.
  async hangUp() {
    const s = this.state;
    if (!this.session) return this.fail('delete', 'no session URL to DELETE');
    try {
      const res = await fetch(this.session, { method: 'DELETE' });
      s.http.deleteStatus = res.status;
      if (res.status !== 200 && res.status !== 204) {
        this.fail('delete', 'DELETE ' + this.session + ' answered ' + res.status + ': ' +
                  (await res.text()).slice(0, 500));
      }
    } catch (e) {
      return this.fail('delete', 'DELETE ' + this.session + ': ' + (e && e.message ? e.message : e));
    }
    const framesAt = async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      const v = await this.videoStats();
      return v ? v.framesDecoded || 0 : 0;
    };
    const a = await framesAt(500);
    const b = await framesAt(2000);
    s.afterDelete = { framesAt500ms: a, framesAt2500ms: b, stopped: a === b,
                      connectionState: this.pc.connectionState };
  },

  report() {
    const video = document.getElementById('v');
    return Object.assign({}, this.state, {
      connectionState: this.pc ? this.pc.connectionState : 'new',
      iceConnectionState: this.pc ? this.pc.iceConnectionState : 'new',
      element: { width: video.videoWidth, height: video.videoHeight, readyState: video.readyState,
                 paused: video.paused },
    });
  },
};
</script></body></html>`;

// Frame growth after the first frame: "rising" when framesDecoded grew in every 1-s window that
// starts at or after the first frame (and there was at least one), "freezes" counts the windows
// where it did not, "longestStallMs" is the longest time without growth.
function analyse(samples, firstFrameMs) {
  const out = { rising: false, freezes: 0, longestStallMs: null };
  if (firstFrameMs === null) return out;
  let windows = 0;
  for (const s of samples) {
    if (s.t < firstFrameMs + 1000) continue;
    let before = null;  // the last sample at least 1 s older
    for (const p of samples) if (p.t <= s.t - 1000) before = p;
    if (!before) continue;
    ++windows;
    if (s.frames <= before.frames) ++out.freezes;
  }
  out.rising = windows > 0 && out.freezes === 0;
  let lastGrowth = firstFrameMs;
  let frames = 0;
  let longest = 0;
  for (const s of samples) {
    if (s.t < firstFrameMs) { frames = s.frames; continue; }
    if (s.frames > frames) lastGrowth = s.t;
    frames = Math.max(frames, s.frames);
    longest = Math.max(longest, s.t - lastGrowth);
  }
  out.longestStallMs = longest;
  return out;
}

// The page's own address: a path sluiced does not serve, answered by playwright (page.route).
const pageUrl = new URL('/.sluice-test/whep_play.html', target).href;
const result = { decoded: false, mode: options.camera ? 'camera' : 'whep', url: target.href,
                 framesDecoded: 0, firstFrameMs: null, errors: [] };
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--autoplay-policy=no-user-gesture-required',
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
  await page.evaluate(([url, camera]) => window.whepPlay.start(url, camera),
                      [target.href, options.camera]);

  let report = await page.evaluate(() => window.whepPlay.report());
  if (report.errors.length === 0) {
    const end = Date.now() + options.seconds * 1000;
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      report = await page.evaluate(() => window.whepPlay.report());
      const last = report.last || {};
      log(`t=${report.samples.length ? report.samples[report.samples.length - 1].t : 0} ` +
          `${report.connectionState} frames=${last.framesDecoded || 0} fps=${last.framesPerSecond} ` +
          `${last.frameWidth}x${last.frameHeight} lost=${last.packetsLost} nack=${last.nackCount} ` +
          `pli=${last.pliCount}`);
      if (report.connectionState === 'failed') break;
    }
    await page.evaluate(() => window.whepPlay.stop());
    if (options.del) await page.evaluate(() => window.whepPlay.hangUp());
    report = await page.evaluate(() => window.whepPlay.report());
  }
  const last = report.last || {};
  Object.assign(result, {
    framesDecoded: last.framesDecoded || 0,
    firstFrameMs: report.firstFrameMs,
    ...analyse(report.samples, report.firstFrameMs),
    framesPerSecond: last.framesPerSecond ?? null,
    frameWidth: last.frameWidth ?? null,
    frameHeight: last.frameHeight ?? null,
    keyFramesDecoded: last.keyFramesDecoded ?? null,
    packetsReceived: last.packetsReceived ?? null,
    packetsLost: last.packetsLost ?? null,
    nackCount: last.nackCount ?? null,
    pliCount: last.pliCount ?? null,
    firCount: last.firCount ?? null,
    chromeFreezeCount: last.freezeCount ?? null,
    codec: last.codec ?? null,
    decoderImplementation: last.decoderImplementation ?? null,
    audio: report.audio,
    connectionState: report.connectionState,
    iceConnectionState: report.iceConnectionState,
    states: report.states,
    selectedPair: report.pair,
    gatherMs: report.gatherMs,
    http: report.http,
    answer: report.answer,
    afterDelete: report.afterDelete ?? null,
    element: Object.assign(report.element, { presentedFrames: report.presentedFrames }),
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
  result.errors.push({ type: 'harness', details: String(e && e.message ? e.message : e) });
}

await finish(result, result.decoded && result.errors.length === 0 ? 0 : 1);
