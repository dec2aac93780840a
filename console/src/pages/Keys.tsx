// Stream keys: create one (its key and OBS's server are shown this once, with copy buttons),
// revoke, rotate (a new secret, shown once). Needs keys_rw.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { usePoll } from '../hooks';
import { ago, Badge, Card, CopyButton, Empty, ErrorBox, Field, Page, stateTone, useAction } from '../components/ui';

interface Key {
  id: string;
  stream: string;
  kind: string;
  alias: string | null;
  note: string;
  created_at: string;
  expires_at: string | null;
  state: string;
  allowed_ips: string[];
  last_used_at: string | null;
  uses: number;
  key?: string;
  rtmp_url?: string | null;
}

function Secret({ k, onDone }: { k: Key; onDone: () => void }) {
  const server = k.rtmp_url || '(RTMP is off)';
  const play = k.kind === 'read' && k.rtmp_url ? `${k.rtmp_url}/${k.stream}?key=${k.key}` : null;
  return (
    <Card class="secret" title={`Key for ${k.stream}: shown this once`}>
      <p>Copy it now: sluiced keeps only a hash of it. {k.kind === 'publish'
        ? 'In OBS, Settings → Stream: Service "Custom", then:' : 'Players add it as ?key=:'}</p>
      <dl class="props secret-values">
        <dt>{k.kind === 'publish' ? 'Server' : 'RTMP URL'}</dt>
        <dd><code data-testid="rtmp-url">{server}</code> {k.rtmp_url && <CopyButton text={k.rtmp_url} label="server" />}</dd>
        <dt>{k.kind === 'publish' ? 'Stream key' : 'Read key'}</dt>
        <dd><code data-testid="stream-key">{k.key}</code> <CopyButton text={k.key || ''} label="stream key" /></dd>
        {play && (<><dt>Play URL</dt><dd><code>{play}</code> <CopyButton text={play} label="play URL" /></dd></>)}
      </dl>
      <button type="button" onClick={onDone}>I have copied it</button>
    </Card>
  );
}

export function Keys() {
  const keys = usePoll<Key[]>('/keys', 10000);
  const [shown, setShown] = useState<Key | null>(null);
  const [stream, setStream] = useState('');
  const [kind, setKind] = useState('publish');
  const [alias, setAlias] = useState('');
  const [note, setNote] = useState('');
  const [expires, setExpires] = useState('');
  const [ips, setIps] = useState('');
  const create = useAction();
  const act = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    create.run(async () => {
      const body: Record<string, unknown> = { stream: stream.trim(), kind };
      if (alias.trim()) body.alias = alias.trim();
      if (note.trim()) body.note = note.trim();
      if (expires) body.expires_in = Math.round(Number(expires) * 3600);
      const list = ips.split(/[\s,]+/).filter(Boolean);
      if (list.length) body.allowed_ips = list;
      setShown(await api<Key>('POST', '/keys', body));
      setStream('');
      setAlias('');
      setNote('');
      keys.reload();
    });
  };

  const rotate = (k: Key) => confirm(`Rotate the key ${k.id}? The old one stops working at once.`) &&
    act.run(async () => {
      setShown(await api<Key>('POST', `/keys/${k.id}/rotate`));
      keys.reload();
    });
  const revoke = (k: Key) => confirm(`Revoke the key ${k.id} for ${k.stream}?`) && act.run(async () => {
    await api('DELETE', `/keys/${k.id}`);
    keys.reload();
  });

  return (
    <Page title="Stream keys">
      {shown && <Secret k={shown} onDone={() => setShown(null)} />}
      <div class="split">
        <Card title="New key" class="form-card">
          <form onSubmit={submit} class="stack" noValidate>
            <Field label="Stream name" hint="the path it publishes, e.g. cam1">
              <input name="stream" required value={stream} onInput={(e) => setStream(e.currentTarget.value)} />
            </Field>
            <Field label="Kind">
              <select name="kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
                <option value="publish">publish (OBS, ffmpeg, cameras)</option>
                <option value="read">read (makes the stream private)</option>
              </select>
            </Field>
            <Field label="Alias" hint="optional, usable instead of the id">
              <input name="alias" value={alias} onInput={(e) => setAlias(e.currentTarget.value)} />
            </Field>
            <Field label="Expires in (hours)" hint="empty: never">
              <input name="expires" type="number" min="0" step="any" value={expires}
                     onInput={(e) => setExpires(e.currentTarget.value)} />
            </Field>
            <Field label="Allowed addresses" hint="IPs or CIDRs, comma-separated; empty: anywhere">
              <input name="allowed_ips" value={ips} onInput={(e) => setIps(e.currentTarget.value)} />
            </Field>
            <Field label="Note">
              <input name="note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />
            </Field>
            <ErrorBox error={create.error} />
            <button type="submit" class="primary" disabled={create.busy}>Create key</button>
          </form>
        </Card>
        <Card title="Keys" class="grow">
          <ErrorBox error={keys.error || act.error} />
          {!keys.data?.length ? <Empty>No stream keys yet.</Empty> : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr><th>Stream</th><th>Id / alias</th><th>Kind</th><th>State</th><th>Last used</th><th /></tr>
                </thead>
                <tbody>
                  {keys.data.map((k) => (
                    <tr key={k.id}>
                      <td>{k.stream}{k.note && <div class="sub">{k.note}</div>}</td>
                      <td class="mono">{k.id}{k.alias && <div class="sub">{k.alias}</div>}</td>
                      <td>{k.kind}</td>
                      <td><Badge tone={stateTone(k.state)}>{k.state}</Badge></td>
                      <td>{k.last_used_at ? `${ago(k.last_used_at)} (${k.uses})` : 'never'}</td>
                      <td class="buttons">
                        {k.state === 'active' && (
                          <>
                            <button type="button" class="small" onClick={() => rotate(k)}>Rotate</button>
                            <button type="button" class="small danger" onClick={() => revoke(k)}>Revoke</button>
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      </div>
    </Page>
  );
}
