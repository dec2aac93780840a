#!/usr/bin/env python3
"""Glass-to-glass clock for bench/latency_bench.sh: writes live video whose frames carry the wall
clock of their making as pixel blocks, and reads it back from decoded frames. Standard library
only.

  latency_clock.py gen  [--width 640] [--height 360] [--fps 30] [--seconds S] [--audio FIFO]
                        [--changes N]  > frames.yuv
  latency_clock.py read [--width 640] [--height 360] [--warmup S] [--duration S]
                        [--startup-timeout S] [--label TEXT] [--samples FILE]  < frames.gray

gen writes raw yuv420p frames to stdout in real time (frame n at start + n/fps, on the monotonic
clock; it never skips), for ffmpeg's `-f rawvideo -pix_fmt yuv420p -s WxH -r FPS -i -`. Each frame
is stamped just before it is built and written: the Unix time in milliseconds (time.time_ns()).
With --audio FIFO it also writes sound on the same clock: before each frame, 1/fps s of a 600 Hz
tone as 48 kHz mono s16le (ffmpeg `-f s16le -ar 48000 -ac 1 -i FIFO`, given as the first input:
the generator opens the FIFO first), so the audio a live encoder interleaves with the video comes
in real time, as a capture card's would.

The stamp is 64 bits drawn as 16x16 blocks (white = bit 1, black = 0; aligned to H.264's
macroblocks, so compression keeps them readable) in two rows of 32 blocks at the top left:
48 bits of Unix ms, 8 bits of frame number (mod 256) and an 8-bit check (the sum of the other 7
bytes, xor 0x5a), most significant bit first. Below them the same time as text, HH:MM:SS.mmm UTC,
in a 5x7 pixel font scaled 4x, for eyeballing a player. The rest of the picture is a scrolling
pattern of 8x8 gray tiles with --changes of them (default 300, about 8%) redrawn at random each
frame, so the encoder has motion and new detail to code (about 0.8 Mbit/s with libx264 veryfast at its default CRF).

read takes raw gray frames (ffmpeg `-f rawvideo -pix_fmt gray -`) from stdin; for each complete
frame it takes time.time_ns() at once, decodes the blocks (the mean of 4 pixels at each block's
centre against 128) and, when the check matches, records now - stamp in ms. Frames that arrive in
the first --warmup seconds after the first frame are not counted (startup: a new reader gets the
server's GOP cache, and ffmpeg's probe buffers); it stops --duration seconds later and prints one
JSON line: label, samples, median_ms, p90_ms, min_ms, max_ms, mean_ms, frames (read in all),
unreadable (check failed), missing (gaps in the frame numbers while counting), first_frame_s
(from start to the first frame). Exit status 0 with at least one sample, 1 otherwise.
"""
import argparse
import fcntl
import json
import math
import os
import struct
import sys
import time

AUDIO_RATE = 48000
BLOCK = 16
COLS = 32  # blocks per row; two rows: 64 bits
WHITE, BLACK = 235, 16  # video-range luma
CLOCK_ROWS = 80  # rows 0..79 belong to the clock (blocks, then the text)
TEXT_X, TEXT_Y, SCALE = 16, 44, 4

# 5x7 glyphs, one string per row ('#' = on).
FONT = {
    '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
    '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
    '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
    '3': ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
    '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
    '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
    '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
    '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
    '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
    '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
    ':': ['.....', '..#..', '..#..', '.....', '..#..', '..#..', '.....'],
    '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
}


def check_byte(seven):
    return (sum(seven) & 0xFF) ^ 0x5A


def encode_word(ms, seq):
    body = ((ms & ((1 << 48) - 1)) << 8) | (seq & 0xFF)
    seven = body.to_bytes(7, 'big')
    return (body << 8) | check_byte(seven)


def decode_word(word):
    """(ms, seq) from a 64-bit word, or None when the check fails."""
    body = word >> 8
    if check_byte(body.to_bytes(7, 'big')) != word & 0xFF:
        return None
    return body >> 8, body & 0xFF


def grow_pipe(fd):
    """A 1 MiB pipe buffer (when fd is a pipe), so the video pipe holds three frames and neither
    pipe blocks the other while ffmpeg opens its inputs one after the other."""
    try:
        fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
    except OSError:
        pass


def gen(args):
    w, h, fps = args.width, args.height, args.fps
    if w < COLS * BLOCK or h < CLOCK_ROWS + 16 or w % 16 or h % 2:
        sys.exit(f'latency_clock: {w}x{h} is too small or odd (at least {COLS * BLOCK}x{CLOCK_ROWS + 16}, width a multiple of 16)')
    # The scrolling pattern: 8x8 tiles of pseudo-random gray, twice the width (a window of it
    # moves 4 px a frame).
    tw = 2 * w
    seed = 12345
    tiles = []
    for _ in range((tw // 8) * (h // 8 + 1)):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        tiles.append(48 + (seed >> 16) % 160)
    tex = bytearray(tw * h)
    per_row = tw // 8
    for y in range(h):
        row = bytes(v for v in tiles[(y // 8) * per_row:(y // 8 + 1) * per_row] for _ in range(8))
        tex[y * tw:(y + 1) * tw] = row
    chroma = bytes([128]) * ((w // 2) * (h // 2) * 2)
    frame = bytearray(w * h)
    tile_rows = [bytes([v]) * 8 for v in range(32, 224, 4)]
    white = bytes([WHITE]) * BLOCK
    black_row = bytes([BLACK]) * w
    # Each glyph's rows as scaled byte strings.
    glyph_rows = {}
    for ch, rows in FONT.items():
        glyph_rows[ch] = [b''.join((bytes([WHITE]) if c == '#' else bytes([BLACK])) * SCALE for c in r)
                          for r in rows]
    out = open(sys.stdout.fileno(), 'wb', buffering=0)
    grow_pipe(out.fileno())
    audio = None
    if args.audio:
        # Blocks until ffmpeg opens the FIFO: give it as ffmpeg's first input.
        audio = open(args.audio, 'wb', buffering=0)
        grow_pipe(audio.fileno())
        # A 600 Hz tone at -20 dBFS, 48 kHz mono s16le: a whole number of periods per frame.
        per_frame = int(round(AUDIO_RATE / fps))
        tone = [int(3277 * math.sin(2 * math.pi * 600 * i / AUDIO_RATE)) for i in range(per_frame)]
        audio_chunk = struct.pack('<%dh' % per_frame, *tone)
    start = time.monotonic()
    total = int(args.seconds * fps) if args.seconds else None
    late = 0
    n = 0
    try:
        while total is None or n < total:
            due = start + n / fps
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > 1.0 / fps:
                late += 1
            ms = time.time_ns() // 1_000_000
            off = (n * 4) % w
            for y in range(CLOCK_ROWS, h):
                frame[y * w:(y + 1) * w] = tex[y * tw + off:y * tw + off + w]
            # Some tiles change every frame (what scrolling alone never gives the encoder).
            for _ in range(args.changes):
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                tx = (seed >> 8) % (w // 8)
                ty = (seed >> 4) % ((h - CLOCK_ROWS) // 8)
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                tile = tile_rows[(seed >> 16) % len(tile_rows)]
                base = (CLOCK_ROWS + ty * 8) * w + tx * 8
                for dy in range(8):
                    frame[base + dy * w:base + dy * w + 8] = tile
            for y in range(CLOCK_ROWS):
                frame[y * w:(y + 1) * w] = black_row
            word = encode_word(ms, n)
            for bit in range(64):
                if word >> (63 - bit) & 1:
                    x0 = (bit % COLS) * BLOCK
                    y0 = (bit // COLS) * BLOCK
                    for y in range(y0, y0 + BLOCK):
                        frame[y * w + x0:y * w + x0 + BLOCK] = white
            text = time.strftime('%H:%M:%S', time.gmtime(ms // 1000)) + '.%03d' % (ms % 1000)
            for i, ch in enumerate(text):
                x0 = TEXT_X + i * 6 * SCALE
                for r, bits in enumerate(glyph_rows[ch]):
                    for dy in range(SCALE):
                        y = TEXT_Y + r * SCALE + dy
                        frame[y * w + x0:y * w + x0 + len(bits)] = bits
            if audio:
                audio.write(audio_chunk)
            out.write(frame)
            out.write(chroma)
            n += 1
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        print(f'latency_clock gen: {n} frames, {late} written more than a frame interval late',
              file=sys.stderr)
    return 0


def percentile(sorted_values, p):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100.0
    i = int(k)
    j = min(i + 1, len(sorted_values) - 1)
    return sorted_values[i] + (sorted_values[j] - sorted_values[i]) * (k - i)


def read(args):
    w, h = args.width, args.height
    size = w * h
    buf = bytearray(size)
    view = memoryview(buf)
    fd = sys.stdin.fileno()
    # Sample points: 4 pixels around each block's centre.
    points = []
    for bit in range(64):
        x = (bit % COLS) * BLOCK + BLOCK // 2
        y = (bit // COLS) * BLOCK + BLOCK // 2
        points.append((y * w + x - 1, y * w + x, (y - 1) * w + x - 1, (y - 1) * w + x))
    start = time.monotonic()
    first = None
    samples = []
    frames = unreadable = missing = 0
    last_seq = None
    import select
    while True:
        got = 0
        while got < size:
            limit = None
            if first is None:
                limit = args.startup_timeout - (time.monotonic() - start)
                if limit <= 0:
                    break
            elif args.duration:
                limit = first + args.warmup + args.duration + 5 - time.monotonic()
                if limit <= 0:
                    break
            if limit is not None:
                ready, _, _ = select.select([fd], [], [], limit)
                if not ready:
                    break
            k = os.readv(fd, [view[got:]])
            if k == 0:
                break
            got += k
        if got < size:
            break
        now_ns = time.time_ns()
        mono = time.monotonic()
        if first is None:
            first = mono
        frames += 1
        word = 0
        for p in points:
            word = (word << 1) | (1 if buf[p[0]] + buf[p[1]] + buf[p[2]] + buf[p[3]] >= 512 else 0)
        decoded = decode_word(word)
        if mono - first < args.warmup:
            if decoded:
                last_seq = decoded[1]
            continue
        if args.duration and mono - first >= args.warmup + args.duration:
            break
        if decoded is None:
            unreadable += 1
            continue
        ms, seq = decoded
        if last_seq is not None:
            missing += (seq - last_seq - 1) % 256
        last_seq = seq
        samples.append(now_ns / 1e6 - ms)
    if args.samples:
        with open(args.samples, 'w') as f:
            f.write(''.join('%.1f\n' % s for s in samples))
    s = sorted(samples)
    result = {
        'label': args.label,
        'samples': len(s),
        'median_ms': percentile(s, 50),
        'p90_ms': percentile(s, 90),
        'min_ms': s[0] if s else None,
        'max_ms': s[-1] if s else None,
        'mean_ms': sum(s) / len(s) if s else None,
        'frames': frames,
        'unreadable': unreadable,
        'missing': missing,
        'first_frame_s': None if first is None else round(first - start, 3),
    }
    for k in ('median_ms', 'p90_ms', 'min_ms', 'max_ms', 'mean_ms'):
        if result[k] is not None:
            result[k] = round(result[k], 1)
    print(json.dumps(result), flush=True)
    return 0 if s else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    g = sub.add_parser('gen')
    r = sub.add_parser('read')
    for p in (g, r):
        p.add_argument('--width', type=int, default=640)
        p.add_argument('--height', type=int, default=360)
    g.add_argument('--fps', type=float, default=30)
    g.add_argument('--seconds', type=float, default=0, help='0: until stdout closes')
    g.add_argument('--audio', help='also write a 600 Hz tone (48 kHz mono s16le), 1/fps s of it before each frame, to this file (a FIFO)')
    g.add_argument('--changes', type=int, default=300, help='8x8 tiles redrawn at random each frame')
    r.add_argument('--warmup', type=float, default=5)
    r.add_argument('--duration', type=float, default=30, help='0: until stdin ends')
    r.add_argument('--startup-timeout', type=float, default=20)
    r.add_argument('--label', default='')
    r.add_argument('--samples', help='write every counted sample (ms) to this file, one a line')
    args = ap.parse_args()
    return gen(args) if args.cmd == 'gen' else read(args)


if __name__ == '__main__':
    sys.exit(main())
