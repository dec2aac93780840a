// Relay channels: messages and bytes per second (from successive GET /channels), publishers,
// subscribers, drops per channel, and the relay's total drops (sluice_relay_dropped_total).
import { useEffect, useState } from 'preact/hooks';
import { getText } from '../api';
import { usePoll, useRates, useSeries } from '../hooks';
import { parseProm, sum } from '../prom';
import { useSession } from '../session';
import { Chart, formatNumber, Sparkline } from '../components/Chart';
import { Badge, bytes, Card, Empty, ErrorBox, Page } from '../components/ui';

interface Channel {
  name: string;
  owner: string;
  message_count: number;
  bytes: number;
  dropped: number;
  subscribers: number;
  publishers: number;
  active: boolean;
  stream_id: string | null;
  created_at: string;
}

export function Channels() {
  const { can } = useSession();
  const channels = usePoll<Channel[]>('/channels', 2000);
  const rate = useRates();
  const msgs = useSeries(90);
  const bps = useSeries(90);
  const [rates, setRates] = useState<Record<string, { m: number; b: number }>>({});
  const [drops, setDrops] = useState<number | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  useEffect(() => {
    if (!channels.data) return;
    const next: Record<string, { m: number; b: number }> = {};
    for (const c of channels.data) {
      const m = rate(`m:${c.name}`, c.message_count);
      const b = rate(`b:${c.name}`, c.bytes);
      if (m !== null) msgs.push(c.name, m);
      if (b !== null) bps.push(c.name, b);
      next[c.name] = { m: m ?? 0, b: b ?? 0 };
    }
    setRates(next);
    if (can('metrics_r')) {
      getText('/metrics').then((t) => setDrops(sum(parseProm(t), 'sluice_relay_dropped_total')))
        .catch(() => setDrops(null));
    }
  }, [channels.data]);

  const list = channels.data || [];
  return (
    <Page title="Relay channels" actions={drops !== null &&
      <Badge tone={drops > 0 ? 'amber' : 'green'}>{formatNumber(drops)} messages dropped</Badge>}>
      <ErrorBox error={channels.error} />
      <Card>
        {list.length === 0 ? <Empty>No relay channel is open.</Empty> : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr><th>Channel</th><th>Msg/s</th><th>Rate</th><th>Bytes/s</th><th>Publishers</th><th>Subscribers</th><th>Dropped</th><th>Total</th></tr>
              </thead>
              <tbody>
                {list.map((c) => (
                  <tr key={c.name} class={selected === c.name ? 'selected' : ''}>
                    <td>
                      <button type="button" class="link" onClick={() => setSelected(c.name)}>{c.name}</button>
                      {!c.active && <Badge tone="grey">idle</Badge>}
                    </td>
                    <td>{formatNumber(rates[c.name]?.m ?? 0)}</td>
                    <td><Sparkline samples={msgs.series[c.name] || []} label={`${c.name} messages per second`} /></td>
                    <td>{bytes(rates[c.name]?.b ?? 0)}/s</td>
                    <td>{c.publishers}</td>
                    <td>{c.subscribers}</td>
                    <td>{c.dropped > 0 ? <Badge tone="amber">{formatNumber(c.dropped)}</Badge> : 0}</td>
                    <td>{formatNumber(c.message_count)} msgs, {bytes(c.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {selected && (
        <div class="grid2">
          <Card><Chart title={`${selected}: messages`} unit="msg/s" series={[{ name: selected, samples: msgs.series[selected] || [] }]} /></Card>
          <Card><Chart title={`${selected}: bytes`} unit="B/s" series={[{ name: selected, samples: bps.series[selected] || [] }]} /></Card>
        </div>
      )}
    </Page>
  );
}
