#pragma once
// VideoPipeline: the pictures a pipeline makes and their encodings, on Debian's libavfilter and
// libavcodec (no ffmpeg process): the source (testsrc2, or a URL pulled and decoded by
// url_source.hpp; with the wall clock drawn on it when asked), split and scaled once per rendition,
// each rendition encoded with libx264. One call to next() makes one picture and hands out what each
// rendition's encoder produced for it. Bitrates change live (set_bitrate: x264 reconfigures at the
// next frame; VBV of one second). Heavy headers stay in the .cpp. Single-threaded: the pipeline's
// own thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pipeline/pipeline_spec.hpp"

namespace sluice::pipeline {

// One encoded access unit: H.264 Annex B (SPS and PPS before every IDR), times in ms.
struct EncodedUnit {
  std::string annexb;
  std::int64_t pts_ms = 0;
  std::int64_t dts_ms = 0;
  bool keyframe = false;
};

class VideoPipeline {
 public:
  // 422 naming the field libavfilter or libx264 refuses, 500 when a library part is missing,
  // 502 when a URL source cannot be pulled. `stopped` cuts a URL source's waits short.
  static Result<std::unique_ptr<VideoPipeline>> create(const PipelineSpec& spec,
                                                       std::function<bool()> stopped = {});
  ~VideoPipeline();
  VideoPipeline(const VideoPipeline&) = delete;
  VideoPipeline& operator=(const VideoPipeline&) = delete;

  // The next picture, encoded: out[i] gets rendition i's access units (often one, none while
  // an encoder fills its pipeline). testsrc2 makes picture `index` (its time: index / fps;
  // indexes rise, a gap is frames dropped); a URL source hands out its next decoded picture,
  // waiting for it. Times start at `offset_ms` (a pipeline rebuilt in place goes on from where
  // the previous one stopped).
  Status next(std::int64_t index, std::int64_t offset_ms,
              std::vector<std::vector<EncodedUnit>>& out);
  // From the next picture on.
  void set_bitrate(std::size_t rendition, int kbps);
  std::int64_t frames() const { return frames_; }

  struct Native;

 private:
  VideoPipeline() = default;
  std::unique_ptr<Native> native_;
  std::int64_t frames_ = 0;
};

}  // namespace sluice::pipeline
