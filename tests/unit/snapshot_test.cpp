// JPEG snapshots of keyframes (media/transcode/snapshot): a real H.264 (and H.265) keyframe, made
// here by libavcodec's libx264 (libx265) encoder from a synthetic picture and turned into FLV
// bodies by media/flv_builder as the server does for RTSP/SRT publishers, becomes a baseline JPEG
// whose decoded picture matches the source; it is scaled down on request; garbage and codecs it
// cannot decode are errors.
#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
}

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/flv_builder.hpp"
#include "media/transcode/av_support.hpp"
#include "media/transcode/snapshot.hpp"

namespace sluice::media {
namespace {

constexpr int kWidth = 320;
constexpr int kHeight = 240;

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

using av::CodecPtr;
using av::FramePtr;
using av::PacketPtr;

// The source picture's luma, full range (0..255): a quadratic ramp left to right, so neither a
// flat grey picture nor a mirrored one comes close to it.
double expected_luma(int x) {
  return 255.0 * x * x / ((kWidth - 1.0) * (kWidth - 1.0));
}

// FLV bodies of one keyframe: the sequence header and the access unit.
struct Keyframe {
  std::string config;
  std::string frame;
};

// Encodes the synthetic picture (width x height; the ramp repeats past kWidth) with
// `encoder_name` (limited-range 4:2:0) and turns the Annex B output into FLV bodies with NalToFlv;
// nullopt when libavcodec lacks the encoder.
std::optional<Keyframe> encode_keyframe(const char* encoder_name, VideoCodec codec,
                                        int width = kWidth, int height = kHeight) {
  const AVCodec* encoder = avcodec_find_encoder_by_name(encoder_name);
  if (!encoder) return std::nullopt;
  CodecPtr ctx(avcodec_alloc_context3(encoder));
  FramePtr frame(av_frame_alloc());
  PacketPtr packet(av_packet_alloc());
  EXPECT_TRUE(ctx && frame && packet);
  ctx->width = width;
  ctx->height = height;
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->time_base = AVRational{1, 25};
  ctx->gop_size = 1;
  ctx->max_b_frames = 0;
  ctx->thread_count = 1;
  av_opt_set(ctx->priv_data, "preset", "ultrafast", 0);
  av_opt_set(ctx->priv_data, "crf", "18", 0);
  if (codec == VideoCodec::kHevc) {
    av_opt_set(ctx->priv_data, "x265-params", "log-level=error", 0);
  } else {
    av_opt_set(ctx->priv_data, "x264-params", "log=0", 0);  // errors only
  }
  EXPECT_GE(avcodec_open2(ctx.get(), encoder, nullptr), 0);

  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = width;
  frame->height = height;
  EXPECT_GE(av_frame_get_buffer(frame.get(), 0), 0);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      frame->data[0][y * frame->linesize[0] + x] =
          static_cast<std::uint8_t>(std::lround(16 + expected_luma(x % kWidth) * 219.0 / 255.0));
    }
  }
  for (int y = 0; y < height / 2; ++y) {
    for (int x = 0; x < width / 2; ++x) {
      frame->data[1][y * frame->linesize[1] + x] = static_cast<std::uint8_t>(64 + y % 120);
      frame->data[2][y * frame->linesize[2] + x] = static_cast<std::uint8_t>(192 - x % 160 / 2);
    }
  }
  frame->pts = 0;
  EXPECT_GE(avcodec_send_frame(ctx.get(), frame.get()), 0);
  EXPECT_GE(avcodec_send_frame(ctx.get(), nullptr), 0);
  std::string annexb;
  while (avcodec_receive_packet(ctx.get(), packet.get()) >= 0) {
    annexb.append(reinterpret_cast<const char*>(packet->data), packet->size);
    av_packet_unref(packet.get());
  }

  NalToFlv builder(codec);
  std::vector<FlvFrame> out;
  builder.push(annexb_nal_units(annexb), 0, 0, false, out);
  EXPECT_EQ(out.size(), 2u);  // the sequence header, then the keyframe
  if (out.size() != 2) return Keyframe{};
  return Keyframe{out[0].body, out[1].body};
}

// The luma plane of a JPEG as libavcodec's MJPEG decoder reads it.
struct Decoded {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> luma;
};
Decoded decode_jpeg(const std::string& jpeg) {
  Decoded out;
  const AVCodec* mjpeg = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  CodecPtr ctx(avcodec_alloc_context3(mjpeg));
  FramePtr frame(av_frame_alloc());
  PacketPtr packet(av_packet_alloc());
  if (!ctx || !frame || !packet || avcodec_open2(ctx.get(), mjpeg, nullptr) < 0) return out;
  if (av_new_packet(packet.get(), static_cast<int>(jpeg.size())) < 0) return out;
  std::copy(jpeg.begin(), jpeg.end(), packet->data);
  if (avcodec_send_packet(ctx.get(), packet.get()) < 0) return out;
  avcodec_send_packet(ctx.get(), nullptr);
  if (avcodec_receive_frame(ctx.get(), frame.get()) < 0) return out;
  out.width = frame->width;
  out.height = frame->height;
  for (int y = 0; y < frame->height; ++y) {
    const std::uint8_t* row = frame->data[0] + y * frame->linesize[0];
    out.luma.insert(out.luma.end(), row, row + frame->width);
  }
  return out;
}

// SOI first, EOI last, and a baseline frame header (SOF0), not a progressive one (SOF2).
bool is_baseline_jpeg(const std::string& s) {
  return s.size() > 4 && s.compare(0, 2, "\xFF\xD8") == 0 &&
         s.compare(s.size() - 2, 2, "\xFF\xD9") == 0 && s.find("\xFF\xC0") != std::string::npos &&
         s.find("\xFF\xC2") == std::string::npos;
}

// The mean absolute difference between a decoded picture's luma and the source's (scaled to the
// picture's width).
double luma_error(const Decoded& d) {
  double sum = 0;
  for (int y = 0; y < d.height; ++y) {
    for (int x = 0; x < d.width; ++x) {
      const double source_x = (x + 0.5) * kWidth / d.width - 0.5;
      sum += std::abs(d.luma[y * d.width + x] -
                      expected_luma(static_cast<int>(std::lround(source_x))));
    }
  }
  return sum / (static_cast<double>(d.width) * d.height);
}

TEST(Snapshot, H264KeyframeBecomesAJpegOfTheSamePicture) {
  auto key = encode_keyframe("libx264", VideoCodec::kH264);
  if (!key) GTEST_SKIP() << "libavcodec has no libx264 encoder";
  ASSERT_EQ(key->config.substr(0, 2), std::string("\x17\x00", 2));
  auto snap = snapshot_jpeg(bytes_of(key->config), bytes_of(key->frame));
  ASSERT_TRUE(snap.has_value()) << snap.error().detail;
  EXPECT_EQ(snap->width, kWidth);
  EXPECT_EQ(snap->height, kHeight);
  EXPECT_TRUE(is_baseline_jpeg(snap->jpeg));

  const Decoded d = decode_jpeg(snap->jpeg);
  ASSERT_EQ(d.width, kWidth);
  ASSERT_EQ(d.height, kHeight);
  double mean = 0;
  for (auto v : d.luma)
    mean += v;
  mean /= static_cast<double>(d.luma.size());
  EXPECT_NEAR(mean, 255.0 / 3, 3.0);  // the ramp's mean, full range
  EXPECT_LT(luma_error(d), 2.0);      // 0.5 seen
}

TEST(Snapshot, MaxWidthScalesDownKeepingTheAspectRatio) {
  auto key = encode_keyframe("libx264", VideoCodec::kH264);
  if (!key) GTEST_SKIP() << "libavcodec has no libx264 encoder";
  auto snap = snapshot_jpeg(bytes_of(key->config), bytes_of(key->frame), 160);
  ASSERT_TRUE(snap.has_value()) << snap.error().detail;
  EXPECT_EQ(snap->width, 160);
  EXPECT_EQ(snap->height, 120);
  EXPECT_TRUE(is_baseline_jpeg(snap->jpeg));
  const Decoded d = decode_jpeg(snap->jpeg);
  ASSERT_EQ(d.width, 160);
  ASSERT_EQ(d.height, 120);
  EXPECT_LT(luma_error(d), 2.0);  // 0.8 seen

  // Odd limits give even sides; a picture narrower than the limit keeps its size.
  auto odd = snapshot_jpeg(bytes_of(key->config), bytes_of(key->frame), 101);
  ASSERT_TRUE(odd.has_value()) << odd.error().detail;
  EXPECT_EQ(odd->width, 100);
  EXPECT_EQ(odd->height, 76);  // 75 rounded to even
  auto wide = snapshot_jpeg(bytes_of(key->config), bytes_of(key->frame), 1920);
  ASSERT_TRUE(wide.has_value()) << wide.error().detail;
  EXPECT_EQ(wide->width, kWidth);
}

TEST(Snapshot, H265KeyframeInEnhancedRtmpBecomesAJpeg) {
  auto key = encode_keyframe("libx265", VideoCodec::kHevc);
  if (!key) GTEST_SKIP() << "libavcodec has no libx265 encoder";
  ASSERT_EQ(key->config.substr(1, 4), "hvc1");
  auto snap = snapshot_jpeg(bytes_of(key->config), bytes_of(key->frame));
  ASSERT_TRUE(snap.has_value()) << snap.error().detail;
  EXPECT_EQ(snap->width, kWidth);
  EXPECT_EQ(snap->height, kHeight);
  EXPECT_TRUE(is_baseline_jpeg(snap->jpeg));
  const Decoded d = decode_jpeg(snap->jpeg);
  ASSERT_EQ(d.width, kWidth);
  EXPECT_LT(luma_error(d), 2.0);  // 0.5 seen
}

TEST(Snapshot, GarbageIsABadRequestNotACrash) {
  auto key = encode_keyframe("libx264", VideoCodec::kH264);
  if (!key) GTEST_SKIP() << "libavcodec has no libx264 encoder";
  const std::string header("\x17\x01\x00\x00\x00", 5);
  std::string noise;
  std::uint32_t state = 12345;
  for (int i = 0; i < 4000; ++i) {
    state = state * 1103515245u + 12345u;
    noise += static_cast<char>(state >> 24);
  }
  // Random bytes, the same with a NAL length that fits, and a lone IDR slice header byte.
  const std::string cases[] = {
      header + noise,
      header + std::string("\x00\x00\x0F\x9C", 4) + noise.substr(0, 3996),
      header + std::string("\x00\x00\x00\x01\x65", 5),
      header,
  };
  for (const auto& frame : cases) {
    auto snap = snapshot_jpeg(bytes_of(key->config), bytes_of(frame));
    ASSERT_FALSE(snap.has_value());
    EXPECT_EQ(snap.error().status, 400) << snap.error().detail;
  }
  // A configuration record that is not one; a frame given as the configuration; the
  // configuration given as the frame; empty and truncated bodies.
  const std::string bad_config = std::string("\x17\x00\x00\x00\x00", 5) + noise.substr(0, 64);
  EXPECT_EQ(snapshot_jpeg(bytes_of(bad_config), bytes_of(key->frame)).error().status, 400);
  EXPECT_EQ(snapshot_jpeg(bytes_of(key->frame), bytes_of(key->frame)).error().status, 400);
  EXPECT_EQ(snapshot_jpeg(bytes_of(key->config), bytes_of(key->config)).error().status, 400);
  EXPECT_EQ(snapshot_jpeg({}, bytes_of(key->frame)).error().status, 400);
  EXPECT_EQ(snapshot_jpeg(bytes_of(key->config.substr(0, 3)), bytes_of(key->frame)).error().status,
            400);
}

TEST(Snapshot, PicturesWiderThan8192Are413) {
  auto key = encode_keyframe("libx264", VideoCodec::kH264, 8208, 16);  // few pixels, too wide
  if (!key) GTEST_SKIP() << "libavcodec has no libx264 encoder";
  auto snap = snapshot_jpeg(bytes_of(key->config), bytes_of(key->frame), 320);
  ASSERT_FALSE(snap.has_value());
  EXPECT_EQ(snap.error().status, 413) << snap.error().detail;
}

TEST(Snapshot, CodecsItCannotDecodeAre415) {
  const std::string frame("\x17\x01\x00\x00\x00\x00\x00\x00\x01\x65", 10);
  // Legacy FLV VP6 (codec 4), an MP3 audio tag body, Enhanced RTMP AV1.
  const std::string vp6("\x14\x00\x00\x00\x00\x00", 6);
  const std::string mp3("\x2F\xFF\xFB\x90\x64\x00", 6);
  const std::string av1(
      "\x90"
      "av01\x81\x00\x0C\x00",
      9);
  for (const auto& config : {vp6, mp3, av1}) {
    auto snap = snapshot_jpeg(bytes_of(config), bytes_of(frame));
    ASSERT_FALSE(snap.has_value());
    EXPECT_EQ(snap.error().status, 415) << snap.error().detail;
  }
  EXPECT_NE(snapshot_jpeg(bytes_of(av1), bytes_of(frame)).error().detail.find("av1"),
            std::string::npos);
  EXPECT_NE(snapshot_jpeg(bytes_of(vp6), bytes_of(frame)).error().detail.find("codec 4"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::media
