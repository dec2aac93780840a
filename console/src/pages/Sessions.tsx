// Sessions: the live unicast sessions (stop one), the session history, and a chart of how many
// sessions were active over time, computed from the history rows.
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { usePoll } from '../hooks';
import { useSession } from '../session';
import { Chart } from '../components/Chart';
import { ago, Badge, bytes, Card, Empty, ErrorBox, Field, Page, stateTone, useAction } from '../components/ui';

interface Session {
  session_id: string;
  stream_id: string;
  stream_name: string;
  stream_type: string;
  publisher_id: string;
  consumer_id: string;
  consumer_address: string;
  protocol: string;
  started_at: string;
  last_heartbeat: string;
  bytes_transferred: number;
  auto_offer?: boolean;
}

interface HistoryRow {
  time: string;
  session_id: string;
  stream_name: string;
  stream_type: string;
  publisher_id: string;
  consumer_id: string;
  status: string;
  duration_seconds: number | null;
  bytes_transferred: number;
  ended_at: string | null;
}

const WINDOWS: Record<string, number> = { '1 hour': 3600e3, '6 hours': 6 * 3600e3, '24 hours': 86400e3, '7 days': 7 * 86400e3 };

// Active sessions at each of `points` instants over [now - span, now].
function activeOverTime(rows: HistoryRow[], span: number, points = 60) {
  const now = Date.now();
  const parsed = rows.map((r) => ({ a: Date.parse(r.time), b: r.ended_at ? Date.parse(r.ended_at) : Infinity }));
  const out = [];
  for (let i = 0; i <= points; ++i) {
    const t = now - span + (span * i) / points;
    out.push({ t, v: parsed.filter((p) => p.a <= t && t < p.b).length });
  }
  return out;
}

export function Sessions() {
  const { can } = useSession();
  const live = usePoll<Session[]>('/streams/sessions', 3000);
  const [windowName, setWindowName] = useState('1 hour');
  const span = WINDOWS[windowName];
  const since = useMemo(() => new Date(Date.now() - span).toISOString(), [span]);
  const history = usePoll<HistoryRow[]>(`/streams/sessions/history?limit=500&since=${encodeURIComponent(since)}`, 10000);
  const stop = useAction();
  const chart = useMemo(() => activeOverTime(history.data || [], span), [history.data, span]);

  return (
    <Page title="Sessions">
      <Card title={`Live sessions (${live.data?.length ?? 0})`}>
        <ErrorBox error={live.error || stop.error} />
        {!live.data?.length ? <Empty>No unicast session is active.</Empty> : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr><th>Stream</th><th>Consumer</th><th>Protocol</th><th>Started</th><th>Bytes</th>{can('sessions_rw') && <th />}</tr>
              </thead>
              <tbody>
                {live.data.map((s) => (
                  <tr key={s.session_id}>
                    <td>{s.stream_name} <Badge>{s.stream_type}</Badge>{s.auto_offer && <Badge tone="amber">auto offer</Badge>}</td>
                    <td>{s.consumer_id}<div class="sub mono">{s.consumer_address}</div></td>
                    <td>{s.protocol}</td>
                    <td>{ago(s.started_at)}</td>
                    <td>{bytes(s.bytes_transferred)}</td>
                    {can('sessions_rw') && (
                      <td>
                        <button type="button" class="small danger" disabled={stop.busy}
                                onClick={() => stop.run(async () => {
                                  await api('DELETE', `/streams/sessions/${s.session_id}`);
                                  live.reload();
                                })}>Stop</button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title="History">
        <div class="toolbar">
          <Field label="Window">
            <select value={windowName} onChange={(e) => setWindowName(e.currentTarget.value)}>
              {Object.keys(WINDOWS).map((w) => <option key={w}>{w}</option>)}
            </select>
          </Field>
        </div>
        <Chart title="Active sessions" series={[{ name: 'sessions', samples: chart }]} step />
        <ErrorBox error={history.error} />
        {!history.data?.length ? <Empty>No session started in the last {windowName}.</Empty> : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr><th>Started</th><th>Stream</th><th>Publisher → consumer</th><th>Status</th><th>Duration</th><th>Bytes</th></tr>
              </thead>
              <tbody>
                {history.data.slice(0, 100).map((r) => (
                  <tr key={r.session_id}>
                    <td>{new Date(r.time).toLocaleString()}</td>
                    <td>{r.stream_name}</td>
                    <td>{r.publisher_id} → {r.consumer_id}</td>
                    <td><Badge tone={stateTone(r.status)}>{r.status}</Badge></td>
                    <td>{r.duration_seconds === null ? '—' : `${Math.round(r.duration_seconds)} s`}</td>
                    <td>{bytes(r.bytes_transferred)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </Page>
  );
}
