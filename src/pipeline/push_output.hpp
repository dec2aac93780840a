#pragma once
// PushOutput: a rendition restreamed to an external RTMP (or RTMPS, SRT, RTSP) URL with
// libavformat — the stream manager's "encoder → RTMP" and the camera's restream. It runs on a
// thread of its own so a slow or gone server never stalls the pipeline: access units wait in a
// bounded queue (overflow policy **drop to the next keyframe**: when 4 MiB are waiting, everything
// queued goes and sending resumes at the next keyframe, counted), a failed connection or write is
// retried with backoff (1 s doubling to 30 s), and state() says what is happening. The URL may
// carry a stream key: it is never logged or shown (state() names only its scheme, host and port).
// With the pipeline's audio, a second stream carries it (AAC anywhere; Opus over SRT and RTSP —
// FLV has no Opus, so an RTMP push of an Opus pipeline carries its video only).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <optional>

#include "core/error.hpp"
#include "pipeline/audio_track.hpp"
#include "pipeline/video_pipeline.hpp"

namespace sluice::pipeline {

class PushOutput {
 public:
  // Starts the thread; it connects at the first keyframe. The rendition's size and rate.
  PushOutput(std::string url, int width, int height, int fps, bool hevc = false,
             std::optional<SourceAudio> audio = std::nullopt);
  ~PushOutput();  // stops and joins
  PushOutput(const PushOutput&) = delete;
  PushOutput& operator=(const PushOutput&) = delete;

  // Any thread (the pipeline's): queues one access unit.
  void write(const EncodedUnit& unit);
  // Any thread: queues one audio packet (dropped until the first video keyframe is queued).
  void write_audio(const AudioPacket& packet);

  struct State {
    std::string state;   // "connecting", "pushing", "retrying", "stopped"
    std::string error;   // why it is retrying
    std::string target;  // scheme://host:port of the URL (no path, no key)
    std::uint64_t sent = 0, dropped = 0, reconnects = 0;
    std::size_t queued = 0;  // access units waiting
    double latency_ms = 0;   // from queued to written, of the last one sent
  };
  State state() const;

 private:
  void run();
  Status push_until_error();

  const std::string url_;
  const int width_, height_, fps_;
  const bool hevc_;
  const std::optional<SourceAudio> audio_;
  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  std::deque<std::pair<EncodedUnit, std::chrono::steady_clock::time_point>> queue_;
  std::size_t queued_bytes_ = 0;
  bool waiting_keyframe_ = true;
  bool stopping_ = false;
  State state_;
  std::thread thread_;
};

}  // namespace sluice::pipeline
