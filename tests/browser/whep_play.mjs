#!/usr/bin/env node
// Plays a sluiced path over WebRTC in Debian's Chromium (headless, driven by playwright-core, which
// downloads no browser of its own) and prints one JSON line about the playback.
//
//   node tests/browser/whep_play.mjs URL [--seconds N] [--camera] [--delete] [--only-tcp] [--verbose]
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
import { AUTOPLAY, RTC_PAGE_SCRIPT, WEBRTC_LOOPBACK, createHarness, frameGrowth, harnessError,
         rtcConnection } from './harness.mjs';

const h = createHarness('whep_play',
                        'node whep_play.mjs URL [--seconds N] [--camera] [--delete] [--only-tcp] [--verbose]');
const options = { url: null, seconds: 6, camera: false, del: false, onlyTcp: false, verbose: false };
h.parseArgs(options, {
  '--camera': () => { options.camera = true; },
  '--delete': () => { options.del = true; },
  // As if UDP were blocked: the answer's UDP candidates are removed, so only ICE-TCP remains.
  '--only-tcp': () => { options.onlyTcp = true; },
});
const target = h.httpUrl(options.url);
if (options.camera && options.del) h.usage('--delete needs a WHEP session (no --camera)');
const log = h.log;

// Launching, connecting and sampling together get this long; then the run fails.
h.guard((options.seconds + 60) * 1000, { decoded: false });

const { chromium } = await h.load((require) => require('playwright-core'));

// The page: the player, which keeps its observations in window.whepPlay (on window.rtcPlayer, see
// harness.mjs). Times are ms since the offer was POSTed.
const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice WHEP test</title></head>
<body><video id="v" muted playsinline autoplay></video>
<script>${RTC_PAGE_SCRIPT}</script>
<script>
window.whepPlay = Object.assign(window.rtcPlayer({
  errors: [], http: {}, answer: null, samples: [], states: [], firstFrameMs: null,
  gatherMs: null, last: null, audio: null, pair: null, presentedFrames: 0, done: false,
}, 'inbound-rtp'), {
  async start(url, camera, onlyTcp) {
    const s = this.state;
    const video = document.getElementById('v');
    const pc = this.recvonlyPeer(video);
    if (video.requestVideoFrameCallback) {
      const onFrame = (now, meta) => {
        s.presentedFrames = meta.presentedFrames;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }

    const offer = await this.offer(pc);
    // A Blob without a type sends no Content-Type (a string body would send text/plain).
    const answerSdp = camera
      ? await this.post(url, { method: 'POST', body: new Blob([JSON.stringify({ type: 'offer', sdp: offer })]) },
                        200, (body) => {
          const json = JSON.parse(body);
          if (json.type !== 'answer' || typeof json.sdp !== 'string') {
            this.fail('answer', 'not {"type":"answer","sdp":…}: ' + body.slice(0, 500));
            return null;
          }
          return json.sdp;
        })
      : await this.post(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer },
                        201, (body) => this.sdpAnswer(body, url));
    if (answerSdp === null) return;
    const lines = answerSdp.split(/\\r?\\n/);
    const accepted = onlyTcp
      ? lines.filter((l) => !/^a=candidate:\\S+ \\d+ udp /i.test(l)).join('\\r\\n')
      : answerSdp;
    s.answer = Object.assign(this.answerBasics(lines), {
      hasVideo: lines.some((l) => /^m=video [1-9]/.test(l)),
      hasAudio: lines.some((l) => /^m=audio [1-9]/.test(l)),
    });
    if (!(await this.accept(accepted))) return;
    this.watch('framesDecoded', 'firstFrameMs');  // 50 ms steps until the first frame
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

  // DELETE of the session's Location, then framesDecoded 500 ms and 2500 ms later.
  async hangUp() {
    if (!(await this.deleteSession())) return;
    const framesAt = async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      const v = await this.videoStats();
      return v ? v.framesDecoded || 0 : 0;
    };
    const a = await framesAt(500);
    const b = await framesAt(2000);
    this.state.afterDelete = { framesAt500ms: a, framesAt2500ms: b, stopped: a === b,
                               connectionState: this.pc.connectionState };
  },

  report() {
    const video = document.getElementById('v');
    return Object.assign({}, this.state, this.connection(), {
      element: { width: video.videoWidth, height: video.videoHeight, readyState: video.readyState,
                 paused: video.paused },
    });
  },
});
</script></body></html>`;

// The page's own address: a path sluiced does not serve, answered by playwright (page.route).
const pageUrl = h.originPageUrl(target);
const result = { decoded: false, mode: options.camera ? 'camera' : 'whep', url: target.href,
                 framesDecoded: 0, firstFrameMs: null, errors: [] };
try {
  const browser = await h.launch(chromium, [AUTOPLAY, ...WEBRTC_LOOPBACK]);
  const pageErrors = [];
  const page = await h.newPage((e) => pageErrors.push(String(e)));
  await h.open(page, pageUrl, pageHtml);
  log(`page at ${pageUrl}, offering to ${target.href}`);
  await page.evaluate(([url, camera, onlyTcp]) => window.whepPlay.start(url, camera, onlyTcp),
                      [target.href, options.camera, options.onlyTcp]);

  const report = await h.sampleRtc(page, 'whepPlay', {
    seconds: options.seconds,
    hangUp: options.del,
    describe: (r) => {
      const last = r.last || {};
      return `t=${r.samples.length ? r.samples[r.samples.length - 1].t : 0} ` +
             `${r.connectionState} frames=${last.framesDecoded || 0} fps=${last.framesPerSecond} ` +
             `${last.frameWidth}x${last.frameHeight} lost=${last.packetsLost} nack=${last.nackCount} ` +
             `pli=${last.pliCount}`;
    },
  });
  const last = report.last || {};
  Object.assign(result, {
    framesDecoded: last.framesDecoded || 0,
    firstFrameMs: report.firstFrameMs,
    ...frameGrowth(report.samples, report.firstFrameMs),
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
    ...rtcConnection(report),
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
  result.errors.push(harnessError(e));
}

await h.finish(result, result.decoded && result.errors.length === 0 ? 0 : 1);
