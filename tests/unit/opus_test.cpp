// Opus through the media core (media/audio_config, media/protocols/mpegts/opus_ts, the RTSP and
// MPEG-TS mappings): the OpusHead and TOC are read as RFC 7845 and RFC 6716 say; a real stream
// ffmpeg wrote (tests/fuzz/corpus/ts_h264_opus.ts: 1 s of H.264 and stereo libopus in MPEG-TS)
// becomes a live path with Opus audio, and comes back out of the MPEG-TS muxer packet for packet;
// RTSP describes Opus as RFC 7587 wants and takes it from an ANNOUNCE; AAC is transcoded to Opus
// for WebRTC viewers.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "media/audio_config.hpp"
#include "media/media_path.hpp"
#include "media/protocols/mpegts/opus_ts.hpp"
#include "media/protocols/mpegts/ts_ingest.hpp"
#include "media/protocols/mpegts/ts_output.hpp"
#include "media/protocols/rtp/rtp_packet.hpp"
#include "media/protocols/rtsp/rtsp_media.hpp"
#include "media/transcode/aac_to_opus.hpp"

namespace sluice::media {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(OpusConfig, HeadsAndPacketDurationsAreRead) {
  const std::string head = opus_head(1, 312);
  ASSERT_EQ(head.size(), 19u);
  auto config = parse_opus_head(bytes_of(head));
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->channels, 1u);
  EXPECT_EQ(config->pre_skip, 312u);
  EXPECT_EQ(config->input_sample_rate, 48000u);

  EXPECT_EQ(parse_opus_head(bytes_of(head.substr(0, 18))).error().status, 400);
  EXPECT_FALSE(parse_opus_head(bytes_of("OpusTags" + head.substr(8))).has_value());
  std::string three = head;
  three[9] = 3;  // mapping family 0 allows 1 or 2 channels only
  EXPECT_FALSE(parse_opus_head(bytes_of(three)).has_value());

  // TOC: config 31 (CELT 20 ms) one frame; config 1 (SILK 20 ms) two frames; code 3 with 3
  // frames of CELT 2.5 ms; SILK 60 ms × 3 is over 120 ms.
  EXPECT_EQ(opus_packet_samples(bytes_of(std::string{char(31 << 3)})), 960u);
  EXPECT_EQ(opus_packet_samples(bytes_of(std::string{char((1 << 3) | 1)})), 1920u);
  EXPECT_EQ(opus_packet_samples(bytes_of(std::string{char((16 << 3) | 3), 3})), 360u);
  EXPECT_EQ(opus_packet_samples(bytes_of(std::string{char((3 << 3) | 3), 3})), 0u);
  EXPECT_EQ(opus_packet_samples({}), 0u);
}

TEST(OpusConfig, EnhancedRtmpAudioTagsAreClassified) {
  const std::string start = opus_sequence_start_body(opus_head(2));
  auto info = inspect_audio(bytes_of(start));
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->enhanced);
  EXPECT_TRUE(info->sequence_header);
  EXPECT_EQ(audio_codec_name(*info), "opus");
  auto config = parse_audio_config(bytes_of(start));
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->codec, AudioCodec::kOpus);
  EXPECT_EQ(config->channels(), 2);
  EXPECT_EQ(config->sample_rate(), 48000);

  const std::string frame = opus_frame_body("\xF8\x01\x02");
  auto data = audio_frame_of(bytes_of(frame), AudioCodec::kOpus);
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(data->size(), 3u);
  EXPECT_FALSE(audio_frame_of(bytes_of(frame), AudioCodec::kAac).has_value());
  EXPECT_FALSE(audio_frame_of(bytes_of(start), AudioCodec::kOpus).has_value());
  EXPECT_EQ(inspect_audio(bytes_of(frame.substr(0, 4))).error().status, 400);

  // AAC stays legacy FLV audio; its AudioSpecificConfig reads as before.
  auto aac = parse_audio_config(bytes_of(std::string("\xAF\x00\x12\x10", 4)));
  ASSERT_TRUE(aac.has_value());
  EXPECT_EQ(aac->codec, AudioCodec::kAac);
  EXPECT_EQ(aac->sample_rate(), 44100);
  EXPECT_EQ(parse_audio_config(bytes_of(std::string("\x2F\x00", 2))).error().status, 415);
}

TEST(OpusInMpegTs, ControlHeadersFrameEveryPacket) {
  const std::string big(600, 'x'), small = "\xF8\x01";
  std::string pes;
  mpegts::append_opus_access_unit(big, pes);
  mpegts::append_opus_access_unit(small, pes);
  EXPECT_EQ(pes.size(), 2 + 3 + 600 + 2 + 1 + 2u);  // 600 = 255 + 255 + 90
  std::vector<std::string_view> packets;
  ASSERT_TRUE(mpegts::split_opus_access_units(pes, packets));
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[0], big);
  EXPECT_EQ(packets[1], small);

  packets.clear();
  EXPECT_EQ(mpegts::split_opus_access_units(pes.substr(0, 100), packets).error().status, 400);
  EXPECT_EQ(mpegts::split_opus_access_units("\x12\x34\x56", packets).error().status, 400);

  EXPECT_EQ(mpegts::opus_channels_of(bytes_of(mpegts::opus_descriptors(1))), 1u);
  EXPECT_EQ(mpegts::opus_channels_of(bytes_of(mpegts::opus_descriptors(2))), 2u);
  EXPECT_EQ(mpegts::opus_channels_of(bytes_of(std::string("\x05\x04" "AC-3", 6))), 0u);
}

std::vector<FlvFrame> ingest_all(const std::string& ts, mpegts::TsIngest& in) {
  std::vector<FlvFrame> frames;
  for (std::size_t at = 0; at < ts.size(); at += 1316) {
    in.push(bytes_of(std::string_view(ts).substr(at, 1316)), frames);
  }
  return frames;
}

std::vector<const FlvFrame*> opus_frames(const std::vector<FlvFrame>& frames) {
  std::vector<const FlvFrame*> out;
  for (const auto& f : frames) {
    if (f.type == tag_type::kAudio && audio_frame_of(bytes_of(f.body), AudioCodec::kOpus)) {
      out.push_back(&f);
    }
  }
  return out;
}

TEST(OpusInMpegTs, AnFfmpegStreamBecomesALivePathAndComesBackPacketForPacket) {
  std::ifstream file(std::string(SLUICE_FUZZ_CORPUS) + "/ts_h264_opus.ts", std::ios::binary);
  const std::string ts{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  mpegts::TsIngest first;
  auto frames = ingest_all(ts, first);
  EXPECT_EQ(first.rejected(), 0u);
  MediaPath path("opus", {}, nullptr);
  std::vector<MediaPacket> packets;
  for (const auto& f : frames) {
    path.on_media(f.type, f.timestamp, f.body);
    packets.push_back(classify_packet(f.type, f.timestamp, f.body));
  }
  EXPECT_EQ(path.description().video_codec, "h264");
  EXPECT_EQ(path.description().audio_codec, "opus");
  const auto before = opus_frames(frames);
  ASSERT_GE(before.size(), 45u);  // 1 s of 20 ms packets (the encoder's priming aside)
  // Packets 20 ms apart, five to a PES (the first PES starts before the video's first time, the
  // path's zero, so its packets are held at 0 ms: skip it).
  for (std::size_t i = 6; i < before.size(); ++i) {
    EXPECT_EQ(before[i]->timestamp - before[i - 1]->timestamp, 20u) << "packet " << i;
  }

  auto tracks = mpegts::describe_ts(path.video_config().get(), path.audio_config().get());
  ASSERT_TRUE(tracks.has_value());
  EXPECT_EQ(tracks->program.audio, mpegts::StreamType::kOpus);
  EXPECT_EQ(tracks->program.audio_channels, 2u);
  std::string out;
  mpegts::append_program_tables(tracks->program, 0, out);
  for (const auto& p : packets)
    mpegts::build_ts_packets(p, *tracks, out);
  mpegts::TsContinuity continuity;
  continuity.number({reinterpret_cast<std::uint8_t*>(out.data()), out.size()});

  mpegts::TsIngest second;
  const auto again_frames = ingest_all(out, second);
  EXPECT_EQ(second.rejected(), 0u);
  const auto again = opus_frames(again_frames);
  ASSERT_EQ(again.size(), before.size());
  for (std::size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i]->body, before[i]->body) << "packet " << i;
    EXPECT_EQ(again[i]->timestamp, before[i]->timestamp) << "packet " << i;
  }
}

TEST(OpusOverRtsp, DescribedAsRfc7587AndTakenFromAnAnnounce) {
  const MediaPacket config =
      classify_packet(tag_type::kAudio, 0, opus_sequence_start_body(opus_head(2)));
  auto description = rtsp::describe_path(nullptr, &config);
  ASSERT_TRUE(description.has_value());
  EXPECT_NE(description->sdp.find("a=rtpmap:97 opus/48000/2"), std::string::npos)
      << description->sdp;
  EXPECT_NE(description->sdp.find("a=fmtp:97 sprop-stereo=1"), std::string::npos);
  ASSERT_EQ(description->tracks.size(), 1u);
  EXPECT_EQ(description->tracks[0].clock_rate, 48000);
  const MediaPacket frame = classify_packet(tag_type::kAudio, 20, opus_frame_body("\xFC\x01\x02"));
  std::vector<std::string> payloads;
  rtsp::build_rtp_payloads(frame, description->tracks[0], payloads);
  ASSERT_EQ(payloads.size(), 1u);
  EXPECT_EQ(payloads[0], "\xFC\x01\x02");

  auto sdp = sdp::parse(
      "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
      "m=audio 0 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 sprop-stereo=0\r\n"
      "a=control:streamid=0\r\n");
  ASSERT_TRUE(sdp.has_value());
  auto ingest = rtsp::RtspIngest::from_sdp(*sdp);
  ASSERT_TRUE(ingest.has_value()) << ingest.error().detail;
  auto initial = (*ingest)->initial_frames();
  ASSERT_EQ(initial.size(), 1u);
  auto head = parse_audio_config(bytes_of(initial[0].body));
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->codec, AudioCodec::kOpus);
  EXPECT_EQ(head->channels(), 1);

  const auto now = std::chrono::steady_clock::now();
  std::vector<rtsp::IngestFrame> out;
  for (std::uint32_t i = 0; i < 3; ++i) {
    std::string packet;
    rtp::append_header({false, 111, static_cast<std::uint16_t>(i), 1000 + i * 960, 7}, packet);
    packet += "\x78\x01";
    ASSERT_TRUE((*ingest)->push(0, bytes_of(packet), now, out));
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].timestamp, 40u);
  auto data = audio_frame_of(bytes_of(out[2].body), AudioCodec::kOpus);
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(data->size(), 2u);
}

}  // namespace
}  // namespace sluice::media

namespace sluice::media {
namespace {

// What WebRTC viewers of an RTMP path hear: the AAC of a real stream (ffmpeg's, in
// ts_h264_aac.ts) becomes 20 ms Opus packets, evenly spaced from the first frame's time.
TEST(AacToOpus, AacFramesBecomeTwentyMillisecondOpusPackets) {
  std::ifstream file(std::string(SLUICE_FUZZ_CORPUS) + "/ts_h264_aac.ts", std::ios::binary);
  const std::string ts{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  mpegts::TsIngest ingest;
  std::unique_ptr<AacToOpus> transcoder;
  std::vector<AacToOpus::Packet> out;
  std::size_t frames = 0;
  for (const auto& f : ingest_all(ts, ingest)) {
    if (f.type != tag_type::kAudio) continue;
    if (auto config = parse_audio_config(bytes_of(f.body))) {
      auto made = AacToOpus::create(config->record);
      ASSERT_TRUE(made.has_value()) << made.error().detail;
      transcoder = std::move(*made);
      continue;
    }
    auto frame = audio_frame_of(bytes_of(f.body), AudioCodec::kAac);
    ASSERT_TRUE(frame && transcoder);
    ASSERT_TRUE(transcoder->push(*frame, f.timestamp, out));
    ++frames;
  }
  ASSERT_GT(frames, 30u);  // about 1 s of AAC
  // 1 s of audio, less what the encoder still holds: 20 ms packets, 48 kHz.
  ASSERT_GE(out.size(), 40u);
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(opus_packet_samples(bytes_of(out[i].data)), 960u) << "packet " << i;
    if (i > 1) EXPECT_EQ(out[i].ms - out[i - 1].ms, 20) << "packet " << i;
  }
  auto head = parse_opus_head(bytes_of(transcoder->opus_head()));
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->channels, 2u);
  EXPECT_FALSE(transcoder->push({}, 0, out));
}

}  // namespace
}  // namespace sluice::media
