#include "media/transcode/snapshot.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cstring>
#include <memory>

#include "media/codec_config.hpp"
#include "media/flv.hpp"
#include "media/transcode/av_support.hpp"
#include "media/transcode/video_decoder.hpp"

namespace sluice::media {
namespace {

constexpr int kMaxSide = 8192;
constexpr int kQscale = 4;  // MJPEG quantiser scale: 2 is near lossless, 31 the coarsest

struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using av::CodecPtr;
using av::FramePtr;
using av::PacketPtr;
using SwsPtr = std::unique_ptr<SwsContext, SwsFree>;

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

// The yuvj formats are full-range yuv ones; libswscale takes the plain format and the range.
AVPixelFormat plain_format(AVPixelFormat format, bool& full_range) {
  switch (format) {
    case AV_PIX_FMT_YUVJ420P:
      full_range = true;
      return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
      full_range = true;
      return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
      full_range = true;
      return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
      full_range = true;
      return AV_PIX_FMT_YUV440P;
    default:
      return format;
  }
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

// `picture` converted to full-range 4:2:0 at width x height and encoded as one JPEG.
Result<std::string> encode_jpeg(const AVFrame& picture, int width, int height) {
  const AVCodec* mjpeg = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!mjpeg) return fail(Error::internal("no MJPEG encoder in libavcodec"));
  bool full_range = picture.color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat source = plain_format(static_cast<AVPixelFormat>(picture.format), full_range);
  SwsPtr sws(sws_alloc_context());
  CodecPtr ctx(avcodec_alloc_context3(mjpeg));
  FramePtr frame(av_frame_alloc());
  PacketPtr packet(av_packet_alloc());
  if (!sws || !ctx || !frame || !packet) return fail(Error::internal("out of memory"));
  // Ranges are options set before sws_init_context, so an unscaled copy converts them too.
  av_opt_set_int(sws.get(), "srcw", picture.width, 0);
  av_opt_set_int(sws.get(), "srch", picture.height, 0);
  av_opt_set_int(sws.get(), "src_format", source, 0);
  av_opt_set_int(sws.get(), "src_range", full_range ? 1 : 0, 0);
  av_opt_set_int(sws.get(), "dstw", width, 0);
  av_opt_set_int(sws.get(), "dsth", height, 0);
  av_opt_set_int(sws.get(), "dst_format", AV_PIX_FMT_YUV420P, 0);
  av_opt_set_int(sws.get(), "dst_range", 1, 0);
  av_opt_set_int(sws.get(), "sws_flags", SWS_BICUBIC, 0);
  if (sws_init_context(sws.get(), nullptr, nullptr) < 0) {
    const char* name = av_get_pix_fmt_name(source);
    return fail(Error::internal(std::string("libswscale cannot convert ") +
                                (name ? name : "the decoded picture")));
  }
  frame->format = AV_PIX_FMT_YUVJ420P;  // the layout of yuv420p: what libswscale writes
  frame->width = width;
  frame->height = height;
  frame->color_range = AVCOL_RANGE_JPEG;
  if (av_frame_get_buffer(frame.get(), 0) < 0) return fail(Error::internal("out of memory"));
  sws_scale(sws.get(), picture.data, picture.linesize, 0, picture.height, frame->data,
            frame->linesize);

  ctx->width = width;
  ctx->height = height;
  ctx->pix_fmt = AV_PIX_FMT_YUVJ420P;
  ctx->color_range = AVCOL_RANGE_JPEG;
  ctx->time_base = AVRational{1, 25};
  ctx->thread_count = 1;
  ctx->flags |= AV_CODEC_FLAG_QSCALE;
  ctx->global_quality = FF_QP2LAMBDA * kQscale;
  if (int err = avcodec_open2(ctx.get(), mjpeg, nullptr); err < 0) {
    return fail(Error::internal("MJPEG encoder: " + av::text(err)));
  }
  frame->quality = ctx->global_quality;  // with QSCALE, each frame's quality is its quantiser
  frame->pts = 0;
  if (int err = avcodec_send_frame(ctx.get(), frame.get()); err < 0) {
    return fail(Error::internal("MJPEG encoder refused the picture: " + av::text(err)));
  }
  avcodec_send_frame(ctx.get(), nullptr);
  if (int err = avcodec_receive_packet(ctx.get(), packet.get()); err < 0) {
    return fail(Error::internal("MJPEG encoder made no JPEG: " + av::text(err)));
  }
  return std::string(reinterpret_cast<const char*>(packet->data),
                     static_cast<std::size_t>(packet->size));
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
  auto jpeg = encode_jpeg(frame, width, height);
  if (!jpeg) return fail(jpeg.error());
  return JpegSnapshot{std::move(*jpeg), width, height};
}

}  // namespace sluice::media
