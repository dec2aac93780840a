#pragma once
// VideoPipeline: the pictures a pipeline makes and their encodings, on Debian's libavfilter and
// libavcodec (no ffmpeg process). Its main source (frame_source.hpp: a test pattern, a URL or
// device, raw frames from a relay channel, a live path) gives a picture; with a pip filter the
// picture of a second source, read on its own thread (source_follower.hpp) and taken closest in
// capture time, is inset into it (compositor.hpp); the result goes into a libavfilter graph
// (buffer@in → the clock, captions and timestamps → split, scaled once per rendition), and each
// rendition is encoded with libx264 (or libx265). One call to next() makes one picture and hands
// out what each rendition's encoder produced for it. Bitrates change live (set_bitrate: x264
// reconfigures at the next frame; VBV of one second). Heavy headers stay in the .cpp.
// Single-threaded: the pipeline's own thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pipeline/frame_source.hpp"
#include "pipeline/pipeline_spec.hpp"

struct AVCodecContext;

namespace sluice::pipeline {

// One encoded access unit: H.264 Annex B (SPS and PPS before every IDR), times in ms.
struct EncodedUnit {
  std::string annexb;  // or, when `audio`, one AAC frame or Opus packet
  std::int64_t pts_ms = 0;
  std::int64_t dts_ms = 0;
  bool keyframe = false;
  bool audio = false;
};

// What a pipeline's sources are doing, for GET /pipelines/{id}.
struct SourceReport {
  std::string name;  // "main" or the name in "sources"
  std::string role;  // "main" or "pip"
  std::string state = "running";
  std::string error;
  int width = 0, height = 0;
  std::uint64_t dropped = 0;  // pictures the source dropped (drop-oldest) or refused
  // The inset: its picture's capture time minus the main picture's (last composition), how many
  // compositions were further apart than syncTolerance, and whether its newest picture is older
  // than maxLatencyMs.
  std::optional<double> offset_ms;
  std::uint64_t out_of_tolerance = 0;
  bool stale = false;
};

class VideoPipeline {
 public:
  // 422 naming the field libavfilter or libx264 refuses, 500 when a library part is missing,
  // 502 when the main source cannot be opened. `feeds`: relay channels and live paths (may be
  // null). `stopped` cuts a live source's waits short.
  static Result<std::unique_ptr<VideoPipeline>> create(const PipelineSpec& spec,
                                                       SourceFeeds* feeds = nullptr,
                                                       std::function<bool()> stopped = {});
  ~VideoPipeline();
  VideoPipeline(const VideoPipeline&) = delete;
  VideoPipeline& operator=(const VideoPipeline&) = delete;

  // The next picture, encoded: out[i] gets rendition i's access units (often one, none while
  // an encoder fills its pipeline). A paced source (a test pattern) makes picture `index` (its
  // time: index / fps; indexes rise, a gap is frames dropped); a live source hands out its next
  // picture, waiting for it. Times start at `offset_ms` (a pipeline rebuilt in place goes on from
  // where the previous one stopped).
  Status next(std::int64_t index, std::int64_t offset_ms,
              std::vector<std::vector<EncodedUnit>>& out);
  // From the next picture on.
  void set_bitrate(std::size_t rendition, int kbps);
  std::int64_t frames() const { return frames_; }
  // The time (ms, with the offset) of the last picture next() made.
  std::int64_t last_ms() const { return last_ms_; }
  // Whether the caller paces next() (the main source is a test pattern), and at what rate: the
  // source's own when it says, else the spec's.
  bool paced() const;
  // The size rendition `i` is encoded at (its own, or the picture's).
  std::pair<int, int> rendition_size(std::size_t rendition) const;
  int fps() const;
  // The main source's own sound (copied), when it has some; its packets since the last call,
  // on the pipeline's clock (`offset_ms` added, as to the pictures).
  std::optional<SourceAudio> source_audio() const;
  void take_source_audio(std::int64_t offset_ms, std::vector<AudioPacket>& out);
  // The JPEGs made for mjpeg outputs since the last call: (rendition, JPEG).
  std::vector<std::pair<std::size_t, std::string>> take_jpegs();
  // The libavcodec encoder used (libx264, h264_vaapi, ...) and, when hardware was asked for but
  // software is used, why.
  std::string encoder() const;
  std::string encoder_note() const;
  // Pictures the main source dropped or refused so far.
  std::uint64_t source_dropped() const;
  // The frame path of the last picture from a live source: from its arrival in sluiced (for a
  // decoded source, the packet that completed it) to its hand-over to the first rendition's
  // encoder (the encoders' own time excluded), in ms; nullopt for a picture made here.
  std::optional<double> frame_path_ms() const { return frame_path_ms_; }
  std::vector<SourceReport> sources() const;

  struct Native;

 private:
  VideoPipeline() = default;
  // What the encoder has ready, appended to `out`.
  Status drain(AVCodecContext* c, std::vector<EncodedUnit>& out);
  std::unique_ptr<Native> native_;
  std::int64_t frames_ = 0;
  std::int64_t last_ms_ = 0;
  std::optional<double> frame_path_ms_;
};

}  // namespace sluice::pipeline
