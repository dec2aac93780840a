#pragma once
// What every libav-using .cpp shares (snapshots, transcoding, pipelines): owning pointers for
// libavcodec's contexts, frames and packets, and libav error codes as text. Include it only from
// .cpp files that include libavcodec already (it is not for widely included headers).
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/error.h>
}

#include <memory>
#include <string>

namespace sluice::media::av {

struct CodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;

// "Invalid data found when processing input" for an AVERROR.
inline std::string text(int err) {
  char out[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(err, out, sizeof out);
  return out;
}

}  // namespace sluice::media::av
