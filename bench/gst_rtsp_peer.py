#!/usr/bin/python3
"""gst_rtsp_peer: the gst-rtsp-server peer of bench/rtsp_bench.sh.

Serves one prepared H.264 + AAC FLV file as one shared media at rtsp://HOST:PORT/PATH, RTP over TCP (interleaved) only, the way a camera's
gst-rtsp-server does: every reader is fed by the same pipeline

    filesrc ! flvdemux ! h264parse ! rtph264pay pt=96 config-interval=-1
                       ! aacparse  ! rtpmp4gpay pt=97

which is built when the first client asks for the media and torn down after the last one
leaves. The sinks sync to the pipeline clock, so the file plays in real time. The file is read
once from its start: make it longer than a run (rtsp_bench.sh prepares a looped copy of its
30 s file with continuous timestamps). Prints "gst_rtsp_peer listening rtsp://..." on stdout
once the port is bound; runs until SIGINT or SIGTERM.

    bench/gst_rtsp_peer.py --port 8554 --file media.flv [--path /bench] [--host 127.0.0.1]
    bench/gst_rtsp_peer.py --check     # GStreamer version and the elements used; 1 if missing

Runs on the system Python (/usr/bin/python3), where Debian's python3-gi lives.
"""

import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def launch_line(path):
    """The media's pipeline (gst-launch syntax, in parentheses as gst-rtsp-server wants it)."""
    location = path.replace("\\", "\\\\").replace('"', '\\"')
    return (
        f'( filesrc location="{location}" ! flvdemux name=d '
        "d.video ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 "
        "d.audio ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97 )"
    )


# The elements launch_line() uses (filesrc, queue: core; flvdemux, aacparse, rtph264pay,
# rtpmp4gpay: plugins-good; h264parse: plugins-bad).
ELEMENTS = ("filesrc", "queue", "flvdemux", "h264parse", "aacparse", "rtph264pay", "rtpmp4gpay")


def check():
    """Prints the GStreamer version; exits 1 naming the elements that are missing."""
    Gst.init(None)
    missing = [e for e in ELEMENTS if Gst.ElementFactory.find(e) is None]
    print(f"GStreamer {Gst.version_string().split()[-1]}")
    if missing:
        sys.exit(f"gst_rtsp_peer: missing GStreamer elements: {' '.join(missing)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="check the elements used, then exit")
    ap.add_argument("--port", type=int)
    ap.add_argument("--file", help="H.264 + AAC FLV to serve")
    ap.add_argument("--path", default="/bench", help="mount point (default /bench)")
    ap.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    args = ap.parse_args()
    if args.check:
        check()
        return
    if args.port is None or args.file is None:
        ap.error("--port and --file are required")
    if not os.path.isfile(args.file):
        sys.exit(f"gst_rtsp_peer: no file {args.file}")

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(os.path.abspath(args.file)))
    factory.set_shared(True)  # one pipeline for every reader, as on a camera
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)  # as sluiced --rtsp-udp-ports off
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        sys.exit(f"gst_rtsp_peer: cannot listen on {args.host}:{args.port}")

    loop = GLib.MainLoop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"gst_rtsp_peer listening rtsp://{args.host}:{args.port}{args.path}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
