// Media paths: what is live (GET /media/paths), a preview (WHEP, HLS fallback), readers per
// protocol, a bitrate chart, and kicking a reader or the publisher.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { usePoll, useSeries } from '../hooks';
import { useSession } from '../session';
import { Chart } from '../components/Chart';
import { Player } from '../components/Player';
import { Badge, bytes, Card, Empty, ErrorBox, Page, useAction } from '../components/ui';

interface Reader {
  id: string;
  kind: string;
  remote: string;
  bytes_out: number;
  packets_out: number;
  dropped: number;
  queued: number;
}

export interface MediaPath {
  name: string;
  publisher: { id: string; remote: string; key_id?: string; protocol: string };
  started_at: string;
  video_codec: string | null;
  audio_codec: string | null;
  width: number;
  height: number;
  fps: number;
  bitrate_kbps: number;
  bytes_in: number;
  video_frames: number;
  dropped: number;
  reader_count: number;
  readers_by_protocol: Record<string, number>;
  readers: Reader[];
}

export function Media() {
  const { can } = useSession();
  const paths = usePoll<MediaPath[]>('/media/paths', 2000);
  const rates = useSeries(90);
  const [selected, setSelected] = useState<string | null>(null);
  const kick = useAction();

  useEffect(() => {
    for (const p of paths.data || []) rates.push(p.name, p.bitrate_kbps || 0);
    if (!selected && paths.data?.length) setSelected(paths.data[0].name);
  }, [paths.data]);

  const list = paths.data || [];
  const current = list.find((p) => p.name === selected);
  const kickReader = (path: string, id: string) => kick.run(async () => {
    await api('DELETE', `/media/paths/${encodeURIComponent(path)}/readers/${encodeURIComponent(id)}`);
    paths.reload();
  });
  const kickPublisher = (path: string) => confirm(`Disconnect the publisher of ${path}?`) && kick.run(async () => {
    await api('DELETE', `/media/paths/${encodeURIComponent(path)}`);
    paths.reload();
  });

  return (
    <Page title="Media paths">
      <ErrorBox error={paths.error || kick.error} />
      {list.length === 0 ? <Card><Empty>Nothing is being published. Create a key and point OBS or ffmpeg at it.</Empty></Card> : (
        <>
          <Card>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr><th>Path</th><th>Video</th><th>Audio</th><th>Bitrate</th><th>Publisher</th><th>Readers</th></tr>
                </thead>
                <tbody>
                  {list.map((p) => (
                    <tr key={p.name} class={p.name === selected ? 'selected' : ''}>
                      <td><button type="button" class="link" onClick={() => setSelected(p.name)}>{p.name}</button></td>
                      <td>{p.video_codec ? `${p.video_codec} ${p.width}×${p.height} ${p.fps ? `${Math.round(p.fps)} fps` : ''}` : '—'}</td>
                      <td>{p.audio_codec || '—'}</td>
                      <td>{p.bitrate_kbps} kbit/s</td>
                      <td>{p.publisher.protocol} <span class="sub mono">{p.publisher.remote}</span></td>
                      <td>
                        {Object.entries(p.readers_by_protocol).map(([k, n]) => <Badge key={k}>{k} {n}</Badge>)}
                        {p.reader_count === 0 && '0'}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
          {current && (
            <div class="grid2">
              <Card title={`Preview: ${current.name}`}>
                <Player key={current.name} path={current.name} />
                {can('media_rw') && (
                  <button type="button" class="danger" onClick={() => kickPublisher(current.name)}>
                    Kick publisher
                  </button>
                )}
              </Card>
              <Card title="Bitrate">
                <Chart title="Incoming bitrate" unit="kbit/s"
                       series={list.map((p) => ({ name: p.name, samples: rates.series[p.name] || [] }))} />
                <dl class="props">
                  <dt>Received</dt><dd>{bytes(current.bytes_in)}, {current.video_frames} frames</dd>
                  <dt>Dropped</dt><dd>{current.dropped}</dd>
                  <dt>Live since</dt><dd>{new Date(current.started_at).toLocaleString()}</dd>
                </dl>
              </Card>
            </div>
          )}
          {current && (
            <Card title={`Readers of ${current.name} (${current.reader_count})`}>
              {current.readers.length === 0 ? <Empty>No one is watching.</Empty> : (
                <div class="table-wrap">
                  <table>
                    <thead>
                      <tr><th>Reader</th><th>Protocol</th><th>Remote</th><th>Sent</th><th>Dropped</th><th>Queued</th>{can('media_rw') && <th />}</tr>
                    </thead>
                    <tbody>
                      {current.readers.map((r) => (
                        <tr key={r.id}>
                          <td class="mono">{r.id}</td>
                          <td>{r.kind}</td>
                          <td class="mono">{r.remote || '—'}</td>
                          <td>{bytes(r.bytes_out)}</td>
                          <td>{r.dropped}</td>
                          <td>{r.queued}</td>
                          {can('media_rw') && (
                            <td><button type="button" class="small danger" onClick={() => kickReader(current.name, r.id)}>Kick</button></td>
                          )}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </Card>
          )}
        </>
      )}
    </Page>
  );
}
