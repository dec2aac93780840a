// Building blocks of every page: headings, cards, messages, a copy button, empty states, time.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';

export function Page({ title, actions, children }: {
  title: string; actions?: ComponentChildren; children: ComponentChildren;
}) {
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title">{title}</h1>
        {actions && <div class="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Card({ title, children, class: cls = '' }: {
  title?: ComponentChildren; children: ComponentChildren; class?: string;
}) {
  return (
    <div class={`card ${cls}`}>
      {title && <h2>{title}</h2>}
      {children}
    </div>
  );
}

export function ErrorBox({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return <p class="error" role="alert">{error}</p>;
}

export function Notice({ children }: { children: ComponentChildren }) {
  return <p class="notice" role="status">{children}</p>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Forbidden({ need }: { need: string }) {
  return (
    <Page title="Not allowed">
      <p class="error" role="alert">
        Your identity lacks the <code>{need}</code> permission this page needs. Sign in as
        someone who has it.
      </p>
    </Page>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API unavailable (plain http on another host): select a hidden textarea.
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 1500);
  };
  return (
    <button type="button" class="small" onClick={copy} aria-label={`Copy ${label}`}>
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

export function Badge({ tone = 'grey', children }: { tone?: string; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}

export function stateTone(state: string): string {
  if (['active', 'running', 'ok', 'live', 'pushing', 'recording', 'serving'].includes(state)) return 'green';
  if (['starting', 'idle', 'connecting', 'waiting', 'dropping', 'expired'].includes(state)) return 'amber';
  if (['retrying', 'stalled', 'erroring', 'failed', 'revoked', 'stopped'].includes(state)) return 'red';
  return 'grey';
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (!(s >= 0)) return new Date(iso).toLocaleString();
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    ++i;
  }
  return `${v.toFixed(i && v < 10 ? 1 : 0)} ${u[i]}`;
}

// A labelled form control: the label wraps the control, so clicking it focuses the control.
export function Field({ label, hint, children }: {
  label: string; hint?: ComponentChildren; children: ComponentChildren;
}) {
  return (
    <label class="field">
      <span class="label">{label}</span>
      {children}
      {hint && <span class="hint">{hint}</span>}
    </label>
  );
}

// Runs an async action, keeping its error and whether it runs, for a form's submit button.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (f: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
