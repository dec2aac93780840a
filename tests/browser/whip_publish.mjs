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
import { RTC_PAGE_SCRIPT, WEBRTC_LOOPBACK, createHarness, harnessError,
         rtcConnection } from './harness.mjs';

const h = createHarness('whip_publish',
                        'node whip_publish.mjs URL --key KEY [--seconds N] [--delete] [--verbose]');
const options = { url: null, key: null, seconds: 10, del: false, verbose: false };
h.parseArgs(options, {
  '--key': (next) => {
    options.key = next();
    if (!options.key) h.usage('--key takes a stream key');
  },
  '--delete': () => { options.del = true; },
});
if (!options.key) h.usage('no --key');
const target = h.httpUrl(options.url);
const log = h.log;

// Launching, connecting and sampling together get this long; then the run fails.
h.guard((options.seconds + 60) * 1000, { sent: false });

const { chromium } = await h.load((require) => require('playwright-core'));

// The page: the publisher, which keeps its observations in window.whipPublish (on
// window.rtcPlayer, see harness.mjs). Times are ms since the offer was POSTed.
const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice WHIP test</title></head>
<body>
<script>${RTC_PAGE_SCRIPT}</script>
<script>
window.whipPublish = Object.assign(window.rtcPlayer({
  errors: [], http: {}, answer: null, samples: [], states: [], connected: false,
  firstFrameSentMs: null, gatherMs: null, last: null, audio: null, pair: null, capture: null,
  codecPreferences: null,
}, 'outbound-rtp'), {
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

    const offer = await this.offer(pc);
    const answerSdp = await this.post(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + key },
      body: offer,
    }, 201, (body) => this.sdpAnswer(body, url));
    if (answerSdp === null) return;
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
    s.answer = Object.assign(this.answerBasics(lines), {
      directions: lines.filter((l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(l))
                       .map((l) => l.slice(2)),
      videoCodecs: codecs.video,
      audioCodecs: codecs.audio,
      videoFmtp: lines.filter((l) => l.startsWith('a=fmtp:')).map((l) => l.slice(7)),
    });
    if (!(await this.accept(answerSdp))) return;
    this.watch('framesSent', 'firstFrameSentMs');  // 50 ms steps until the first sent frame
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

  // DELETE of the session's Location, then the connection state 1 s later.
  async hangUp() {
    if (!(await this.deleteSession({ 'Authorization': 'Bearer ' + this.key }))) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    this.state.afterDelete = { connectionState: this.pc.connectionState };
  },

  report() {
    return Object.assign({}, this.state, this.connection());
  },
});
</script></body></html>`;

// The page's own address: a path sluiced does not serve, answered by playwright (page.route).
const pageUrl = h.originPageUrl(target);
const result = { sent: false, connected: false, url: target.href, framesSent: 0, errors: [] };
try {
  const browser = await h.launch(chromium, [
    // A test pattern and a tone as camera and microphone, granted without a prompt.
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    ...WEBRTC_LOOPBACK,
  ]);
  const pageErrors = [];
  const page = await h.newPage((e) => pageErrors.push(String(e)));
  await h.open(page, pageUrl, pageHtml);
  log(`page at ${pageUrl}, offering to ${target.href}`);
  await page.evaluate(([url, key]) => {
    window.whipPublish.key = key;
    return window.whipPublish.start(url, key);
  }, [target.href, options.key]);

  const report = await h.sampleRtc(page, 'whipPublish', {
    seconds: options.seconds,
    hangUp: options.del,
    describe: (r) => {
      const last = r.last || {};
      return `t=${r.samples.length ? r.samples[r.samples.length - 1].t : 0} ` +
             `${r.connectionState} encoded=${last.framesEncoded || 0} sent=${last.framesSent || 0} ` +
             `key=${last.keyFramesEncoded} fps=${last.framesPerSecond} ${last.frameWidth}x${last.frameHeight} ` +
             `bytes=${last.bytesSent} pli=${last.pliCount} nack=${last.nackCount} ` +
             `limit=${last.qualityLimitationReason} ${last.codec} ${last.encoderImplementation}`;
    },
  });
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
    ...rtcConnection(report),
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
  result.errors.push(harnessError(e));
}

await h.finish(result, result.sent && result.connected && result.errors.length === 0 ? 0 : 1);
