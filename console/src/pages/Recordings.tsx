// Recordings: the recorded paths (GET /recordings) and playback of a span as an MP4, fetched with
// the caller's credentials into a blob the <video> plays.
import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { usePoll } from '../hooks';
import { bytes, Card, Empty, ErrorBox, Field, Page, useAction } from '../components/ui';

interface Recording {
  path: string;
  segments: number;
  bytes: number;
  start: string | null;
  end: string | null;
  error?: string;
  recording?: boolean;
}

// A datetime-local input's value for an instant (local time, to the second).
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

export function Recordings() {
  const recs = usePoll<Recording[]>('/recordings', 10000);
  const [selected, setSelected] = useState<Recording | null>(null);
  const [start, setStart] = useState('');
  const [duration, setDuration] = useState('60');
  const [video, setVideo] = useState<string | null>(null);
  const play = useAction();

  useEffect(() => () => { if (video) URL.revokeObjectURL(video); }, [video]);

  const choose = (r: Recording) => {
    setSelected(r);
    const end = r.end ? Date.parse(r.end) : Date.now();
    const begin = r.start ? Math.max(Date.parse(r.start), end - 60000) : end - 60000;
    setStart(localInput(begin));
    setDuration(String(Math.max(1, Math.round((end - begin) / 1000))));
  };

  const load = (e: Event) => {
    e.preventDefault();
    if (!selected) return;
    play.run(async () => {
      const iso = new Date(start).toISOString();
      const res = await request('GET', `/recordings/${encodeURIComponent(selected.path)}?start=${encodeURIComponent(iso)}&duration=${Number(duration)}`);
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        throw new Error((body as { detail?: string }).detail || `HTTP ${res.status}`);
      }
      setVideo(URL.createObjectURL(await res.blob()));
    });
  };

  return (
    <Page title="Recordings">
      <ErrorBox error={recs.error} />
      <Card>
        {!recs.data?.length ? <Empty>Nothing is recorded. Set record_paths in Settings (e.g. cam*).</Empty> : (
          <div class="table-wrap">
            <table>
              <thead><tr><th>Path</th><th>Segments</th><th>Size</th><th>From</th><th>To</th></tr></thead>
              <tbody>
                {recs.data.map((r) => (
                  <tr key={r.path} class={selected?.path === r.path ? 'selected' : ''}>
                    <td><button type="button" class="link" onClick={() => choose(r)}>{r.path}</button>
                      {r.error && <div class="sub error-text">{r.error}</div>}</td>
                    <td>{r.segments}</td>
                    <td>{bytes(r.bytes)}</td>
                    <td>{r.start ? new Date(r.start).toLocaleString() : '—'}</td>
                    <td>{r.end ? new Date(r.end).toLocaleString() : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {selected && (
        <Card title={`Play ${selected.path}`}>
          <form class="row wrap" onSubmit={load}>
            <Field label="Start">
              <input type="datetime-local" step="1" value={start} onInput={(e) => setStart(e.currentTarget.value)} />
            </Field>
            <Field label="Duration (s)">
              <input type="number" min="1" max="86400" value={duration} onInput={(e) => setDuration(e.currentTarget.value)} />
            </Field>
            <button type="submit" class="primary" disabled={play.busy}>{play.busy ? 'Loading…' : 'Play'}</button>
          </form>
          <ErrorBox error={play.error} />
          {video && <video class="recording" src={video} controls autoplay muted playsInline aria-label={`Recording of ${selected.path}`} />}
        </Card>
      )}
    </Page>
  );
}
