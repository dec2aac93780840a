/**
 * sluice-wire.js — a dependency-free client for sluice's relay protocol (docs/protocol.md) over
 * the WebSocket that sluiced serves at `ws://HOST:HTTP_PORT/wire`. An ES module using only
 * standard APIs (WebSocket, DataView, TextEncoder/TextDecoder, Promise), so it runs unchanged in
 * a browser and in Node 20 started with `--experimental-websocket` (or Node 22+).
 *
 *   import { connect } from './sluice-wire.js';
 *   const s = await connect('ws://127.0.0.1:8080/wire', { client: 'dashboard' });
 *   const sub = s.subscribe('sensors.>', (m) => console.log(m.channel, m.text(), m.gap));
 *   const pub = s.publish('sensors.kitchen', { keepLastValue: true });
 *   pub.send('21.5');                              // string, Uint8Array or ArrayBuffer
 *   s.respond('time.now', () => new Date().toISOString());
 *   const reply = await s.request('time.now', '', 2000);   // Uint8Array
 *   s.onclose = (code, reason) => console.log('session ended', code, reason);
 *   await s.close();
 *
 * API
 *   connect(url, {client?, user?, password?, token?, allowInsecureToken?, settings?, onclose?,
 *                 WebSocket?}) -> Promise<Session>
 *       `url` is ws:// or wss:// (http(s):// is accepted; a URL without a path gets `/wire`).
 *       Rejects with an Error carrying `.status` (400 bad options, 401 authentication refused,
 *       503 unreachable or closed) and `.code` (the GOAWAY error code, when there was one).
 *     Authentication (docs/protocol.md, "Authentication"):
 *     - anonymous, the default: sluiced accepts it while neither `wire-users` nor `wire-tokens`
 *       is configured, unless `wire-anonymous` says otherwise.
 *     - `user` + `password`: SCRAM-SHA-256; the password never crosses the wire, so it is fine
 *       over plain ws://. Needs WebCrypto, which browsers offer only in secure contexts (https:
 *       pages, or http://localhost).
 *     - `token`: sluiced's HTTP port has no TLS and accepts tokens only over TLS, so a browser
 *       can use one only through a TLS-terminating proxy (wss://) in front of a sluiced started
 *       with `wire-tokens-without-tls = true`. This client sends a token only over wss://,
 *       unless `allowInsecureToken` is set.
 *     `settings` overrides what this side announces in HELLO (snake_case, as in the protocol:
 *     stream_window, connection_window, max_frame, max_message, lease_ms). `WebSocket` replaces
 *     globalThis.WebSocket (e.g. another implementation, or a test double).
 *   Session
 *     .publish(channel, {priority?, keepLastValue?, advertise?, type?, onEvent?, onclose?})
 *         -> {send(data), close(), drain(): Promise, bufferedAmount, setPriority(p)}
 *         send() copies `data` and queues it; it goes out as the server grants credit (large
 *         messages are fragmented at the server's max_frame). It throws once the stream is closed
 *         or reset, and a RangeError above the server's max_message.
 *     .subscribe(pattern, onMessage, {priority?, lastValue?, overflow?, maxMessages?, maxBytes?,
 *                maxStallMs?, onEvent?, onclose?}) -> {close(), setPriority(p)}
 *         onMessage(m) gets {channel, data: Uint8Array, text(), gap, sequence}. The message's
 *         flow-control credit goes back to the server when onMessage returns — or, if it returns
 *         a Promise, when that settles: an async consumer thereby slows the server down instead
 *         of piling messages up in memory.
 *     .respond(channel, handler, {priority?}) -> {close()}
 *         handler(m) returns (or resolves to) the reply: string, Uint8Array, ArrayBuffer or
 *         undefined (empty). If it throws or rejects, the requester gets an error reply with the
 *         error's `.status` (400–599, else 500) and its message.
 *     .request(channel, data, timeoutMs = 5000) -> Promise<Uint8Array>
 *         Rejects with an Error carrying `.status`: the error reply's "<status> <reason>" (503 no
 *         responders, 504 timed out, 429 too many in flight, or the responder's own; a body
 *         without a 400–599 status counts as 502), or 503 when the session ends first.
 *     .ping() -> Promise<number>: a PING round trip in ms. The server handles frames in order,
 *         so once it resolves, every stream opened before it has taken effect.
 *     .close() -> Promise: sends what is queued (for at most 2 s), then GOAWAY no_error.
 *     .onclose = (code, reason, byPeer) => {}: called once when an established session ends
 *         (GOAWAY either way — code 0 after close() — or internal_error when the connection was
 *         lost). Stream handles have their own `onclose` option, called with the code and reason
 *         of the stream's RESET, or of the session's end.
 *     .session (the server's id for this session, e.g. "s3"), .server, .peerSettings, .rtt
 *   Also exported: ErrorCode, errorName(code), parseErrorReply(body).
 *
 * Protocol notes: frames are sent in binary WebSocket messages of at most 1 MiB (control frames
 * first, then DATA by start-time fair queueing on stream priority) and the received byte stream
 * is parsed across message boundaries. Credit (WINDOW_UPDATE) is returned per stream and per
 * connection once a quarter of the window has been consumed; PINGs are answered, the server is
 * pinged every min(its lease / 3, 5 s) and the session ends if nothing is heard for our lease.
 * Everything read is bounded: WebSocket messages (1 MiB), frames (max_frame, 16 KiB for
 * control), messages (max_message: RESET message_too_large) and all partial messages together
 * (256 MiB: GOAWAY limit).
 */

const PROTOCOL_VERSION = 1;
const HEADER = 12;
const MAX_CONTROL_PAYLOAD = 16 * 1024;
const MAX_WS_MESSAGE = 1 << 20;
const MAX_REASSEMBLY = 256 * 1024 * 1024;
const MAX_CREDIT = 0x7fffffff;
const MIN_FRAGMENT = 512;
const BATCH_BYTES = 512 * 1024;
const HIGH_WATER = 4 * 1024 * 1024; // WebSocket bufferedAmount above which DATA waits
const HANDSHAKE_TIMEOUT_MS = 10000;
const CLOSE_LINGER_MS = 2000;

const T = {
  HELLO: 1, AUTH: 2, WELCOME: 3, OPEN: 4, DATA: 5, WINDOW_UPDATE: 6, RESET: 7, PING: 8, PONG: 9,
  GOAWAY: 10, ACK: 11, EVENT: 12, PRIORITY: 13,
};
const F = {
  MORE: 0x1, FIN: 0x2, GAP: 0x4, REQUEST: 0x8, REPLY: 0x10, SUBJECT: 0x20, ACK_REQUESTED: 0x40,
  ERROR: 0x80,
};
const ERROR_NAMES = [
  'no_error', 'protocol_error', 'internal_error', 'flow_control_error', 'frame_size_error',
  'stream_closed', 'refused', 'cancel', 'auth_failed', 'unsupported_version', 'message_too_large',
  'slow_consumer', 'not_found', 'forbidden', 'timeout', 'lease_expired', 'going_away', 'invalid',
  'limit',
];
/** Wire error codes by name, e.g. ErrorCode.protocol_error === 1. */
export const ErrorCode = Object.freeze(Object.fromEntries(ERROR_NAMES.map((n, i) => [n, i])));
const E = ErrorCode;
/** The name of a wire error code ("unknown_error" for codes this client does not know). */
export function errorName(code) {
  return ERROR_NAMES[code] ?? 'unknown_error';
}

const SETTINGS = {
  // name: [default, min, max]
  stream_window: [4194304, 1024, MAX_CREDIT],
  connection_window: [16777216, 1024, MAX_CREDIT],
  max_frame: [65536, 1024, 16 * 1024 * 1024],
  max_message: [67108864, 1024, 2 ** 40],
  lease_ms: [30000, 1000, 3600000],
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const now = () => (globalThis.performance ? performance.now() : Date.now());

function toBytes(data) {
  if (data === undefined || data === null) return new Uint8Array(0);
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  throw new TypeError('data must be a string, a Uint8Array or an ArrayBuffer');
}

function u32(b, p) {
  return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
}

function header(type, flags, stream, length, extra = 0) {
  const h = new Uint8Array(HEADER + extra);
  const v = new DataView(h.buffer);
  h[0] = PROTOCOL_VERSION;
  h[1] = type;
  v.setUint16(2, flags);
  v.setUint32(4, stream);
  v.setUint32(8, length);
  return h;
}

function errorPayload(code, reason) {
  let r = encoder.encode(reason);
  if (r.length > 1024) r = r.subarray(0, 1024);
  const p = new Uint8Array(4 + r.length);
  new DataView(p.buffer).setUint32(0, code);
  p.set(r, 4);
  return p;
}

function decodeErrorPayload(p) {
  if (p.length < 4) return { code: E.protocol_error, reason: 'malformed error payload' };
  return { code: u32(p, 0), reason: decoder.decode(p.subarray(4, 4 + 1024)) };
}

/**
 * Parses an error reply body "<status> <reason>" exactly like wire::parse_error_reply: a status
 * of three digits from 400 to 599 followed by a space, else 502 with the whole body as reason.
 */
export function parseErrorReply(body) {
  const text = typeof body === 'string' ? body : decoder.decode(body);
  if (/^[0-9]{3} /.test(text)) {
    const status = Number(text.slice(0, 3));
    if (status >= 400 && status <= 599) return { status, reason: text.slice(4) };
  }
  return { status: 502, reason: text };
}

function failure(message, status, code) {
  const e = new Error(message);
  e.status = status;
  if (code !== undefined) {
    e.code = code;
    e.codeName = errorName(code);
  }
  return e;
}

// HTTP-like status for a stream RESET, as the C++ client maps it.
function resetStatus(code) {
  if (code === E.not_found) return 404;
  if (code === E.forbidden) return 403;
  if (code === E.invalid) return 422;
  return 409;
}

function readSettings(obj, what) {
  const out = {};
  for (const [name, [def, min, max]] of Object.entries(SETTINGS)) {
    const v = obj[name];
    if (v === undefined || v === null) {
      out[name] = def;
    } else if (!Number.isInteger(v) || v < min || v > max) {
      throw new Error(`${what}.${name} must be an integer from ${min} to ${max}`);
    } else {
      out[name] = v;
    }
  }
  return out;
}

function reportAsync(error) {
  setTimeout(() => {
    throw error;
  }, 0);
}

// A FIFO without Array.prototype.shift's copying.
class Fifo {
  constructor() {
    this.items = [];
    this.head = 0;
  }
  get length() {
    return this.items.length - this.head;
  }
  push(x) {
    this.items.push(x);
  }
  shift() {
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

class Message {
  constructor(channel, data, gap, sequence) {
    this.channel = channel;
    this.data = data;
    this.gap = gap;
    this.sequence = sequence;
  }
  text() {
    return decoder.decode(this.data);
  }
}

const HANDSHAKE = 0;
const OPEN = 1;
const CLOSED = 2;

class Session {
  constructor(url, options, resolve, reject) {
    this.onclose = options.onclose ?? null;
    this.session = '';
    this.server = '';
    this.peerSettings = null;
    this.rtt = null;
    this._resolve = resolve;
    this._reject = reject;
    this._state = HANDSHAKE;
    this._local = readSettings(options.settings ?? {}, 'settings');
    this._peer = readSettings({}, 'settings');
    this._in = new Uint8Array(128 * 1024);
    this._inStart = 0;
    this._inEnd = 0;
    this._streams = new Map();
    this._nextId = 1;
    this._highestRemote = 0;
    this._reassembly = 0;
    this._sendCredit = this._peer.connection_window;
    this._recvWindow = this._local.connection_window;
    this._recvPending = 0;
    this._control = [];
    this._controlBytes = 0;
    this._ready = [];
    this._vt = 0;
    this._pumpScheduled = false;
    this._pumpTimer = null;
    this._requests = new Map(); // token -> {resolve, reject, timer, stream}
    this._requestStreams = new Map(); // channel + "\n" + timeout -> stream
    this._nextToken = 1n;
    this._pings = []; // [{payload, sentAt, resolve, reject}]
    this._pingCounter = 0n;
    this._keepalivePing = null;
    this._openedAt = now();
    this._lastReceived = now();
    this._lastPing = now();
    let closedResolve;
    this._closedPromise = new Promise((r) => (closedResolve = r));
    this._closedResolve = closedResolve;

    const scram = options.user !== undefined && !options.token;
    this._scram = scram ? new Scram(options.user, options.password) : null;
    const WS = options.WebSocket ?? globalThis.WebSocket;
    if (!WS) throw failure('no WebSocket implementation (Node: --experimental-websocket)', 503);
    this._ws = new WS(url);
    this._ws.binaryType = 'arraybuffer';
    this._ws.onopen = () => {
      const hello = { version: PROTOCOL_VERSION, client: options.client ?? 'sluice-js' };
      if (options.token) {
        hello.mechanism = 'token';
        hello.token = options.token;
      } else if (this._scram) {
        hello.mechanism = 'SCRAM-SHA-256';
        hello.user = options.user;
        hello.auth = this._scram.clientFirst;
      }
      Object.assign(hello, this._local);
      this._sendControl(T.HELLO, 0, 0, encoder.encode(JSON.stringify(hello)));
      this._pump();
    };
    this._ws.onmessage = (ev) => this._onWsMessage(ev.data);
    this._ws.onerror = () => {}; // followed by onclose
    this._ws.onclose = (ev) => {
      this._closedResolve();
      if (this._state !== CLOSED) {
        const why = ev.code === 1006 || !ev.code
          ? 'connection lost'
          : `WebSocket closed (${ev.code}${ev.reason ? ' ' + ev.reason : ''})`;
        this._end(E.internal_error, why, true);
      }
    };
    this._timer = setInterval(() => this._tick(), 250);
  }

  // ------------------------------------------------------------------------------ public API

  publish(channel, options = {}) {
    const open = { channel, role: 'publish', priority: options.priority ?? 500 };
    if (options.keepLastValue) open.keep_last_value = true;
    if (options.advertise === false) open.advertise = false;
    if (options.type) open.type = options.type;
    const s = this._open(open, options);
    return {
      send: (data) => {
        this._check(s);
        const body = toBytes(data);
        if (body.length > this._peer.max_message) {
          throw new RangeError(
            `message of ${body.length} bytes exceeds the server's max_message ` +
              `(${this._peer.max_message})`,
          );
        }
        this._queue(s, { flags: 0, token: 0n, body });
      },
      close: () => this._finish(s),
      drain: () => this._drain(s),
      get bufferedAmount() {
        return s.queuedBytes;
      },
      setPriority: (p) => this._setPriority(s, p),
    };
  }

  subscribe(pattern, onMessage, options = {}) {
    if (typeof onMessage !== 'function') throw new TypeError('onMessage must be a function');
    const open = { channel: pattern, role: 'subscribe', priority: options.priority ?? 500 };
    if (options.maxMessages !== undefined) open.buffer_messages = options.maxMessages;
    if (options.maxBytes !== undefined) open.buffer_bytes = options.maxBytes;
    if (options.overflow !== undefined) open.overflow = options.overflow;
    if (options.maxStallMs !== undefined) open.max_stall_ms = options.maxStallMs;
    if (options.lastValue) open.last_value = true;
    const s = this._open(open, options);
    s.onMessage = onMessage;
    return { close: () => this._finish(s), setPriority: (p) => this._setPriority(s, p) };
  }

  respond(channel, handler, options = {}) {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const open = {
      channel, role: 'subscribe', priority: options.priority ?? 500, responder: true,
    };
    const s = this._open(open, options);
    s.responder = handler;
    return { close: () => this._finish(s) };
  }

  request(channel, data, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      if (this._state !== OPEN) return reject(failure('session closed', 503));
      const timeout = Math.max(1, Math.min(600000, Math.floor(timeoutMs)));
      let body;
      try {
        body = toBytes(data);
      } catch (e) {
        return reject(e);
      }
      if (body.length > this._peer.max_message) {
        return reject(failure(`request of ${body.length} bytes exceeds max_message`, 413));
      }
      // The server applies the OPEN's timeout to every request on a stream: one stream per
      // (channel, timeout), as the C++ client does.
      const key = channel + '\n' + timeout;
      let s = this._requestStreams.get(key);
      if (!s || s.removed) {
        s = this._open({ channel, role: 'request', priority: 500, timeout_ms: timeout }, {});
        s.requestKey = key;
        this._requestStreams.set(key, s);
      }
      const token = this._nextToken++;
      const timer = setTimeout(() => {
        this._requests.delete(token);
        reject(failure(`no reply within ${timeout} ms`, 504));
      }, timeout);
      this._requests.set(token, { resolve, reject, timer, stream: s });
      this._queue(s, { flags: F.REQUEST, token, body });
    });
  }

  ping() {
    return new Promise((resolve, reject) => {
      if (this._state !== OPEN) return reject(failure('session closed', 503));
      this._sendPing({ resolve, reject });
    });
  }

  async close() {
    if (this._state === OPEN) {
      const deadline = now() + CLOSE_LINGER_MS;
      while (this._state === OPEN && this._hasPendingData() && now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    if (this._state !== CLOSED) this._goaway(E.no_error, 'client closed the session');
    let timer;
    await Promise.race([this._closedPromise, new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }

  // ------------------------------------------------------------------------------- streams

  _check(s) {
    if (s.error) throw s.error;
    if (this._state !== OPEN) throw failure('session closed', 503);
    if (s.finQueued || s.localDone || s.removed) throw failure('stream closed', 400);
  }

  _open(open, options) {
    if (this._state !== OPEN) throw failure('session closed', 503);
    const id = this._nextId;
    this._nextId += 2;
    const s = {
      id, role: open.role, channel: open.channel, priority: Math.min(open.priority, 1000),
      sendCredit: this._peer.stream_window, recvWindow: this._local.stream_window,
      recvPending: 0, queue: new Fifo(), queuedBytes: 0, current: null, offset: 0,
      started: false, finQueued: false, localDone: false, remoteDone: false, removed: false,
      inReady: false, tag: this._vt, partial: null, sequence: 0, error: null,
      onMessage: null, responder: null, onEvent: options.onEvent ?? null,
      onclose: options.onclose ?? null, drainWaiters: [], requestKey: null,
    };
    this._streams.set(id, s);
    this._sendControl(T.OPEN, 0, id, encoder.encode(JSON.stringify(open)));
    return s;
  }

  _queue(s, item) {
    s.queue.push(item);
    s.queuedBytes += item.body.length;
    this._markReady(s);
    this._schedulePump();
  }

  _finish(s) {
    if (s.removed || s.finQueued || s.localDone || this._state !== OPEN) return;
    s.finQueued = true;
    this._markReady(s);
    this._schedulePump();
  }

  _setPriority(s, p) {
    if (s.removed || this._state !== OPEN) return;
    s.priority = Math.max(0, Math.min(1000, Math.floor(p)));
    const payload = new Uint8Array(2);
    new DataView(payload.buffer).setUint16(0, s.priority);
    this._sendControl(T.PRIORITY, 0, s.id, payload);
  }

  _drain(s) {
    if (!s.current && s.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => s.drainWaiters.push(resolve));
  }

  _remove(s) {
    if (s.removed) return;
    s.removed = true;
    this._streams.delete(s.id);
    if (s.inReady) {
      this._ready.splice(this._ready.indexOf(s), 1);
      s.inReady = false;
    }
    if (s.partial) this._reassembly -= s.partial.size;
    s.partial = null;
    if (s.requestKey && this._requestStreams.get(s.requestKey) === s) {
      this._requestStreams.delete(s.requestKey);
    }
    for (const w of s.drainWaiters.splice(0)) w();
  }

  // A stream ended by RESET (either way) or by the end of the session.
  _streamFailed(s, code, reason) {
    this._remove(s);
    s.error = failure(`${errorName(code)}: ${reason}`, resetStatus(code), code);
    for (const [token, r] of this._requests) {
      if (r.stream !== s) continue;
      clearTimeout(r.timer);
      this._requests.delete(token);
      r.reject(s.error);
    }
    if (s.onclose) {
      try {
        s.onclose(code, reason);
      } catch (e) {
        reportAsync(e);
      }
    }
  }

  _resetStream(s, code, reason) {
    this._sendControl(T.RESET, 0, s.id, errorPayload(code, reason));
    this._streamFailed(s, code, reason);
  }

  // ---------------------------------------------------------------------------------- input

  _onWsMessage(data) {
    if (this._state === CLOSED) return;
    if (typeof data === 'string') {
      return this._goaway(E.protocol_error, 'text WebSocket messages are not part of the protocol');
    }
    if (!(data instanceof ArrayBuffer)) {
      return this._goaway(E.protocol_error, 'expected binary WebSocket messages as ArrayBuffer');
    }
    if (data.byteLength > MAX_WS_MESSAGE) {
      return this._goaway(E.frame_size_error, 'WebSocket message over 1 MiB (1048576 bytes)');
    }
    this._lastReceived = now();
    const chunk = new Uint8Array(data);
    if (this._inStart === this._inEnd) {
      // Nothing pending: parse in place, keep only the incomplete tail.
      const used = this._parse(chunk, 0, chunk.length);
      this._inStart = this._inEnd = 0;
      if (used < chunk.length && this._state !== CLOSED) this._append(chunk.subarray(used));
    } else {
      this._append(chunk);
      this._inStart = this._parse(this._in, this._inStart, this._inEnd);
      if (this._inStart === this._inEnd || this._state === CLOSED) this._inStart = this._inEnd = 0;
    }
    this._schedulePump();
  }

  _append(bytes) {
    let pending = this._inEnd - this._inStart;
    if (this._in.length - this._inEnd < bytes.length) {
      if (this._in.length < pending + bytes.length) {
        const bigger = new Uint8Array(Math.max(this._in.length * 2, pending + bytes.length));
        bigger.set(this._in.subarray(this._inStart, this._inEnd));
        this._in = bigger;
      } else {
        this._in.copyWithin(0, this._inStart, this._inEnd);
      }
      this._inStart = 0;
      this._inEnd = pending;
    }
    this._in.set(bytes, this._inEnd);
    this._inEnd += bytes.length;
  }

  // Dispatches every complete frame in b[start, end); returns where the first incomplete one
  // begins. Frame headers are checked before their payload arrives.
  _parse(b, start, end) {
    while (this._state !== CLOSED && end - start >= HEADER) {
      const version = b[start];
      const type = b[start + 1];
      const flags = (b[start + 2] << 8) | b[start + 3];
      const stream = u32(b, start + 4);
      const length = u32(b, start + 8);
      if (version !== PROTOCOL_VERSION) {
        this._goaway(E.unsupported_version,
          `protocol version ${version} is not supported (1 is)`);
        break;
      }
      if (type === 0 || type > T.PRIORITY) {
        this._goaway(E.protocol_error, `unknown frame type ${type}`);
        break;
      }
      const limit = type === T.DATA ? this._local.max_frame : MAX_CONTROL_PAYLOAD;
      if (length > limit) {
        this._goaway(E.frame_size_error,
          `frame payload of ${length} bytes exceeds the limit of ${limit}`);
        break;
      }
      if (end - start < HEADER + length) break;
      const payload = b.subarray(start + HEADER, start + HEADER + length);
      start += HEADER + length;
      this._dispatch(type, flags, stream, payload);
    }
    return start;
  }

  _dispatch(type, flags, stream, payload) {
    switch (type) {
      case T.PING:
        if (stream !== 0 || payload.length !== 8) {
          return this._goaway(E.protocol_error, 'PING must be 8 bytes on stream 0');
        }
        return this._sendControl(T.PONG, 0, 0, payload.slice());
      case T.PONG:
        return this._onPong(payload);
      case T.GOAWAY: {
        const e = decodeErrorPayload(payload);
        this._end(e.code, e.reason, true);
        return this._ws.close(1000);
      }
      case T.HELLO:
      case T.AUTH:
      case T.WELCOME:
        return this._onHandshake(type, stream, payload);
      default:
        break;
    }
    if (this._state !== OPEN) {
      return this._goaway(E.protocol_error, 'frame before the handshake completed');
    }
    switch (type) {
      case T.DATA:
        return this._onData(flags, stream, payload);
      case T.WINDOW_UPDATE:
        return this._onWindowUpdate(stream, payload);
      case T.RESET: {
        if (stream === 0) return this._goaway(E.protocol_error, 'RESET on stream 0');
        const s = this._streams.get(stream);
        if (!s) return;
        const e = decodeErrorPayload(payload);
        return this._streamFailed(s, e.code, e.reason);
      }
      case T.OPEN:
        // The relay never opens streams; refuse one politely if a peer does.
        if (stream === 0 || stream % 2 === 1 || stream <= this._highestRemote) {
          return this._goaway(E.protocol_error,
            `OPEN with stream id ${stream} (ids must rise and have the opener's parity)`);
        }
        this._highestRemote = stream;
        return this._sendControl(T.RESET, 0, stream,
          errorPayload(E.refused, 'this client accepts no streams'));
      case T.ACK:
        if (payload.length !== 8) return this._goaway(E.protocol_error, 'ACK must be 8 bytes');
        return;
      case T.EVENT: {
        const s = this._streams.get(stream);
        if (!s || !s.onEvent) return;
        let event;
        try {
          event = JSON.parse(decoder.decode(payload));
        } catch {
          return;
        }
        try {
          s.onEvent(event);
        } catch (e) {
          reportAsync(e);
        }
        return;
      }
      case T.PRIORITY: {
        if (payload.length !== 2) return this._goaway(E.protocol_error, 'PRIORITY must be 2 bytes');
        const s = this._streams.get(stream);
        if (s) s.priority = Math.min((payload[0] << 8) | payload[1], 1000);
        return;
      }
      default:
        return this._goaway(E.protocol_error, 'unexpected frame type');
    }
  }

  _onHandshake(type, stream, payload) {
    if (this._state !== HANDSHAKE || stream !== 0) {
      return this._goaway(E.protocol_error, 'handshake frame outside the handshake');
    }
    if (type === T.HELLO) return this._goaway(E.protocol_error, 'a server may not send HELLO');
    if (type === T.AUTH) return this._onAuth(payload);
    let w;
    try {
      w = JSON.parse(decoder.decode(payload));
      if (typeof w !== 'object' || w === null || Array.isArray(w)) {
        throw new Error('not a JSON object');
      }
      this._peer = readSettings(w, 'welcome');
    } catch (e) {
      return this._goaway(E.invalid, 'bad WELCOME: ' + e.message);
    }
    if (this._scram) {
      try {
        this._scram.verifyServerFinal(w.auth);
      } catch (e) {
        return this._goaway(E.auth_failed, e.message);
      }
    }
    this.session = typeof w.session === 'string' ? w.session : '';
    this.server = typeof w.server === 'string' ? w.server : '';
    this.peerSettings = { ...this._peer };
    this._sendCredit = this._peer.connection_window;
    this._state = OPEN;
    this._lastPing = now();
    this._resolve(this);
  }

  // SCRAM server-first: answered with client-final once WebCrypto has derived the keys.
  _onAuth(payload) {
    if (!this._scram || this._scram.step !== 1) {
      return this._goaway(E.auth_failed, 'unexpected AUTH');
    }
    let data;
    try {
      data = JSON.parse(decoder.decode(payload)).auth;
      const n = typeof data === 'string' ? encoder.encode(data).length : 0;
      if (n < 1 || n > 4096) throw new Error('auth must be a string of 1 to 4096 bytes');
    } catch (e) {
      return this._goaway(E.invalid, 'bad AUTH: ' + e.message);
    }
    this._scram.clientFinal(data).then(
      (final) => {
        if (this._state === HANDSHAKE) {
          this._sendControl(T.AUTH, 0, 0, encoder.encode(JSON.stringify({ auth: final })));
        }
      },
      (e) => this._goaway(E.auth_failed, e.message),
    );
  }

  _onData(flags, id, payload) {
    const len = payload.length;
    if (id === 0) return this._goaway(E.protocol_error, 'DATA on stream 0');
    const s = this._streams.get(id);
    if (!s) {
      const stale = id % 2 === 1 ? id < this._nextId : id <= this._highestRemote;
      if (!stale) {
        return this._goaway(E.protocol_error, `DATA on stream ${id} which was never opened`);
      }
      // In flight when the stream ended: discarded, but the connection window stays right.
      if (len > this._recvWindow) {
        return this._goaway(E.flow_control_error, 'connection window exceeded');
      }
      this._recvWindow -= len;
      return this._giveCredit(null, len);
    }
    if (len > this._recvWindow || len > s.recvWindow) {
      return this._goaway(E.flow_control_error,
        `DATA of ${len} bytes on stream ${id} exceeds the granted window`);
    }
    this._recvWindow -= len;
    s.recvWindow -= len;
    if (s.remoteDone) {
      this._giveCredit(s, len);
      return this._resetStream(s, E.stream_closed, 'DATA after FIN');
    }
    const more = (flags & F.MORE) !== 0;
    const finOnly = len === 0 && (flags & F.FIN) !== 0 && !s.partial;
    const maxMessage = this._local.max_message;
    if (!s.partial && !finOnly) {
      const pre = readPrefixes(flags, payload);
      if (!pre) {
        this._giveCredit(s, len);
        return this._resetStream(s, E.protocol_error, 'DATA shorter than its announced prefixes');
      }
      const body = payload.subarray(pre.length);
      if (body.length > maxMessage) {
        this._giveCredit(s, len);
        return this._resetStream(s, E.message_too_large, 'message exceeds max_message');
      }
      if (!more) {
        this._deliver(s, flags, pre, body.slice(), len);
      } else {
        if (this._reassembly + body.length > MAX_REASSEMBLY) {
          return this._goaway(E.limit, 'too many bytes waiting in partial messages');
        }
        s.partial = { flags, pre, chunks: [body.slice()], size: body.length };
        this._reassembly += body.length;
        this._giveCredit(s, len); // a non-final fragment's credit comes back on arrival
      }
    } else if (s.partial) {
      const p = s.partial;
      if (p.size + len > maxMessage) {
        this._giveCredit(s, len);
        return this._resetStream(s, E.message_too_large,
          `reassembled message exceeds max_message of ${maxMessage} bytes`);
      }
      if (this._reassembly + len > MAX_REASSEMBLY) {
        return this._goaway(E.limit, 'too many bytes waiting in partial messages');
      }
      p.chunks.push(payload.slice());
      p.size += len;
      this._reassembly += len;
      if (more) {
        this._giveCredit(s, len);
      } else {
        s.partial = null;
        this._reassembly -= p.size;
        const body = new Uint8Array(p.size);
        let at = 0;
        for (const c of p.chunks) {
          body.set(c, at);
          at += c.length;
        }
        this._deliver(s, (p.flags & ~F.MORE) | (flags & F.FIN), p.pre, body, len);
      }
    } else {
      this._giveCredit(s, len); // FIN alone carries no message
    }
    if ((flags & F.FIN) && !more && !s.removed && this._state === OPEN) {
      s.remoteDone = true;
      if (s.localDone) {
        this._remove(s);
      } else {
        // The server finished the stream on its own (sluiced only answers our FIN): finish
        // ours at once, dropping whatever was still queued, and forget the stream.
        this._sendControl(T.DATA, F.FIN, s.id, new Uint8Array(0));
        s.localDone = true;
        this._streamFailed(s, E.no_error, 'the server finished the stream');
      }
    }
  }

  _deliver(s, flags, pre, body, credit) {
    if (s.finQueued || s.localDone) return this._consume(s, credit); // closed by the user
    if (s.role === 'request') {
      this._consume(s, credit);
      if (!(flags & F.REPLY)) return;
      const r = this._requests.get(pre.token);
      if (!r) return; // timed out already
      this._requests.delete(pre.token);
      clearTimeout(r.timer);
      if (flags & F.ERROR) {
        const e = parseErrorReply(body);
        return r.reject(failure(e.reason, e.status));
      }
      return r.resolve(body);
    }
    if (s.role !== 'subscribe') return this._consume(s, credit); // a publish stream gets no DATA
    s.sequence += 1 + pre.gap;
    const m = new Message(pre.subject ?? s.channel, body, pre.gap, s.sequence);
    if (s.responder) {
      if (!(flags & F.REQUEST)) return this._consume(s, credit); // unanswerable (no token)
      this._respond(s, m, pre.token, credit);
      return;
    }
    let result;
    try {
      result = s.onMessage(m);
    } catch (e) {
      this._consume(s, credit);
      return reportAsync(e);
    }
    if (result && typeof result.then === 'function') {
      result.then(
        () => this._consume(s, credit),
        (e) => {
          this._consume(s, credit);
          reportAsync(e);
        },
      );
    } else {
      this._consume(s, credit);
    }
  }

  _respond(s, m, token, credit) {
    const send = (flags, data) => {
      this._consume(s, credit);
      if (s.removed || s.finQueued || s.localDone || this._state !== OPEN) return;
      let body;
      try {
        body = toBytes(data);
      } catch (e) {
        flags = F.REPLY | F.ERROR;
        body = encoder.encode('500 ' + e.message);
      }
      this._queue(s, { flags, token, body });
    };
    const fail = (e) => {
      let status = Number(e?.status);
      if (!(status >= 400 && status <= 599)) status = 500;
      send(F.REPLY | F.ERROR, `${Math.floor(status)} ${e?.message ?? String(e)}`);
    };
    try {
      Promise.resolve(s.responder(m)).then((data) => send(F.REPLY, data), fail);
    } catch (e) {
      fail(e);
    }
  }

  _consume(s, bytes) {
    if (bytes === 0 || this._state !== OPEN) return;
    this._giveCredit(s, bytes);
  }

  // Credit goes back once a quarter of the window has been consumed (per stream, and for the
  // connection on stream 0), as sluice's own receiver does. None for a stream after its FIN.
  _giveCredit(s, bytes) {
    if (s && !s.removed && !s.remoteDone) {
      s.recvPending += bytes;
      if (s.recvPending >= this._local.stream_window / 4) {
        s.recvWindow += s.recvPending;
        this._windowUpdate(s.id, s.recvPending);
        s.recvPending = 0;
      }
    }
    this._recvPending += bytes;
    if (this._recvPending >= this._local.connection_window / 4) {
      this._recvWindow += this._recvPending;
      this._windowUpdate(0, this._recvPending);
      this._recvPending = 0;
    }
    this._schedulePump();
  }

  _windowUpdate(stream, increment) {
    const p = new Uint8Array(4);
    new DataView(p.buffer).setUint32(0, increment);
    this._sendControl(T.WINDOW_UPDATE, 0, stream, p);
  }

  _onWindowUpdate(stream, payload) {
    if (payload.length !== 4 || u32(payload, 0) === 0) {
      return this._goaway(E.protocol_error, 'WINDOW_UPDATE must carry a positive u32');
    }
    const increment = u32(payload, 0);
    if (stream === 0) {
      this._sendCredit += increment;
      if (this._sendCredit > MAX_CREDIT) {
        return this._goaway(E.flow_control_error, 'connection window above 2^31-1');
      }
      for (const s of this._streams.values()) this._markReady(s);
      return;
    }
    const s = this._streams.get(stream);
    if (!s) return; // a stream that just closed
    s.sendCredit += increment;
    if (s.sendCredit > MAX_CREDIT) {
      return this._resetStream(s, E.flow_control_error, 'window above 2^31-1');
    }
    this._markReady(s);
  }

  _onPong(payload) {
    if (payload.length !== 8) return;
    const i = this._pings.findIndex((p) => p.payload.every((b, j) => b === payload[j]));
    if (i < 0) return;
    const [p] = this._pings.splice(i, 1);
    this.rtt = now() - p.sentAt;
    if (p === this._keepalivePing) this._keepalivePing = null;
    p.resolve?.(this.rtt);
  }

  _sendPing(waiter = {}) {
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setBigUint64(0, ++this._pingCounter);
    const p = { payload, sentAt: now(), ...waiter };
    this._pings.push(p);
    this._lastPing = p.sentAt;
    this._sendControl(T.PING, 0, 0, payload);
    return p;
  }

  _tick() {
    const t = now();
    if (this._state === HANDSHAKE) {
      if (t - this._openedAt >= HANDSHAKE_TIMEOUT_MS) {
        if (this._ws.readyState === 1) {
          this._goaway(E.timeout, 'the handshake did not complete in time');
        } else {
          this._end(E.timeout, 'cannot connect: no WebSocket within 10 s', false);
          this._ws.close();
        }
      }
      return;
    }
    if (this._state !== OPEN) return;
    if (t - this._lastReceived >= this._local.lease_ms) {
      return this._goaway(E.lease_expired, 'nothing heard from the peer within the lease');
    }
    const interval = Math.min(this._peer.lease_ms / 3, 5000);
    if (!this._keepalivePing && t - this._lastPing >= interval) {
      this._keepalivePing = this._sendPing();
    }
  }

  // --------------------------------------------------------------------------------- output

  _sendControl(type, flags, stream, payload) {
    if (this._state === CLOSED) return;
    const f = header(type, flags, stream, payload.length, payload.length);
    f.set(payload, HEADER);
    this._control.push(f);
    this._controlBytes += f.length;
    this._schedulePump();
  }

  _markReady(s) {
    if (s.inReady || s.removed || this._state !== OPEN) return;
    if (!s.current && s.queue.length === 0 && !(s.finQueued && !s.localDone)) return;
    s.inReady = true;
    s.tag = Math.max(s.tag, this._vt); // idle time earns nothing
    this._ready.push(s);
  }

  _hasPendingData() {
    if (this._control.length) return true;
    for (const s of this._streams.values()) {
      if (s.current || s.queue.length || (s.finQueued && !s.localDone)) return true;
    }
    return false;
  }

  _schedulePump() {
    if (this._pumpScheduled) return;
    this._pumpScheduled = true;
    queueMicrotask(() => {
      this._pumpScheduled = false;
      this._pump();
    });
  }

  // Writes one batch: control frames first, then DATA frames chosen by start-time fair queueing
  // within the server's stream and connection credit.
  _pump() {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return;
    const parts = this._control;
    let total = this._controlBytes;
    this._control = [];
    this._controlBytes = 0;
    let more = false;
    if (this._state === OPEN && this._ready.length) {
      if (ws.bufferedAmount > HIGH_WATER) {
        more = true;
      } else {
        while (total < BATCH_BYTES && this._ready.length && this._sendCredit > 0) {
          let best = 0;
          for (let i = 1; i < this._ready.length; ++i) {
            if (this._ready[i].tag < this._ready[best].tag) best = i;
          }
          const s = this._ready[best];
          const n = this._emitFrame(s, parts);
          if (n > 0) total += n;
          if (s.removed) continue; // _remove() took it off the list
          if (n < 0 || (!s.current && s.queue.length === 0 && !(s.finQueued && !s.localDone))) {
            s.inReady = false;
            this._ready[best] = this._ready[this._ready.length - 1];
            this._ready.pop();
            if (!s.current && s.queue.length === 0) for (const w of s.drainWaiters.splice(0)) w();
          }
        }
        more = this._ready.length > 0 && this._sendCredit > 0;
      }
    }
    if (total > 0) this._write(parts, total);
    if (more && !this._pumpTimer) {
      // Later, so that reading (and the server's WINDOW_UPDATEs) can go on meanwhile.
      this._pumpTimer = setTimeout(() => {
        this._pumpTimer = null;
        this._pump();
      }, ws.bufferedAmount > HIGH_WATER ? 5 : 0);
    }
  }

  // One DATA frame of `s` into `parts`: its size, 0 for a frame without payload, -1 when the
  // stream cannot send now.
  _emitFrame(s, parts) {
    if (!s.current) {
      if (s.queue.length === 0) {
        if (s.finQueued && !s.localDone) {
          parts.push(header(T.DATA, F.FIN, s.id, 0));
          s.localDone = true;
          if (s.remoteDone) this._remove(s);
          return HEADER;
        }
        return -1;
      }
      s.current = s.queue.shift();
      s.offset = 0;
      s.started = false;
    }
    const m = s.current;
    const first = !s.started;
    let flags = 0;
    let prefix = 0;
    if (first) {
      flags = m.flags & (F.REQUEST | F.REPLY | F.ERROR);
      if (flags & (F.REQUEST | F.REPLY)) prefix += 8;
    }
    const remaining = m.body.length - s.offset;
    const avail = Math.min(this._peer.max_frame, s.sendCredit, this._sendCredit);
    if (avail < prefix + Math.min(remaining, MIN_FRAGMENT)) return -1;
    const chunk = Math.min(remaining, avail - prefix);
    const last = chunk === remaining;
    if (!last) flags |= F.MORE;
    const payload = prefix + chunk;
    // FIN rides on the last fragment, but never on an empty payload: that would read as a bare
    // FIN, and the empty message would be lost.
    if (last && payload > 0 && s.finQueued && s.queue.length === 0) {
      flags |= F.FIN;
      s.localDone = true;
    }
    const h = header(T.DATA, flags, s.id, payload, prefix);
    if (prefix) new DataView(h.buffer).setBigUint64(HEADER, m.token);
    parts.push(h);
    if (chunk) parts.push(m.body.subarray(s.offset, s.offset + chunk));
    s.sendCredit -= payload;
    this._sendCredit -= payload;
    s.offset += chunk;
    s.queuedBytes -= chunk;
    s.started = true;
    this._vt = Math.max(this._vt, s.tag);
    s.tag = this._vt + ((HEADER + payload) * 1024) / (s.priority + 1);
    if (last) {
      s.current = null;
      if ((flags & F.FIN) && s.remoteDone) this._remove(s);
    }
    return HEADER + payload;
  }

  // Sends the batch as binary messages of at most 1 MiB (message boundaries mean nothing).
  _write(parts, total) {
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    try {
      if (total <= MAX_WS_MESSAGE) return this._ws.send(out);
      for (let off = 0; off < total; off += MAX_WS_MESSAGE) {
        this._ws.send(out.slice(off, Math.min(total, off + MAX_WS_MESSAGE)));
      }
    } catch (e) {
      this._end(E.internal_error, 'cannot send: ' + e.message, false);
    }
  }

  // ---------------------------------------------------------------------------- session end

  // Ends the session with GOAWAY: queued control frames go first, queued DATA does not.
  _goaway(code, reason) {
    if (this._state === CLOSED) return;
    this._sendControl(T.GOAWAY, 0, 0, errorPayload(code, reason));
    const ws = this._ws;
    if (ws.readyState === 1) {
      this._write(this._control, this._controlBytes);
      this._control = [];
      this._controlBytes = 0;
    }
    this._end(code, reason, false);
    if (ws.readyState <= 1) ws.close(1000);
  }

  _end(code, reason, byPeer) {
    if (this._state === CLOSED) return;
    const established = this._state === OPEN;
    this._state = CLOSED;
    clearInterval(this._timer);
    clearTimeout(this._pumpTimer);
    this._pumpTimer = null;
    this._ready = [];
    this._control = [];
    this._controlBytes = 0;
    if (!established) {
      const status = code === E.auth_failed ? 401 : 503;
      const why = `cannot establish the session: ${errorName(code)}: ${reason}`;
      this._reject(failure(why, status, code));
      return;
    }
    const error = failure(`session closed: ${errorName(code)}: ${reason}`, 503, code);
    for (const r of this._requests.values()) {
      clearTimeout(r.timer);
      r.reject(error);
    }
    this._requests.clear();
    for (const p of this._pings.splice(0)) p.reject?.(error);
    for (const s of [...this._streams.values()]) {
      this._remove(s);
      s.error = error;
      if (s.onclose) {
        try {
          s.onclose(code, reason);
        } catch (e) {
          reportAsync(e);
        }
      }
    }
    if (this.onclose) {
      try {
        this.onclose(code, reason, byPeer);
      } catch (e) {
        reportAsync(e);
      }
    }
  }
}

const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

// The client side of SCRAM-SHA-256 (RFC 5802/7677) as sluiced speaks it: no channel binding
// (GS2 "n,,"), no SASLprep, 4096–1,000,000 iterations. Needs WebCrypto (crypto.subtle).
class Scram {
  constructor(user, password) {
    const n = encoder.encode(user ?? '').length;
    if (n < 1 || n > 255 || user.includes('\0')) {
      throw failure('SCRAM: the user name must be 1 to 255 bytes without NUL', 400);
    }
    if (typeof password !== 'string' || password === '') throw failure('SCRAM: no password', 400);
    if (!globalThis.crypto?.subtle) {
      throw failure('SCRAM-SHA-256 needs WebCrypto (crypto.subtle), which browsers offer only in ' +
        'secure contexts (https: pages, localhost)', 400);
    }
    this.step = 1;
    this.password = password;
    this.nonce = b64(crypto.getRandomValues(new Uint8Array(18)));
    this.bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${this.nonce}`;
    this.clientFirst = 'n,,' + this.bare;
  }

  async clientFinal(serverFirst) {
    this.step = 2;
    const password = this.password;
    this.password = null; // one attempt
    const attrs = serverFirst.split(',').map((f) => [f[0], f.slice(2), f[1]]);
    if (attrs.some(([name, , eq]) => !/^[A-Za-z]$/.test(name ?? '') || eq !== '=')) {
      throw new Error('malformed server-first message');
    }
    if (attrs[0][0] === 'm') throw new Error('mandatory extension (m=) is not supported');
    if (attrs.length < 3 || attrs[0][0] !== 'r' || attrs[1][0] !== 's' || attrs[2][0] !== 'i') {
      throw new Error('server-first message must start with r=, s= and i=');
    }
    const [[, nonce], [, salt64], [, iter]] = attrs;
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce) || !nonce.startsWith(this.nonce) ||
        nonce.length === this.nonce.length) {
      throw new Error('server nonce does not extend the client nonce');
    }
    let salt;
    try {
      salt = unb64(salt64);
    } catch {
      throw new Error('salt is not valid base64');
    }
    if (salt.length === 0) throw new Error('salt is empty');
    const iterations = /^[1-9][0-9]{0,9}$/.test(iter) ? Number(iter) : 0;
    if (iterations < 4096 || iterations > 1000000) {
      throw new Error(`iteration count ${iter} is outside the accepted range [4096, 1000000]`);
    }
    const subtle = crypto.subtle;
    const hmac = async (key, text) => {
      const algorithm = { name: 'HMAC', hash: 'SHA-256' };
      const k = await subtle.importKey('raw', key, algorithm, false, ['sign']);
      return new Uint8Array(await subtle.sign('HMAC', k, encoder.encode(text)));
    };
    const raw = encoder.encode(password);
    const base = await subtle.importKey('raw', raw, 'PBKDF2', false, ['deriveBits']);
    const salted = new Uint8Array(
      await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, 256),
    );
    const clientKey = await hmac(salted, 'Client Key');
    const storedKey = new Uint8Array(await subtle.digest('SHA-256', clientKey));
    const withoutProof = 'c=biws,r=' + nonce;
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const proof = await hmac(storedKey, authMessage);
    for (let i = 0; i < proof.length; i++) proof[i] ^= clientKey[i];
    this.expected = await hmac(await hmac(salted, 'Server Key'), authMessage);
    this.step = 3;
    return `${withoutProof},p=${b64(proof)}`;
  }

  // WELCOME `auth`: "v=<server signature>", which proves that the server holds the key.
  verifyServerFinal(message) {
    if (this.step !== 3 || typeof message !== 'string') {
      throw new Error('WELCOME without the SCRAM server-final message');
    }
    if (message.startsWith('e=')) {
      throw new Error('server rejected authentication: ' + message.slice(2, 130));
    }
    const v = message.split(',')[0];
    let signature = null;
    try {
      if (v.startsWith('v=')) signature = unb64(v.slice(2));
    } catch {}
    if (!signature || signature.length !== 32) {
      throw new Error('server signature is not 32 bytes of base64');
    }
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= signature[i] ^ this.expected[i];
    if (diff) throw new Error('server signature mismatch (the server does not hold the key)');
  }
}

// The DATA prefixes announced by `flags`, in protocol order: GAP u64, token u64 (REQUEST or
// REPLY), SUBJECT u16 + bytes. Null when the payload is too short.
function readPrefixes(flags, p) {
  const out = { gap: 0, token: 0n, subject: null, length: 0 };
  let at = 0;
  const view = () => new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (flags & F.GAP) {
    if (p.length - at < 8) return null;
    out.gap = Number(view().getBigUint64(at));
    at += 8;
  }
  if (flags & (F.REQUEST | F.REPLY)) {
    if (p.length - at < 8) return null;
    out.token = view().getBigUint64(at);
    at += 8;
  }
  if (flags & F.SUBJECT) {
    if (p.length - at < 2) return null;
    const n = (p[at] << 8) | p[at + 1];
    at += 2;
    if (p.length - at < n) return null;
    out.subject = decoder.decode(p.subarray(at, at + n));
    at += n;
  }
  out.length = at;
  return out;
}

function wireUrl(url) {
  const u = new URL(url, globalThis.location?.href);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw failure(`not a WebSocket URL: ${url}`, 400);
  }
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/wire';
  return u;
}

/**
 * Opens a session: the WebSocket, HELLO and the server's WELCOME. See the top of this file.
 * @returns {Promise<Session>}
 */
export function connect(url, options = {}) {
  return new Promise((resolve, reject) => {
    const u = wireUrl(url);
    if (options.token && u.protocol !== 'wss:' && !options.allowInsecureToken) {
      throw failure(
        'refusing to send a token over ws://: use wss:// (a TLS-terminating proxy) or an ' +
          'anonymous session',
        400,
      );
    }
    new Session(u.href, options, resolve, reject);
  });
}
