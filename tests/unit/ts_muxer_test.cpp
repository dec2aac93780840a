// The MPEG-TS output (media/protocols/mpegts/ts_muxer, ts_output): a real stream
// (tests/fuzz/corpus/ts_h264_aac.ts) taken in as a live path and written out again as SRT readers
// get it comes back through the demuxer frame for frame — same bodies, same timestamps — with
// continuous counters on every PID; PSI sections carry a correct CRC; every packet is 188 bytes.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "media/media_path.hpp"
#include "media/protocols/mpegts/ts_ingest.hpp"
#include "media/protocols/mpegts/ts_output.hpp"

namespace sluice::media::mpegts {
namespace {

std::string sample() {
  std::ifstream in(std::string(SLUICE_FUZZ_CORPUS) + "/ts_h264_aac.ts", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<FlvFrame> ingest(const std::string& ts, TsIngest& in) {
  std::vector<FlvFrame> frames;
  for (std::size_t at = 0; at < ts.size(); at += 1316) {
    in.push({reinterpret_cast<const std::uint8_t*>(ts.data() + at),
             std::min<std::size_t>(1316, ts.size() - at)},
            frames);
  }
  return frames;
}

// What an SRT reader of `path` would receive for `packets`: tables first, then each packet's
// shared form, numbered.
std::string write_out(const MediaPath& path, const std::vector<MediaPacket>& packets) {
  auto tracks = describe_ts(path.video_config().get(), path.audio_config().get());
  EXPECT_TRUE(tracks.has_value());
  std::string out;
  append_program_tables(tracks->program, 0, out);
  for (const auto& p : packets)
    build_ts_packets(p, *tracks, out);
  TsContinuity continuity;
  continuity.number({reinterpret_cast<std::uint8_t*>(out.data()), out.size()});
  return out;
}

TEST(TsOutput, ARealStreamComesBackFrameForFrame) {
  TsIngest first;
  auto frames = ingest(sample(), first);
  ASSERT_GT(frames.size(), 10u);
  MediaPath path("cam", {}, nullptr);
  std::vector<MediaPacket> packets;
  for (const auto& f : frames) {
    path.on_media(f.type, f.timestamp, f.body);
    packets.push_back(classify_packet(f.type, f.timestamp, f.body));
  }
  const std::string ts = write_out(path, packets);
  ASSERT_EQ(ts.size() % kPacketSize, 0u);

  TsIngest second;
  auto again = ingest(ts, second);
  EXPECT_EQ(second.demux_stats().continuity_errors, 0u);
  EXPECT_EQ(second.demux_stats().resyncs, 0u);
  EXPECT_EQ(second.rejected(), 0u);
  auto coded = [](const std::vector<FlvFrame>& v, std::uint8_t type) {
    std::vector<const FlvFrame*> out;
    for (const auto& f : v) {
      const auto body = std::span<const std::uint8_t>(
          reinterpret_cast<const std::uint8_t*>(f.body.data()), f.body.size());
      if (f.type != type) continue;
      const bool config = type == tag_type::kVideo ? inspect_video(body)->sequence_header
                                                   : inspect_audio(body)->sequence_header;
      if (!config) out.push_back(&f);
    }
    return out;
  };
  for (const std::uint8_t type : {tag_type::kVideo, tag_type::kAudio}) {
    const auto before = coded(frames, type), after = coded(again, type);
    // Every frame: sluiced writes each PES with its length, so none waits for the next (ffmpeg's
    // file leaves its last video frame unbounded, so `before` lacks it too).
    ASSERT_EQ(after.size(), before.size()) << int(type);
    for (std::size_t i = 0; i < after.size(); ++i) {
      EXPECT_EQ(before[i]->timestamp, after[i]->timestamp) << int(type) << " frame " << i;
      EXPECT_EQ(before[i]->body, after[i]->body) << int(type) << " frame " << i;
    }
  }
}

TEST(TsOutput, PathsWithoutACodecMpegTsCarriesAreRefused) {
  EXPECT_EQ(describe_ts(nullptr, nullptr).error().status, 415);
}

TEST(TsMuxer, SectionsCarryTheMpegCrcAndCountersRunPerPid) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32_mpeg2({reinterpret_cast<const std::uint8_t*>(check.data()), check.size()}),
            0x0376E6E7u);
  std::string out;
  append_program_tables({StreamType::kH264, StreamType::kAacAdts}, 3, out);
  ASSERT_EQ(out.size(), 2 * kPacketSize);
  // A section's CRC over itself and its CRC is 0.
  const auto* pmt = reinterpret_cast<const std::uint8_t*>(out.data()) + kPacketSize + 5;
  const std::size_t length = ((pmt[1] & 0x0F) << 8 | pmt[2]) + 3;
  EXPECT_EQ(crc32_mpeg2({pmt, length}), 0u);
  EXPECT_EQ((pmt[5] >> 1) & 0x1F, 3);  // version_number

  const std::string big(70000, '\x42');  // longer than a PES length can say
  PesPacket pes;
  pes.pcr = 90000;
  pes.random_access = true;
  append_pes(pes, {reinterpret_cast<const std::uint8_t*>(big.data()), big.size()}, out);
  append_program_tables({StreamType::kH264, StreamType::kAacAdts}, 3, out);
  ASSERT_EQ(out.size() % kPacketSize, 0u);
  TsContinuity continuity;
  continuity.number({reinterpret_cast<std::uint8_t*>(out.data()), out.size()});
  Demuxer demuxer;
  std::vector<PesFrame> frames;
  demuxer.feed({reinterpret_cast<const std::uint8_t*>(out.data()), out.size()}, frames);
  demuxer.flush(frames);
  EXPECT_EQ(demuxer.stats().continuity_errors, 0u);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].data, big);
  EXPECT_EQ(frames[0].pts, 0);
}

}  // namespace
}  // namespace sluice::media::mpegts
