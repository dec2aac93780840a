#pragma once
// FrameSource: where a pipeline's pictures come from — a test pattern, a URL or a capture device
// (url_source.hpp), raw frames pushed over a relay channel (relay_frame_source.hpp), a live path
// decoded (path_source.hpp). Opening a source waits for its first picture, so its size and pixel
// format are known before the pipeline's filter graph is built; next() hands out the following
// ones. One owner thread; heavy headers stay in the .cpp files.
//
// SourceFeeds is the seam to the rest of the daemon: what a relay channel or a live path delivers,
// implemented over the relay and the media server by server/pipeline_wiring.
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "media/packet.hpp"

struct AVFrame;

namespace sluice::pipeline {

struct SourceSpec;

// One encoded audio packet: a raw AAC frame or an Opus packet, at `ms`.
struct AudioPacket {
  std::int64_t ms = 0;
  std::string data;
};

// A source's sound as it comes (copied, not re-encoded): AAC or Opus and its configuration.
struct SourceAudio {
  bool opus = false;
  std::string config;  // AudioSpecificConfig or OpusHead
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  virtual int width() const = 0;
  virtual int height() const = 0;
  virtual int pixel_format() const = 0;  // an AVPixelFormat
  // The next picture (owned by the source until the next call) and its time in ms from the
  // first; the first call hands out the picture opening made. Live sources wait for it (and fail
  // with 502 after 10 s of silence); a test pattern makes it at once.
  virtual Result<AVFrame*> next(std::int64_t& ms) = 0;
  // True when the pipeline must pace the source (a test pattern makes pictures as fast as asked);
  // false when pictures come at the source's own rate.
  virtual bool paced() const { return false; }
  // The rate the source says its pictures come at; 0 when it does not say (the spec's fps is
  // what encoders plan with then).
  virtual int fps() const { return 0; }
  // Pictures the source dropped because its consumer did not keep up (drop-oldest), and pictures
  // it refused (e.g. raw frames of the wrong size).
  virtual std::uint64_t dropped() const { return 0; }
  // When the picture next() last handed out arrived in sluiced (a live source's, on the
  // monotonic clock): the start of the pipeline's frame path. nullopt: made here.
  virtual std::optional<std::chrono::steady_clock::time_point> arrival() const {
    return std::nullopt;
  }
  // The source's AAC or Opus, when it has some (known once opened); its packets since the last
  // call, timed on the pictures' clock (a few seconds at most are kept: the oldest go).
  virtual std::optional<SourceAudio> audio() const { return std::nullopt; }
  virtual void take_audio(std::vector<AudioPacket>& out) {}
};

// One subscription to a feed; ends when destroyed.
class Feed {
 public:
  virtual ~Feed() = default;
};

class SourceFeeds {
 public:
  virtual ~SourceFeeds() = default;
  // Messages published on relay channel `channel`, with the channel's metadata (empty when the
  // channel has none or is gone), on the relay's thread: the callee must copy and return.
  using RelayMessage = std::function<void(const boost::json::object& metadata, std::string_view)>;
  virtual Result<std::unique_ptr<Feed>> relay(const std::string& channel, RelayMessage on_message);
  // The video of live path `path` (FLV tag bodies: sequence headers and access units), from its
  // last keyframe on, on the media thread: the callee must queue and return. `on_end`: the
  // publisher left. 404 when no one publishes `path`.
  using PathPacket = std::function<void(const media::PacketPtr&)>;
  virtual Result<std::unique_ptr<Feed>> path(const std::string& path, PathPacket on_packet,
                                             std::function<void()> on_end);
};

// The source `spec` names; `feeds` for relay and path sources (null: those are 503).
// `stopped` cuts waits short.
Result<std::unique_ptr<FrameSource>> open_source(const SourceSpec& spec, SourceFeeds* feeds,
                                                 std::function<bool()> stopped);

}  // namespace sluice::pipeline
