// Pipelines: their state and encoder charts (frames per second, each rendition's bitrate), a
// bitrate change, stop; and a form that makes the camera's profiles (stream1 + stream2) or one
// rendition, from a test pattern, a camera URL, a V4L2 device or a live path, with an optional
// picture-in-picture inset.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { usePoll, useSeries } from '../hooks';
import { useSession } from '../session';
import { Chart } from '../components/Chart';
import { Badge, Card, Empty, ErrorBox, Field, Page, stateTone, useAction } from '../components/ui';

interface Pipeline {
  id: string;
  name: string;
  state: string;
  error?: string;
  health: string;
  health_reason?: string;
  frames: number;
  fps: number;
  dropped_frames: number;
  encoder: { codec: string; bitrate_kbps: number; preset: string };
  encoder_used?: string;
  renditions: { path: string; width?: number; height?: number; bitrate_kbps?: number }[];
  bitrates: { path: string; bitrate_kbps: number }[];
  source: { type: string };
  filters: { type: string }[];
  frame_path_ms?: number;
  started_at: string;
}

export function Pipelines() {
  const { can } = useSession();
  const list = usePoll<Pipeline[]>('/pipelines', 2000);
  const fps = useSeries(90);
  const kbps = useSeries(90);
  const [showForm, setShowForm] = useState(false);

  useEffect(() => {
    for (const p of list.data || []) {
      fps.push(p.id, p.fps || 0);
      for (const b of p.bitrates || []) kbps.push(`${p.id}/${b.path}`, b.bitrate_kbps);
    }
  }, [list.data]);

  return (
    <Page title="Pipelines" actions={can('media_rw') &&
      <button type="button" class="primary" onClick={() => setShowForm(!showForm)}>
        {showForm ? 'Close the form' : 'New pipeline'}
      </button>}>
      {showForm && <PipelineForm onCreated={() => { setShowForm(false); list.reload(); }} />}
      <ErrorBox error={list.error} />
      {!list.data?.length ? <Card><Empty>No pipeline runs.</Empty></Card> : list.data.map((p) => (
        <PipelineCard key={p.id} p={p} onChange={list.reload}
                      fps={fps.series[p.id] || []}
                      rates={(p.bitrates || []).map((b) => ({ name: b.path, samples: kbps.series[`${p.id}/${b.path}`] || [] }))} />
      ))}
    </Page>
  );
}

function PipelineCard({ p, fps, rates, onChange }: {
  p: Pipeline; fps: { t: number; v: number }[]; rates: { name: string; samples: { t: number; v: number }[] }[];
  onChange: () => void;
}) {
  const { can } = useSession();
  const [bitrate, setBitrate] = useState(String(p.encoder.bitrate_kbps));
  const act = useAction();
  return (
    <Card class="pipeline" title={<>{p.name} <span class="sub mono">{p.id}</span></>}>
      <div class="row wrap">
        <Badge tone={stateTone(p.state)}>{p.state}</Badge>
        <Badge tone={stateTone(p.health)}>health {p.health}</Badge>
        <span>{p.source.type} → {p.renditions.map((r) => `${r.path}${r.width ? ` ${r.width}×${r.height}` : ''}`).join(', ')}</span>
        <span>{p.encoder_used || p.encoder.codec} {p.encoder.preset}</span>
        {p.filters.some((f) => f.type === 'pip') && <Badge>PIP</Badge>}
      </div>
      {(p.error || p.health_reason) && <p class="error">{p.error || p.health_reason}</p>}
      <dl class="props inline">
        <dt>Frames</dt><dd>{p.frames}</dd>
        <dt>Fps</dt><dd>{p.fps.toFixed(1)}</dd>
        <dt>Dropped</dt><dd>{p.dropped_frames}</dd>
        {p.frame_path_ms !== undefined && (<><dt>Frame path</dt><dd>{p.frame_path_ms.toFixed(2)} ms</dd></>)}
      </dl>
      <div class="grid2">
        <Chart title="Frames per second" series={[{ name: 'fps', samples: fps }]} height={120} />
        <Chart title="Encoder bitrate" unit="kbit/s" series={rates} height={120} />
      </div>
      {can('media_rw') && (
        <form class="row wrap" onSubmit={(e) => {
          e.preventDefault();
          act.run(async () => {
            await api('PATCH', `/pipelines/${p.id}`, { encoder: { bitrate_kbps: Number(bitrate) } });
            onChange();
          });
        }}>
          <Field label="Bitrate (kbit/s)">
            <input type="number" value={bitrate} onInput={(e) => setBitrate(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={act.busy}>Apply</button>
          <button type="button" class="danger" disabled={act.busy}
                  onClick={() => confirm(`Stop ${p.name}? Its paths end.`) &&
                    act.run(async () => { await api('DELETE', `/pipelines/${p.id}`); onChange(); })}>
            Stop
          </button>
          <ErrorBox error={act.error} />
        </form>
      )}
    </Card>
  );
}

type SourceKind = 'testsrc' | 'url' | 'v4l2' | 'path';

function sourceOf(kind: SourceKind, value: string, size?: [number, number], fps?: number) {
  switch (kind) {
    case 'url': return { type: 'url', url: value };
    case 'v4l2': return { type: 'v4l2', device: value || '/dev/video0' };
    case 'path': return { type: 'path', path: value };
    default: {
      const s: Record<string, unknown> = { type: 'testsrc', clock: true };
      if (size) [s.width, s.height] = size;
      if (fps) s.fps = fps;
      return s;
    }
  }
}

function SourceFields({ kind, setKind, value, setValue, label }: {
  kind: SourceKind; setKind: (k: SourceKind) => void; value: string; setValue: (v: string) => void; label: string;
}) {
  const placeholder = { testsrc: '', url: 'rtsp://10.0.0.7:554/stream1', v4l2: '/dev/video0', path: 'cam' }[kind];
  return (
    <div class="row wrap">
      <Field label={`${label} type`}>
        <select value={kind} onChange={(e) => setKind(e.currentTarget.value as SourceKind)}>
          <option value="testsrc">test pattern</option>
          <option value="url">camera or stream URL</option>
          <option value="v4l2">V4L2 device</option>
          <option value="path">live path of this server</option>
        </select>
      </Field>
      {kind !== 'testsrc' && (
        <Field label={kind === 'url' ? 'URL' : kind === 'v4l2' ? 'Device' : 'Path'}>
          <input value={value} placeholder={placeholder} required onInput={(e) => setValue(e.currentTarget.value)} />
        </Field>
      )}
    </div>
  );
}

function PipelineForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('cam');
  const [profile, setProfile] = useState<'camera' | 'single'>('camera');
  const [kind, setKind] = useState<SourceKind>('testsrc');
  const [value, setValue] = useState('');
  const [codec, setCodec] = useState('h264');
  const [bitrate, setBitrate] = useState('4000');
  const [preset, setPreset] = useState('veryfast');
  const [pip, setPip] = useState(false);
  const [pipKind, setPipKind] = useState<SourceKind>('testsrc');
  const [pipValue, setPipValue] = useState('');
  const [pipPosition, setPipPosition] = useState('bottom-right');
  const [pipScale, setPipScale] = useState('0.25');
  const [pipBorder, setPipBorder] = useState(true);
  const create = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    const camera = profile === 'camera';
    const body: Record<string, unknown> = {
      name,
      source: sourceOf(kind, value, camera ? [1920, 1080] : [1280, 720], 30),
      encoder: { codec, bitrate_kbps: Number(bitrate), preset },
      renditions: camera
        ? [{ path: 'stream1', width: 1920, height: 1080 },
           { path: 'stream2', width: 640, height: 360, bitrate_kbps: 800 }]
        : [{ path: name }],
    };
    if (pip) {
      body.sources = { inset: sourceOf(pipKind, pipValue, [640, 360], 30) };
      body.filters = [{ type: 'pip', mainSource: 'main', pipSource: 'inset', pipPosition,
                        pipScale: Number(pipScale), pipBorder }];
    }
    create.run(async () => {
      await api('POST', '/pipelines', body);
      onCreated();
    });
  };

  return (
    <Card title="New pipeline">
      <form onSubmit={submit} class="stack" noValidate>
        <div class="row wrap">
          <Field label="Name"><input value={name} required onInput={(e) => setName(e.currentTarget.value)} /></Field>
          <Field label="Profile">
            <select value={profile} onChange={(e) => setProfile(e.currentTarget.value as 'camera' | 'single')}>
              <option value="camera">Camera: stream1 1920×1080 + stream2 640×360</option>
              <option value="single">One rendition, on the path named like the pipeline</option>
            </select>
          </Field>
        </div>
        <SourceFields label="Source" kind={kind} setKind={setKind} value={value} setValue={setValue} />
        <div class="row wrap">
          <Field label="Codec">
            <select value={codec} onChange={(e) => setCodec(e.currentTarget.value)}>
              <option value="h264">H.264</option>
              <option value="h265">H.265</option>
            </select>
          </Field>
          <Field label="Bitrate (kbit/s)">
            <input type="number" value={bitrate} onInput={(e) => setBitrate(e.currentTarget.value)} />
          </Field>
          <Field label="Preset">
            <select value={preset} onChange={(e) => setPreset(e.currentTarget.value)}>
              {['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'].map((p) => <option key={p}>{p}</option>)}
            </select>
          </Field>
        </div>
        <label class="check">
          <input type="checkbox" checked={pip} onChange={(e) => setPip(e.currentTarget.checked)} />
          Picture in picture
        </label>
        {pip && (
          <fieldset>
            <legend>Inset</legend>
            <SourceFields label="Inset" kind={pipKind} setKind={setPipKind} value={pipValue} setValue={setPipValue} />
            <div class="row wrap">
              <Field label="Position">
                <select value={pipPosition} onChange={(e) => setPipPosition(e.currentTarget.value)}>
                  {['top-left', 'top-right', 'bottom-left', 'bottom-right'].map((p) => <option key={p}>{p}</option>)}
                </select>
              </Field>
              <Field label="Scale" hint="0.05–0.5 of the main picture">
                <input type="number" step="0.05" value={pipScale} onInput={(e) => setPipScale(e.currentTarget.value)} />
              </Field>
              <label class="check">
                <input type="checkbox" checked={pipBorder} onChange={(e) => setPipBorder(e.currentTarget.checked)} />
                White border
              </label>
            </div>
          </fieldset>
        )}
        <ErrorBox error={create.error} />
        <button type="submit" class="primary" disabled={create.busy}>Create pipeline</button>
      </form>
    </Card>
  );
}
