// The MPEG-TS demuxer (src/media/protocols/mpegts), sans I/O, on a real stream ffmpeg wrote
// (tests/fuzz/corpus/ts_h264_aac.ts: 1 s of 160x120 H.264 at 10 fps and AAC): every frame comes
// out whole whatever the split, with its timestamps; a lost packet drops only its PES and is
// flagged; garbage between packets is skipped.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "media/codec_config.hpp"
#include "media/media_path.hpp"
#include "media/protocols/mpegts/ts_demuxer.hpp"
#include "media/protocols/mpegts/ts_ingest.hpp"

namespace sluice::media::mpegts {
namespace {

std::string sample(const char* file = "ts_h264_aac.ts") {
  std::ifstream in(std::string(SLUICE_FUZZ_CORPUS) + "/" + file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `ts` through `ingest` in SRT-sized (1316-byte) pieces.
std::vector<FlvFrame> ingest_all(const std::string& ts, TsIngest& ingest) {
  std::vector<FlvFrame> frames;
  for (std::size_t at = 0; at < ts.size(); at += 1316) {
    ingest.push({reinterpret_cast<const std::uint8_t*>(ts.data() + at),
                 std::min<std::size_t>(1316, ts.size() - at)},
                frames);
  }
  return frames;
}

std::vector<PesFrame> demux(const std::string& ts, std::size_t split, Demuxer& d) {
  std::vector<PesFrame> out;
  for (std::size_t at = 0; at < ts.size(); at += split) {
    const std::size_t n = std::min(split, ts.size() - at);
    d.feed({reinterpret_cast<const std::uint8_t*>(ts.data() + at), n}, out);
  }
  d.flush(out);
  return out;
}

std::size_t adts_frames(const std::vector<PesFrame>& frames) {
  std::size_t n = 0;
  for (const auto& f : frames) {
    if (f.type != StreamType::kAacAdts) continue;
    for (std::size_t i = 0; i + 7 <= f.data.size();) {
      const auto* b = reinterpret_cast<const std::uint8_t*>(f.data.data() + i);
      if (b[0] != 0xFF || (b[1] & 0xF0) != 0xF0) break;
      const std::size_t len = ((b[3] & 0x03) << 11) | (b[4] << 3) | (b[5] >> 5);
      if (len < 7) break;
      ++n;
      i += len;
    }
  }
  return n;
}

TEST(TsDemuxer, EveryFrameOfARealStreamWithItsTimestampsWhateverTheSplit) {
  const std::string ts = sample();
  ASSERT_GT(ts.size(), 10000u);
  for (std::size_t split :
       {std::size_t(188), std::size_t(1316), std::size_t(100), std::size_t(7)}) {
    Demuxer d;
    auto frames = demux(ts, split, d);
    std::vector<std::int64_t> video_pts;
    for (const auto& f : frames) {
      if (f.type == StreamType::kH264) {
        ASSERT_TRUE(f.pts);
        video_pts.push_back(*f.pts);
        EXPECT_TRUE(f.data.starts_with(std::string("\0\0\0\1", 4)) ||
                    f.data.starts_with(std::string("\0\0\1", 3)));
      }
    }
    ASSERT_EQ(video_pts.size(), 10u) << "split " << split;
    for (std::size_t i = 1; i < video_pts.size(); ++i)
      EXPECT_EQ(video_pts[i] - video_pts[i - 1], 9000) << "100 ms apart at 90 kHz";
    EXPECT_EQ(adts_frames(frames), 45u) << "split " << split;
    EXPECT_EQ(d.stats().continuity_errors, 0u);
    EXPECT_EQ(d.stats().resyncs, 0u);
  }
}

TEST(TsDemuxer, ALostPacketDropsOnlyItsPesAndGarbageIsSkipped) {
  std::string ts = sample();
  // Lose the 40th packet (inside the video), and put garbage between two packets.
  ts.erase(40 * kPacketSize, kPacketSize);
  ts.insert(80 * kPacketSize, "not a packet");
  Demuxer d;
  auto frames = demux(ts, 1316, d);
  EXPECT_EQ(d.stats().continuity_errors, 1u);
  EXPECT_GE(d.stats().resyncs, 1u);
  std::size_t video = 0, flagged = 0;
  for (const auto& f : frames) {
    if (f.type == StreamType::kH264) ++video;
    if (f.after_loss) ++flagged;
  }
  EXPECT_EQ(video, 9u) << "one video PES lost, the rest whole";
  EXPECT_EQ(flagged, 1u);
}

// The PES bytes being gathered are charged to a budget shared by every demuxer: a PES that does
// not fit is dropped (counted), what was charged comes back when a PES is handed on or dropped.
TEST(TsDemuxer, GatheredBytesAreChargedToTheSharedBudget) {
  const std::string ts = sample();
  SharedByteBudget roomy(1 << 20);
  {
    Demuxer d(8 << 20, &roomy);
    auto frames = demux(ts, 1316, d);
    EXPECT_GT(frames.size(), 10u);
    EXPECT_EQ(d.stats().over_budget, 0u);
    EXPECT_EQ(roomy.used(), 0u);  // flushed: nothing held
  }
  SharedByteBudget tight(600);  // less than a keyframe
  Demuxer d(8 << 20, &tight);
  std::vector<PesFrame> frames;
  d.feed({reinterpret_cast<const std::uint8_t*>(ts.data()), ts.size()}, frames);
  EXPECT_GT(d.stats().over_budget, 0u);
  EXPECT_LE(tight.used(), 600u);
  EXPECT_GT(tight.refused(), 0u);
}

TEST(TsDemuxer, OversizedPesIsDroppedAndCounted) {
  Demuxer d(1000);  // smaller than a keyframe of the sample
  auto frames = demux(sample(), 188, d);
  EXPECT_GT(d.stats().oversized, 0u);
  for (const auto& f : frames)
    EXPECT_LE(f.data.size(), 1000u);
}

// What an SRT publisher's stream becomes in the core: a live path with H.264 (its size from the
// SPS) and AAC, every frame, timestamps from 0 in milliseconds.
TEST(TsIngest, ARealStreamBecomesALivePath) {
  TsIngest ingest;
  auto frames = ingest_all(sample(), ingest);
  MediaPath path("srt-cam", {}, nullptr);
  std::uint32_t last_video = 0;
  for (auto& f : frames) {
    if (f.type == tag_type::kVideo) {
      EXPECT_GE(f.timestamp, last_video);
      last_video = f.timestamp;
    }
    path.on_media(f.type, f.timestamp, std::move(f.body));
  }
  EXPECT_EQ(path.description().video_codec, "h264");
  EXPECT_EQ(path.description().audio_codec, "aac");
  EXPECT_EQ(path.description().width, 160);
  EXPECT_EQ(path.description().height, 120);
  EXPECT_EQ(path.counters().video_frames, 9u);  // the last PES of each stream ends with the source
  EXPECT_EQ(path.counters().keyframes, 2u);
  EXPECT_GE(last_video, 800u);
  EXPECT_EQ(ingest.rejected(), 0u);
}

// GStreamer's mpegtsmux (what an srtsink pipeline sends): SPS and PPS in band before each
// keyframe, every PES with its PES_packet_length — so each frame is handed on as soon as its last
// byte arrives, the last one included.
TEST(TsIngest, AGstreamerStreamBecomesALivePath) {
  TsIngest ingest;
  auto frames = ingest_all(sample("ts_gst_h264.ts"), ingest);
  MediaPath path("gst", {}, nullptr);
  for (auto& f : frames)
    path.on_media(f.type, f.timestamp, std::move(f.body));
  EXPECT_EQ(path.description().video_codec, "h264");
  EXPECT_EQ(path.description().width, 160);
  EXPECT_EQ(path.description().height, 120);
  EXPECT_EQ(path.counters().video_frames, 20u);
  EXPECT_EQ(path.counters().keyframes, 2u);
  EXPECT_EQ(ingest.rejected(), 0u);
  EXPECT_EQ(ingest.skipped(), 0u);
}

// H.265 over MPEG-TS (an SRT encoder set to HEVC): the parameter sets become an hvcC the media
// core reads back (picture size from the SPS), frames go on as Enhanced RTMP `hvc1`.
TEST(TsIngest, AnHevcStreamBecomesALivePath) {
  TsIngest ingest;
  auto frames = ingest_all(sample("ts_hevc_aac.ts"), ingest);
  MediaPath path("hevc", {}, nullptr);
  for (auto& f : frames)
    path.on_media(f.type, f.timestamp, std::move(f.body));
  EXPECT_EQ(path.description().video_codec, "hevc");
  EXPECT_EQ(path.description().audio_codec, "aac");
  EXPECT_EQ(path.description().width, 160);
  EXPECT_EQ(path.description().height, 120);
  EXPECT_EQ(path.counters().keyframes, 2u);
  EXPECT_GE(path.counters().video_frames, 9u);
  ASSERT_NE(path.video_config(), nullptr);
  const auto body = path.video_config()->bytes();
  auto info = inspect_video(body);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->enhanced);
  auto config = parse_hevc_config(body.subspan(info->data_offset));
  ASSERT_TRUE(config) << config.error().detail;
  EXPECT_EQ(config->parameter_sets.size(), 3u);  // VPS, SPS, PPS
  EXPECT_EQ(config->nal_length_size, 4u);
  EXPECT_EQ(ingest.skipped(), 0u);
}

}  // namespace
}  // namespace sluice::media::mpegts
