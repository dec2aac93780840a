// A small SVG line chart: one or more series of (time, value) samples on a shared time axis,
// y from 0 to a rounded maximum, a legend. Scales to its container's width.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Sample } from '../hooks';

export interface Series {
  name: string;
  samples: Sample[];
}

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#db2777', '#7c3aed', '#0891b2', '#dc2626'];

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1).replace(/\.0$/, '') + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(1).replace(/\.0$/, '') + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1).replace(/\.0$/, '') + 'k';
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(a >= 10 ? 1 : 2);
}

function clock(t: number, withSeconds: boolean): string {
  const d = new Date(t);
  const hh = String(d.getHours()).padStart(2, '0');
  const mm = String(d.getMinutes()).padStart(2, '0');
  return withSeconds ? `${hh}:${mm}:${String(d.getSeconds()).padStart(2, '0')}` : `${hh}:${mm}`;
}

export function Chart({ series, title, unit = '', height = 160, step = false }: {
  series: Series[]; title: string; unit?: string; height?: number; step?: boolean;
}) {
  // Drawn at the container's width, so text and lines keep their size at any width.
  const box = useRef<HTMLElement>(null);
  const [W, setW] = useState(600);
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setW(Math.max(200, Math.round(el.clientWidth))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const H = height;
  const pad = { l: 44, r: 8, t: 8, b: 20 };
  const all = series.flatMap((s) => s.samples);
  const t0 = all.length ? Math.min(...all.map((s) => s.t)) : 0;
  const t1 = all.length ? Math.max(...all.map((s) => s.t)) : 1;
  const span = Math.max(t1 - t0, 1);
  const max = niceMax(all.length ? Math.max(...all.map((s) => s.v)) : 0);
  const x = (t: number) => pad.l + ((t - t0) / span) * (W - pad.l - pad.r);
  const y = (v: number) => H - pad.b - (v / max) * (H - pad.t - pad.b);
  const path = (samples: Sample[]) => samples.map((s, i) => {
    const cmd = i === 0 ? 'M' : 'L';
    if (step && i > 0) return `H${x(s.t).toFixed(1)}V${y(s.v).toFixed(1)}`;
    return `${cmd}${x(s.t).toFixed(1)},${y(s.v).toFixed(1)}`;
  }).join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const withSeconds = span < 10 * 60 * 1000;
  const label = `${title}${unit ? ` (${unit})` : ''}`;
  return (
    <figure class="chart" ref={box}>
      <figcaption>{label}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={label}>
        {ticks.map((v) => (
          <g key={v}>
            <line x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} class="grid" />
            <text x={pad.l - 6} y={y(v) + 4} text-anchor="end" class="tick">{formatNumber(v)}</text>
          </g>
        ))}
        {all.length > 0 && (
          <>
            <text x={pad.l} y={H - 4} class="tick">{clock(t0, withSeconds)}</text>
            <text x={W - pad.r} y={H - 4} text-anchor="end" class="tick">{clock(t1, withSeconds)}</text>
          </>
        )}
        {series.map((s, i) => s.samples.length > 0 && (
          <path key={s.name} d={path(s.samples)} fill="none" stroke={COLORS[i % COLORS.length]}
                stroke-width="2" vector-effect="non-scaling-stroke" />
        ))}
        {all.length === 0 && <text x={W / 2} y={H / 2} text-anchor="middle" class="tick">no data yet</text>}
      </svg>
      {series.length > 1 && (
        <ul class="legend">
          {series.map((s, i) => {
            const last = s.samples[s.samples.length - 1];
            return (
              <li key={s.name}>
                <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} />
                {s.name}{last ? `: ${formatNumber(last.v)}` : ''}
              </li>
            );
          })}
        </ul>
      )}
    </figure>
  );
}

// A tiny trend line for table cells.
export function Sparkline({ samples, label }: { samples: Sample[]; label: string }) {
  const W = 80;
  const H = 20;
  if (samples.length < 2) return <svg width={W} height={H} aria-label={label} role="img" />;
  const t0 = samples[0].t;
  const span = Math.max(samples[samples.length - 1].t - t0, 1);
  const max = Math.max(...samples.map((s) => s.v), 1e-9);
  const d = samples.map((s, i) =>
    `${i ? 'L' : 'M'}${(((s.t - t0) / span) * (W - 2) + 1).toFixed(1)},${(H - 1 - (s.v / max) * (H - 2)).toFixed(1)}`).join('');
  return (
    <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
      <path d={d} fill="none" stroke="#2563eb" stroke-width="1.5" />
    </svg>
  );
}
