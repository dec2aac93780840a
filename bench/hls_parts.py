#!/usr/bin/env python3
"""When do a Low-Latency HLS stream's parts appear, against the clock in their pictures? A
diagnostic for bench/latency_bench.sh (standard library, plus ffmpeg and ffprobe on PATH).

  hls_parts.py PLAYLIST_URL [--seconds 5] [--last 15] [--width 640] [--height 360]

Follows the playlist with blocking reloads (`_HLS_msn`/`_HLS_part` of each EXT-X-PRELOAD-HINT) for
--seconds and notes when each part is first listed. Then it downloads the init section and the
last --last parts (from an INDEPENDENT one), decodes them in one piece with ffmpeg and reads
bench/latency_clock.py's clock from every frame. For each part it prints when it was listed
(from the start), its video and audio packets (ffprobe), and how long after its last frame was
made it was listed: the server's share of glass-to-glass latency for LL-HLS (encoder, publish
transport and part cutting included; the player's hold-back, download and decoding not).
"""
import argparse
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latency_clock  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('url')
    ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--last', type=int, default=15)
    ap.add_argument('--width', type=int, default=640)
    ap.add_argument('--height', type=int, default=360)
    args = ap.parse_args()
    base = args.url.rsplit('/', 1)[0] + '/'
    query = urllib.parse.urlsplit(args.url).query

    def get(name, extra=''):
        q = '&'.join(x for x in (query, extra) if x)
        with urllib.request.urlopen(base + name + ('?' + q if q else ''), timeout=20) as r:
            return r.read()

    t0 = time.time()
    seen, order = {}, []
    playlist = get('index.m3u8').decode()
    while True:
        now = time.time()
        for name in re.findall(r'#EXT-X-PART:[^\n]*URI="([^"?]+)', playlist):
            if name not in seen:
                seen[name] = now
                order.append(name)
        if now - t0 >= args.seconds:
            break
        hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-(\d+)-(\d+)\.mp4', playlist)
        if not hint:
            sys.exit('hls_parts: no EXT-X-PRELOAD-HINT: not a Low-Latency HLS playlist?')
        playlist = get('index.m3u8', '_HLS_msn=%s&_HLS_part=%s' % hint.groups()).decode()
    maps = re.findall(r'#EXT-X-MAP:URI="([^"?]+)', playlist)
    init = get(maps[-1])
    names = order[-args.last:]
    while names and not names[0].endswith('-0.mp4'):
        names = names[1:]  # decoding starts at a segment's first (independent) part
    if not names:
        sys.exit('hls_parts: no whole segment seen; use more --seconds')
    data = {n: get(n) for n in names}
    frames = subprocess.run(
        ['ffmpeg', '-v', 'error', '-i', '-', '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'gray',
         '-fps_mode', 'passthrough', '-'],
        input=init + b''.join(data[n] for n in names), capture_output=True, check=True).stdout
    w, h = args.width, args.height
    stamps = []
    for k in range(len(frames) // (w * h)):
        buf = frames[k * w * h:(k + 1) * w * h]
        word = 0
        for bit in range(64):
            x = (bit % latency_clock.COLS) * latency_clock.BLOCK + latency_clock.BLOCK // 2
            y = (bit // latency_clock.COLS) * latency_clock.BLOCK + latency_clock.BLOCK // 2
            s = buf[y * w + x - 1] + buf[y * w + x] + buf[(y - 1) * w + x - 1] + buf[(y - 1) * w + x]
            word = (word << 1) | (1 if s >= 512 else 0)
        decoded = latency_clock.decode_word(word)
        stamps.append(decoded[0] if decoded else None)
    i = 0
    for n in names:
        kinds = subprocess.run(
            ['ffprobe', '-v', 'error', '-show_entries', 'packet=stream_index:stream=index,codec_type',
             '-of', 'csv=p=0', '-'], input=init + data[n], capture_output=True).stdout.decode().split()
        video_index = next((k.split(',')[0] for k in kinds if k.endswith(',video')), '0')
        packets = [k for k in kinds if ',' not in k]
        nv = sum(1 for k in packets if k == video_index)
        na = len(packets) - nv
        last = stamps[i + nv - 1] if nv and i + nv - 1 < len(stamps) else None
        i += nv
        after = '%.0f ms' % (1000 * seen[n] - last) if last else 'n/a'
        print(f'{n}: listed at +{1000 * (seen[n] - t0):.0f} ms, {nv} video / {na} audio packets, '
              f'{after} after its last frame was made')


if __name__ == '__main__':
    main()
