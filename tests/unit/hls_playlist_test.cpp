// render_playlist, find_segment, the segment-name parser and the FLV -> MPEG-TS codec plumbing
// (avcC/hvcC, Annex B, AudioSpecificConfig, ADTS), all sans I/O.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/codec_config.hpp"
#include "media/protocols/hls/hls_playlist.hpp"

namespace {

using namespace sluice::media;
using namespace std::chrono_literals;

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

HlsSnapshot snapshot_of(std::uint64_t first, std::vector<double> durations, bool ended) {
  HlsSnapshot snap;
  snap.media_sequence = first;
  snap.target_duration = 2000ms;
  snap.ended = ended;
  for (double d : durations) {
    snap.segments.push_back(
        {first++, d, std::make_shared<const std::string>("ts" + std::to_string(first))});
  }
  return snap;
}

TEST(HlsPlaylist, RendersLiveWindow) {
  const auto snap = snapshot_of(10, {2.0, 2.0, 2.4, 1.96}, false);
  EXPECT_EQ(render_playlist(snap, "?key=abc", 3),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:11\n"
            "#EXTINF:2.000,\nseg-11.ts?key=abc\n"
            "#EXTINF:2.400,\nseg-12.ts?key=abc\n"
            "#EXTINF:1.960,\nseg-13.ts?key=abc\n");
}

TEST(HlsPlaylist, RendersEndedAndExactTargets) {
  const auto snap = snapshot_of(0, {2.0, 2.0, 0.5}, true);
  EXPECT_EQ(render_playlist(snap, "", 0),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
            "#EXTINF:2.000,\nseg-0.ts\n#EXTINF:2.000,\nseg-1.ts\n#EXTINF:0.500,\nseg-2.ts\n"
            "#EXT-X-ENDLIST\n");
}

// A new publisher's first segment is marked; EXT-X-DISCONTINUITY-SEQUENCE counts the
// discontinuities before the first listed segment once earlier ones leave the window.
TEST(HlsPlaylist, DiscontinuitiesAreMarkedAndCounted) {
  auto snap = snapshot_of(5, {2.0, 2.0, 2.0}, false);
  snap.segments[1].discontinuity = true;  // seg-6: a new publisher
  snap.discontinuity_sequence = 2;        // two more happened before seg-5
  const std::string head = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n";
  EXPECT_EQ(render_playlist(snap, "", 0),
            head +
                "#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n"
                "#EXTINF:2.000,\nseg-5.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nseg-6.ts\n"
                "#EXTINF:2.000,\nseg-7.ts\n");
  EXPECT_EQ(render_playlist(snap, "", 2),
            head +
                "#EXT-X-MEDIA-SEQUENCE:6\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n"
                "#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nseg-6.ts\n#EXTINF:2.000,\nseg-7.ts\n");
  EXPECT_EQ(render_playlist(snap, "", 1),
            head +
                "#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
                "#EXTINF:2.000,\nseg-7.ts\n");
}

TEST(HlsPlaylist, TargetNeverDropsBelowTheConfiguredOne) {
  // Short segments (a publisher's 1 s GOP under a 2 s target) keep the playlist's target at 2,
  // so it does not change from one reload to the next.
  const auto snap = snapshot_of(0, {1.0, 0.96}, false);
  EXPECT_NE(render_playlist(snap, "", 6).find("#EXT-X-TARGETDURATION:2\n"), std::string::npos);
}

TEST(HlsPlaylist, EmptySnapshotUsesConfiguredTarget) {
  HlsSnapshot snap;
  snap.media_sequence = 7;
  snap.target_duration = 1500ms;
  EXPECT_EQ(render_playlist(snap, "", 6),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n");
}

TEST(HlsPlaylist, FindsRetainedSegmentsOnly) {
  const auto snap = snapshot_of(5, {1, 1, 1}, false);
  EXPECT_EQ(nullptr, find_segment(snap, 4));
  ASSERT_NE(nullptr, find_segment(snap, 5));
  EXPECT_EQ(*snap.segments[2].data, *find_segment(snap, 7));
  EXPECT_EQ(nullptr, find_segment(snap, 8));
  EXPECT_EQ(nullptr, find_segment(HlsSnapshot{}, 0));
}

TEST(HlsPlaylist, ParsesSegmentNamesStrictly) {
  EXPECT_EQ(0u, parse_segment_name("seg-0.ts"));
  EXPECT_EQ(123u, parse_segment_name("seg-123.ts"));
  EXPECT_EQ(9999999999999999999u, parse_segment_name("seg-9999999999999999999.ts"));
  EXPECT_EQ("seg-42.ts", segment_name(42));
  EXPECT_EQ(42u, parse_segment_name(segment_name(42)));
  for (const char* bad :
       {"", "seg-.ts", "seg-01.ts", "seg--1.ts", "seg-+1.ts", "seg-1.ts?x", "seg-1.tsx", "seg-1.TS",
        "Seg-1.ts", "seg-1", "seg-1a.ts", "/seg-1.ts", "seg-1 .ts", "seg-10000000000000000000.ts",
        "seg-18446744073709551616.ts"}) {
    EXPECT_FALSE(parse_segment_name(bad).has_value()) << bad;
  }
  EXPECT_FALSE(parse_segment_name(std::string_view("seg-1.ts\0", 9)).has_value());
  EXPECT_FALSE(parse_segment_name(std::string(1000, '1')).has_value());
}

// avcC with SPS {67 01} and PPS {68 02}, 4-byte lengths.
const std::string kAvcc("\x01\x64\x00\x1f\xff\xe1\x00\x02\x67\x01\x01\x00\x02\x68\x02", 15);

// Low-Latency HLS: two complete segments of five 0.2 s parts and an open one with two.
HlsSnapshot low_latency_snapshot() {
  HlsSnapshot snap = snapshot_of(7, {1.0, 1.0}, false);
  snap.variant = HlsVariant::kLowLatency;
  snap.part_target = std::chrono::milliseconds(200);
  snap.target_duration = std::chrono::milliseconds(1000);
  auto part = [](bool independent) {
    return HlsPart{0.2, std::make_shared<const std::string>("moof"), independent};
  };
  for (auto& seg : snap.segments) {
    seg.init_id = 1;
    for (int i = 0; i < 5; ++i)
      seg.parts.push_back(part(i == 0));
  }
  snap.inits = {HlsInit{1, std::make_shared<const std::string>("ftyp")}};
  snap.open_sequence = 9;
  snap.open_init_id = 1;
  snap.open_parts = {part(true), part(false)};
  return snap;
}

TEST(HlsPlaylist, LowLatencyListsPartsHintsAndServerControl) {
  const std::string text = render_playlist(low_latency_snapshot(), "?key=k", 6);
  EXPECT_EQ(text,
            "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n"
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600\n"
            "#EXT-X-PART-INF:PART-TARGET=0.200\n#EXT-X-MEDIA-SEQUENCE:7\n"
            "#EXT-X-MAP:URI=\"init-1.mp4?key=k\"\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-7-0.mp4?key=k\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-7-1.mp4?key=k\"\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-7-2.mp4?key=k\"\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-7-3.mp4?key=k\"\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-7-4.mp4?key=k\"\n"
            "#EXTINF:1.000,\nseg-7.mp4?key=k\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-8-0.mp4?key=k\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-8-1.mp4?key=k\"\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-8-2.mp4?key=k\"\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-8-3.mp4?key=k\"\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-8-4.mp4?key=k\"\n"
            "#EXTINF:1.000,\nseg-8.mp4?key=k\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-9-0.mp4?key=k\",INDEPENDENT=YES\n"
            "#EXT-X-PART:DURATION=0.200,URI=\"part-9-1.mp4?key=k\"\n"
            "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-9-2.mp4?key=k\"\n");
}

TEST(HlsPlaylist, ANewPublisherGetsADiscontinuityAndANewMap) {
  HlsSnapshot snap = low_latency_snapshot();
  snap.open_discontinuity = true;
  snap.open_init_id = 2;
  snap.inits.push_back(HlsInit{2, std::make_shared<const std::string>("ftyp2")});
  const std::string text = render_playlist(snap, "", 6);
  EXPECT_NE(text.find("seg-8.mp4\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-2.mp4\"\n"
                      "#EXT-X-PART:DURATION=0.200,URI=\"part-9-0.mp4\""),
            std::string::npos)
      << text;
  EXPECT_EQ(*find_file(snap, *parse_hls_file("init-2.mp4")), "ftyp2");
}

TEST(HlsPlaylist, BlockingReloadHoldsCompleteSegmentsAndExistingParts) {
  const HlsSnapshot snap = low_latency_snapshot();
  EXPECT_TRUE(holds(snap, 8, std::nullopt));
  EXPECT_FALSE(holds(snap, 9, std::nullopt));  // open: not complete
  EXPECT_TRUE(holds(snap, 9, 1));
  EXPECT_FALSE(holds(snap, 9, 2));  // the hinted part
  EXPECT_TRUE(holds(snap, 8, 17));  // a complete segment holds all its parts
  EXPECT_FALSE(holds(snap, 10, 0));
  EXPECT_EQ(last_sequence(snap), 9u);
}

TEST(HlsPlaylist, HlsFileNamesAreParsedStrictlyAndFound) {
  const HlsSnapshot snap = low_latency_snapshot();
  auto part = parse_hls_file("part-9-1.mp4");
  ASSERT_TRUE(part);
  EXPECT_EQ(part->kind, HlsFile::Kind::kPart);
  EXPECT_EQ(part->number, 9u);
  EXPECT_EQ(part->part, 1u);
  EXPECT_NE(find_file(snap, *part), nullptr);
  EXPECT_EQ(find_file(snap, *parse_hls_file("part-9-2.mp4")), nullptr);
  EXPECT_NE(find_file(snap, *parse_hls_file("part-7-4.mp4")), nullptr);
  EXPECT_NE(find_file(snap, *parse_hls_file("seg-8.mp4")), nullptr);
  EXPECT_EQ(find_file(snap, *parse_hls_file("seg-8.ts")), nullptr);  // another variant's name
  EXPECT_NE(find_file(snap, *parse_hls_file("init-1.mp4")), nullptr);
  for (const char* bad : {"part-9.mp4", "part-09-1.mp4", "part-9-1.ts", "init-.mp4", "seg-8.mp4x",
                          "part--1.mp4", "index.m3u8", "part-9-1.mp4?x"}) {
    EXPECT_FALSE(parse_hls_file(bad)) << bad;
  }
  EXPECT_FALSE(parse_hls_file(std::string(60, '1') + ".mp4"));
  EXPECT_EQ(parse_variant("lowlatency"), HlsVariant::kLowLatency);
  EXPECT_FALSE(parse_variant("dash"));
}

TEST(HlsCodec, AvcConfigAndAnnexB) {
  auto config = parse_avc_config(bytes(kAvcc));
  ASSERT_TRUE(config);
  EXPECT_EQ(4u, config->nal_length_size);
  ASSERT_EQ(2u, config->parameter_sets.size());

  const std::string idr("\x00\x00\x00\x02\x65\xAA\x00\x00\x00\x01\x06", 11);
  std::string out;
  ASSERT_TRUE(append_annexb(*config, bytes(idr), true, out));
  EXPECT_EQ(
      out, std::string("\0\0\0\x01\x67\x01\0\0\0\x01\x68\x02\0\0\0\x01\x65\xAA\0\0\0\x01\x06", 23));
  out.clear();
  ASSERT_TRUE(append_annexb(*config, bytes(idr), false, out));
  EXPECT_EQ(out, std::string("\0\0\0\x01\x65\xAA\0\0\0\x01\x06", 11));

  out = "keep";
  EXPECT_FALSE(append_annexb(*config, bytes(std::string("\0\0\0\x09\x65", 5)), true, out));
  EXPECT_FALSE(append_annexb(*config, bytes(std::string("\0\0", 2)), true, out));
  EXPECT_FALSE(append_annexb(*config, bytes(""), true, out));
  EXPECT_EQ("keep", out);

  for (std::size_t n = 0; n < kAvcc.size(); ++n) {
    EXPECT_FALSE(parse_avc_config(bytes(kAvcc.substr(0, n)))) << n;
  }
}

TEST(HlsCodec, HevcConfig) {
  std::string hvcc(22, '\0');
  hvcc[0] = 1;
  hvcc[21] = 3;  // 4-byte lengths
  hvcc += std::string("\x02\x20\x00\x01\x00\x02\x40\x01\x21\x00\x01\x00\x02\x42\x01", 15);
  auto config = parse_hevc_config(bytes(hvcc));
  ASSERT_TRUE(config);
  EXPECT_EQ(VideoCodec::kHevc, config->codec);
  EXPECT_EQ(2u, config->parameter_sets.size());
  EXPECT_FALSE(parse_hevc_config(bytes(hvcc.substr(0, hvcc.size() - 1))));
}

TEST(HlsCodec, AacConfigAndAdts) {
  auto lc = parse_aac_config(bytes(std::string("\x12\x10", 2)));  // AAC-LC 44.1 kHz stereo
  ASSERT_TRUE(lc);
  EXPECT_EQ(2u, lc->object_type);
  EXPECT_EQ(4u, lc->frequency_index);
  EXPECT_EQ(2u, lc->channel_config);
  EXPECT_EQ(44100, lc->sample_rate);
  std::string out;
  ASSERT_TRUE(append_adts(*lc, bytes("abc"), out));
  EXPECT_EQ(out, std::string("\xFF\xF1\x50\x80\x01\x5F\xFC"
                             "abc",
                             10));
  EXPECT_FALSE(append_adts(*lc, bytes(std::string(8185, 'x')), out));
  EXPECT_FALSE(append_adts(*lc, bytes(""), out));

  // HE-AAC (explicit SBR, 24 kHz core, 48 kHz output) -> core AAC-LC.
  auto he = parse_aac_config(bytes(std::string("\x2B\x11\x88\x00", 4)));
  ASSERT_TRUE(he);
  EXPECT_EQ(2u, he->object_type);
  EXPECT_FALSE(parse_aac_config(bytes(std::string("\x12", 1))));
  EXPECT_FALSE(parse_aac_config(bytes(std::string("\x17\x80\x00\x00\x10", 5))));  // explicit rate
  EXPECT_FALSE(parse_aac_config(bytes(std::string("\x12\x00", 2))));  // channel config 0
}

// The picture size in an SPS (what an RTSP publisher's SDP carries instead of RTMP metadata),
// cropping included: 1080 lines are coded as 1088.
TEST(CodecConfig, H264PictureSizeFromTheSps) {
  const std::string small(
      "\x67\x64\x00\x0d\xac\xd9\x41\x41\xfb\x01\x10\x00\x00\x03\x00\x10\x00\x00\x03\x03\x20"
      "\xf1\x42\x99\x60",
      25);
  const std::string hd(
      "\x67\x64\x00\x28\xac\xd9\x40\x78\x02\x27\xe5\xc0\x44\x00\x00\x03\x00\x04\x00\x00\x03"
      "\x00\xc8\x3c\x60\xc6\x58",
      27);
  auto a = h264_picture_size(small);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->width, 320);
  EXPECT_EQ(a->height, 240);
  auto b = h264_picture_size(hd);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->width, 1920);
  EXPECT_EQ(b->height, 1080);
  EXPECT_FALSE(h264_picture_size(small.substr(0, 6)));  // cut short
  EXPECT_FALSE(h264_picture_size("\x68\x00\x00\x00"));  // a PPS
}

}  // namespace
