#!/usr/bin/env node
// Glass-to-glass latency of an HLS stream in hls.js, for bench/latency_bench.sh: plays URL with
// hls.js in Debian's Chromium (headless, driven by playwright-core), reads the clock that
// bench/latency_clock.py draws into every frame (64 16x16 blocks: 48 bits of Unix ms, 8 bits of
// frame number, 8 bits of check) from each frame the video element presents, and compares it with
// the page's clock (the same machine's clock). Prints one JSON line.
//
//   node bench/hls_latency.mjs URL [--warmup S] [--seconds S] [--config JSON] [--verbose]
//
// The page (served from a free loopback port, so the playlist is fetched cross-origin as on a
// real site) plays a muted <video> through new Hls(CONFIG), CONFIG = {"lowLatencyMode": true}
// unless --config gives another, every other hls.js setting at its default. On each
// video.requestVideoFrameCallback it draws the frame's top 512x32 pixels to a canvas, reads the
// blocks (the mean of R, G and B of 4 pixels at each block's centre against 128) and, when the check
// matches, records Date.now() - stamp (the callback runs as the frame is handed to the compositor;
// the figure from the callback's expectedDisplayTime is kept too). Frames presented in the first
// --warmup seconds (default 10) after playback starts are not counted (hls.js picks its start
// position and settles); then --seconds (default 30) are counted. hls.latency (hls.js's own
// estimate: live edge minus playback position), hls.targetLatency, the video's playbackRate and
// its buffer ahead of the playhead are sampled every 0.5 s in the same window.
//
// JSON: samples, median_ms, p90_ms, min_ms, max_ms, mean_ms, display_median_ms (from
// expectedDisplayTime), unreadable, missing (gaps in the frame numbers), hls_latency_s {median,
// min, max}, hls_target_latency_s (median), max_playback_rate (above 1: hls.js was catching up
// with maxLiveSyncPlaybackRate), buffer_ahead_s (median of the video's buffered end minus its
// current time: media the player holds but has not shown yet), stalls_before
// (waiting events between playback start and counting: each raises hls.js's target latency by
// liveSyncOnStallIncrease, 1 s, up to a target duration), stalls (waiting events while counting), stall_log (for each waiting event after playback began, up to 20: ms since it began, the playhead, video.buffered and each track's buffered ranges as of the last append), warnings (hls.js's non-fatal errors, up to 20), dropped_frames (getVideoPlaybackQuality, while
// counting), parts_loaded, fragments_loaded, errors, config, hlsjs, chromium.
// Exit 0 with at least one sample and no fatal hls.js error, else 1; 2 on bad usage.
//
// playwright-core and hls.js come from tests/browser/node_modules (`make test-deps`, or
// `npm ci --prefix tests/browser`), or from BROWSER_MODULES (a directory with a package.json whose
// node_modules has both). CHROMIUM: the browser binary (default /usr/bin/chromium).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUTOPLAY, createHarness, harnessError, sampleFor, sleep } from '../tests/browser/harness.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODULES = process.env.BROWSER_MODULES || join(ROOT, 'tests', 'browser');

const h = createHarness('hls_latency',
                        'node hls_latency.mjs URL [--warmup S] [--seconds S] [--config JSON] [--verbose]',
                        { modules: MODULES, hint: ', or set BROWSER_MODULES' });
const options = { url: null, warmup: 10, seconds: 30, config: { lowLatencyMode: true }, verbose: false };
h.parseArgs(options, {
  '--warmup': (next) => {
    options.warmup = Number(next());
    if (!(options.warmup >= 0)) h.usage('--warmup takes a number of seconds');
  },
  '--config': (next) => {
    try {
      options.config = JSON.parse(next());
    } catch (e) {
      h.usage(`--config: ${e.message}`);
    }
  },
});
const log = h.log;

// Launch, first frame (up to 30 s), warm-up and window; then the run fails.
h.guard((options.warmup + options.seconds + 90) * 1000, { samples: 0 });

const { chromium, hlsScript, hlsVersion } = await h.load(async (require) => ({
  chromium: require('playwright-core').chromium,
  hlsScript: await readFile(require.resolve('hls.js/dist/hls.min.js')),
  hlsVersion: JSON.parse(await readFile(require.resolve('hls.js/package.json'))).version,
}));

const page_html = `<!doctype html>
<html><head><meta charset="utf-8"><title>sluice glass-to-glass</title>
<script src="/hls.min.js"></script></head>
<body><video id="v" muted playsinline autoplay></video>
<script>
window.g2g = {
  counting: false, samples: [], display: [], unreadable: 0, missing: 0, lastSeq: null,
  playingSince: null, stalls: 0, stallsBefore: 0, errors: [], partsLoaded: 0, fragmentsLoaded: 0, rvfc: 0,
  stallLog: [], appended: null, warnings: [], events: [], t0: null,
  start(url, config) {
    const video = document.getElementById('v');
    const canvas = document.createElement('canvas');
    canvas.width = 512; canvas.height = 32;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const check = (bytes) => { let s = 0; for (let i = 0; i < 7; ++i) s += bytes[i]; return (s & 0xff) ^ 0x5a; };
    const onFrame = (now, meta) => {
      const wall = Date.now();
      this.rvfc += 1;
      if (this.counting) {
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
        if (check(bytes) !== bytes[7]) {
          this.unreadable += 1;
        } else {
          let ms = 0;
          for (let i = 0; i < 6; ++i) ms = ms * 256 + bytes[i];
          const seq = bytes[6];
          if (this.lastSeq !== null) this.missing += (seq - this.lastSeq - 1 + 256) % 256;
          this.lastSeq = seq;
          this.samples.push(wall - ms);
          this.display.push(performance.timeOrigin + meta.expectedDisplayTime - ms);
        }
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
    video.addEventListener('playing', () => { if (this.playingSince === null) this.playingSince = Date.now(); });
    const ranges = (tr) => {
      if (!tr) return null;
      const out = [];
      for (let i = 0; i < tr.length; ++i) out.push([+tr.start(i).toFixed(3), +tr.end(i).toFixed(3)]);
      return out;
    };
    video.addEventListener('waiting', () => {
      if (this.counting) this.stalls += 1;
      else if (this.playingSince !== null) this.stallsBefore += 1;
      // Where the playhead stood and what each track had buffered (as of the last append).
      if (this.playingSince !== null && this.stallLog.length < 20) {
        this.stallLog.push({ after_ms: Date.now() - this.playingSince, t: +video.currentTime.toFixed(3),
                             buffered: ranges(video.buffered),
                             audio: ranges(this.appended && this.appended.audio),
                             video: ranges(this.appended && this.appended.video) });
      }
    });
    if (!Hls.isSupported()) { this.errors.push({ type: 'unsupported', details: 'Hls.isSupported() is false' }); return; }
    const hls = new Hls(config);
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (e, data) => {
      if (data.fatal) this.errors.push({ type: data.type, details: data.details });
      else if (this.warnings.length < 20) {
        this.warnings.push({ after_ms: this.playingSince === null ? null : Date.now() - this.playingSince,
                             details: data.details, frag: data.frag ? String(data.frag.sn) : null,
                             part: data.part ? data.part.index : null,
                             reason: data.reason || (data.error && String(data.error.message || data.error)) || null });
      }
    });
    hls.on(Hls.Events.BUFFER_APPENDED, (e, data) => { this.appended = data.timeRanges; });
    // The first 60 loads, appends and playlist updates, with ms since start() (diagnostics).
    this.t0 = Date.now();
    const note = (name) => (e, data) => {
      if (this.events.length >= 60) return;
      const f = data.frag, p = data.part;
      this.events.push([Date.now() - this.t0, name, f ? f.sn : null, p ? p.index : null,
                        data.details && data.details.partList ? data.details.partList.length : null,
                        +video.currentTime.toFixed(3)]);
    };
    for (const ev of ['FRAG_LOADING', 'FRAG_LOADED', 'FRAG_BUFFERED', 'LEVEL_LOADED', 'LEVEL_UPDATED']) {
      hls.on(Hls.Events[ev], note(ev));
    }
    video.addEventListener('playing', () => {
      if (this.events.length < 60) this.events.push([Date.now() - this.t0, 'playing', null, null, null, +video.currentTime.toFixed(3)]);
    });
    hls.on(Hls.Events.FRAG_LOADED, (e, data) => {
      if (!this.counting) return;
      if (data.part) this.partsLoaded += 1; else this.fragmentsLoaded += 1;
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      const p = video.play();
      if (p) p.catch((e) => this.errors.push({ type: 'play', details: String(e) }));
    });
    hls.attachMedia(video);
    hls.loadSource(url);
  },
  begin() {
    this.counting = true;
    this.lastSeq = null;
    const q = document.getElementById('v').getVideoPlaybackQuality();
    this.dropped0 = q.droppedVideoFrames;
  },
  poll() {
    const video = document.getElementById('v');
    const latency = this.hls && Number.isFinite(this.hls.latency) ? this.hls.latency : null;
    const target = this.hls && Number.isFinite(this.hls.targetLatency) ? this.hls.targetLatency : null;
    const vb = video.buffered;
    const ahead = vb.length ? vb.end(vb.length - 1) - video.currentTime : null;
    return { playingSince: this.playingSince, currentTime: video.currentTime, latency, target,
             rate: video.playbackRate, ahead,
             errors: this.errors, samples: this.samples.length, rvfc: this.rvfc };
  },
  end() {
    this.counting = false;
    const q = document.getElementById('v').getVideoPlaybackQuality();
    return { samples: this.samples, display: this.display, unreadable: this.unreadable,
             missing: this.missing, stalls: this.stalls, stallsBefore: this.stallsBefore, errors: this.errors,
             stallLog: this.stallLog, warnings: this.warnings, events: this.events,
             dropped: q.droppedVideoFrames - this.dropped0, partsLoaded: this.partsLoaded,
             fragmentsLoaded: this.fragmentsLoaded, version: Hls.version };
  },
};
</script></body></html>`;

const pageUrl = await h.serveLoopback({
  '/': ['text/html; charset=utf-8', page_html],
  '/hls.min.js': ['text/javascript', hlsScript],
});

const percentile = (sorted, p) => {
  if (sorted.length === 0) return null;
  const k = (sorted.length - 1) * p / 100;
  const i = Math.floor(k);
  const j = Math.min(i + 1, sorted.length - 1);
  return sorted[i] + (sorted[j] - sorted[i]) * (k - i);
};
const round1 = (v) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);
const round3 = (v) => Math.round(v * 1000) / 1000;

const result = { samples: 0, errors: [], config: options.config, hlsjs: hlsVersion };
try {
  const browser = await h.launch(chromium, [AUTOPLAY]);
  result.chromium = browser.version();
  const page = await h.newPage((e) => result.errors.push({ type: 'page', details: String(e) }));
  await h.open(page, pageUrl);
  await page.evaluate(([url, config]) => window.g2g.start(url, config), [options.url, options.config]);

  // Until playback starts (30 s at most), then the warm-up.
  const startDeadline = Date.now() + 30000;
  let st = await page.evaluate(() => window.g2g.poll());
  while (st.playingSince === null && st.errors.length === 0) {
    if (Date.now() > startDeadline) throw new Error('playback did not start within 30 s');
    await sleep(200);
    st = await page.evaluate(() => window.g2g.poll());
  }
  if (st.errors.length) throw new Error(`hls.js: ${JSON.stringify(st.errors)}`);
  log(`playing; warming up ${options.warmup} s`);
  await sleep(options.warmup * 1000);
  await page.evaluate(() => window.g2g.begin());
  const latencies = [];
  const targets = [];
  const ahead = [];
  let fastest = 1;
  await sampleFor(options.seconds, 500, async () => {
    st = await page.evaluate(() => window.g2g.poll());
    if (st.latency !== null) latencies.push(st.latency);
    if (st.target !== null) targets.push(st.target);
    fastest = Math.max(fastest, st.rate);
    if (st.ahead !== null) ahead.push(st.ahead);
    log(`t=${st.currentTime.toFixed(2)} hls.latency=${st.latency} target=${st.target} ahead=${st.ahead} ` +
        `rate=${st.rate} samples=${st.samples}`);
    return st.errors.length > 0;
  });
  const r = await page.evaluate(() => window.g2g.end());
  const s = r.samples.slice().sort((a, b) => a - b);
  const d = r.display.slice().sort((a, b) => a - b);
  const l = latencies.slice().sort((a, b) => a - b);
  Object.assign(result, {
    samples: s.length,
    median_ms: round1(percentile(s, 50)),
    p90_ms: round1(percentile(s, 90)),
    min_ms: round1(s[0]),
    max_ms: round1(s[s.length - 1]),
    mean_ms: round1(s.length ? s.reduce((a, b) => a + b, 0) / s.length : null),
    display_median_ms: round1(percentile(d, 50)),
    unreadable: r.unreadable,
    missing: r.missing,
    hls_latency_s: l.length ? { median: round3(percentile(l, 50)), min: round3(l[0]), max: round3(l[l.length - 1]) } : null,
    hls_target_latency_s: targets.length ? round3(percentile(targets.slice().sort((a, b) => a - b), 50)) : null,
    max_playback_rate: fastest,
    buffer_ahead_s: ahead.length ? round3(percentile(ahead.slice().sort((a, b) => a - b), 50)) : null,
    stalls_before: r.stallsBefore,
    stalls: r.stalls,
    stall_log: r.stallLog,
    warnings: r.warnings,
    events: r.events,
    dropped_frames: r.dropped,
    parts_loaded: r.partsLoaded,
    fragments_loaded: r.fragmentsLoaded,
    errors: result.errors.concat(r.errors),
    hlsjs: r.version,
  });
} catch (e) {
  result.errors.push(harnessError(e));
}
await h.finish(result, result.samples > 0 && result.errors.length === 0 ? 0 : 1);
