#!/usr/bin/env node
// Plays an HLS URL with hls.js in Debian's Chromium (headless, driven by playwright-core, which
// downloads no browser of its own) and prints one JSON line about the playback.
//
//   node tests/browser/hls_play.mjs URL [--seconds N] [--expect-ll] [--verbose]
//
// A static server on a free loopback port serves the page and hls.js (from node_modules), so the
// playlist is fetched cross-origin, as a real site would (sluiced answers HLS with
// Access-Control-Allow-Origin: *). The page plays a muted <video> through
// new Hls({lowLatencyMode: true}); this script samples it for N seconds (default 10) and prints
//   {"played", "currentTime", "advanced", "stalls", "errors", "latency", "partsLoaded",
//    "fragmentsLoaded", "lowLatency", "canBlockReload", "partTarget", ...}
// Exit 0 when the video advanced by at least N/2 seconds with no fatal hls.js error (with
// --expect-ll also: parts were loaded and the playlist allows blocking reloads), else 1; 2 on bad
// usage. A watchdog ends the run (and with it the browser) if anything hangs.
import { readFile } from 'node:fs/promises';
import { AUTOPLAY, createHarness, harnessError, sampleFor } from './harness.mjs';

const h = createHarness('hls_play', 'node hls_play.mjs URL [--seconds N] [--expect-ll] [--verbose]');
const options = { url: null, seconds: 10, expectLl: false, verbose: false };
h.parseArgs(options, {
  '--expect-ll': () => { options.expectLl = true; },
});
const log = h.log;

// Launching, loading and sampling together get this long; then the run fails.
h.guard((options.seconds + 60) * 1000, { played: false });

const { chromium, hlsScript } = await h.load(async (require) => ({
  chromium: require('playwright-core').chromium,
  hlsScript: await readFile(require.resolve('hls.js/dist/hls.min.js')),
}));

// The page: hls.js plus the player, which keeps its observations in window.hlsPlay.
const page_html = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice hls.js test</title>
<script src="/hls.min.js"></script></head>
<body><video id="v" muted playsinline autoplay></video>
<script>
window.hlsPlay = {
  state: {
    supported: Hls.isSupported(), started: null, stalls: 0, playing: false, errors: [],
    nonFatalErrors: {}, partsLoaded: 0, fragmentsLoaded: 0, levelsLoaded: 0, hasPartList: false,
    canBlockReload: false, partTarget: null, version: Hls.version, videoError: null,
  },
  start(url) {
    const s = this.state;
    const video = document.getElementById('v');
    // Rebuffering once playing; the wait for the first fragment is not a stall.
    video.addEventListener('waiting', () => { if (s.started !== null) s.stalls += 1; });
    video.addEventListener('playing', () => {
      s.playing = true;
      if (s.started === null) s.started = video.currentTime;
    });
    video.addEventListener('error', () => {
      s.videoError = video.error ? video.error.code + ' ' + video.error.message : 'error';
    });
    if (!s.supported) {
      s.errors.push({ type: 'unsupported', details: 'Hls.isSupported() is false (no MSE?)' });
      return;
    }
    const hls = new Hls({ lowLatencyMode: true });
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (event, data) => {
      if (!data.fatal) {  // counted by kind: {"bufferStalledError": 2}
        s.nonFatalErrors[data.details] = (s.nonFatalErrors[data.details] || 0) + 1;
        return;
      }
      s.errors.push({ type: data.type, details: data.details,
                      reason: data.reason || (data.error && data.error.message) || null,
                      url: (data.context && data.context.url) || (data.frag && data.frag.url) || null });
    });
    hls.on(Hls.Events.FRAG_LOADED, (event, data) => {
      if (data.part) s.partsLoaded += 1; else s.fragmentsLoaded += 1;
    });
    hls.on(Hls.Events.LEVEL_LOADED, (event, data) => {
      const d = data.details;
      s.levelsLoaded += 1;
      if (d.partList && d.partList.length > 0) s.hasPartList = true;
      if (d.canBlockReload) s.canBlockReload = true;
      if (d.partTarget) s.partTarget = d.partTarget;
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      const p = video.play();
      if (p) p.catch((e) => s.errors.push({ type: 'play', details: String(e) }));
    });
    hls.attachMedia(video);
    hls.loadSource(url);
  },
  report() {
    const s = this.state;
    const video = document.getElementById('v');
    const latency = this.hls && Number.isFinite(this.hls.latency) ? this.hls.latency : null;
    return Object.assign({}, s, {
      currentTime: video.currentTime, readyState: video.readyState, paused: video.paused,
      latency, videoWidth: video.videoWidth, videoHeight: video.videoHeight,
      h264: typeof MediaSource !== 'undefined' &&
            MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"'),
    });
  },
};
</script></body></html>`;

const pageUrl = await h.serveLoopback({
  '/': ['text/html; charset=utf-8', page_html],
  '/hls.min.js': ['text/javascript', hlsScript],
});
log(`page at ${pageUrl}, playing ${options.url}`);

const result = {
  played: false, currentTime: 0, advanced: 0, stalls: 0, errors: [], latency: null,
  partsLoaded: 0, fragmentsLoaded: 0, lowLatency: false,
};
try {
  const browser = await h.launch(chromium, [AUTOPLAY]);
  const pageErrors = [];
  const page = await h.newPage((e) => pageErrors.push(String(e)));
  await h.open(page, pageUrl);
  await page.evaluate((url) => window.hlsPlay.start(url), options.url);

  let report = null;
  await sampleFor(options.seconds, 500, async () => {
    report = await page.evaluate(() => window.hlsPlay.report());
    log(`t=${report.currentTime.toFixed(2)} ready=${report.readyState} frags=${report.fragmentsLoaded} ` +
        `parts=${report.partsLoaded} latency=${report.latency}`);
    return report.errors.length > 0;  // a fatal error: hls.js stops, nothing more to see
  });
  const advanced = report.started === null ? 0 : report.currentTime - report.started;
  Object.assign(result, {
    played: advanced >= options.seconds / 2,
    currentTime: Number(report.currentTime.toFixed(3)),
    advanced: Number(advanced.toFixed(3)),
    stalls: report.stalls,
    errors: report.errors,
    latency: report.latency === null ? null : Number(report.latency.toFixed(3)),
    partsLoaded: report.partsLoaded,
    fragmentsLoaded: report.fragmentsLoaded,
    lowLatency: report.hasPartList || report.canBlockReload,
    canBlockReload: report.canBlockReload,
    partTarget: report.partTarget,
    nonFatalErrors: report.nonFatalErrors,
    video: { width: report.videoWidth, height: report.videoHeight, readyState: report.readyState,
             paused: report.paused, error: report.videoError, h264Supported: report.h264 },
    pageErrors,
    hlsjs: report.version,
    chromium: browser.version(),
  });
} catch (e) {
  result.errors.push(harnessError(e));
}

let ok = result.played && result.errors.length === 0;
if (options.expectLl) ok = ok && result.partsLoaded > 0 && result.canBlockReload === true;
await h.finish(result, ok ? 0 : 1);
