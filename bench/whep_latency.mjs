#!/usr/bin/env node
// Glass-to-glass latency and first-frame time of a WHEP stream in Chromium, for
// bench/latency_bench.sh: plays URL (sluiced's http://HOST:PORT/live/NAME/whep) with an
// RTCPeerConnection in Debian's Chromium (headless, driven by playwright-core), reads the clock
// that bench/latency_clock.py draws into every frame (64 16x16 blocks: 48 bits of Unix ms, 8 bits
// of frame number, 8 bits of check) from each frame the video element presents, exactly as
// bench/hls_latency.mjs does, and compares it with the page's clock (the same machine's clock).
// Prints one JSON line.
//
//   node bench/whep_latency.mjs URL [--warmup S] [--seconds S] [--first-frames N]
//                                   [--trial-seconds S] [--video-only] [--jitter-target MS]
//                                   [--verbose]
//
// The page is served on URL's own origin (a made-up path that playwright answers itself, as in
// tests/browser/whep_play.mjs), so the offer is a same-origin request, as from a player page
// sluiced serves. Each WHEP session is a new RTCPeerConnection (max-bundle) with recvonly video
// and audio transceivers (--video-only: video only, so Chromium has no audio to line the video up
// with), its offer taken once ICE gathering is complete (at most 2 s), POSTed as application/sdp;
// 201, the answer applied with setRemoteDescription, the track played in a new muted <video>.
// With --jitter-target MS every receiver's jitterBufferTarget is set to MS (a diagnostic: the
// page asking Chromium for a different jitter buffer target; unset by default, as on a plain
// player page). Chromium runs with tests/browser/harness.mjs's WebRTC loopback flags.
//
//   1. First frame: --first-frames N (default 5) sessions one after the other, each fresh; for
//      each, firstFrameMs = the first requestVideoFrameCallback's performance.now() minus
//      performance.now() just before the fetch() that POSTs the offer (so it includes the
//      request, the answer, setRemoteDescription, ICE, DTLS, the GOP cache's burst, decoding and
//      the first composition). Also kept per session: the age of that first frame (Date.now() −
//      its stamp: the GOP cache replays from the last keyframe, so up to a GOP old), the median latency of the frames
//      presented in the last second of the session's --trial-seconds (default 4) after its first
//      frame (how far it has caught up by then), and the DELETE's status. Then the session is
//      DELETEd and closed, and the next starts 0.5 s later.
//   2. Glass-to-glass: one more session; frames presented in its first --warmup seconds (default
//      5) after the first frame are not counted, then --seconds (default 30) are: for each
//      presented frame, the frame's top 512x32 pixels to a canvas, the blocks read (the mean of R,
//      G and B of 4 pixels at each block's centre against 128), and when the check matches,
//      Date.now() − stamp (the callback runs as the frame is handed to the compositor; the figure
//      at the callback's expectedDisplayTime is kept too, and, from the callback's metadata,
//      receiveTime − stamp, the time until the frame's last packet reached Chromium, and the
//      callback's time − receiveTime, the time Chromium held it: jitter buffer, decoding,
//      rendering). getStats() of the inbound video and audio at the start and end of the window
//      give, over the window: jitterBufferDelay / jitterBufferEmittedCount (the mean time a frame
//      or audio sample waited in the jitter buffer), the same for jitterBufferTargetDelay and
//      jitterBufferMinimumDelay, totalDecodeTime / framesDecoded, totalProcessingDelay /
//      framesDecoded, frames dropped, packets lost, NACKs, PLIs, freezes, and the RTP arrival
//      jitter (RFC 3550) at the end; and every second of the whole session, the video's and the
//      audio's mean jitter buffer delay and target over that second (jb_series_ms: [video delay,
//      video target, audio delay, audio target] per second).
//
// JSON: samples, median_ms, p90_ms, min_ms, max_ms, mean_ms, display_median_ms,
// receive_median_ms (stamp → last packet received), held_median_ms (last packet received →
// frame presented), unreadable, missing (gaps in the frame numbers while counting),
// session_first_frame_ms and session_first_frame_age_ms (the glass-to-glass session's own first
// frame, and how old its stamp was), first_frame {ms: [...],
// median_ms, max_ms, min_ms, age_ms: [...], latency_after_ms: [...], delete_status: [...]},
// video {jitter_buffer_ms, jitter_target_ms, jitter_minimum_ms, session_jitter_buffer_ms,
// decode_ms, processing_ms, assembly_ms, frames_decoded, frames_dropped, packets_lost, nacks, plis,
// freezes, arrival_jitter_ms, fps, codec, decoder}, audio {jitter_buffer_ms, jitter_target_ms,
// arrival_jitter_ms, playout_delay_ms (the audio device's, from media-playout stats),
// packets_received, packets_lost, concealed_ratio, codec} (null with
// --video-only), jb_series_ms, latency_series_ms (the median of each 5 s of the counted window),
// connection, errors, chromium, options. Exit 0 with at least one sample and every session's first frame, else 1; 2 on bad
// usage.
//
// playwright-core comes from tests/browser/node_modules (`make test-deps`, or
// `npm ci --prefix tests/browser`), or from BROWSER_MODULES. CHROMIUM: the browser binary
// (default /usr/bin/chromium).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUTOPLAY, RTC_PAGE_SCRIPT, WEBRTC_LOOPBACK, createHarness, harnessError, sleep } from
  '../tests/browser/harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODULES = process.env.BROWSER_MODULES || join(ROOT, 'tests', 'browser');

const h = createHarness('whep_latency',
                        'node whep_latency.mjs URL [--warmup S] [--seconds S] [--first-frames N] ' +
                        '[--trial-seconds S] [--video-only] [--jitter-target MS] [--verbose]',
                        { modules: MODULES, hint: ', or set BROWSER_MODULES' });
const options = { url: null, warmup: 5, seconds: 30, firstFrames: 5, trialSeconds: 4, videoOnly: false,
                  jitterTarget: null, verbose: false };
const nonNegative = (flag, key) => (next) => {
  options[key] = Number(next());
  if (!(options[key] >= 0)) h.usage(`${flag} takes a number >= 0`);
};
h.parseArgs(options, {
  '--warmup': nonNegative('--warmup', 'warmup'),
  '--first-frames': (next) => {
    options.firstFrames = Number(next());
    if (!Number.isInteger(options.firstFrames) || options.firstFrames < 0) h.usage('--first-frames takes a whole number');
  },
  '--trial-seconds': (next) => {
    options.trialSeconds = Number(next());
    if (!(options.trialSeconds >= 1)) h.usage('--trial-seconds takes a number of seconds >= 1');
  },
  '--video-only': () => { options.videoOnly = true; },
  '--jitter-target': nonNegative('--jitter-target', 'jitterTarget'),
});
const target = h.httpUrl(options.url);
const log = h.log;

// Launch, the first-frame sessions (up to 15 s each), the first frame, warm-up and window.
h.guard((options.firstFrames * (options.trialSeconds + 16) + options.warmup + options.seconds + 90) * 1000,
        { samples: 0 });

const { chromium } = await h.load((require) => ({ chromium: require('playwright-core').chromium }));

const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice WHEP glass-to-glass</title></head>
<body>
<script>${RTC_PAGE_SCRIPT}</script>
<script>
const canvas = document.createElement('canvas');
canvas.width = 512; canvas.height = 32;
const ctx = canvas.getContext('2d', { willReadFrequently: true });
const check = (bytes) => { let s = 0; for (let i = 0; i < 7; ++i) s += bytes[i]; return (s & 0xff) ^ 0x5a; };
// The stamp of the frame the video shows now ({ms, seq}), or null when its check fails.
function readStamp(video) {
  ctx.drawImage(video, 0, 0, 512, 32, 0, 0, 512, 32);
  const px = ctx.getImageData(0, 0, 512, 32).data;
  const bytes = new Array(8).fill(0);
  for (let bit = 0; bit < 64; ++bit) {
    const x = (bit % 32) * 16 + 8, y = Math.floor(bit / 32) * 16 + 8;
    let sum = 0;
    for (const [dx, dy] of [[-1, -1], [0, -1], [-1, 0], [0, 0]]) {
      const o = ((y + dy) * 512 + (x + dx)) * 4;
      sum += (px[o] + px[o + 1] + px[o + 2]) / 3;
    }
    if (sum >= 512) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  }
  if (check(bytes) !== bytes[7]) return null;
  let ms = 0;
  for (let i = 0; i < 6; ++i) ms = ms * 256 + bytes[i];
  return { ms, seq: bytes[6] };
}

// The inbound video and audio stats of pc, as plain objects (codec's mimeType as codec).
async function inbound(pc) {
  const report = await pc.getStats();
  let video = null, audio = null, playout = null;
  report.forEach((r) => {
    if (r.type === 'media-playout') playout = Object.assign({}, r);
    if (r.type !== 'inbound-rtp') return;
    const copy = Object.assign({}, r);
    const c = r.codecId && report.get(r.codecId);
    if (c) copy.codec = c.mimeType;
    if (r.kind === 'video') video = copy; else if (r.kind === 'audio') audio = copy;
  });
  return { video, audio, playout };
}

window.whepLatency = {
  // A new WHEP session: {player, video, state}; state.firstFrameMs and the rest fill in as frames
  // come. onFrame(state, video, wall, perfNow, meta) for every presented frame.
  async connect(url, opts, onFrame) {
    const state = { errors: [], http: {}, gatherMs: null, firstFrameMs: null, firstFrameAgeMs: null,
                    frames: [], rvfc: 0 };
    const p = window.rtcPlayer(state, 'inbound-rtp');
    const video = document.createElement('video');
    video.muted = true; video.playsInline = true; video.autoplay = true;
    document.body.appendChild(video);
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    p.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    if (!opts.videoOnly) pc.addTransceiver('audio', { direction: 'recvonly' });
    if (opts.jitterTarget !== null) {
      for (const t of pc.getTransceivers()) t.receiver.jitterBufferTarget = opts.jitterTarget;
    }
    pc.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      video.srcObject = e.streams[0] || new MediaStream([e.track]);
      const pr = video.play();
      if (pr) pr.catch((err) => p.fail('play', err));
    };
    const frame = (now, meta) => {
      const wall = Date.now();
      const perf = performance.now();
      state.rvfc += 1;
      if (state.firstFrameMs === null && p.t0 !== undefined) {
        state.firstFrameMs = Math.round(perf - p.t0);
        state.firstWall = wall;
        const st = readStamp(video);
        state.firstFrameAgeMs = st ? wall - st.ms : null;
      }
      if (onFrame) onFrame(state, video, wall, perf, meta);
      video.requestVideoFrameCallback(frame);
    };
    video.requestVideoFrameCallback(frame);
    const session = { player: p, video, state };
    const offer = await p.offer(pc);
    const answer = await p.post(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer },
                                201, (body) => p.sdpAnswer(body, url));
    if (answer === null) return session;
    await p.accept(answer);
    return session;
  },
  async close(session) {
    const p = session.player;
    if (p.session) await p.deleteSession();
    p.pc.close();
    session.video.srcObject = null;
    session.video.remove();
    return session.state.http.deleteStatus ?? null;
  },

  // Step 1: one first-frame session; resolves after trialSeconds past its first frame (or 10 s
  // without one), DELETEd and closed.
  async trial(url, opts, trialSeconds) {
    const recent = [];
    const session = await this.connect(url, opts, (state, video, wall) => {
      if (state.firstWall === undefined || wall - state.firstWall < (trialSeconds - 1) * 1000) return;
      const st = readStamp(video);
      if (st) recent.push(wall - st.ms);
    });
    const s = session.state;
    const start = performance.now();
    while (s.firstFrameMs === null && s.errors.length === 0 && performance.now() - start < 10000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    if (s.firstFrameMs !== null) {
      await new Promise((r) => setTimeout(r, trialSeconds * 1000));
    }
    const deleteStatus = await this.close(session);
    recent.sort((a, b) => a - b);
    return { firstFrameMs: s.firstFrameMs, ageMs: s.firstFrameAgeMs, gatherMs: s.gatherMs,
             latencyAfterMs: recent.length ? recent[Math.floor(recent.length / 2)] : null,
             deleteStatus, errors: s.errors };
  },

  // Step 2: the glass-to-glass session.
  g2g: null,
  async start(url, opts) {
    const g = { counting: false, samples: [], display: [], receive: [], held: [], unreadable: 0, missing: 0,
                lastSeq: null, series: [], firstWall: null, sampleTimes: [] };
    this.g2g = g;
    g.session = await this.connect(url, opts, (state, video, wall, perf, meta) => {
      if (g.firstWall === null) g.firstWall = wall;
      if (!g.counting) return;
      const st = readStamp(video);
      if (!st) { g.unreadable += 1; return; }
      if (g.lastSeq !== null) g.missing += (st.seq - g.lastSeq - 1 + 256) % 256;
      g.lastSeq = st.seq;
      g.samples.push(wall - st.ms);
      g.sampleTimes.push(wall);
      g.display.push(performance.timeOrigin + meta.expectedDisplayTime - st.ms);
      if (meta.receiveTime !== undefined) {
        g.receive.push(performance.timeOrigin + meta.receiveTime - st.ms);
        g.held.push(perf - meta.receiveTime);
      }
    });
    // The video and audio jitter buffers' mean delay and target over each second of the session:
    // [video delay, video target, audio delay, audio target] in ms.
    let last = null;
    const per = (a, b, key) => (a && b && b.jitterBufferEmittedCount > a.jitterBufferEmittedCount
      ? Math.round((b[key] - a[key]) * 1000 / (b.jitterBufferEmittedCount - a.jitterBufferEmittedCount)) : null);
    g.seriesTimer = setInterval(async () => {
      const now = await inbound(g.session.player.pc);
      if (!now.video || !now.video.jitterBufferEmittedCount) return;
      if (last) {
        g.series.push([per(last.video, now.video, 'jitterBufferDelay'), per(last.video, now.video, 'jitterBufferTargetDelay'),
                       per(last.audio, now.audio, 'jitterBufferDelay'), per(last.audio, now.audio, 'jitterBufferTargetDelay')]);
      }
      last = now;
    }, 1000);
  },
  poll() {
    const g = this.g2g;
    const s = g.session.state;
    return { firstFrameMs: s.firstFrameMs, firstWall: g.firstWall, errors: s.errors, samples: g.samples.length,
             connectionState: g.session.player.pc.connectionState, rvfc: s.rvfc };
  },
  async begin() {
    const g = this.g2g;
    g.before = await inbound(g.session.player.pc);
    g.counting = true;
    g.lastSeq = null;
  },
  async end() {
    const g = this.g2g;
    g.counting = false;
    clearInterval(g.seriesTimer);
    g.after = await inbound(g.session.player.pc);
    const pc = g.session.player.pc;
    const conn = { connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState,
                   gatherMs: g.session.state.gatherMs, http: g.session.state.http };
    const deleteStatus = await this.close(g.session);
    return { samples: g.samples, sampleTimes: g.sampleTimes, display: g.display, receive: g.receive, held: g.held,
             unreadable: g.unreadable, missing: g.missing, series: g.series,
             before: g.before, after: g.after, firstFrameMs: g.session.state.firstFrameMs,
             firstFrameAgeMs: g.session.state.firstFrameAgeMs,
             errors: g.session.state.errors, conn, deleteStatus };
  },
};
</script></body></html>`;

const percentile = (sorted, p) => {
  if (sorted.length === 0) return null;
  const k = (sorted.length - 1) * p / 100;
  const i = Math.floor(k);
  const j = Math.min(i + 1, sorted.length - 1);
  return sorted[i] + (sorted[j] - sorted[i]) * (k - i);
};
const sorted = (a) => a.filter((v) => v !== null && v !== undefined).slice().sort((x, y) => x - y);
const round1 = (v) => (v === null || v === undefined || Number.isNaN(v) ? null : Math.round(v * 10) / 10);
// (after.key − before.key) / (after.per − before.per), × scale; null when nothing was counted.
const ratio = (before, after, key, per, scale = 1) => {
  if (!after || after[key] === undefined || after[per] === undefined) return null;
  const dk = after[key] - ((before && before[key]) || 0);
  const dp = after[per] - ((before && before[per]) || 0);
  return dp > 0 ? round1(dk * scale / dp) : null;
};
const delta = (before, after, key) =>
  (after && after[key] !== undefined ? after[key] - ((before && before[key]) || 0) : null);

const result = { samples: 0, errors: [], options: { warmup: options.warmup, seconds: options.seconds,
                 first_frames: options.firstFrames, trial_seconds: options.trialSeconds,
                 video_only: options.videoOnly, jitter_target: options.jitterTarget } };
const pageOpts = { videoOnly: options.videoOnly, jitterTarget: options.jitterTarget };
try {
  const browser = await h.launch(chromium, [AUTOPLAY, ...WEBRTC_LOOPBACK]);
  result.chromium = browser.version();
  const page = await h.newPage((e) => result.errors.push({ type: 'page', details: String(e) }));
  const pageUrl = h.originPageUrl(target);
  await h.open(page, pageUrl, pageHtml);
  log(`page at ${pageUrl}, offering to ${target.href}`);

  // 1. First frame over fresh sessions.
  const trials = [];
  for (let i = 0; i < options.firstFrames; ++i) {
    const t = await page.evaluate(([url, opts, secs]) => window.whepLatency.trial(url, opts, secs),
                                  [target.href, pageOpts, options.trialSeconds]);
    log(`first-frame session ${i + 1}: ${JSON.stringify(t)}`);
    trials.push(t);
    for (const e of t.errors) result.errors.push(Object.assign({ session: i + 1 }, e));
    if (t.firstFrameMs === null) {
      result.errors.push({ type: 'no-frame', session: i + 1, details: 'no frame presented within 10 s' });
    }
    await sleep(500);
  }
  const ff = sorted(trials.map((t) => t.firstFrameMs));
  result.first_frame = {
    sessions: trials.length,
    ms: trials.map((t) => t.firstFrameMs),
    median_ms: round1(percentile(ff, 50)),
    p90_ms: round1(percentile(ff, 90)),
    min_ms: ff.length ? ff[0] : null,
    max_ms: ff.length ? ff[ff.length - 1] : null,
    age_ms: trials.map((t) => t.ageMs),
    latency_after_ms: trials.map((t) => t.latencyAfterMs),
    gather_ms: trials.map((t) => t.gatherMs),
    delete_status: trials.map((t) => t.deleteStatus),
  };

  // 2. Glass-to-glass over one more session.
  await page.evaluate(([url, opts]) => window.whepLatency.start(url, opts), [target.href, pageOpts]);
  const startDeadline = Date.now() + 30000;
  let st = await page.evaluate(() => window.whepLatency.poll());
  while (st.firstWall === null && st.errors.length === 0) {
    if (Date.now() > startDeadline) throw new Error(`no frame within 30 s (connection ${st.connectionState})`);
    await sleep(100);
    st = await page.evaluate(() => window.whepLatency.poll());
  }
  if (st.errors.length) throw new Error(`WHEP: ${JSON.stringify(st.errors)}`);
  log(`first frame after ${st.firstFrameMs} ms; warming up ${options.warmup} s`);
  await sleep(options.warmup * 1000);
  await page.evaluate(() => window.whepLatency.begin());
  const end = Date.now() + options.seconds * 1000;
  while (Date.now() < end) {
    await sleep(Math.min(1000, Math.max(0, end - Date.now())));
    st = await page.evaluate(() => window.whepLatency.poll());
    log(`${st.connectionState} samples=${st.samples} rvfc=${st.rvfc}`);
    if (st.connectionState === 'failed' || st.connectionState === 'closed') break;
  }
  const r = await page.evaluate(() => window.whepLatency.end());
  const s = sorted(r.samples);
  const vb = r.before.video, va = r.after.video, ab = r.before.audio, aa = r.after.audio;
  Object.assign(result, {
    samples: s.length,
    median_ms: round1(percentile(s, 50)),
    p90_ms: round1(percentile(s, 90)),
    min_ms: round1(s[0]),
    max_ms: round1(s[s.length - 1]),
    mean_ms: round1(s.length ? s.reduce((a, b) => a + b, 0) / s.length : null),
    display_median_ms: round1(percentile(sorted(r.display), 50)),
    receive_median_ms: round1(percentile(sorted(r.receive), 50)),
    held_median_ms: round1(percentile(sorted(r.held), 50)),
    unreadable: r.unreadable,
    missing: r.missing,
    session_first_frame_ms: r.firstFrameMs,
    session_first_frame_age_ms: r.firstFrameAgeMs,
    video: va ? {
      jitter_buffer_ms: ratio(vb, va, 'jitterBufferDelay', 'jitterBufferEmittedCount', 1000),
      jitter_target_ms: ratio(vb, va, 'jitterBufferTargetDelay', 'jitterBufferEmittedCount', 1000),
      jitter_minimum_ms: ratio(vb, va, 'jitterBufferMinimumDelay', 'jitterBufferEmittedCount', 1000),
      session_jitter_buffer_ms: ratio(null, va, 'jitterBufferDelay', 'jitterBufferEmittedCount', 1000),
      decode_ms: ratio(vb, va, 'totalDecodeTime', 'framesDecoded', 1000),
      processing_ms: ratio(vb, va, 'totalProcessingDelay', 'framesDecoded', 1000),
      assembly_ms: ratio(vb, va, 'totalAssemblyTime', 'framesAssembledFromMultiplePackets', 1000),
      frames_decoded: delta(vb, va, 'framesDecoded'),
      frames_dropped: delta(vb, va, 'framesDropped'),
      packets_lost: delta(vb, va, 'packetsLost'),
      nacks: delta(vb, va, 'nackCount'),
      plis: delta(vb, va, 'pliCount'),
      freezes: delta(vb, va, 'freezeCount'),
      arrival_jitter_ms: va.jitter !== undefined ? round1(va.jitter * 1000) : null,
      fps: va.framesPerSecond ?? null,
      codec: va.codec ?? null,
      decoder: va.decoderImplementation ?? null,
    } : null,
    audio: aa ? {
      jitter_buffer_ms: ratio(ab, aa, 'jitterBufferDelay', 'jitterBufferEmittedCount', 1000),
      jitter_target_ms: ratio(ab, aa, 'jitterBufferTargetDelay', 'jitterBufferEmittedCount', 1000),
      arrival_jitter_ms: aa.jitter !== undefined ? round1(aa.jitter * 1000) : null,
      packets_received: delta(ab, aa, 'packetsReceived'),
      packets_lost: delta(ab, aa, 'packetsLost'),
      // The audio device's playout delay (media-playout stats), after the jitter buffer.
      playout_delay_ms: ratio(r.before.playout, r.after.playout, 'totalPlayoutDelay', 'totalSamplesCount', 1000),
      concealed_ratio: (() => {
        const t = delta(ab, aa, 'totalSamplesReceived');
        return t ? round1(1000 * delta(ab, aa, 'concealedSamples') / t) / 1000 : null;
      })(),
      codec: aa.codec ?? null,
    } : null,
    jb_series_ms: r.series,
    latency_series_ms: (() => {  // the median of each 5 s of the counted window
      const out = [];
      if (!r.samples.length) return out;
      const t0 = r.sampleTimes[0];
      for (let i = 0; i < r.samples.length; ++i) {
        const bin = Math.floor((r.sampleTimes[i] - t0) / 5000);
        (out[bin] = out[bin] || []).push(r.samples[i]);
      }
      return out.map((b) => (b ? round1(percentile(sorted(b), 50)) : null));
    })(),
    connection: Object.assign(r.conn, { deleteStatus: r.deleteStatus }),
    errors: result.errors.concat(r.errors),
  });
} catch (e) {
  result.errors.push(harnessError(e));
}
await h.finish(result, result.samples > 0 && result.errors.length === 0 ? 0 : 1);
