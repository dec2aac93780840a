#pragma once
// Raw pictures pushed over a relay channel by a client — a render engine, TouchDesigner, a game —
// as a pipeline source (the stream manager's "composition → frame" path). The publisher opens the
// channel with metadata {"format": "rgba", "width": 1280, "height": 720, "fps": 30} (format: a
// pixel format name libavutil knows — rgba, bgra, rgb24, bgr24, gray, yuv420p, nv12, yuyv422, …)
// and sends each picture as one message of exactly its size, planes tightly packed. Pictures wait
// in a FramePool (frame_pool.hpp: buffers reused, at most 3 waiting, drop-oldest). Opening waits up
// to 10 s for the first picture. A message of the wrong size, or metadata that names no usable
// layout, fails the source with 422 saying what was expected (the pipeline's state shows it and it
// retries); a layout change fails it once so the pipeline rebuilds for the new one.
#include <memory>
#include <string>

#include "pipeline/frame_source.hpp"

namespace sluice::pipeline {

Result<std::unique_ptr<FrameSource>> open_relay_frames(const std::string& channel,
                                                       SourceFeeds& feeds,
                                                       std::function<bool()> stopped);

// The layout raw frames of `metadata` have: AVPixelFormat, width, height; 422 naming what is
// missing or wrong.
struct RawLayout {
  int format = -1;
  int width = 0, height = 0;
  int fps = 0;  // "fps" when given (1-120)
  std::size_t bytes = 0;
  bool operator==(const RawLayout&) const = default;
};
Result<RawLayout> raw_layout_of(const boost::json::object& metadata);

}  // namespace sluice::pipeline
