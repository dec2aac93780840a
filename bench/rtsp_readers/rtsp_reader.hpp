#pragma once
// One RTSP play connection of the rtsp_readers load generator, sans I/O: the client side of
// OPTIONS / DESCRIBE / SETUP (every audio and video track, RTP/AVP/TCP interleaved on channels
// 2i and 2i+1) / PLAY, GET_PARAMETER keep-alives, and the per-reader measurements of the '$'
// frames that follow. The caller owns the socket: it calls start() once TCP is connected,
// on_bytes() with everything it receives, tick() now and then, and writes out whatever the calls
// append to `out`. Single-threaded; no clocks are read here (the caller passes `now`).
//
// Measurements, per reader:
//  * RTP packets and bytes, per track; sequence gaps per track (16-bit wrap): a packet whose
//    sequence number is d ahead of the expected one (0 < d < 32768) counts d lost packets; one
//    behind (a duplicate or a reordering, impossible over one TCP connection) counts apart. A new
//    SSRC restarts the count (counted as a discontinuity).
//  * video frames: access units ended by the RTP marker bit on the video track; keyframes: those
//    that carried an H.264 IDR slice (type 5, single, in STAP-A or as the start of an FU-A) or an
//    H.265 IRAP (types 16-21).
//  * dropped frames, from the RTP timestamps of the constant-rate publisher (the video clock of
//    the SDP, interval = clock / fps ticks), as rtmp_readers does with RTMP timestamps. RTP
//    carries presentation times, which go backwards across B-frames in transmission order, so
//    the frames' timestamps (unwrapped to 64 bits) pass through a 16-frame reorder buffer first
//    and the rules see them in presentation order:
//    - gap rule, from the first keyframe on (before it, a reader that joined mid-GOP lacks
//      frames sent before it joined but presented after the first ones it got) to the 16th
//      frame before the end (the last ones still wait in the buffer: the B-frames that would
//      fill their gaps may not have been sent yet when the run stops): consecutive frames in
//      presentation order more than 2.5 intervals apart count round(delta / interval) - 1
//      dropped frames (a server that skips to the next keyframe and renumbers its packets shows
//      here, not in the sequence numbers);
//    - late rule: lag = (wall time since the lag baseline) - (the largest RTP time so far - the
//      baseline's), updated when a frame advances the largest RTP time. At the end of the window,
//      with "now" as the arrival of the next frame, a reader whose lag exceeds the smallest lag
//      it had by more than late_ms (never less than 2.5 intervals) counts floor(excess /
//      interval) dropped frames (it fell behind, or stalled);
//    - a timestamp more than 10 s away from the largest one so far is a discontinuity (counted
//      apart; the buffer is emptied without counting and the lag baseline restarts).
//  * connect() → PLAY answered, → first video frame (marker), → first keyframe.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <queue>
#include <span>
#include <string>
#include <vector>

namespace sluice::bench {

using Clock = std::chrono::steady_clock;

enum class ReaderState { kConnecting, kSetup, kPlaying, kFailed, kClosed };

struct TrackStats {
  std::string media;               // "video", "audio" (the SDP m= line)
  std::string encoding;            // "H264", "MPEG4-GENERIC", ... (a=rtpmap)
  std::uint32_t clock_rate = 0;    // a=rtpmap
  std::uint64_t packets = 0;       // RTP packets
  std::uint64_t bytes = 0;         // RTP bytes (headers included, '$' framing excluded)
  std::uint64_t lost = 0;          // packets missing by the sequence numbers
  std::uint64_t gap_events = 0;    // places where some were missing
  std::uint64_t out_of_order = 0;  // duplicates or reorderings
  std::uint64_t rtcp_packets = 0;  // interleaved frames on the RTCP channel
};

struct ReaderStats {
  Clock::time_point started;         // connect() was called
  Clock::time_point play_answered;   // 200 to PLAY (zero if never)
  Clock::time_point first_frame;     // first video frame (marker bit) (zero if never)
  Clock::time_point first_keyframe;  // first video frame with an IDR / IRAP (zero if never)
  std::uint64_t bytes = 0;           // every byte received on the socket
  std::uint64_t video_frames = 0;
  std::uint64_t keyframes = 0;
  std::uint64_t gap_dropped = 0;  // frames missing by the gap rule
  std::uint64_t discontinuities = 0;
  std::uint64_t keepalives = 0;  // GET_PARAMETER answered
  double lag_ms = 0;
  double min_lag_ms = 0;
  double max_excess_lag_ms = 0;  // largest (lag - min lag) on arrival, in the window
  std::vector<TrackStats> tracks;
  std::string error;  // why the reader failed or closed, if it did

  std::uint64_t lost_packets() const;
  std::uint64_t out_of_order() const;
};

class RtspReader {
 public:
  // `url`: rtsp://HOST:PORT/PATH, sent as the request URI. `keepalive_s` <= 0: no keep-alives.
  RtspReader(const std::string& url, double fps, double late_ms, double keepalive_s)
      : url_(url), fps_(fps), late_ms_(late_ms), keepalive_s_(keepalive_s) {}

  // Diagnostics: with a sink, every sequence gap and every frame gap is described to it (one
  // line each, prefixed with `id`).
  void trace_to(std::FILE* sink, int id) {
    trace_ = sink;
    id_ = id;
  }

  // TCP is connected: appends OPTIONS.
  void start(Clock::time_point now, std::string& out);
  // Bytes from the socket. Appends requests to `out`. Returns false when the connection should
  // be closed (stats().error says why).
  bool on_bytes(std::span<const std::uint8_t> in, Clock::time_point now, std::string& out);
  // Time passes: a GET_PARAMETER keep-alive when one is due.
  void tick(Clock::time_point now, std::string& out);
  // The peer closed the socket or the socket failed.
  void on_closed(std::string why);
  void fail(std::string why);

  ReaderState state() const { return state_; }
  ReaderStats& stats() { return stats_; }
  const ReaderStats& stats() const { return stats_; }
  // Frames behind at `now` by the late rule (0 while within tolerance, or before any frame).
  std::uint64_t late_frames(Clock::time_point now) const;
  // The measured window starts: max_excess_lag_ms restarts from 0.
  void start_window() { stats_.max_excess_lag_ms = 0; }

 private:
  struct Response {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    const std::string* header(const std::string& name) const;
  };
  struct Track {
    std::string control_url;
    bool video = false;  // the first video track: frames, drops and lag are counted on it
    bool have_seq = false;
    std::uint16_t next_seq = 0;
    std::uint32_t ssrc = 0;
    // the video access unit being received
    bool in_frame = false;
    bool frame_key = false;
    std::uint32_t frame_ts = 0;
  };

  // One complete message from buf_ at pos_: a response (true), an interleaved frame, or false
  // when more bytes are needed. Sets error_ when the stream cannot be parsed.
  bool take_message(Clock::time_point now, std::string& out);
  bool on_response(const Response& r, Clock::time_point now, std::string& out);
  bool on_describe(const Response& r, std::string& out);
  void on_rtp(std::size_t track, std::span<const std::uint8_t> p, Clock::time_point now);
  void on_video_frame(std::uint32_t ts, bool key, Clock::time_point now);
  // The smallest buffered timestamp leaves the reorder buffer through the gap rule.
  void take_ordered();
  void send(const std::string& method, const std::string& uri, const std::string& extra,
            std::string& out);

  std::string url_;
  std::FILE* trace_ = nullptr;
  int id_ = 0;
  double fps_;
  double late_ms_;
  double keepalive_s_;
  ReaderState state_ = ReaderState::kConnecting;
  ReaderStats stats_;
  std::vector<Track> tracks_;
  std::size_t setup_next_ = 0;  // the track the next SETUP is for
  std::string session_;
  int cseq_ = 0;
  std::string pending_method_;  // the request awaiting its response
  Clock::time_point last_request_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool failed_parse_ = false;

  std::uint32_t video_clock_ = 90000;
  bool have_ts_ = false;
  std::int64_t top_ts_ = 0;   // the largest (unwrapped) video timestamp so far
  std::int64_t base_ts_ = 0;  // the lag baseline's
  // Presentation order: the last 16 frames' timestamps, smallest first; the last one taken out.
  std::priority_queue<std::int64_t, std::vector<std::int64_t>, std::greater<>> reorder_;
  bool counting_ = false;  // a keyframe arrived since the baseline: the gap rule applies
  bool have_ordered_ = false;
  std::int64_t last_ordered_ = 0;
  Clock::time_point base_wall_;
};

}  // namespace sluice::bench
