#include "media/transcode/video_decoder.hpp"

#include <algorithm>
#include <cstring>

#include "media/transcode/av_support.hpp"

namespace sluice::media {

struct VideoDecoder::Native {
  av::CodecPtr context;
  av::PacketPtr packet{av_packet_alloc()};
  std::string what;  // "H.264 decoder"
};

VideoDecoder::~VideoDecoder() = default;

Result<std::unique_ptr<VideoDecoder>> VideoDecoder::open(VideoCodec codec,
                                                         std::span<const std::uint8_t> record,
                                                         int max_side) {
  const bool hevc = codec == VideoCodec::kHevc;
  if (codec == VideoCodec::kNone) return fail(Error{415, "only H.264 and H.265 are decoded", {}});
  const AVCodec* decoder = avcodec_find_decoder(hevc ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
  if (!decoder) return fail(Error::internal(hevc ? "no H.265 decoder" : "no H.264 decoder"));
  std::unique_ptr<VideoDecoder> d(new VideoDecoder());
  d->native_ = std::make_unique<Native>();
  Native& n = *d->native_;
  n.what = hevc ? "H.265 decoder" : "H.264 decoder";
  n.context.reset(avcodec_alloc_context3(decoder));
  if (!n.context || !n.packet) return fail(Error::internal("out of memory"));
  AVCodecContext* ctx = n.context.get();
  ctx->extradata =
      static_cast<std::uint8_t*>(av_mallocz(record.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!ctx->extradata) return fail(Error::internal("out of memory"));
  std::copy(record.begin(), record.end(), ctx->extradata);
  ctx->extradata_size = static_cast<int>(record.size());
  ctx->thread_count = 1;
  ctx->max_pixels = static_cast<std::int64_t>(max_side) * max_side;
  ctx->pkt_timebase = AVRational{1, 1000};
  if (int err = avcodec_open2(ctx, decoder, nullptr); err < 0) {
    return fail(Error::bad_request(n.what + " refused the configuration: " + av::text(err)));
  }
  return d;
}

Status VideoDecoder::send(std::span<const std::uint8_t> access_unit, std::int64_t pts_ms,
                          bool keyframe) {
  Native& n = *native_;
  if (av_new_packet(n.packet.get(), static_cast<int>(access_unit.size())) < 0) {
    return fail(Error::internal("out of memory"));
  }
  std::memcpy(n.packet->data, access_unit.data(), access_unit.size());  // padded, as libav wants
  n.packet->pts = pts_ms;
  n.packet->dts = AV_NOPTS_VALUE;
  if (keyframe) n.packet->flags |= AV_PKT_FLAG_KEY;
  const int err = avcodec_send_packet(n.context.get(), n.packet.get());
  av_packet_unref(n.packet.get());
  if (err < 0 && err != AVERROR(EAGAIN)) {
    return fail(Error::bad_request(n.what + " refused the access unit: " + av::text(err)));
  }
  return {};
}

void VideoDecoder::flush() {
  avcodec_send_packet(native_->context.get(), nullptr);
}

Result<bool> VideoDecoder::receive(AVFrame* frame) {
  av_frame_unref(frame);
  const int err = avcodec_receive_frame(native_->context.get(), frame);
  if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return false;
  if (err < 0) return fail(Error::bad_request(native_->what + " failed: " + av::text(err)));
  if (frame->width <= 0 || frame->height <= 0) {
    return fail(Error::bad_request(native_->what + " made an empty picture"));
  }
  frame->pts = frame->best_effort_timestamp;
  return true;
}

}  // namespace sluice::media
