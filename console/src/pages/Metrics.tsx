// Metrics overview: GET /metrics (Prometheus text) every 2 s, turned into figures and rates, and
// GET /health for the components' state.
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getText } from '../api';
import { usePoll, useRates, useSeries } from '../hooks';
import { parseProm, sum } from '../prom';
import { Chart, formatNumber } from '../components/Chart';
import { Badge, Card, ErrorBox, Page, stateTone } from '../components/ui';

interface Health {
  status: string;
  version: string;
  uptime_seconds: number;
  components: Record<string, { status: string; error?: string }>;
}

interface Figures {
  streams: number;
  sessions: number;
  subscribers: number;
  paths: number;
  readers: number;
  channels: number;
  eventStreams: number;
  connections: number;
  drops: number;
  authFailures: number;
}

function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${Math.floor(s % 60)} s`;
}

export function Metrics() {
  const health = usePoll<Health>('/health', 10000);
  const [figures, setFigures] = useState<Figures | null>(null);
  const [error, setError] = useState<string | null>(null);
  const rate = useRates();
  const s = useSeries(150);
  const [, redraw] = useState(0);

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const load = async () => {
      try {
        const m = parseProm(await getText('/metrics'));
        const t = Date.now();
        const f: Figures = {
          streams: sum(m, 'sluice_streams'),
          sessions: sum(m, 'sluice_sessions'),
          subscribers: sum(m, 'sluice_subscribers'),
          paths: sum(m, 'rtmp_active_streams'),
          readers: sum(m, 'sluice_media_protocol_readers'),
          channels: sum(m, 'sluice_relay_channels'),
          eventStreams: sum(m, 'sluice_event_streams_open'),
          connections: sum(m, 'sluice_http_connections_open'),
          drops: sum(m, 'sluice_dropped_frames_total') + sum(m, 'sluice_relay_dropped_total') +
                 sum(m, 'sluice_media_dropped_packets_total'),
          authFailures: sum(m, 'sluice_auth_failures_total'),
        };
        s.push('streams', f.streams, t);
        s.push('sessions', f.sessions, t);
        s.push('readers', f.readers, t);
        const rates: [string, number][] = [
          ['http', sum(m, 'sluice_http_requests_total')],
          ['media in', sum(m, 'sluice_media_bytes_total', { direction: 'in' }) * 8 / 1000],
          ['media out', sum(m, 'sluice_media_bytes_total', { direction: 'out' }) * 8 / 1000],
          ['relay in', sum(m, 'sluice_relay_messages_in_total')],
          ['relay out', sum(m, 'sluice_relay_messages_out_total')],
          ['hub', sum(m, 'sluice_hub_published_total')],
        ];
        for (const [name, v] of rates) {
          const r = rate(name, v, t);
          if (r !== null) s.push(name, r, t);
        }
        if (live) {
          setFigures(f);
          setError(null);
          redraw((x) => x + 1);
        }
      } catch (e) {
        if (live) setError((e as Error).message);
      }
      if (live) timer = setTimeout(load, 2000);
    };
    load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, []);

  const series = (...names: string[]) => names.map((n) => ({ name: n, samples: s.series[n] || [] }));
  const h = health.data;
  return (
    <Page title="Metrics" actions={h && <Badge tone={stateTone(h.status)}>{h.status}</Badge>}>
      <ErrorBox error={error || health.error} />
      {figures && (
        <div class="stats">
          {([['Streams', figures.streams], ['Sessions', figures.sessions], ['Subscribers', figures.subscribers],
             ['Live paths', figures.paths], ['Media readers', figures.readers], ['Relay channels', figures.channels],
             ['Event streams', figures.eventStreams], ['HTTP connections', figures.connections],
             ['Dropped', figures.drops], ['Auth failures', figures.authFailures]] as [string, number][]).map(([label, v]) => (
            <div class="stat" key={label}><span class="value">{formatNumber(v)}</span><span class="label">{label}</span></div>
          ))}
        </div>
      )}
      <div class="grid2">
        <Card><Chart title="Registry" series={series('streams', 'sessions', 'readers')} /></Card>
        <Card><Chart title="HTTP requests" unit="req/s" series={series('http')} /></Card>
        <Card><Chart title="Media" unit="kbit/s" series={series('media in', 'media out')} /></Card>
        <Card><Chart title="Relay and hub" unit="msg/s" series={series('relay in', 'relay out', 'hub')} /></Card>
      </div>
      {h && (
        <Card title="Health">
          <dl class="props">
            <dt>Version</dt><dd>{h.version}</dd>
            <dt>Uptime</dt><dd>{uptime(h.uptime_seconds)}</dd>
            {Object.entries(h.components).map(([name, c]) => (
              <Fragment key={name}>
                <dt>{name}</dt>
                <dd><Badge tone={stateTone(c.status)}>{c.status}</Badge>{c.error && <span class="error-text"> {c.error}</span>}</dd>
              </Fragment>
            ))}
          </dl>
        </Card>
      )}
    </Page>
  );
}
