#pragma once
// VideoDecoder: H.264 or H.265 access units as the media core keeps them (FLV video tag bodies:
// a decoder configuration record, then length-prefixed NAL units) decoded to pictures with
// libavcodec, one thread. Used for snapshots (one keyframe) and for pipelines that take a live
// path as their source (every access unit). Pictures above max_side x max_side are refused
// (libavcodec's max_pixels bounds what it allocates). Errors are values; heavy headers stay in
// the .cpp. Not thread-safe: one owner.
#include <cstdint>
#include <memory>
#include <span>

#include "core/error.hpp"
#include "media/codec_config.hpp"

struct AVFrame;

namespace sluice::media {

class VideoDecoder {
 public:
  // `record` is the configuration record (the sequence header's bytes after its FLV header).
  // 400 when libavcodec refuses it, 500 when it lacks the decoder.
  static Result<std::unique_ptr<VideoDecoder>> open(VideoCodec codec,
                                                    std::span<const std::uint8_t> record,
                                                    int max_side = 8192);
  ~VideoDecoder();
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  // One access unit (length-prefixed NAL units) with its presentation time; 400 when the
  // decoder refuses it.
  Status send(std::span<const std::uint8_t> access_unit, std::int64_t pts_ms, bool keyframe);
  // No more access units: the pictures the decoder holds come out.
  void flush();
  // The next decoded picture into `frame` (unreferenced first; its pts in ms): true, or false
  // when the decoder needs more input. 400 on a decoding error.
  Result<bool> receive(AVFrame* frame);

 private:
  VideoDecoder() = default;
  struct Native;
  std::unique_ptr<Native> native_;
};

}  // namespace sluice::media
