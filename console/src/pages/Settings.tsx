// Settings: a typed control per setting (GET /settings: boolean, integer, number, enum, string,
// string_list) with its range and unit; saving PUTs the value and shows the server's answer — a
// 422 names the rule that was broken, and the old value stays.
import { useMemo, useState } from 'preact/hooks';
import { api, grants } from '../api';
import { usePoll } from '../hooks';
import { useSession } from '../session';
import { Card, ErrorBox, Page } from '../components/ui';

interface Setting {
  name: string;
  value: unknown;
  default: unknown;
  type: 'boolean' | 'integer' | 'number' | 'enum' | 'string' | 'string_list';
  unit?: string;
  minimum?: number;
  maximum?: number;
  enum?: string[];
  description: string;
  write: string[];
}

function asText(s: Setting, v: unknown): string {
  if (s.type === 'string_list') return ((v as string[]) || []).join('\n');
  return v === null || v === undefined ? '' : String(v);
}

// The text of a control as the JSON value to send. What does not parse is sent as typed, so the
// server's validation (422) is the one judge.
function asValue(s: Setting, text: string): unknown {
  switch (s.type) {
    case 'boolean': return text === 'true';
    case 'integer':
    case 'number': return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    case 'string_list': return text.split('\n').map((l) => l.trim()).filter(Boolean);
    default: return text;
  }
}

function range(s: Setting): string {
  const parts = [];
  if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`${s.minimum}–${s.maximum}`);
  else if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  else if (s.maximum !== undefined && s.type !== 'string') parts.push(`≤ ${s.maximum}`);
  if (s.unit) parts.push(s.unit);
  return parts.join(' ');
}

function SettingRow({ s, writable }: { s: Setting; writable: boolean }) {
  const [text, setText] = useState(asText(s, s.value));
  const [saved, setSaved] = useState(asText(s, s.value));
  const [error, setError] = useState<string | null>(null);
  const [ok, setOk] = useState(false);
  const [busy, setBusy] = useState(false);
  const id = `setting-${s.name}`;
  const dirty = text !== saved;

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setOk(false);
    try {
      const res = await api<Setting>('PUT', `/settings/${s.name}`, { value: asValue(s, text) });
      const now = asText(s, res.value);
      setText(now);
      setSaved(now);
      setOk(true);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  let control;
  if (s.type === 'boolean') {
    control = (
      <select id={id} name={s.name} value={text} disabled={!writable} onChange={(e) => setText(e.currentTarget.value)}>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else if (s.type === 'enum') {
    control = (
      <select id={id} name={s.name} value={text} disabled={!writable} onChange={(e) => setText(e.currentTarget.value)}>
        {(s.enum || []).map((v) => <option key={v}>{v}</option>)}
      </select>
    );
  } else if (s.type === 'string_list') {
    control = (
      <textarea id={id} name={s.name} rows={Math.max(2, text.split('\n').length)} readOnly={!writable}
                placeholder="one per line" value={text} onInput={(e) => setText(e.currentTarget.value)} />
    );
  } else {
    control = (
      <input id={id} name={s.name} inputMode={s.type === 'string' ? undefined : 'decimal'} readOnly={!writable}
             value={text} onInput={(e) => setText(e.currentTarget.value)} />
    );
  }

  return (
    <form class={`setting ${dirty ? 'dirty' : ''}`} onSubmit={save} noValidate data-setting={s.name}>
      <div class="setting-text">
        <label for={id} class="mono">{s.name}</label>
        <p class="hint">{s.description}{range(s) && <> · <span>{range(s)}</span></>}
          {asText(s, s.default) !== saved && <> · default {asText(s, s.default).replace(/\n/g, ', ') || '(empty)'}</>}</p>
      </div>
      <div class="setting-control">
        {control}
        {writable && <button type="submit" class="small" disabled={busy || !dirty}>Save</button>}
      </div>
      <div class="setting-result" aria-live="polite">
        <ErrorBox error={error} />
        {ok && <span class="saved">Saved</span>}
      </div>
    </form>
  );
}

export function Settings() {
  const { me } = useSession();
  const settings = usePoll<Setting[]>('/settings');
  const [filter, setFilter] = useState('');
  const shown = useMemo(() => (settings.data || []).filter((s) =>
    !filter || s.name.toLowerCase().includes(filter.toLowerCase()) ||
    s.description.toLowerCase().includes(filter.toLowerCase())), [settings.data, filter]);
  return (
    <Page title="Settings" actions={
      <input type="search" aria-label="Filter settings" placeholder="Filter…" value={filter}
             onInput={(e) => setFilter(e.currentTarget.value)} />}>
      <ErrorBox error={settings.error} />
      <Card>
        <p class="hint">Changes apply at once and are kept across restarts.</p>
        {shown.map((s) => (
          <SettingRow key={s.name} s={s} writable={s.write.some((w) => grants(me.permissions, w))} />
        ))}
      </Card>
    </Page>
  );
}
