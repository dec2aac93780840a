#include "media/transcode/snapshot.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <algorithm>
#include <cstring>
#include <memory>

#include "media/codec_config.hpp"
#include "media/flv.hpp"
#include "media/transcode/av_support.hpp"
#include "media/transcode/jpeg_encoder.hpp"
#include "media/transcode/video_decoder.hpp"

namespace sluice::media {
namespace {

constexpr int kMaxSide = 8192;
constexpr int kQscale = 4;  // MJPEG quantiser scale: 2 is near lossless, 31 the coarsest

using av::CodecPtr;
using av::FramePtr;
using av::PacketPtr;

Error too_large(int width, int height) {
  return Error{413,
               "snapshot: a " + std::to_string(width) + "x" + std::to_string(height) +
                   " picture is larger than 8192x8192",
               {}};
}

// What the codec is called in a 415: its name, its FourCC, or its legacy FLV codec id.
std::string codec_label(const VideoTagInfo& info) {
  if (const auto name = video_codec_name(info); name != "unknown") return std::string(name);
  if (!info.enhanced) return "FLV video codec " + std::to_string(info.codec);
  std::string text;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((info.codec >> shift) & 0xFF);
    text += (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  return "FourCC '" + text + "'";
}

// The picture of one keyframe, decoded with the configuration record as extradata.
Result<FramePtr> decode(VideoCodec codec, std::span<const std::uint8_t> record,
                        std::span<const std::uint8_t> access_unit) {
  auto decoder = VideoDecoder::open(codec, record, kMaxSide);
  if (!decoder) return fail(decoder.error());
  FramePtr frame(av_frame_alloc());
  if (!frame) return fail(Error::internal("out of memory"));
  if (auto ok = (*decoder)->send(access_unit, 0, true); !ok) return fail(ok.error());
  (*decoder)->flush();  // the picture comes out now
  auto got = (*decoder)->receive(frame.get());
  if (!got) return fail(got.error());
  if (!*got) {
    return fail(Error::bad_request(std::string(codec == VideoCodec::kHevc ? "H.265" : "H.264") +
                                   " decoder made no picture of the keyframe"));
  }
  return frame;
}

}  // namespace

Result<JpegSnapshot> snapshot_jpeg(std::span<const std::uint8_t> config_body,
                                   std::span<const std::uint8_t> keyframe_body, int max_width) {
  auto config = inspect_video(config_body);
  if (!config) return fail(config.error());
  const VideoCodec codec = video_codec_of(*config);
  if (codec == VideoCodec::kNone) {
    return fail(Error{415, "snapshot: cannot decode " + codec_label(*config) + " video", {}});
  }
  if (!config->sequence_header || config->data_offset >= config_body.size()) {
    return fail(Error::bad_request("snapshot: the configuration is not a sequence header"));
  }
  auto key = inspect_video(keyframe_body);
  if (!key) return fail(key.error());
  if (video_codec_of(*key) != codec || !key->keyframe || !is_coded_frame(*key, keyframe_body) ||
      key->data_offset >= keyframe_body.size()) {
    return fail(Error::bad_request("snapshot: not a keyframe of the configuration's codec"));
  }
  const auto record = config_body.subspan(config->data_offset);
  if (auto size = picture_size_of(codec, record);
      size && (size->width > kMaxSide || size->height > kMaxSide)) {
    return fail(too_large(size->width, size->height));
  }
  auto picture = decode(codec, record, keyframe_body.subspan(key->data_offset));
  if (!picture) return fail(picture.error());
  const AVFrame& frame = **picture;
  if (frame.width > kMaxSide || frame.height > kMaxSide) {
    return fail(too_large(frame.width, frame.height));
  }
  int width = frame.width;
  int height = frame.height;
  if (max_width > 0 && width > max_width) {  // even sides, the height rounded to the nearest
    const int scaled = std::max(2, max_width & ~1);
    const std::int64_t h2 = (static_cast<std::int64_t>(height) * scaled + width) / (2 * width);
    height = static_cast<int>(std::max<std::int64_t>(1, h2) * 2);
    width = scaled;
  }
  auto jpeg = JpegEncoder(kQscale).encode(frame, width, height);
  if (!jpeg) return fail(jpeg.error());
  return JpegSnapshot{std::move(*jpeg), width, height};
}

}  // namespace sluice::media
