// Small hooks the pages share: hash routing, polling an API route, a rolling history of samples.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';

// The route is the hash: `#/streams` → "/streams" (no server-side fallback is needed).
export function useHashRoute(): string {
  const read = () => (location.hash.replace(/^#/, '') || '/');
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export interface Polled<T> {
  data: T | null;
  error: string | null;
  status: number;
  reload: () => void;
}

// GET `path` now and every `ms` (0: once) while the component is mounted; `path` null: nothing.
export function usePoll<T>(path: string | null, ms = 0): Polled<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; status: number }>(
    { data: null, error: null, status: 0 });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const data = await api<T>('GET', path);
        if (live) setState({ data, error: null, status: 200 });
      } catch (e) {
        const err = e as { status?: number; message: string };
        if (live) setState((s) => ({ data: s.data, error: err.message, status: err.status || 0 }));
      }
      if (live && ms > 0) timer = setTimeout(load, ms);
    };
    load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [path, ms, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export interface Sample {
  t: number;  // ms since the epoch
  v: number;
}

// Keeps the last `max` samples of named series, e.g. {"cam": [...], "tp1": [...]}.
export function useSeries(max = 150) {
  const ref = useRef<Record<string, Sample[]>>({});
  const push = (name: string, v: number, t = Date.now()) => {
    const s = (ref.current[name] ||= []);
    s.push({ t, v });
    if (s.length > max) s.splice(0, s.length - max);
  };
  return { series: ref.current, push };
}

// A per-second rate from successive counter readings of named things.
export function useRates() {
  const last = useRef<Record<string, { t: number; v: number }>>({});
  return (name: string, value: number, t = Date.now()): number | null => {
    const prev = last.current[name];
    last.current[name] = { t, v: value };
    if (!prev || t <= prev.t || value < prev.v) return null;
    return ((value - prev.v) * 1000) / (t - prev.t);
  };
}
