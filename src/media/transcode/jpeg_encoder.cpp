#include "media/transcode/jpeg_encoder.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>

#include "media/transcode/av_support.hpp"

namespace sluice::media {
namespace {

struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

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

}  // namespace

struct JpegEncoder::Native {
  std::unique_ptr<SwsContext, SwsFree> sws;
  av::CodecPtr codec;
  av::FramePtr frame{av_frame_alloc()};
  av::PacketPtr packet{av_packet_alloc()};
  // What the contexts were made for.
  int in_width = 0, in_height = 0, in_format = -1, in_full = -1, width = 0, height = 0;
};

JpegEncoder::JpegEncoder(int qscale)
    : qscale_(std::clamp(qscale, 2, 31)), native_(std::make_unique<Native>()) {}
JpegEncoder::~JpegEncoder() = default;

int jpeg_qscale(int quality) {
  quality = std::clamp(quality, 1, 100);
  return 2 + (100 - quality) * 29 / 99;
}

Result<std::string> JpegEncoder::encode(const AVFrame& picture, int width, int height) {
  Native& n = *native_;
  if (!n.frame || !n.packet) return fail(Error::internal("out of memory"));
  bool full_range = picture.color_range == AVCOL_RANGE_JPEG;
  const AVPixelFormat source = plain_format(static_cast<AVPixelFormat>(picture.format), full_range);
  if (!n.sws || n.in_width != picture.width || n.in_height != picture.height ||
      n.in_format != source || n.in_full != int{full_range} || n.width != width ||
      n.height != height) {
    n.sws.reset(sws_alloc_context());
    n.codec.reset();
    if (!n.sws) return fail(Error::internal("out of memory"));
    // Ranges are options set before sws_init_context, so an unscaled copy converts them too.
    av_opt_set_int(n.sws.get(), "srcw", picture.width, 0);
    av_opt_set_int(n.sws.get(), "srch", picture.height, 0);
    av_opt_set_int(n.sws.get(), "src_format", source, 0);
    av_opt_set_int(n.sws.get(), "src_range", full_range ? 1 : 0, 0);
    av_opt_set_int(n.sws.get(), "dstw", width, 0);
    av_opt_set_int(n.sws.get(), "dsth", height, 0);
    av_opt_set_int(n.sws.get(), "dst_format", AV_PIX_FMT_YUV420P, 0);
    av_opt_set_int(n.sws.get(), "dst_range", 1, 0);
    av_opt_set_int(n.sws.get(), "sws_flags", SWS_BICUBIC, 0);
    if (sws_init_context(n.sws.get(), nullptr, nullptr) < 0) {
      n.sws.reset();
      const char* name = av_get_pix_fmt_name(source);
      return fail(Error::internal(std::string("libswscale cannot convert ") +
                                  (name ? name : "the picture")));
    }
    const AVCodec* mjpeg = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!mjpeg) return fail(Error::internal("no MJPEG encoder in libavcodec"));
    n.codec.reset(avcodec_alloc_context3(mjpeg));
    if (!n.codec) return fail(Error::internal("out of memory"));
    AVCodecContext* c = n.codec.get();
    c->width = width;
    c->height = height;
    c->pix_fmt = AV_PIX_FMT_YUVJ420P;
    c->color_range = AVCOL_RANGE_JPEG;
    c->time_base = AVRational{1, 25};
    c->thread_count = 1;
    c->flags |= AV_CODEC_FLAG_QSCALE;
    c->global_quality = FF_QP2LAMBDA * qscale_;
    if (int err = avcodec_open2(c, mjpeg, nullptr); err < 0) {
      n.sws.reset();
      return fail(Error::internal("MJPEG encoder: " + av::text(err)));
    }
    av_frame_unref(n.frame.get());
    n.frame->format = AV_PIX_FMT_YUVJ420P;  // the layout of yuv420p: what libswscale writes
    n.frame->width = width;
    n.frame->height = height;
    n.frame->color_range = AVCOL_RANGE_JPEG;
    if (av_frame_get_buffer(n.frame.get(), 0) < 0) {
      n.sws.reset();
      return fail(Error::internal("out of memory"));
    }
    n.in_width = picture.width;
    n.in_height = picture.height;
    n.in_format = source;
    n.in_full = full_range;
    n.width = width;
    n.height = height;
  }
  AVCodecContext* c = n.codec.get();
  if (av_frame_make_writable(n.frame.get()) < 0) return fail(Error::internal("out of memory"));
  sws_scale(n.sws.get(), picture.data, picture.linesize, 0, picture.height, n.frame->data,
            n.frame->linesize);
  n.frame->quality = c->global_quality;  // with QSCALE, each frame's quality is its quantiser
  n.frame->pts = AV_NOPTS_VALUE;
  if (int err = avcodec_send_frame(c, n.frame.get()); err < 0) {
    return fail(Error::internal("MJPEG encoder refused the picture: " + av::text(err)));
  }
  if (int err = avcodec_receive_packet(c, n.packet.get()); err < 0) {
    return fail(Error::internal("MJPEG encoder made no JPEG: " + av::text(err)));
  }
  std::string jpeg(reinterpret_cast<const char*>(n.packet->data),
                   static_cast<std::size_t>(n.packet->size));
  av_packet_unref(n.packet.get());
  return jpeg;
}

}  // namespace sluice::media
