#pragma once
// One RTMP play connection of the rtmp_readers load generator, sans I/O: the client side of the
// handshake, connect / createStream / play, acknowledgements and ping answers, and the per-reader
// measurements (first-frame latency, frames, bytes, dropped frames, lag). The caller owns the
// socket: it calls start() once TCP is connected, on_bytes() with everything it receives, and
// writes out whatever the calls append to `out`. Single-threaded; no clocks are read here (the
// caller passes `now`).
//
// Dropped frames (the rule printed by the tool and documented in bench/README.md):
//  * gap rule: consecutive coded video frames whose timestamps differ by more than 2.5 frame
//    intervals (1000/fps ms) count round(delta / interval) - 1 dropped frames;
//  * late rule: lag = (wall time since the first coded frame) - (stream time since it). At the end
//    of the run, with "now" as the arrival time of the next frame (stream time last + interval), a
//    reader whose lag exceeds the smallest lag it ever had by more than `late_ms` (default 500 ms,
//    and never less than 2.5 intervals) has fallen behind: floor(excess / interval) frames count
//    as dropped (late). A reader that stalls completely is caught by this rule too. The tolerance
//    absorbs delivery jitter (a keyframe burst to hundreds of sockets, the load generator's own
//    scheduling); a player's buffer hides that much, a sustained shortfall it cannot.
//  * a timestamp going backwards or jumping forward by more than 10 s is a discontinuity (counted
//    apart, not as drops); the lag baseline restarts there.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "media/protocols/rtmp/chunk.hpp"
#include "media/protocols/rtmp/handshake.hpp"

namespace sluice::bench {

using Clock = std::chrono::steady_clock;

struct PlayTarget {
  std::string app;     // "live"
  std::string name;    // "bench"
  std::string tc_url;  // "rtmp://127.0.0.1:1935/live"
};

enum class PlayerState { kConnecting, kHandshake, kCommands, kPlaying, kFailed, kClosed };

struct ReaderStats {
  Clock::time_point started;         // connect() was called
  Clock::time_point play_started;    // NetStream.Play.Start (zero if never)
  Clock::time_point first_frame;     // first coded video frame (zero if never)
  Clock::time_point first_keyframe;  // first coded keyframe (zero if never)
  std::uint64_t bytes = 0;           // every byte received on the socket
  std::uint64_t video_frames = 0;    // coded video frames (no sequence headers)
  std::uint64_t keyframes = 0;
  std::uint64_t audio_frames = 0;
  std::uint64_t gap_dropped = 0;  // frames missing by the gap rule
  std::uint64_t discontinuities = 0;
  double lag_ms = 0;  // last lag (see above)
  double min_lag_ms = 0;
  double max_excess_lag_ms = 0;  // largest (lag - min lag) on arrival, in the window
  std::string error;             // why the reader failed or closed, if it did
};

class Player {
 public:
  Player(const PlayTarget& target, double fps, double late_ms)
      : target_(&target), interval_ms_(1000.0 / fps), late_ms_(late_ms) {}

  // TCP is connected: appends C0+C1.
  void start(std::string& out);
  // Bytes from the socket. Appends replies (C2, commands, acknowledgements, pings) to `out`.
  // Returns false when the connection should be closed (stats().error says why).
  bool on_bytes(std::span<const std::uint8_t> in, Clock::time_point now, std::string& out);
  // The peer closed the socket or the socket failed.
  void on_closed(std::string why);
  void fail(std::string why);

  PlayerState state() const { return state_; }
  ReaderStats& stats() { return stats_; }
  const ReaderStats& stats() const { return stats_; }
  // Frames behind at `now` by the late rule (0 while within 2.5 intervals, or before any frame).
  std::uint64_t late_frames(Clock::time_point now) const;
  // The measured window starts: max_excess_lag_ms restarts from 0.
  void start_window() { stats_.max_excess_lag_ms = 0; }

 private:
  bool on_message(const rtmp::Message& m, Clock::time_point now, std::string& out);
  bool on_command(const rtmp::Message& m, std::string& out);
  void on_video(const rtmp::Message& m, Clock::time_point now);
  void send_command(std::uint32_t csid, std::uint32_t stream_id, const std::string& body,
                    std::string& out);

  const PlayTarget* target_;
  double interval_ms_;
  double late_ms_;
  PlayerState state_ = PlayerState::kConnecting;
  rtmp::ClientHandshake handshake_;
  rtmp::ChunkReader reader_;
  rtmp::ChunkWriter writer_;
  std::vector<rtmp::Message> messages_;
  ReaderStats stats_;

  bool have_ts_ = false;
  std::uint32_t last_ts_ = 0;
  std::uint32_t base_ts_ = 0;    // stream time of the lag baseline
  Clock::time_point base_wall_;  // wall time of the lag baseline
};

}  // namespace sluice::bench
