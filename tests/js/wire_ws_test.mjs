// web/sluice-wire.js against a real sluiced, over the WebSocket at /wire on its HTTP port, with
// the `sluice` CLI (plain TCP on the wire port) for the cross-transport checks.
//
//   SLUICED=build/bin/sluiced SLUICE_CLI=build/bin/sluice \
//     node --experimental-websocket --test tests/js/wire_ws_test.mjs
//
// SLUICE_WIRE_JS may name another copy of the client (to check that a test fails without the
// feature it covers). Registered in ctest as wire_ws_js (tests/integration/CMakeLists.txt).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';

const SLUICED = process.env.SLUICED;
const CLI = process.env.SLUICE_CLI;
if (!SLUICED || !CLI) throw new Error('set SLUICED and SLUICE_CLI to the sluiced and sluice binaries');
if (typeof WebSocket !== 'function') throw new Error('no global WebSocket: run node with --experimental-websocket');

const lib = await import(
  process.env.SLUICE_WIRE_JS
    ? pathToFileURL(resolvePath(process.env.SLUICE_WIRE_JS)).href
    : new URL('../../web/sluice-wire.js', import.meta.url).href
);
const { connect, parseErrorReply, ErrorCode } = lib;

const T = { DATA: 5, WINDOW_UPDATE: 6, RESET: 7, PING: 8, PONG: 9, GOAWAY: 10 };
const F = { MORE: 0x1, FIN: 0x2 };
const MiB = 1024 * 1024;
const decoder = new TextDecoder();

// Starts sluiced on ephemeral ports; resolves once its log names them.
async function startServer(extra = []) {
  const args = ['--http', '127.0.0.1:0', '--wire', '127.0.0.1:0', '--rtmp', '127.0.0.1:0', '--rtsp', 'off', '--rtsp-udp-ports', 'off', '--srt', 'off', '--webrtc-udp', 'off', '--onvif', 'off', '--mdns', 'off', '--osc', 'off', '--mqtt', 'off', '--history', ':memory:', ...extra];
  const p = spawn(SLUICED, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  process.on('exit', () => p.kill('SIGKILL'));
  let log = '';
  const ports = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('sluiced did not start:\n' + log)), 15000);
    const onData = (d) => {
      log += d;
      const m = /sluiced listening http=[^\s:]+:(\d+) wire=[^\s:]+:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve([Number(m[1]), Number(m[2])]);
      }
    };
    p.stdout.setEncoding('utf8').on('data', onData);
    p.stderr.setEncoding('utf8').on('data', onData);
    p.on('exit', (code) => reject(new Error(`sluiced exited with ${code}:\n${log}`)));
  });
  const stop = async () => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.on('exit', r));
    p.kill('SIGTERM');
    let timer;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  return { httpPort: ports[0], wirePort: ports[1], url: `ws://127.0.0.1:${ports[0]}/wire`, stop };
}

let server;
let httpPort;
let wirePort;
let url;

before(async () => {
  server = await startServer();
  ({ httpPort, wirePort, url } = server);
});

after(() => server.stop());

// ------------------------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// Collects messages of a subscription; `done(n)` resolves once n have arrived.
function collector() {
  const messages = [];
  const waiters = [];
  const onMessage = (m) => {
    messages.push(m);
    for (const w of waiters) if (messages.length >= w.n) w.resolve();
  };
  const done = (n, timeoutMs = 10000) =>
    new Promise((resolve, reject) => {
      if (messages.length >= n) return resolve(messages);
      const timer = setTimeout(
        () => reject(new Error(`received ${messages.length} of ${n} messages`)),
        timeoutMs,
      );
      waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(messages)) });
    });
  return { messages, onMessage, done };
}

// Runs the sluice CLI; resolves with {code, stdout, stderr}.
function cli(args, { input, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(CLI, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} timed out\nstdout: ${stdout.slice(0, 500)}\nstderr: ${stderr}`));
    }, timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

// GET /channels/{name} (node:http without keep-alive, so that no idle socket outlives the tests).
function channelInfo(name) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: httpPort, path: `/channels/${encodeURIComponent(name)}`, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => resolve(res.statusCode === 200 ? JSON.parse(body) : null));
      },
    );
    req.on('error', reject);
  });
}

async function waitForSubscribers(channel, n) {
  await waitFor(`${n} subscriber(s) on ${channel}`, async () => (await channelInfo(channel))?.subscribers >= n);
}

// Reassembles the frames of one direction of a session (the test's own parser).
function frameParser(onFrame) {
  let buf = new Uint8Array(0);
  return (bytes) => {
    const joined = new Uint8Array(buf.length + bytes.length);
    joined.set(buf);
    joined.set(bytes, buf.length);
    let at = 0;
    while (joined.length - at >= 12) {
      const v = new DataView(joined.buffer, joined.byteOffset + at);
      const length = v.getUint32(8);
      if (joined.length - at < 12 + length) break;
      onFrame({
        type: joined[at + 1],
        flags: v.getUint16(2),
        stream: v.getUint32(4),
        payload: joined.slice(at + 12, at + 12 + length),
      });
      at += 12 + length;
    }
    buf = joined.slice(at);
  };
}

// A WebSocket that records every frame and message in both directions.
function spy() {
  const rec = { out: [], in: [], outMessages: [], ws: null };
  rec.WebSocket = class extends WebSocket {
    constructor(u) {
      super(u);
      rec.ws = this;
      const parseIn = frameParser((f) => rec.in.push(f));
      this.addEventListener('message', (ev) => {
        if (ev.data instanceof ArrayBuffer) parseIn(new Uint8Array(ev.data));
      });
      this._parseOut = frameParser((f) => rec.out.push(f));
    }
    send(data) {
      if (typeof data !== 'string') {
        const b = ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data);
        rec.outMessages.push(b.length);
        this._parseOut(b);
      }
      super.send(data);
    }
  };
  return rec;
}

// A fake server: the test reads what the client sends and writes raw bytes back.
function fakeServer() {
  const rec = { out: [], ws: null };
  rec.WebSocket = class {
    constructor(u) {
      this.url = u;
      this.readyState = 0;
      this.bufferedAmount = 0;
      this.binaryType = 'blob';
      rec.ws = this;
      this._parse = frameParser((f) => rec.out.push(f));
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 0);
    }
    send(data) {
      this._parse(new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength));
    }
    close(code = 1000) {
      if (this.readyState >= 2) return;
      this.readyState = 3;
      setTimeout(() => this.onclose?.({ code, reason: '' }), 0);
    }
  };
  rec.deliver = (bytes) => {
    const copy = new Uint8Array(bytes);
    rec.ws.onmessage({ data: copy.buffer });
  };
  return rec;
}

function frame(type, flags, stream, payload = new Uint8Array(0)) {
  const f = new Uint8Array(12 + payload.length);
  const v = new DataView(f.buffer);
  f[0] = 1;
  f[1] = type;
  v.setUint16(2, flags);
  v.setUint32(4, stream);
  v.setUint32(8, payload.length);
  f.set(payload, 12);
  return f;
}

const WELCOME = frame(3, 0, 0, new TextEncoder().encode('{"session":"s9","server":"fake"}'));

function errorCodeOf(f) {
  return new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0);
}

// --------------------------------------------------------------------------------- tests

test('handshake: HELLO, WELCOME settings and session id, PING round trip', { timeout: 15000 }, async () => {
  const rec = spy();
  const s = await connect(url, { client: 'wire-ws-test', WebSocket: rec.WebSocket });
  try {
    assert.match(s.session, /^s\d+$/);
    assert.match(s.server, /^sluiced\//);
    assert.equal(s.peerSettings.max_frame, 65536);
    assert.equal(s.peerSettings.stream_window, 4 * MiB);
    const hello = JSON.parse(decoder.decode(rec.out[0].payload));
    assert.equal(rec.out[0].type, 1);
    assert.equal(hello.version, 1);
    assert.equal(hello.client, 'wire-ws-test');
    assert.equal(hello.stream_window, 4 * MiB);
    assert.ok((await s.ping()) >= 0);
  } finally {
    await s.close();
  }
});

test('1000 messages from a JS publisher reach a JS subscriber on another session, in order', { timeout: 15000 }, async () => {
  const a = await connect(url);
  const b = await connect(url);
  try {
    const c = collector();
    b.subscribe('order.test', c.onMessage);
    await b.ping(); // the OPEN has taken effect
    const pub = a.publish('order.test');
    for (let i = 0; i < 1000; i++) pub.send(`message ${i}`);
    const got = await c.done(1000);
    assert.equal(got.length, 1000);
    got.forEach((m, i) => {
      assert.equal(m.text(), `message ${i}`);
      assert.equal(m.channel, 'order.test');
      assert.equal(m.gap, 0);
      assert.equal(m.sequence, i + 1);
    });
    await sleep(50);
    assert.equal(c.messages.length, 1000);
  } finally {
    await a.close();
    await b.close();
  }
});

test('JS publish over WebSocket reaches `sluice sub` over TCP', { timeout: 15000 }, async () => {
  const a = await connect(url);
  try {
    const pub = a.publish('js.to.cli');
    await a.ping(); // the channel exists
    const sub = cli(['sub', '--wire', `127.0.0.1:${wirePort}`, 'js.to.cli', '--count', '3']);
    await waitForSubscribers('js.to.cli', 1);
    for (const m of ['one', 'two', 'three']) pub.send(m);
    const r = await sub;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['js.to.cli  one', 'js.to.cli  two', 'js.to.cli  three']);
  } finally {
    await a.close();
  }
});

test('`sluice pub` over TCP (and over WebSocket) reaches a JS subscriber', { timeout: 15000 }, async () => {
  const b = await connect(url);
  try {
    const c = collector();
    b.subscribe('cli.to.js', c.onMessage);
    await b.ping();
    const r = await cli(['pub', '--wire', `127.0.0.1:${wirePort}`, 'cli.to.js', 'hello from tcp']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /published to 1 subscriber\(s\)/);
    const lines = await cli(['pub', '--wire', `127.0.0.1:${wirePort}`, 'cli.to.js', '-'], { input: 'a\nb\nc\n' });
    assert.equal(lines.code, 0, lines.stderr);
    const ws = await cli(['pub', '--wire', `ws://127.0.0.1:${httpPort}/wire`, 'cli.to.js', 'hello from ws']);
    assert.equal(ws.code, 0, ws.stderr);
    const got = await c.done(5);
    assert.deepEqual(got.map((m) => m.text()), ['hello from tcp', 'a', 'b', 'c', 'hello from ws']);
    assert.ok(got.every((m) => m.channel === 'cli.to.js'));
  } finally {
    await b.close();
  }
});

test('a 3 MiB message is fragmented and arrives intact (JS subscriber and `sluice sub`)', { timeout: 15000 }, async () => {
  const rec = spy();
  const a = await connect(url, { WebSocket: rec.WebSocket });
  const b = await connect(url);
  try {
    const c = collector();
    b.subscribe('big.one', c.onMessage);
    const pub = a.publish('big.one');
    await b.ping();
    await a.ping();
    const sub = cli(['sub', '--wire', `127.0.0.1:${wirePort}`, 'big.one', '--count', '1']);
    await waitForSubscribers('big.one', 2);
    // Printable, so that `sluice sub` prints it as one line; no period shorter than a frame.
    const big = new Uint8Array(3 * MiB);
    for (let i = 0; i < big.length; i++) big[i] = 33 + ((i * 7 + (i >> 16)) % 90);
    pub.send(big);
    const [m] = await c.done(1);
    assert.equal(m.data.length, big.length);
    assert.ok(Buffer.from(m.data).equals(Buffer.from(big)), 'the reassembled message differs');
    const r = await sub;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `big.one  ${decoder.decode(big)}\n`);
    // How it went out: fragments of at most max_frame with MORE on all but the last, in
    // WebSocket messages of at most 1 MiB.
    const data = rec.out.filter((f) => f.type === T.DATA && f.payload.length > 0);
    assert.ok(data.length >= 48, `only ${data.length} DATA frames`);
    assert.ok(data.every((f) => f.payload.length <= 65536));
    assert.ok(data.slice(0, -1).every((f) => f.flags & F.MORE));
    assert.equal(data.at(-1).flags & F.MORE, 0);
    assert.equal(data.reduce((n, f) => n + f.payload.length, 0), big.length);
    assert.ok(rec.outMessages.every((n) => n <= MiB));
  } finally {
    await a.close();
    await b.close();
  }
});

test('request/reply between two JS sessions, including error replies with a status', { timeout: 15000 }, async () => {
  const responder = await connect(url);
  const requester = await connect(url);
  try {
    responder.respond('svc.echo', (m) => `echo: ${m.text()} on ${m.channel}`);
    responder.respond('svc.slow', async (m) => {
      await sleep(20);
      return m.data.slice().reverse();
    });
    responder.respond('svc.sensor', () => {
      const e = new Error('no such sensor');
      e.status = 404;
      throw e;
    });
    responder.respond('svc.broken', async () => {
      throw new Error('it broke');
    });
    await responder.ping();
    const echo = await requester.request('svc.echo', 'hi', 2000);
    assert.ok(echo instanceof Uint8Array);
    assert.equal(decoder.decode(echo), 'echo: hi on svc.echo');
    assert.deepEqual([...(await requester.request('svc.slow', new Uint8Array([1, 2, 3])))], [3, 2, 1]);
    // Concurrent requests on one stream are matched by token.
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => requester.request('svc.echo', `r${i}`)));
    many.forEach((r, i) => assert.equal(decoder.decode(r), `echo: r${i} on svc.echo`));
    await assert.rejects(requester.request('svc.sensor', 'kitchen'), (e) => {
      assert.equal(e.status, 404);
      assert.equal(e.message, 'no such sensor');
      return true;
    });
    await assert.rejects(requester.request('svc.broken', ''), (e) => {
      assert.equal(e.status, 500);
      assert.equal(e.message, 'it broke');
      return true;
    });
  } finally {
    await responder.close();
    await requester.close();
  }
});

test('a request nobody answers: 503 without responders, 504 after the timeout', { timeout: 15000 }, async () => {
  const s = await connect(url);
  const idle = await connect(url);
  try {
    await assert.rejects(s.request('nobody.home', 'anyone?', 2000), (e) => {
      assert.equal(e.status, 503);
      assert.equal(e.message, "no responders on 'nobody.home'");
      return true;
    });
    idle.respond('svc.never', () => new Promise(() => {}));
    await idle.ping();
    await assert.rejects(s.request('svc.never', 'x', 300), (e) => {
      assert.equal(e.status, 504);
      return true;
    });
  } finally {
    await s.close();
    await idle.close();
  }
});

test('error reply bodies are parsed like wire::parse_error_reply', { timeout: 15000 }, () => {
  assert.deepEqual(parseErrorReply('404 no such sensor'), { status: 404, reason: 'no such sensor' });
  assert.deepEqual(parseErrorReply(new TextEncoder().encode('503 ')), { status: 503, reason: '' });
  assert.deepEqual(parseErrorReply('599 x'), { status: 599, reason: 'x' });
  for (const body of ['399 too low', '600 too high', '404', '404x', ' 404 x', '4o4 x', 'plain text', '']) {
    assert.deepEqual(parseErrorReply(body), { status: 502, reason: body }, body);
  }
});

test('the subscriber returns credit: 20 MiB through a 4 MiB stream and 16 MiB connection window', { timeout: 15000 }, async () => {
  const rec = spy();
  const a = await connect(url);
  const b = await connect(url, { WebSocket: rec.WebSocket });
  try {
    const c = collector();
    // A server-side buffer that holds everything: without WINDOW_UPDATE the server stops at the
    // window and nothing is dropped, so the test waits in vain rather than counting gaps.
    b.subscribe('credit.test', c.onMessage, { maxBytes: 64 * MiB, overflow: 'drop-newest' });
    await b.ping();
    const pub = a.publish('credit.test');
    const count = 40;
    for (let i = 0; i < count; i++) {
      const m = new Uint8Array(512 * 1024).fill(i);
      pub.send(m);
    }
    const got = await c.done(count, 10000);
    got.forEach((m, i) => {
      assert.equal(m.gap, 0);
      assert.equal(m.data.length, 512 * 1024);
      assert.equal(m.data[0], i);
      assert.equal(m.data.at(-1), i);
    });
    const updates = rec.out.filter((f) => f.type === T.WINDOW_UPDATE);
    const sum = (stream) =>
      updates.filter((f) => f.stream === stream).reduce((n, f) => n + errorCodeOf(f), 0);
    assert.ok(sum(1) >= 16 * MiB, `stream credit returned: ${sum(1)}`);
    assert.ok(sum(0) >= 4 * MiB, `connection credit returned: ${sum(0)}`);
  } finally {
    await a.close();
    await b.close();
  }
});

test('wildcards: "*" matches one token, ">" the rest, and both carry the channel', { timeout: 15000 }, async () => {
  const a = await connect(url);
  const b = await connect(url);
  try {
    const star = collector();
    const rest = collector();
    const exact = collector();
    b.subscribe('wc.*', star.onMessage);
    b.subscribe('wc.>', rest.onMessage);
    b.subscribe('wc.a', exact.onMessage);
    await b.ping();
    a.publish('wc.a').send('to a');
    a.publish('wc.b.c').send('to b.c');
    a.publish('wc').send('to wc');
    a.publish('other.x').send('to other');
    const pairs = (ms) => ms.map((m) => `${m.channel}=${m.text()}`).sort();
    assert.deepEqual(pairs(await rest.done(2)), ['wc.a=to a', 'wc.b.c=to b.c']);
    assert.deepEqual(pairs(await star.done(1)), ['wc.a=to a']);
    assert.deepEqual(pairs(await exact.done(1)), ['wc.a=to a']);
    await a.ping();
    await b.ping();
    assert.equal(rest.messages.length, 2);
    assert.equal(star.messages.length, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('EVENT: the owner hears subscriptions come and go, subscribers hear the channel close', { timeout: 15000 }, async () => {
  const a = await connect(url);
  const b = await connect(url);
  try {
    const ownerEvents = [];
    const pub = a.publish('events.test', { onEvent: (e) => ownerEvents.push(e) });
    await a.ping();
    const closedEvents = [];
    const sub = b.subscribe('events.*', () => {}, { onEvent: (e) => closedEvents.push(e) });
    await b.ping();
    await waitFor('the subscribe event', () => ownerEvents.length >= 1, 5000);
    assert.deepEqual(ownerEvents[0], { event: 'subscribe', pattern: 'events.*', subscriber: b.session });
    pub.close();
    await waitFor('the closed event', () => closedEvents.length >= 1, 5000);
    assert.deepEqual(closedEvents[0], { event: 'closed', channel: 'events.test' });
    const again = a.publish('events.test', { onEvent: (e) => ownerEvents.push(e) });
    await a.ping();
    sub.close();
    await waitFor("the new owner's subscribe event", () => ownerEvents.length >= 2, 5000);
    assert.equal(ownerEvents[1].event, 'subscribe'); // existing subscriptions, announced
    await waitFor('the unsubscribe event', () => ownerEvents.some((e) => e.event === 'unsubscribe'), 5000);
    again.close();
  } finally {
    await a.close();
    await b.close();
  }
});

test('last values: keepLastValue on the publisher, lastValue on a later subscriber', { timeout: 15000 }, async () => {
  const a = await connect(url);
  const b = await connect(url);
  try {
    const pub = a.publish('lv.kitchen', { keepLastValue: true });
    pub.send('20.5');
    pub.send('21.0');
    await pub.drain();
    await a.ping(); // the hub has taken both
    const c = collector();
    b.subscribe('lv.*', c.onMessage, { lastValue: true });
    const [m] = await c.done(1);
    assert.equal(m.text(), '21.0');
    assert.equal(m.channel, 'lv.kitchen');
    await b.ping();
    assert.equal(c.messages.length, 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test("the server's PINGs are answered with PONGs carrying the same bytes", { timeout: 15000 }, async () => {
  const rec = spy();
  // A 1.5 s lease makes sluiced ping every 0.5 s.
  const s = await connect(url, { WebSocket: rec.WebSocket, settings: { lease_ms: 1500 } });
  try {
    await waitFor('a PING from the server', () => rec.in.some((f) => f.type === T.PING), 5000);
    const ping = rec.in.find((f) => f.type === T.PING);
    await waitFor('the PONG', () => rec.out.some((f) => f.type === T.PONG), 2000);
    const pong = rec.out.find((f) => f.type === T.PONG);
    assert.deepEqual([...pong.payload], [...ping.payload]);
    assert.equal(pong.stream, 0);
  } finally {
    await s.close();
  }
});

test('GOAWAY from the server rejects pending requests and calls onclose with code and reason', { timeout: 15000 }, async () => {
  const rec = spy();
  const idle = await connect(url);
  const s = await connect(url, { WebSocket: rec.WebSocket });
  try {
    idle.respond('svc.hang', () => new Promise(() => {}));
    await idle.ping();
    const closed = new Promise((resolve) => (s.onclose = (code, reason) => resolve({ code, reason })));
    const subClosed = new Promise((resolve) => {
      s.subscribe('any.thing', () => {}, { onclose: (code, reason) => resolve({ code, reason }) });
    });
    const pending = s.request('svc.hang', 'x', 10000);
    await s.ping();
    rec.ws.send('a text message'); // a protocol error on /wire: sluiced answers with GOAWAY
    const { code, reason } = await closed;
    assert.equal(code, ErrorCode.protocol_error);
    assert.match(reason, /text WebSocket messages are not part of the protocol/);
    await assert.rejects(pending, (e) => {
      assert.equal(e.status, 503);
      assert.equal(e.code, ErrorCode.protocol_error);
      return true;
    });
    assert.equal((await subClosed).code, ErrorCode.protocol_error);
    assert.throws(() => s.publish('after.close'), (e) => e.status === 503);
    await assert.rejects(s.request('svc.hang', 'x'), (e) => e.status === 503);
  } finally {
    await s.close();
    await idle.close();
  }
});

test('RESET: an OPEN that does not validate ends only that stream', { timeout: 15000 }, async () => {
  const s = await connect(url);
  try {
    const reset = new Promise((resolve) => {
      s.subscribe('bad..pattern', () => {}, { onclose: (code, reason) => resolve({ code, reason }) });
    });
    const pub = s.publish('bad name');
    const { code, reason } = await reset;
    assert.equal(code, ErrorCode.invalid);
    assert.match(reason, /pattern/);
    await s.ping();
    assert.throws(() => pub.send('x'), (e) => e.status === 422 && e.code === ErrorCode.invalid);
    // The session goes on.
    const c = collector();
    s.subscribe('still.fine', c.onMessage);
    await s.ping();
    s.publish('still.fine').send('yes');
    assert.equal((await c.done(1))[0].text(), 'yes');
  } finally {
    await s.close();
  }
});

test('tokens: refused over ws:// by the client; over ws:// the server refuses them too', { timeout: 15000 }, async () => {
  await assert.rejects(connect(url, { token: 'secret-token-123456' }), (e) => e.status === 400);
  await assert.rejects(connect(url, { token: 'secret-token-123456', allowInsecureToken: true }), (e) => {
    assert.equal(e.status, 401);
    assert.equal(e.code, ErrorCode.auth_failed);
    return true;
  });
});

test('SCRAM-SHA-256: users from wire-users connect; a wrong password and anonymous sessions are refused', { timeout: 15000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-wire-js-'));
  let second;
  try {
    let users = '';
    for (const [name, password] of [['alice', 'wonderland'], ['bob=1,x', 'p,=w d']]) {
      const r = await cli(['passwd', name], { input: password + '\n' });
      assert.equal(r.code, 0, r.stderr);
      users += r.stdout;
    }
    writeFileSync(join(dir, 'users'), users);
    second = await startServer(['--wire-users', join(dir, 'users')]);
    const alice = await connect(second.url, { user: 'alice', password: 'wonderland' });
    const bob = await connect(second.url, { user: 'bob=1,x', password: 'p,=w d' }); // escaped n=
    try {
      const c = collector();
      bob.subscribe('auth.test', c.onMessage);
      await bob.ping();
      alice.publish('auth.test').send('signed in');
      assert.equal((await c.done(1))[0].text(), 'signed in');
    } finally {
      await alice.close();
      await bob.close();
    }
    await assert.rejects(connect(second.url, { user: 'alice', password: 'wrong' }), (e) => {
      assert.equal(e.status, 401);
      assert.equal(e.code, ErrorCode.auth_failed);
      assert.match(e.message, /authentication failed/);
      return true;
    });
    await assert.rejects(connect(second.url, { user: 'mallory', password: 'x' }), (e) => e.status === 401);
    await assert.rejects(connect(second.url), (e) => e.status === 401 && /anonymous/.test(e.message));
  } finally {
    await second?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Against a fake server: what a well-behaved sluiced never sends.

test('input is a byte stream: frames split across and packed into WebSocket messages', { timeout: 15000 }, async () => {
  const fake = fakeServer();
  const connecting = connect('ws://fake/wire', { WebSocket: fake.WebSocket });
  await waitFor('HELLO', () => fake.out.length > 0);
  for (const b of WELCOME) fake.deliver([b]); // one byte per message
  const s = await connecting;
  assert.equal(s.session, 's9');
  const c = collector();
  s.subscribe('x.>', c.onMessage);
  await sleep(0);
  const subject = new TextEncoder().encode('x.y');
  const payload = new Uint8Array(8 + 2 + subject.length + 2);
  const v = new DataView(payload.buffer);
  v.setBigUint64(0, 2n); // GAP
  v.setUint16(8, subject.length);
  payload.set(subject, 10);
  payload.set([104, 105], 10 + subject.length); // "hi"
  const one = frame(T.DATA, 0x24, 1, payload);
  const first = frame(T.DATA, F.MORE, 1, new Uint8Array([97, 98]));
  const second = frame(T.DATA, 0, 1, new Uint8Array([99]));
  const all = new Uint8Array([...one, ...first, ...second, ...frame(T.PING, 0, 0, new Uint8Array(8).fill(7))]);
  fake.deliver(all.subarray(0, 5));
  fake.deliver(all.subarray(5, 30));
  fake.deliver(all.subarray(30));
  const got = await c.done(2, 2000);
  assert.equal(got[0].channel, 'x.y');
  assert.equal(got[0].text(), 'hi');
  assert.equal(got[0].gap, 2);
  assert.equal(got[0].sequence, 3);
  assert.equal(got[1].text(), 'abc');
  assert.equal(got[1].channel, 'x.>');
  await sleep(0);
  const pong = fake.out.find((f) => f.type === T.PONG);
  assert.deepEqual([...pong.payload], new Array(8).fill(7));
  await s.close();
});

test('bounds: a frame above max_frame ends the session with GOAWAY frame_size_error', { timeout: 15000 }, async () => {
  const fake = fakeServer();
  const connecting = connect('ws://fake/wire', { WebSocket: fake.WebSocket });
  await waitFor('HELLO', () => fake.out.length > 0);
  fake.deliver(WELCOME);
  const s = await connecting;
  const closed = new Promise((resolve) => (s.onclose = (code, reason) => resolve({ code, reason })));
  s.subscribe('x', () => assert.fail('no message expected'));
  await sleep(0);
  const h = frame(T.DATA, 0, 1);
  new DataView(h.buffer).setUint32(8, 65537); // only the header: it is checked first
  fake.deliver(h);
  const { code } = await closed;
  assert.equal(code, ErrorCode.frame_size_error);
  const goaway = fake.out.find((f) => f.type === T.GOAWAY);
  assert.equal(errorCodeOf(goaway), ErrorCode.frame_size_error);
});

test('bounds: a message above max_message resets its stream; DATA beyond the window ends the session', { timeout: 15000 }, async () => {
  const fake = fakeServer();
  const connecting = connect('ws://fake/wire', {
    WebSocket: fake.WebSocket,
    settings: { max_message: 4096, stream_window: 1024 * 64 },
  });
  await waitFor('HELLO', () => fake.out.length > 0);
  assert.equal(JSON.parse(decoder.decode(fake.out[0].payload)).max_message, 4096);
  fake.deliver(WELCOME);
  const s = await connecting;
  const reset = new Promise((resolve) => {
    s.subscribe('x', () => assert.fail('no message expected'), { onclose: (code) => resolve(code) });
  });
  await sleep(0);
  fake.deliver(frame(T.DATA, F.MORE, 1, new Uint8Array(3000)));
  fake.deliver(frame(T.DATA, 0, 1, new Uint8Array(3000)));
  assert.equal(await reset, ErrorCode.message_too_large);
  await sleep(0);
  const r = fake.out.find((f) => f.type === T.RESET);
  assert.equal(r.stream, 1);
  assert.equal(errorCodeOf(r), ErrorCode.message_too_large);
  // Stream 3: 64 KiB of window, then one byte more.
  const closed = new Promise((resolve) => (s.onclose = (code) => resolve(code)));
  s.subscribe('y', () => new Promise(() => {})); // never consumes: no credit comes back
  await sleep(0);
  for (let i = 0; i < 16; i++) fake.deliver(frame(T.DATA, 0, 3, new Uint8Array(4096)));
  fake.deliver(frame(T.DATA, 0, 3, new Uint8Array(1)));
  assert.equal(await closed, ErrorCode.flow_control_error);
});

test('SCRAM: a WELCOME whose server signature does not match ends the session (auth_failed)', { timeout: 15000 }, async () => {
  const fake = fakeServer();
  const connecting = connect('ws://fake/wire', { WebSocket: fake.WebSocket, user: 'alice', password: 'pw' });
  await waitFor('HELLO', () => fake.out.length > 0);
  const hello = JSON.parse(decoder.decode(fake.out[0].payload));
  assert.equal(hello.mechanism, 'SCRAM-SHA-256');
  const nonce = /^n,,n=alice,r=(.+)$/.exec(hello.auth)[1];
  const serverFirst = `r=${nonce}server,s=${btoa('salt')},i=4096`;
  fake.deliver(frame(2, 0, 0, new TextEncoder().encode(JSON.stringify({ auth: serverFirst }))));
  await waitFor('client-final', () => fake.out.length > 1);
  const clientFinal = JSON.parse(decoder.decode(fake.out[1].payload)).auth;
  assert.ok(clientFinal.startsWith(`c=biws,r=${nonce}server,p=`), clientFinal);
  const welcome = { session: 's1', server: 'fake', auth: `v=${btoa('x'.repeat(32))}` };
  fake.deliver(frame(3, 0, 0, new TextEncoder().encode(JSON.stringify(welcome))));
  await assert.rejects(connecting, (e) => {
    assert.equal(e.status, 401);
    assert.match(e.message, /server signature mismatch/);
    return true;
  });
  const goaway = fake.out.find((f) => f.type === T.GOAWAY);
  assert.equal(errorCodeOf(goaway), ErrorCode.auth_failed);
});

test("sending follows the WELCOME's max_frame and windows, and resumes on WINDOW_UPDATE", { timeout: 15000 }, async () => {
  const fake = fakeServer();
  const connecting = connect('ws://fake/wire', { WebSocket: fake.WebSocket });
  await waitFor('HELLO', () => fake.out.length > 0);
  const settings = { max_frame: 1024, stream_window: 2048, connection_window: 4096 };
  fake.deliver(frame(3, 0, 0, new TextEncoder().encode(JSON.stringify({ session: 's9', ...settings }))));
  const s = await connecting;
  assert.equal(s.peerSettings.max_frame, 1024);
  const pub = s.publish('x');
  const message = new Uint8Array(5000).map((_, i) => i % 253);
  pub.send(message);
  const data = () => fake.out.filter((f) => f.type === T.DATA && f.stream === 1);
  const sent = () => data().reduce((n, f) => n + f.payload.length, 0);
  const update = (stream, n) => {
    const p = new Uint8Array(4);
    new DataView(p.buffer).setUint32(0, n);
    fake.deliver(frame(T.WINDOW_UPDATE, 0, stream, p));
  };
  await sleep(20);
  assert.equal(sent(), 2048); // the stream window
  assert.ok(data().every((f) => f.payload.length <= 1024 && f.flags & F.MORE));
  update(1, 2048);
  await sleep(20);
  assert.equal(sent(), 4096); // the connection window
  update(0, 4096);
  await sleep(20);
  assert.equal(sent(), 4096); // still no stream credit
  assert.equal(pub.bufferedAmount, 5000 - 4096);
  update(1, 4096);
  await pub.drain();
  await sleep(0);
  assert.equal(sent(), 5000);
  assert.equal(data().at(-1).flags & F.MORE, 0);
  const joined = new Uint8Array(5000);
  let at = 0;
  for (const f of data()) (joined.set(f.payload, at), (at += f.payload.length));
  assert.deepEqual(joined, message);
  await s.close();
});
