// A live preview of a media path: WebRTC through WHEP (POST /live/NAME/whep with the caller's
// credentials), falling back to HLS (/live/NAME/index.m3u8, hls.js loaded only then) when WebRTC
// is off, refused, or not connected within 6 s. The <video> carries data-mode="webrtc"|"hls".
import { useEffect, useRef, useState } from 'preact/hooks';
import { authHeaders, getCredentials } from '../api';

type Mode = 'connecting' | 'webrtc' | 'hls' | 'failed';

export function Player({ path }: { path: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const [mode, setMode] = useState<Mode>('connecting');
  const [note, setNote] = useState('');

  useEffect(() => {
    let closed = false;
    let pc: RTCPeerConnection | null = null;
    let location: string | null = null;
    let hls: { destroy(): void } | null = null;
    const v = video.current!;
    const base = `/live/${encodeURIComponent(path)}`;

    const stopWebrtc = () => {
      pc?.close();
      pc = null;
      if (location) fetch(location, { method: 'DELETE', headers: authHeaders() }).catch(() => {});
      location = null;
    };

    const fallBack = async (why: string) => {
      if (closed) return;
      stopWebrtc();
      setNote(`WebRTC: ${why}; playing HLS`);
      const url = `${base}/index.m3u8`;
      const creds = getCredentials();
      try {
        // hls.js wherever Media Source Extensions exist (it sends our credentials); the browser's
        // own HLS only where they do not (iOS Safari): it sends no headers, so a token goes as
        // ?token= (never a password).
        const { default: Hls } = await import('hls.js/light');
        if (closed) return;
        if (Hls.isSupported()) {
          const headers = authHeaders();
          const h = new Hls({
            lowLatencyMode: true,
            xhrSetup: (xhr: XMLHttpRequest) => {
              for (const [k, val] of Object.entries(headers)) xhr.setRequestHeader(k, val);
            },
          });
          hls = h;
          h.on(Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; details: string }) => {
            if (d.fatal) {
              setMode('failed');
              setNote(`HLS: ${d.details}`);
            }
          });
          v.srcObject = null;
          // Play once there is something to play: a play() before the first segment fails.
          h.on(Hls.Events.MANIFEST_PARSED, () => { v.play().catch(() => {}); });
          h.loadSource(url);
          h.attachMedia(v);
        } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
          v.srcObject = null;
          v.src = creds?.kind === 'token' ? `${url}?token=${encodeURIComponent(creds.token)}` : url;
        } else {
          throw new Error('this browser plays neither WebRTC nor HLS');
        }
        setMode('hls');
        v.addEventListener('canplay', () => { if (v.paused) v.play().catch(() => {}); }, { once: true });
      } catch (e) {
        setMode('failed');
        setNote(`HLS: ${(e as Error).message}`);
      }
    };

    const startWebrtc = async () => {
      if (typeof RTCPeerConnection === 'undefined') return fallBack('not in this browser');
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.ontrack = (e) => {
        if (e.track.kind !== 'video') return;
        v.srcObject = e.streams[0] || new MediaStream([e.track]);
        v.play().catch(() => {});
      };
      pc.onconnectionstatechange = () => {
        if (!pc) return;
        if (pc.connectionState === 'connected') {
          setMode('webrtc');
          setNote('');
        } else if (pc.connectionState === 'failed') {
          fallBack('the connection failed');
        }
      };
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (!pc || pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc?.iceGatheringState === 'complete') resolve();
        });
        setTimeout(resolve, 1000);  // sluiced is ICE-lite: our candidates are not needed
      });
      if (closed || !pc) return;
      const res = await fetch(`${base}/whep`, {
        method: 'POST',
        headers: { ...authHeaders(), 'Content-Type': 'application/sdp' },
        body: pc.localDescription!.sdp,
      });
      if (res.status !== 201) return fallBack(`HTTP ${res.status}`);
      const loc = res.headers.get('Location');
      location = loc ? new URL(loc, new URL(`${base}/whep`, window.location.href)).href : null;
      const answer = await res.text();
      if (closed || !pc) return stopWebrtc();
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      setTimeout(() => {
        if (!closed && pc && pc.connectionState !== 'connected') fallBack('not connected within 6 s');
      }, 6000);
    };

    startWebrtc().catch((e) => fallBack(String((e as Error).message || e)));
    return () => {
      closed = true;
      stopWebrtc();
      hls?.destroy();
      v.removeAttribute('src');
      v.srcObject = null;
    };
  }, [path]);

  return (
    <figure class="player">
      <video ref={video} class="preview" data-mode={mode} data-path={path} muted autoplay playsInline
             controls aria-label={`Live preview of ${path}`} />
      <figcaption>
        <span class={`badge ${mode === 'failed' ? 'red' : mode === 'connecting' ? 'amber' : 'green'}`}>
          {mode === 'connecting' ? 'connecting…' : mode === 'webrtc' ? 'WebRTC' : mode === 'hls' ? 'HLS' : 'no preview'}
        </span>
        {note && <span class="hint"> {note}</span>}
      </figcaption>
    </figure>
  );
}
