// What the browser scripts share (tests/browser/hls_play.mjs, whep_play.mjs, whep_loss.mjs,
// whip_publish.mjs and bench/hls_latency.mjs): each drives Debian's Chromium headless through
// playwright-core (which downloads no browser of its own), prints one JSON line on stdout and
// exits 0 on success, 1 on failure, 2 on bad usage. Importing this module loads no npm package.
//
//   const h = createHarness(NAME, USAGE, {modules, hint})
//     NAME starts each line on stderr ("NAME: …"), USAGE is the usage line ("node NAME.mjs URL …");
//     npm packages resolve from modules/node_modules (default: this directory's), and hint ends
//     the message when one is missing.
//   h.parseArgs(options, own)
//     The command line into options: one positional URL (options.url, required), --seconds N (a
//     positive number), --verbose, and the script's own options, own = {'--x': (next) => …},
//     next() taking the option's value. Bad usage prints the message and the usage line and exits
//     2, as h.usage(message) does.
//   h.httpUrl(text)      text as a URL, which must be http(s); else bad usage.
//   h.log(...)           a line on stderr, with --verbose only.
//   h.guard(ms, failed)  the watchdog: after ms, or on SIGINT or SIGTERM, h.finish() with failed
//     plus errors: [{type: 'watchdog' or 'signal', details}], exit 1.
//   await h.load(fn)     fn(require), require resolving from modules; when a package is missing,
//     how to install it, exit 2.
//   await h.launch(chromium, args)
//     Chromium (CHROMIUM, default /usr/bin/chromium) with --no-sandbox, --disable-gpu, args, and
//     no network beyond loopback (no background fetches, component updates or QUIC).
//   await h.newPage(onPageError)   a page (15 s timeouts) whose console goes to h.log.
//   await h.serveLoopback(files)
//     A static server on a free 127.0.0.1 port serving files ({'/path': [contentType, body]});
//     the page URL.
//   h.originPageUrl(target), await h.open(page, url, html)
//     A made-up path (/.sluice-test/NAME.html) on target's origin, which playwright answers itself
//     (page.route) with html, so that the page's requests to target are same-origin; open() routes
//     url there when html is given, and loads url.
//   await h.sampleRtc(page, player, {seconds, hangUp, describe})
//     Samples window[player] (a page object on RTC_PAGE_SCRIPT) when it started without errors:
//     h.log(describe(report)) every SAMPLE_MS for seconds, sooner over when the connection failed;
//     then its stop(), and hangUp() when asked. Its last report().
//   await h.finish(result, code)
//     Prints result as one JSON line (the first call only), closes the browser and the server (5 s
//     at most) and exits with code.
//   sampleFor(seconds, ms, step)   step() every ms for seconds, until it returns true.
//   harnessError(e)      {type: 'harness', details}: the script's own failure, for errors.
//   frameGrowth(samples, firstFrameMs)
//     Whether a player's framesDecoded kept growing after its first frame, from its samples
//     ({t, frames}): {rising, freezes, longestStallMs}.
//   rtcConnection(report)
//     The fields a WebRTC result takes from its page object's report(): audio, connectionState,
//     iceConnectionState, states, selectedPair, gatherMs (in that order).
//   RTC_PAGE_SCRIPT      for a <script> of the WebRTC pages: window.rtcPlayer(state, rtpType), the
//     base of a WHEP or WHIP page object (see rtcPagePrelude).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));  // tests/browser
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SAMPLE_MS = 500;
export const AUTOPLAY = '--autoplay-policy=no-user-gesture-required';
// WebRTC candidates on loopback too, and as plain addresses rather than mDNS names.
export const WEBRTC_LOOPBACK = ['--allow-loopback-in-peer-connection',
                                '--disable-features=WebRtcHideLocalIpsWithMdns'];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const harnessError = (e) => ({ type: 'harness', details: String(e && e.message ? e.message : e) });

export async function sampleFor(seconds, ms, step) {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await sleep(ms);
    if (await step()) break;
  }
}

export function createHarness(name, usageLine, { modules = HERE, hint = '' } = {}) {
  let verbose = false;
  let browser = null;
  let server = null;
  let finished = false;

  function usage(message) {
    if (message) console.error(`${name}: ${message}`);
    console.error(`usage: ${usageLine}`);
    process.exit(2);
  }

  function parseArgs(options, own = {}) {
    const argv = process.argv.slice(2);
    let i = 0;
    const next = () => argv[++i];
    for (; i < argv.length; ++i) {
      const a = argv[i];
      if (a === '--seconds') {
        options.seconds = Number(next());
        if (!(options.seconds > 0)) usage('--seconds takes a positive number');
      } else if (a === '--verbose') {
        options.verbose = true;
      } else if (Object.hasOwn(own, a)) {
        own[a](next);
      } else if (a.startsWith('--')) {
        usage(`unknown option ${a}`);
      } else if (!options.url) {
        options.url = a;
      } else {
        usage(`unexpected argument ${a}`);
      }
    }
    if (!options.url) usage('no URL');
    verbose = options.verbose;
    return options;
  }

  function httpUrl(text) {
    let url;
    try {
      url = new URL(text);
    } catch {
      usage(`not a URL: ${text}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') usage('URL must be http(s)');
    return url;
  }

  const log = (...args) => {
    if (verbose) console.error(`${name}:`, ...args);
  };

  // Prints the result line once and exits; the browser is closed first (playwright-core also kills
  // it when this process exits).
  async function finish(result, code) {
    if (finished) return;
    finished = true;
    console.log(JSON.stringify(result));
    const closing = Promise.allSettled([
      browser ? browser.close() : null,
      server ? new Promise((resolve) => server.close(resolve)) : null,
    ]);
    await Promise.race([closing, sleep(5000)]);
    process.exit(code);
  }

  function guard(ms, failed) {
    const watchdog = setTimeout(() => {
      finish({ ...failed, errors: [{ type: 'watchdog', details: `no result within ${ms} ms` }] }, 1);
    }, ms);
    watchdog.unref();
    for (const signal of ['SIGINT', 'SIGTERM']) {
      process.on(signal, () => finish({ ...failed, errors: [{ type: 'signal', details: signal }] }, 1));
    }
  }

  async function load(fn) {
    const require = createRequire(join(modules, 'package.json'));
    try {
      return await fn(require);
    } catch (e) {
      console.error(`${name}: ${e.message}\nRun: npm ci --prefix tests/browser (make test-deps does)${hint}`);
      process.exit(2);
    }
  }

  async function launch(chromium, args = []) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30000,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        ...args,
        // This machine has no network beyond loopback: no background fetches, no QUIC.
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-quic',
      ],
    });
    log(`chromium ${browser.version()}`);
    return browser;
  }

  async function newPage(onPageError) {
    const page = await browser.newPage();
    page.setDefaultTimeout(15000);
    page.on('pageerror', onPageError);
    page.on('console', (m) => log(`console.${m.type()}: ${m.text()}`));
    return page;
  }

  async function serveLoopback(files) {
    server = createServer((req, res) => {
      const path = new URL(req.url, 'http://localhost').pathname;
      if (Object.hasOwn(files, path)) {
        const [contentType, body] = files[path];
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(body);
      } else if (path === '/favicon.ico') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return `http://127.0.0.1:${server.address().port}/`;
  }

  // The page's own address on target's origin: a path sluiced does not serve.
  const originPageUrl = (target) => new URL(`/.sluice-test/${name}.html`, target).href;

  async function open(page, url, html) {
    if (html !== undefined) {
      await page.route(url, (route) => route.fulfill({
        status: 200, contentType: 'text/html; charset=utf-8', body: html,
      }));
    }
    await page.goto(url, { waitUntil: 'load' });
  }

  async function sampleRtc(page, player, { seconds, hangUp, describe }) {
    const call = (method) => page.evaluate(([p, m]) => window[p][m](), [player, method]);
    let report = await call('report');
    if (report.errors.length === 0) {
      await sampleFor(seconds, SAMPLE_MS, async () => {
        report = await call('report');
        log(describe(report));
        return report.connectionState === 'failed';
      });
      await call('stop');
      if (hangUp) await call('hangUp');
      report = await call('report');
    }
    return report;
  }

  return { usage, parseArgs, httpUrl, log, guard, load, launch, newPage, serveLoopback,
           originPageUrl, open, sampleRtc, finish };
}

// What a WebRTC script's result says of the connection, from its page object's report().
export const rtcConnection = (report) => ({
  audio: report.audio,
  connectionState: report.connectionState,
  iceConnectionState: report.iceConnectionState,
  states: report.states,
  selectedPair: report.pair,
  gatherMs: report.gatherMs,
});

// Frame growth after the first frame: "rising" when framesDecoded grew in every 1-s window that
// starts at or after the first frame (and there was at least one), "freezes" counts the windows
// where it did not, "longestStallMs" is the longest time without growth.
export function frameGrowth(samples, firstFrameMs) {
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

// In the page (its source goes into RTC_PAGE_SCRIPT, so it may use nothing of this module):
// window.rtcPlayer(state, rtpType) makes the base of a page object, e.g. window.whepPlay, which
// adds start(), sample(), hangUp() and report(); state holds its observations (at least errors,
// http, gatherMs), rtpType is the kind of its media stats ('inbound-rtp' or 'outbound-rtp'). Times
// are ms since the offer was POSTed.
function rtcPagePrelude(sampleMs) {
  window.rtcPlayer = (state, rtpType) => ({
    state,
    since() { return this.t0 === undefined ? 0 : Math.round(performance.now() - this.t0); },
    fail(type, details) { this.state.errors.push({ type, details: String(details) }); },

    // A peer connection (this.pc) that receives video and audio into `video`, its connection
    // states kept in state.states: what every player page starts with.
    recvonlyPeer(video) {
      const s = this.state;
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
      return pc;
    },

    // The offer's SDP, set as local description, once ICE gathering is complete (at most 2 s: the
    // ICE-lite server needs no candidates of ours); the wait in state.gatherMs.
    async offer(pc) {
      await pc.setLocalDescription(await pc.createOffer());
      const gatherStart = performance.now();
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') resolve();
        });
        setTimeout(resolve, 2000);
      });
      this.state.gatherMs = Math.round(performance.now() - gatherStart);
      return pc.localDescription.sdp;
    },

    // POSTs the offer (fetch's init) to url, from when on since() counts, and keeps the answer's
    // status, Content-Type and Location in state.http. The answer's SDP: answer(body) when the
    // status is `status`; else, or when answer() throws, a failure and null.
    async post(url, init, status, answer) {
      const s = this.state;
      this.t0 = performance.now();
      try {
        const res = await fetch(url, init);
        const body = await res.text();
        s.http = { status: res.status, contentType: res.headers.get('content-type'),
                   location: res.headers.get('location') };
        if (res.status !== status) {
          this.fail('http', 'POST ' + url + ' answered ' + res.status + ': ' + body.slice(0, 500));
          return null;
        }
        return answer(body);
      } catch (e) {
        this.fail('http', 'POST ' + url + ': ' + (e && e.message ? e.message : e));
        return null;
      }
    },

    // A WHEP or WHIP answer (post()'s answer): application/sdp, and a Location header (relative
    // to url) naming the session, kept in this.session.
    sdpAnswer(body, url) {
      const s = this.state;
      if (!/^application\/sdp/i.test(s.http.contentType || '')) {
        this.fail('answer', 'Content-Type ' + s.http.contentType + ', not application/sdp');
      }
      if (!s.http.location) this.fail('answer', '201 without a Location header');
      else this.session = new URL(s.http.location, url).href;
      return body;
    },

    // What the answer's lines say of ICE and DTLS.
    answerBasics(lines) {
      return {
        iceLite: lines.includes('a=ice-lite'),
        setup: (lines.find((l) => l.startsWith('a=setup:')) || '').slice(8) || null,
        candidates: lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2)),
      };
    },

    // Applies the answer; false (and a failure) when the connection refuses it.
    async accept(sdp) {
      try {
        await this.pc.setRemoteDescription({ type: 'answer', sdp });
        return true;
      } catch (e) {
        this.fail('setRemoteDescription', e && e.message ? e.message : e);
        return false;
      }
    },

    // In 50 ms steps until the video stat's `counter` first exceeds 0, since() then in state[key];
    // and sample() every sampleMs until stop().
    watch(counter, key) {
      this.firstFramePoll = setInterval(async () => {
        const { video } = await this.stats();
        if (video && video[counter] > 0 && this.state[key] === null) {
          this.state[key] = this.since();
          clearInterval(this.firstFramePoll);
        }
      }, 50);
      this.sampler = setInterval(() => this.sample(), sampleMs);
    },

    stop() {
      clearInterval(this.sampler);
      clearInterval(this.firstFramePoll);
    },

    // The rtpType video and audio stats (copies, with their codec's mimeType as codec, payloadType
    // and sdpFmtpLine), and the selected candidate pair.
    async stats() {
      const report = await this.pc.getStats();
      let video = null, audio = null, pair = null;
      report.forEach((r) => {
        if (r.type === rtpType && r.kind === 'video') video = Object.assign({}, r);
        if (r.type === rtpType && r.kind === 'audio') audio = Object.assign({}, r);
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
        return c ? c.candidateType + ' ' + c.address + ':' + c.port +
                   (c.protocol && c.protocol !== 'udp' ? '/' + c.protocol : '') : null;
      };
      return { video, audio, pair: pair ? { local: cand(pair.localCandidateId),
                                            remote: cand(pair.remoteCandidateId),
                                            state: pair.state } : null };
    },

    // DELETE of the session's Location (with headers), its status in state.http.deleteStatus;
    // false (and a failure) when there is no session or the request failed.
    async deleteSession(headers = {}) {
      const s = this.state;
      if (!this.session) {
        this.fail('delete', 'no session URL to DELETE');
        return false;
      }
      try {
        const res = await fetch(this.session, { method: 'DELETE', headers });
        s.http.deleteStatus = res.status;
        if (res.status !== 200 && res.status !== 204) {
          this.fail('delete', 'DELETE ' + this.session + ' answered ' + res.status + ': ' +
                    (await res.text()).slice(0, 500));
        }
      } catch (e) {
        this.fail('delete', 'DELETE ' + this.session + ': ' + (e && e.message ? e.message : e));
        return false;
      }
      return true;
    },

    connection() {
      return { connectionState: this.pc ? this.pc.connectionState : 'new',
               iceConnectionState: this.pc ? this.pc.iceConnectionState : 'new' };
    },
  });
}

export const RTC_PAGE_SCRIPT = `(${rtcPagePrelude})(${SAMPLE_MS});`;
