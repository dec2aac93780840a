#!/usr/bin/env node
// Screenshots of every page of the web console at 1280 and 390 pixels wide, for docs/console/
// (run by hand, not by `make test`). Debian's Chromium, driven headless by playwright-core.
//
//   node tests/browser/console_screenshots.mjs URL [--out DIR] [--token TOKEN] [--seed] [--verbose]
//
// URL is a running sluiced (http://127.0.0.1:8080/). Without --token the browser signs in as
// whatever sluiced takes a loopback client for: start it with `--loopback-admin true` (what
// `make run` does) so every page shows. --seed first fills it with something to look at, over the
// HTTP API: advertised streams (one an auto_offer stream, requested for a session), a stream key,
// a test-pattern pipeline with two renditions, a user and a token. A relay channel and an RTMP
// publisher need other programs, e.g. `sluice pub show.lights -` and ffmpeg (docs/console/README.md).
// Writes DIR/PAGE-1280.png and DIR/PAGE-390.png (DIR default docs/console), as 8-bit palette PNGs
// when Debian's pngquant is installed (smaller files), and prints one JSON line.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHarness, harnessError, sleep } from './harness.mjs';

const h = createHarness('console_screenshots',
  'node console_screenshots.mjs URL [--out DIR] [--token TOKEN] [--seed] [--verbose]');
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const options = { url: null, out: join(ROOT, 'docs', 'console'), token: null, seed: false, verbose: false };
h.parseArgs(options, {
  '--out': (next) => { options.out = next(); },
  '--token': (next) => { options.token = next(); },
  '--seed': () => { options.seed = true; },
});
const base = h.httpUrl(options.url);
h.guard(240000, { pages: [] });

// Each page: its hash route, and what shows that it has loaded.
const PAGES = [
  ['streams', '#/streams', 'table.streams, .empty'],
  ['sessions', '#/sessions', '.chart'],
  ['channels', '#/channels', 'table, .empty'],
  ['media', '#/media', 'video.preview, .empty'],
  ['pipelines', '#/pipelines', '.pipeline, .empty'],
  ['recordings', '#/recordings', 'table, .empty'],
  ['keys', '#/keys', 'form'],
  ['users', '#/users', 'form'],
  ['settings', '#/settings', '.setting'],
  ['metrics', '#/metrics', '.stat'],
];

async function call(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const res = await fetch(new URL(path, base), { method, headers, body: body && JSON.stringify(body) });
  h.log(`${method} ${path}: ${res.status}`);
  return res.ok ? res.json().catch(() => null) : null;
}

async function seed() {
  const stream = (name, type, port, config = {}) => call('POST', '/streams/advertise', {
    name, stream_type: type, publisher_id: 'stage-pc', protocol: 'udp', address: '10.0.0.20', port, config });
  await stream('Stage Camera A', 'ndi', 5960, { resolution: '1920x1080', fps: 30 });
  await stream('FOH Mix', 'audio', 5004, { sample_rate: 48000, channels: 2 });
  await stream('Glove', 'sensor', 9000, { auto_offer: true });
  await stream('Lighting cues', 'osc', 57121);
  const streams = await call('GET', '/streams') || [];
  const glove = streams.find((s) => s.name === 'Glove');
  if (glove) {
    await call('POST', `/streams/${glove.id}/request`, { consumer_id: 'td-workstation', consumer_address: '10.0.0.5' });
  }
  await call('POST', '/keys', { stream: 'cam', note: 'front of house camera' });
  await call('POST', '/keys', { stream: 'stage', kind: 'read', alias: 'stage-read' });
  await call('POST', '/pipelines', {
    name: 'demo', source: { type: 'testsrc', width: 640, height: 360, fps: 25 },
    encoder: { bitrate_kbps: 600, preset: 'ultrafast' },
    renditions: [{ path: 'demo1' }, { path: 'demo2', width: 320, height: 180, bitrate_kbps: 250 }] });
  await call('POST', '/auth/users', { name: 'ana', password: 'stage-crew-1', role: 'operator' });
  await call('POST', '/auth/tokens', { name: 'stage-pi', role: 'publisher' });
  await sleep(4000);  // the pipeline's first seconds, for the charts
}

// Smaller PNGs: pngquant's 256-colour palette when it is installed.
function shrink(file) {
  try {
    execFileSync('pngquant', ['--force', '--skip-if-larger', '--quality', '70-95', '--ext', '.png', file]);
  } catch {
    // not installed, or no gain: the full-colour PNG stays
  }
  return statSync(file).size;
}

const result = { pages: [], errors: [] };
try {
  const { chromium } = await h.load((require) => require('playwright-core'));
  if (options.seed) await seed();
  mkdirSync(options.out, { recursive: true });
  const browser = await h.launch(chromium, ['--autoplay-policy=no-user-gesture-required',
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns']);
  for (const width of [1280, 390]) {
    const context = await browser.newContext({ viewport: { width, height: width > 800 ? 800 : 844 },
                                               deviceScaleFactor: 1 });
    if (options.token) {
      await context.addInitScript((token) => {
        sessionStorage.setItem('sluice.credentials', JSON.stringify({ kind: 'token', token }));
      }, options.token);
    }
    const page = await context.newPage();
    page.on('pageerror', (e) => result.errors.push({ type: 'page', details: String(e) }));
    for (const [name, hash, ready] of PAGES) {
      await page.goto(new URL(`/${hash}`, base).href, { waitUntil: 'load' });
      await page.waitForSelector(ready, { timeout: 10000 }).catch(() => {});
      if (name === 'streams') {
        // The details of the first stream, to show them.
        const first = page.locator('table.streams button.link').first();
        if (await first.count()) await first.click();
      }
      await sleep(name === 'media' || name === 'metrics' || name === 'channels' || name === 'pipelines' ? 5000 : 800);
      const file = join(options.out, `${name}-${width}.png`);
      // Narrow: the whole page down to 1,800 px (the settings list is far longer).
      const height = await page.evaluate(() => document.documentElement.scrollHeight);
      await page.screenshot(width < 800
        ? { path: file, fullPage: true, clip: { x: 0, y: 0, width, height: Math.min(height, 1800) } }
        : { path: file });
      result.pages.push({ name, width, bytes: shrink(file) });
      h.log(`${file}`);
    }
    await context.close();
  }
} catch (e) {
  result.errors.push(harnessError(e));
}
await h.finish(result, result.errors.length ? 1 : 0);
