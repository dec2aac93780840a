// Streams: the registry's live list, kept current by the registry events (GET /streams/events,
// read with fetch), filtered by type; a stream's details and a request for an offer.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, get } from '../api';
import { subscribeSse } from '../sse';
import { useSession } from '../session';
import { ago, Badge, Card, Empty, ErrorBox, Field, Page, useAction } from '../components/ui';

export interface StreamInfo {
  id: string;
  name: string;
  stream_type: string;
  publisher_id: string;
  protocol: string;
  address: string;
  port: number;
  config: Record<string, unknown>;
  metadata: Record<string, unknown>;
  advertised_at: string;
  last_heartbeat: string;
  active_sessions: number;
  active_subscribers: number;
  delivery_mode: string;
  multicast_group: string | null;
  multicast_port: number | null;
}

interface StreamType { name: string; display_name: string }

export function Streams() {
  const [streams, setStreams] = useState<Record<string, StreamInfo>>({});
  const [types, setTypes] = useState<StreamType[]>([]);
  const [filter, setFilter] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);

  useEffect(() => {
    let reloadTimer: ReturnType<typeof setTimeout> | undefined;
    const loadAll = async () => {
      try {
        const list = await get<StreamInfo[]>('/streams');
        setStreams(Object.fromEntries(list.map((s) => [s.id, s])));
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    };
    const reloadSoon = () => {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(loadAll, 250);
    };
    const upsert = async (id: string) => {
      try {
        const s = await get<StreamInfo>(`/streams/${id}`);
        setStreams((all) => ({ ...all, [s.id]: s }));
      } catch {
        reloadSoon();
      }
    };
    get<StreamType[]>('/streams/types').then(setTypes).catch(() => {});
    const stop = subscribeSse('/streams/events?subject=maestra.stream.>', {
      onOpen: loadAll,
      onState: (connected, why) => {
        setLive(connected);
        if (!connected && why) setError(`Live updates interrupted (${why}); reconnecting…`);
      },
      onMessage: (m) => {
        let msg: { subject: string; data: { stream_id?: string } };
        try {
          msg = JSON.parse(m.data);
        } catch {
          return;
        }
        const id = msg.data?.stream_id;
        if (msg.subject.startsWith('maestra.stream.advertise') && id) upsert(id);
        else if (msg.subject.startsWith('maestra.stream.withdraw.') && id) {
          setStreams((all) => {
            const { [id]: _gone, ...rest } = all;
            return rest;
          });
        } else if (/^maestra\.stream\.(session|subscriber)\./.test(msg.subject)) reloadSoon();
      },
    });
    return () => {
      stop();
      clearTimeout(reloadTimer);
    };
  }, []);

  const list = useMemo(() => Object.values(streams)
    .filter((s) => !filter || s.stream_type === filter)
    .sort((a, b) => a.name.localeCompare(b.name)), [streams, filter]);
  const present = useMemo(() => new Set(Object.values(streams).map((s) => s.stream_type)), [streams]);
  const current = selected ? streams[selected] : undefined;

  return (
    <Page title="Streams" actions={
      <Badge tone={live ? 'green' : 'amber'}>{live ? 'live' : 'connecting'}</Badge>}>
      <div class="toolbar">
        <Field label="Type">
          <select value={filter} onChange={(e) => setFilter(e.currentTarget.value)}>
            <option value="">All types ({Object.keys(streams).length})</option>
            {types.map((t) => (
              <option key={t.name} value={t.name}>
                {t.display_name || t.name}{present.has(t.name) ? '' : ' (none)'}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorBox error={error} />
      <div class="split">
        <Card class="grow">
          {list.length === 0 ? <Empty>No streams{filter ? ` of type ${filter}` : ''} are advertised.</Empty> : (
            <div class="table-wrap">
              <table class="streams">
                <thead>
                  <tr><th>Name</th><th>Type</th><th>Publisher</th><th>Address</th><th>Sessions</th><th>Heartbeat</th></tr>
                </thead>
                <tbody>
                  {list.map((s) => (
                    <tr key={s.id} class={s.id === selected ? 'selected' : ''} data-stream={s.name}>
                      <td><button type="button" class="link" onClick={() => setSelected(s.id)}>{s.name}</button></td>
                      <td><Badge>{s.stream_type}</Badge></td>
                      <td>{s.publisher_id}</td>
                      <td class="mono">{s.protocol}://{s.address}:{s.port}</td>
                      <td>{s.active_sessions + s.active_subscribers}</td>
                      <td>{ago(s.last_heartbeat)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
        {current && <StreamDetails stream={current} onClose={() => setSelected(null)} />}
      </div>
    </Page>
  );
}

function StreamDetails({ stream, onClose }: { stream: StreamInfo; onClose: () => void }) {
  const { can, me } = useSession();
  const [consumer, setConsumer] = useState(`console-${me.name}`);
  const [address, setAddress] = useState(me.address);
  const [port, setPort] = useState('');
  const [offer, setOffer] = useState<unknown>(null);
  const action = useAction();
  const withdraw = useAction();
  const multicast = stream.delivery_mode === 'multicast';

  const request = (e: Event) => {
    e.preventDefault();
    setOffer(null);
    action.run(async () => {
      const body: Record<string, unknown> = { consumer_id: consumer, consumer_address: address };
      if (port) body.consumer_port = Number(port);
      const path = multicast ? `/streams/${stream.id}/join` : `/streams/${stream.id}/request`;
      setOffer(await api('POST', path, body));
    });
  };

  return (
    <Card class="details" title={
      <>
        {stream.name}
        <button type="button" class="small ghost close" aria-label="Close details" onClick={onClose}>×</button>
      </>}>
      <dl class="props">
        <dt>Id</dt><dd class="mono">{stream.id}</dd>
        <dt>Type</dt><dd>{stream.stream_type}</dd>
        <dt>Publisher</dt><dd>{stream.publisher_id}</dd>
        <dt>Address</dt><dd class="mono">{stream.protocol}://{stream.address}:{stream.port}</dd>
        <dt>Delivery</dt>
        <dd>{stream.delivery_mode}{multicast ? ` ${stream.multicast_group}:${stream.multicast_port}` : ''}</dd>
        <dt>Advertised</dt><dd>{ago(stream.advertised_at)}</dd>
        <dt>Sessions</dt><dd>{stream.active_sessions} sessions, {stream.active_subscribers} subscribers</dd>
      </dl>
      <h3>Config</h3>
      <pre class="json">{JSON.stringify(stream.config, null, 2)}</pre>
      {Object.keys(stream.metadata || {}).length > 0 && (
        <>
          <h3>Metadata</h3>
          <pre class="json">{JSON.stringify(stream.metadata, null, 2)}</pre>
        </>
      )}
      {can('sessions_rw') && (
        <form onSubmit={request} class="stack">
          <h3>{multicast ? 'Join' : 'Request an offer'}</h3>
          <Field label="Consumer id">
            <input value={consumer} required onInput={(e) => setConsumer(e.currentTarget.value)} />
          </Field>
          <Field label="Consumer address">
            <input value={address} required onInput={(e) => setAddress(e.currentTarget.value)} />
          </Field>
          {!multicast && (
            <Field label="Consumer port" hint="optional">
              <input type="number" min={0} max={65535} value={port}
                     onInput={(e) => setPort(e.currentTarget.value)} />
            </Field>
          )}
          <button type="submit" class="primary" disabled={action.busy}>
            {action.busy ? 'Waiting for the publisher…' : multicast ? 'Join' : 'Request'}
          </button>
          <ErrorBox error={action.error} />
          {offer !== null && (
            <>
              <h3>{multicast ? 'Joined' : 'Offer'}</h3>
              <pre class="json offer">{JSON.stringify(offer, null, 2)}</pre>
            </>
          )}
        </form>
      )}
      {can('streams_rw') && (
        <div class="row">
          <button type="button" class="danger" disabled={withdraw.busy}
                  onClick={() => confirm(`Withdraw ${stream.name}?`) &&
                    withdraw.run(async () => { await api('DELETE', `/streams/${stream.id}`); onClose(); })}>
            Withdraw
          </button>
          <ErrorBox error={withdraw.error} />
        </div>
      )}
    </Card>
  );
}
