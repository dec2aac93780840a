// Server-sent events read with fetch and a ReadableStream: EventSource cannot send the
// Authorization header, and a password never goes into a URL. Reconnects with backoff (1 s → 10 s)
// until stopped; `onOpen` runs on every (re)connect, so the caller reloads what it may have missed.
import { authHeaders } from './api';

export interface SseMessage {
  event: string;
  data: string;
}

export interface SseHandlers {
  onMessage: (m: SseMessage) => void;
  onOpen?: () => void;
  onState?: (connected: boolean, error?: string) => void;
}

export function subscribeSse(path: string, h: SseHandlers): () => void {
  let stopped = false;
  let controller: AbortController | null = null;
  let delay = 1000;

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(path, { headers: { ...authHeaders(), Accept: 'text/event-stream' },
                                        signal: controller.signal, cache: 'no-store' });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        delay = 1000;
        h.onState?.(true);
        h.onOpen?.();
        await read(res.body, h.onMessage);
        h.onState?.(false, 'the event stream ended');
      } catch (e) {
        if (stopped) return;
        h.onState?.(false, String((e as Error).message || e));
      }
      if (stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }
  run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

// Splits the byte stream into events: `event:` and `data:` lines up to a blank line; comments
// (": dropped 3 events", keep-alives) are skipped.
async function read(body: ReadableStream<Uint8Array>, onMessage: (m: SseMessage) => void) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      let line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (data.length) onMessage({ event: event || 'message', data: data.join('\n') });
        event = '';
        data = [];
      } else if (line.startsWith(':')) {
        continue;
      } else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  }
}
