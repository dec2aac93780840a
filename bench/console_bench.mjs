#!/usr/bin/env node
// The web console's weight and first load (issue 16's targets: at most 300 KB gzip shipped, first
// load under 1 s on loopback with a cold cache). Not a test: run by hand, figures go to
// docs/benchmarks.md ("Web console").
//
//   node bench/console_bench.mjs URL [--runs N] [--verbose]
//
// URL is a running sluiced (http://127.0.0.1:8080/), started with `--loopback-admin true` (what
// `make run` does) so the console opens on its Streams page without signing in.
// 1. Size: every file the console ships — index.html and each file it links, plus every other
//    file under /console/assets/ the pages load (the lazily loaded hls.js chunk counts too) —
//    fetched with `Accept-Encoding: gzip`, as a browser would: the bytes on the wire, summed.
// 2. First load, N times (default 5) in a fresh browser context each (an empty cache): from
//    navigation start to DOMContentLoaded, to `load`, and to the console being ready (its Streams
//    table or "No streams" shown, data from the API included). The median of each, and the
//    bytes the page transferred (Resource Timing).
// Prints one JSON line. playwright-core comes from tests/browser/node_modules (`make test-deps`).
import { createHarness, harnessError } from '../tests/browser/harness.mjs';

const h = createHarness('console_bench', 'node bench/console_bench.mjs URL [--runs N] [--verbose]');
const options = { url: null, runs: 5, verbose: false };
h.parseArgs(options, {
  '--runs': (next) => {
    options.runs = Number(next());
    if (!(options.runs >= 1)) h.usage('--runs takes a positive number');
  },
});
const base = h.httpUrl(options.url);
h.guard(180000, {});

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Every file the console ships: index.html, what it links, and the chunks the scripts import
// (found in their text as "assets/NAME"); each with its size as sent gzip and as built.
async function shipped() {
  const files = new Map();
  const queue = ['/'];
  while (queue.length) {
    const path = queue.shift();
    if (files.has(path)) continue;
    const zipped = await fetch(new URL(path, base), { headers: { 'Accept-Encoding': 'gzip' } });
    // Node's fetch decodes gzip: the size on the wire is the Content-Length.
    const decoded = (await zipped.arrayBuffer()).byteLength;
    const encoded = Number(zipped.headers.get('content-length'));
    const plain = await fetch(new URL(path, base), { headers: { 'Accept-Encoding': 'identity' } });
    const text = await plain.text();
    files.set(path, { path, gzip: encoded || decoded, bytes: Buffer.byteLength(text),
                      encoding: zipped.headers.get('content-encoding') || 'identity' });
    for (const m of text.matchAll(/(?:\/console\/)?assets\/[\w.-]+\.(?:js|css)/g)) {
      const p = m[0].startsWith('/') ? m[0] : `/console/${m[0]}`;
      if (!files.has(p)) queue.push(p);
    }
    // Chunks a script imports relative to itself: import("./hls.light-HASH.js").
    if (path.endsWith('.js')) {
      for (const m of text.matchAll(/["'`]\.\/([\w.-]+\.(?:js|css))["'`]/g)) {
        const p = new URL(m[1], new URL(path, base)).pathname;
        if (!files.has(p)) queue.push(p);
      }
    }
  }
  return [...files.values()];
}

const result = { url: base.href, files: [], errors: [] };
try {
  const files = await shipped();
  result.files = files;
  result.shippedGzipBytes = files.reduce((n, f) => n + f.gzip, 0);
  result.shippedBytes = files.reduce((n, f) => n + f.bytes, 0);

  const { chromium } = await h.load((require) => require('playwright-core'));
  const browser = await h.launch(chromium);
  result.chromium = browser.version();
  const runs = [];
  for (let i = 0; i < options.runs; ++i) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(new URL('/#/streams', base).href, { waitUntil: 'load' });
    await page.waitForSelector('table.streams, .empty, form[aria-labelledby="signin-title"]');
    const wall = Date.now() - t0;
    const timing = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      return {
        domContentLoadedMs: n.domContentLoadedEventEnd,
        loadMs: n.loadEventEnd,
        readyMs: performance.now(),
        transferred: n.transferSize + res.reduce((s, r) => s + (r.transferSize || 0), 0),
      };
    });
    timing.wallMs = wall;
    runs.push(timing);
    h.log(JSON.stringify(timing));
    await context.close();
  }
  result.runs = runs;
  result.median = {
    domContentLoadedMs: median(runs.map((r) => r.domContentLoadedMs)),
    loadMs: median(runs.map((r) => r.loadMs)),
    readyMs: median(runs.map((r) => r.readyMs)),
    wallMs: median(runs.map((r) => r.wallMs)),
    transferred: median(runs.map((r) => r.transferred)),
  };
} catch (e) {
  result.errors.push(harnessError(e));
}
await h.finish(result, result.errors.length ? 1 : 0);
