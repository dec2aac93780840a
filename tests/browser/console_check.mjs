#!/usr/bin/env node
// Drives the web console that sluiced serves at `/` in Debian's Chromium (headless, through
// playwright-core) through one scenario, and prints one JSON line about what the page showed.
// tests/integration/console_test.cpp runs each scenario against a real sluiced.
//
//   node tests/browser/console_check.mjs URL --scenario NAME [--user U --password P | --token T]
//        [--stream NAME] [--path NAME] [--expect webrtc|hls] [--seconds N] [--verbose]
//
// Every scenario starts at URL (sluiced's `/`) and signs in through the console's own form: with
// --user/--password (HTTP Basic from then on) or --token (an API token, Bearer).
//   signin   first a wrong password (the form must say so), then the right one; the navigation and
//            the identity show. Then on Streams, once the live event stream is connected, the
//            script advertises --stream over HTTP (POST /streams/advertise, as curl would) and
//            waits for its row to appear without a reload: {signInShown, wrongRefused, signedIn,
//            identity, nav, streamAppeared, appearMs}.
//   key      Keys: creates a publish key for --stream; the key and the OBS server are shown once:
//            {key, rtmpUrl, copyButtons, goneAfterDone}.
//   preview  Media: the live path --path plays in the preview, over --expect (webrtc, the
//            default, or hls: the fallback); samples the <video>'s decoded frames for --seconds
//            (default 4): {mode, frames: [...], rising}.
//   setting  Settings: stream_ttl set to 0 (refused: the server's 422 message shows), then 45
//            (saved): {badMessage, savedShown}.
//   viewer   the navigation, then #/keys by hand: {nav, keysLinkShown, keysPageText,
//            keysRequested (whether the page asked for /keys at all)}.
// Exit 0 when the scenario's checks passed ("ok": true), 1 otherwise, 2 on bad usage.
import { AUTOPLAY, WEBRTC_LOOPBACK, createHarness, harnessError, sleep } from './harness.mjs';

const h = createHarness('console_check',
  'node console_check.mjs URL --scenario signin|key|preview|setting|viewer [--user U --password P | --token T] ' +
  '[--stream NAME] [--path NAME] [--expect webrtc|hls] [--seconds N] [--verbose]');
const options = { url: null, scenario: null, user: null, password: null, token: null, stream: 'Console Camera',
                  path: 'cam', expect: 'webrtc', seconds: 4, verbose: false };
h.parseArgs(options, {
  '--scenario': (next) => { options.scenario = next(); },
  '--user': (next) => { options.user = next(); },
  '--password': (next) => { options.password = next(); },
  '--token': (next) => { options.token = next(); },
  '--stream': (next) => { options.stream = next(); },
  '--path': (next) => { options.path = next(); },
  '--expect': (next) => { options.expect = next(); },
});
const base = h.httpUrl(options.url);
if (!['signin', 'key', 'preview', 'setting', 'viewer'].includes(options.scenario)) h.usage('unknown --scenario');
if (!options.token && !(options.user && options.password)) h.usage('--user and --password, or --token');
h.guard((options.seconds + 60) * 1000, { ok: false });
const log = h.log;

const result = { scenario: options.scenario, ok: false, errors: [] };
const fail = (type, details) => result.errors.push({ type, details: String(details) });

// Signs in through the form; true when the console's shell (the navigation) shows.
async function signIn(page, password = options.password) {
  await page.waitForSelector('form[aria-labelledby="signin-title"]');
  if (options.token) {
    await page.getByRole('tab', { name: 'API token' }).click();
    await page.getByLabel('API token').fill(options.token);
  } else {
    await page.getByLabel('User').fill(options.user);
    await page.getByLabel('Password').fill(password);
  }
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function navLabels(page) {
  return page.locator('nav a').allInnerTexts();
}

async function signedIn(page) {
  await signIn(page);
  await page.waitForSelector('nav a', { timeout: 10000 });
  result.identity = (await page.locator('.identity').innerText()).trim();
  result.nav = await navLabels(page);
}

async function call(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  headers.Authorization = options.token ? `Bearer ${options.token}`
    : 'Basic ' + Buffer.from(`${options.user}:${options.password}`).toString('base64');
  const res = await fetch(new URL(path, base), { method, headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.text() };
}

const scenarios = {
  async signin(page) {
    await page.waitForSelector('form[aria-labelledby="signin-title"]');
    result.signInShown = true;
    await signIn(page, options.password + '-wrong');
    const error = page.locator('.signin .error');
    await error.waitFor({ timeout: 10000 });
    result.wrongMessage = (await error.innerText()).trim();
    result.wrongRefused = /invalid or expired/i.test(result.wrongMessage);
    await sleep(300);  // the server waits 100 ms after a failure before it checks this address again
    await signIn(page);
    await page.waitForSelector('nav a', { timeout: 10000 });
    result.signedIn = true;
    result.identity = (await page.locator('.identity').innerText()).trim();
    result.nav = await navLabels(page);
    await page.goto(new URL('/#/streams', base).href);
    await page.locator('.page-head .badge', { hasText: 'live' }).waitFor({ timeout: 10000 });
    const row = page.locator(`tr[data-stream="${options.stream}"]`);
    result.presentBefore = (await row.count()) > 0;
    const t0 = Date.now();
    const ad = await call('POST', '/streams/advertise', {
      name: options.stream, stream_type: 'video', publisher_id: 'console-test', protocol: 'udp',
      address: '127.0.0.1', port: 5000 });
    result.advertiseStatus = ad.status;
    try {
      await row.waitFor({ timeout: 5000 });
      result.streamAppeared = true;
      result.appearMs = Date.now() - t0;
    } catch {
      result.streamAppeared = false;
    }
    return result.signInShown && result.wrongRefused && result.signedIn && !result.presentBefore &&
      result.streamAppeared;
  },

  async key(page) {
    await signedIn(page);
    await page.goto(new URL('/#/keys', base).href);
    await page.getByLabel('Stream name').fill(options.stream);
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = page.locator('[data-testid="stream-key"]');
    await key.waitFor({ timeout: 10000 });
    result.key = (await key.innerText()).trim();
    result.rtmpUrl = (await page.locator('[data-testid="rtmp-url"]').innerText()).trim();
    result.copyButtons = await page.getByRole('button', { name: /^Copy / }).count();
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await sleep(200);
    result.goneAfterDone = !(await page.locator('body').innerText()).includes(result.key);
    result.listed = await page.locator('td', { hasText: options.stream }).count();
    return /^sk_[0-9a-f]{16}/.test(result.key) && result.rtmpUrl.startsWith('rtmp://') &&
      result.copyButtons >= 2 && result.goneAfterDone && result.listed > 0;
  },

  async preview(page) {
    await signedIn(page);
    await page.goto(new URL('/#/media', base).href);
    const video = page.locator(`video.preview[data-path="${options.path}"]`);
    await video.waitFor({ timeout: 10000 });
    await page.locator(`video.preview[data-mode="webrtc"], video.preview[data-mode="hls"]`)
      .waitFor({ timeout: 15000 }).catch(() => {});
    result.mode = await video.getAttribute('data-mode');
    const frames = () => video.evaluate((v) => {
      const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
      return q ? q.totalVideoFrames : 0;
    });
    const t0 = Date.now();
    while ((await frames()) === 0 && Date.now() - t0 < 15000) await sleep(100);
    result.firstFrameMs = Date.now() - t0;
    result.frames = [];
    for (let i = 0; i <= options.seconds * 2; ++i) {
      result.frames.push(await frames());
      await sleep(500);
    }
    result.size = await video.evaluate((v) => [v.videoWidth, v.videoHeight]);
    result.element = await video.evaluate((v) => ({
      currentTime: v.currentTime, readyState: v.readyState, paused: v.paused,
      buffered: Array.from({ length: v.buffered.length }, (_, i) => [v.buffered.start(i), v.buffered.end(i)]),
      note: document.querySelector('.player figcaption')?.textContent }));
    const f = result.frames;
    result.rising = f.length > 2 && f[f.length - 1] > f[0] + 10 &&
      f.slice(2).every((n, i) => n > f[i]);  // grew over every second
    return result.mode === options.expect && result.rising;
  },

  async setting(page) {
    await signedIn(page);
    await page.goto(new URL('/#/settings', base).href);
    const form = page.locator('form[data-setting="stream_ttl"]');
    await form.waitFor({ timeout: 10000 });
    const input = form.locator('input');
    await input.fill('0');
    await form.getByRole('button', { name: 'Save' }).click();
    const error = form.locator('.error');
    await error.waitFor({ timeout: 10000 });
    result.badMessage = (await error.innerText()).trim();
    await input.fill('45');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.locator('.saved').waitFor({ timeout: 10000 });
    result.savedShown = true;
    result.errorAfterSave = await form.locator('.error').count();
    return /stream_ttl: must be at least 1/.test(result.badMessage) && result.savedShown &&
      result.errorAfterSave === 0;
  },

  async viewer(page) {
    const requested = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/keys')) requested.push(u.pathname);
    });
    await signedIn(page);
    result.keysLinkShown = result.nav.includes('Keys');
    await page.goto(new URL('/#/keys', base).href);
    await page.waitForSelector('main h1');
    await sleep(500);
    result.keysPageText = (await page.locator('main').innerText()).trim();
    result.keysRequested = requested.length > 0;
    result.keyForm = await page.getByLabel('Stream name').count();
    return !result.keysLinkShown && /Not allowed/.test(result.keysPageText) && !result.keysRequested &&
      result.keyForm === 0;
  },
};

try {
  const { chromium } = await h.load((require) => require('playwright-core'));
  await h.launch(chromium, [AUTOPLAY, ...WEBRTC_LOOPBACK]);
  const pageErrors = [];
  const page = await h.newPage((e) => pageErrors.push(String(e)));
  page.on('dialog', (d) => { fail('dialog', `${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  await page.goto(new URL('/', base).href, { waitUntil: 'load' });
  const passed = await scenarios[options.scenario](page);
  for (const e of pageErrors) fail('page', e);
  result.ok = passed && result.errors.length === 0;
  log(JSON.stringify(result));
} catch (e) {
  result.errors.push(harnessError(e));
}
await h.finish(result, result.ok ? 0 : 1);
