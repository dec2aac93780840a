// HlsMuxer against the real ffmpeg tools: FLV test patterns made by `ffmpeg` (libx264 + AAC),
// parsed with FlvReader, muxed to memory, written to a temp dir and checked with `ffprobe`
// (playlist and every segment on its own). ffmpeg and ffprobe are found on PATH.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "media/flv.hpp"
#include "media/packet.hpp"
#include "media/protocols/hls/hls_muxer.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sluice::media;
using namespace std::chrono_literals;

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  pclose(p);
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void spill(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

class HlsMuxerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sluice-hls-XXXXXX";
    root_ = mkdtemp(tmpl);
    const std::string lavfi =
        "ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=25 "
        "-f lavfi -i sine=frequency=1000:sample_rate=44100 ";
    const std::string x264 = "-c:v libx264 -g 25 -pix_fmt yuv420p ";
    ASSERT_EQ(
        0, std::system((lavfi + "-t 7 " + x264 + "-c:a aac -f flv " + root_ + "/av.flv").c_str()));
    ASSERT_EQ(0, std::system((lavfi + "-t 4 " + x264 + "-an -f flv " + root_ + "/v.flv").c_str()));
    ASSERT_EQ(0, std::system((lavfi + "-t 5 -vn -c:a aac -f flv " + root_ + "/a.flv").c_str()));
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static std::vector<MediaPacket> load(const std::string& name) {
    const std::string bytes = slurp(root_ + "/" + name);
    FlvReader reader;
    std::vector<FlvTag> tags;
    EXPECT_TRUE(
        reader.feed({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, tags));
    std::vector<MediaPacket> packets;
    for (auto& t : tags) {
      packets.push_back(
          classify_packet(t.type, t.timestamp, std::string(t.body.begin(), t.body.end())));
    }
    return packets;
  }

  // Writes index.m3u8 (every retained segment) and the segments into a fresh directory.
  static fs::path write_out(const HlsSnapshot& snap, const std::string& name) {
    const fs::path dir = fs::path(root_) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    spill(dir / "index.m3u8", render_playlist(snap, "", 0));
    for (const auto& s : snap.segments)
      spill(dir / segment_name(s.sequence, snap.variant), *s.data);
    for (const auto& init : snap.inits)
      spill(dir / ("init-" + std::to_string(init.id) + ".mp4"), *init.data);
    return dir;
  }

  // Stream codec names once each (ffprobe lists a program's streams again).
  static std::vector<std::string> codecs_of(const fs::path& file) {
    std::vector<std::string> out;
    for (auto& c : lines(probe(file, "-show_entries stream=codec_name"))) {
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    }
    return out;
  }

  static std::string probe(const fs::path& file, const std::string& args) {
    return run("ffprobe -v error " + args + " -of csv=p=0 '" + file.string() + "' 2>&1");
  }

  // Per segment: MPEG-TS starting with PAT, the expected streams, a keyframe first.
  static void check_segments(const fs::path& dir, const HlsSnapshot& snap,
                             const std::vector<std::string>& codecs, bool video) {
    for (const auto& s : snap.segments) {
      SCOPED_TRACE("segment " + std::to_string(s.sequence));
      const fs::path file = dir / segment_name(s.sequence);
      const std::string& d = *s.data;
      ASSERT_GE(d.size(), 188u * 3);
      EXPECT_EQ(0u, d.size() % 188);
      EXPECT_EQ(0x47, static_cast<std::uint8_t>(d[0]));
      // TS packet PIDs: the first PAT (PID 0) must come before any elementary stream PID.
      int first_pid =
          ((static_cast<std::uint8_t>(d[1]) & 0x1F) << 8) | static_cast<std::uint8_t>(d[2]);
      if (first_pid == 0x11) {  // SDT first is fine; PAT follows
        first_pid =
            ((static_cast<std::uint8_t>(d[189]) & 0x1F) << 8) | static_cast<std::uint8_t>(d[190]);
      }
      EXPECT_EQ(0, first_pid);
      EXPECT_EQ("mpegts", lines(probe(file, "-show_entries format=format_name")).at(0));
      EXPECT_EQ(codecs, codecs_of(file));
      if (video) {
        // "key_frame[,side data]" of the first video frame.
        const auto first = lines(probe(file,
                                       "-select_streams v -show_frames -read_intervals %+#1 "
                                       "-show_entries frame=key_frame"));
        ASSERT_FALSE(first.empty());
        EXPECT_EQ("1", first[0].substr(0, first[0].find(',')));
      }
    }
  }

  static double total(const HlsSnapshot& snap) {
    double sum = 0;
    for (const auto& s : snap.segments)
      sum += s.duration_s;
    return sum;
  }

  static void report(const char* what, const HlsSnapshot& snap) {
    std::printf("%s:", what);
    for (const auto& s : snap.segments) {
      std::printf(" [%llu %.3fs %zuB]", static_cast<unsigned long long>(s.sequence), s.duration_s,
                  s.data->size());
    }
    std::printf("\n");
  }

  static inline std::string root_;
};

HlsOptions keep_all(std::chrono::milliseconds target) {
  HlsOptions o;
  o.segment_target = target;
  o.kept_segments = 100;
  o.playlist_segments = 100;
  return o;
}

void push_all(HlsMuxer& m, const std::vector<MediaPacket>& packets) {
  for (const auto& p : packets)
    ASSERT_TRUE(m.push(p)) << "ts " << p.timestamp;
}

TEST_F(HlsMuxerTest, AudioVideoSegmentsProbeWithTarget2s) {
  const auto packets = load("av.flv");
  HlsMuxer m(keep_all(2000ms));
  push_all(m, packets);
  ASSERT_TRUE(m.finish());
  const auto snap = m.snapshot();
  report("av 2s", *snap);
  ASSERT_EQ(4u, snap->segments.size());  // 2 + 2 + 2 + 1
  for (std::size_t i = 0; i + 1 < snap->segments.size(); ++i) {
    EXPECT_NEAR(2.0, snap->segments[i].duration_s, 0.05);
  }
  EXPECT_NEAR(7.0, total(*snap), 0.1);
  EXPECT_TRUE(m.stats().has_video && m.stats().has_audio);

  const auto dir = write_out(*snap, "av2");
  const auto playlist = dir / "index.m3u8";
  EXPECT_NE(std::string::npos, slurp(playlist).find("#EXT-X-ENDLIST"));
  EXPECT_EQ((std::vector<std::string>{"h264", "aac"}), codecs_of(playlist));
  EXPECT_NEAR(7.0, std::stod(lines(probe(playlist, "-show_entries format=duration")).at(0)), 0.3);
  check_segments(dir, *snap, {"h264", "aac"}, true);

  // No audio leaks across a cut: a segment's audio ends before the next one's keyframe.
  for (std::size_t k = 0; k + 1 < snap->segments.size(); ++k) {
    auto pts = [&](std::size_t i, const char* stream) {
      return lines(
          probe(dir / segment_name(snap->segments[i].sequence),
                std::string("-select_streams ") + stream + " -show_entries packet=pts_time"));
    };
    const auto audio = pts(k, "a");
    const auto next_video = pts(k + 1, "v");
    ASSERT_FALSE(audio.empty() || next_video.empty());
    double last_audio = 0;
    for (const auto& t : audio)
      last_audio = std::max(last_audio, std::stod(t));
    EXPECT_LT(last_audio, std::stod(next_video.front())) << "segment " << k;
  }

  // ffmpeg decodes the whole playlist without a single error.
  EXPECT_EQ("", run("ffmpeg -v error -i '" + playlist.string() + "' -f null - 2>&1"));
}

TEST_F(HlsMuxerTest, AudioVideoSegmentsWithTarget1s) {
  HlsMuxer m(keep_all(1000ms));
  push_all(m, load("av.flv"));
  ASSERT_TRUE(m.finish());
  const auto snap = m.snapshot();
  report("av 1s", *snap);
  ASSERT_EQ(7u, snap->segments.size());
  // The last one ends with the audio, which AAC priming makes ~90 ms longer than the video.
  for (const auto& s : snap->segments)
    EXPECT_NEAR(1.0, s.duration_s, 0.1);
  for (std::size_t i = 0; i + 1 < snap->segments.size(); ++i) {
    EXPECT_NEAR(1.0, snap->segments[i].duration_s, 0.001);
  }
  const auto dir = write_out(*snap, "av1");
  check_segments(dir, *snap, {"h264", "aac"}, true);
  EXPECT_NEAR(
      7.0, std::stod(lines(probe(dir / "index.m3u8", "-show_entries format=duration")).at(0)), 0.3);
}

TEST_F(HlsMuxerTest, LivePlaylistSlidesAndDropsOldSegments) {
  HlsOptions o;
  o.segment_target = 1000ms;
  o.playlist_segments = 2;
  o.kept_segments = 3;
  HlsMuxer m(o);
  push_all(m, load("av.flv"));
  const auto live = m.snapshot();
  EXPECT_FALSE(live->ended);
  ASSERT_EQ(3u, live->segments.size());  // 6 cut, 3 kept
  EXPECT_EQ(3u, live->media_sequence);
  EXPECT_EQ(3u, live->segments.front().sequence);
  const std::string text = render_playlist(*live, "?key=k", o.playlist_segments);
  EXPECT_EQ(std::string::npos, text.find("#EXT-X-ENDLIST"));
  EXPECT_NE(std::string::npos, text.find("#EXT-X-MEDIA-SEQUENCE:4\n"));
  EXPECT_NE(std::string::npos, text.find("seg-5.ts?key=k\n"));
  EXPECT_EQ(std::string::npos, text.find("seg-3.ts"));  // kept but not listed
  EXPECT_NE(nullptr, find_segment(*live, 3));
  EXPECT_EQ(nullptr, find_segment(*live, 2));

  ASSERT_TRUE(m.finish());
  const auto ended = m.snapshot();
  EXPECT_TRUE(ended->ended);
  EXPECT_EQ(4u, ended->media_sequence);
  EXPECT_EQ(6u, ended->segments.back().sequence);
  EXPECT_NE(std::string::npos, render_playlist(*ended, "", 2).find("#EXT-X-ENDLIST\n"));
  EXPECT_EQ(nullptr, find_segment(*ended, 3));
  // The snapshot taken earlier is untouched.
  EXPECT_EQ(3u, live->segments.size());
  EXPECT_FALSE(live->ended);
}

TEST_F(HlsMuxerTest, LowLatencyCutsPartsThatMakeUpTheSegments) {
  HlsOptions options = keep_all(1000ms);
  options.variant = HlsVariant::kLowLatency;
  HlsMuxer m(options);
  const auto packets = load("av.flv");
  // While live, the open segment's parts are published as they are cut.
  bool saw_open_parts = false;
  for (const auto& p : packets) {
    ASSERT_TRUE(m.push(p)) << "ts " << p.timestamp;
    saw_open_parts = saw_open_parts || !m.snapshot()->open_parts.empty();
  }
  EXPECT_TRUE(saw_open_parts);
  ASSERT_TRUE(m.finish());
  const auto snap = m.snapshot();
  report("av low latency 1s", *snap);
  ASSERT_GE(snap->segments.size(), 6u);
  ASSERT_EQ(snap->inits.size(), 1u);
  EXPECT_EQ(snap->inits[0].data->substr(4, 4), "ftyp");
  for (const auto& seg : snap->segments) {
    ASSERT_FALSE(seg.parts.empty());
    std::string joined;
    double sum = 0;
    for (std::size_t i = 0; i < seg.parts.size(); ++i) {
      const auto& part = seg.parts[i];
      EXPECT_EQ(part.data->substr(4, 4), "moof") << "segment " << seg.sequence << " part " << i;
      EXPECT_EQ(part.independent, i == 0) << "segment " << seg.sequence << " part " << i;
      const bool very_last = &seg == &snap->segments.back() && i + 1 == seg.parts.size();
      if (!very_last) EXPECT_LE(part.duration_s, 0.2 + 0.045);  // the last holds the audio tail
      joined += *part.data;
      sum += part.duration_s;
    }
    EXPECT_EQ(joined, *seg.data) << "segment " << seg.sequence;
    EXPECT_NEAR(sum, seg.duration_s, 0.002) << "segment " << seg.sequence;
  }
  const auto dir = write_out(*snap, "ll");
  const auto playlist = dir / "index.m3u8";
  EXPECT_EQ((std::vector<std::string>{"h264", "aac"}), codecs_of(playlist));
  EXPECT_NEAR(7.0, std::stod(lines(probe(playlist, "-show_entries format=duration")).at(0)), 0.3);
}

// An MPEG-TS publisher (SRT) sends ~0.2 s of AAC in one PES, so audio reaches the muxer in bursts,
// up to a burst behind the video. Parts are still cut with both streams in each (one traf per
// track in every moof): a part with video and no audio leaves a gap players stall at.
TEST_F(HlsMuxerTest, LowLatencyPartsCarryBothStreamsWhenAudioComesInBursts) {
  HlsOptions options = keep_all(1000ms);
  options.variant = HlsVariant::kLowLatency;
  HlsMuxer m(options);
  std::vector<MediaPacket> audio;  // held back until 230 ms of it gathered
  for (const auto& p : load("av.flv")) {
    if (p.type == tag_type::kAudio && !p.sequence_header) {
      audio.push_back(p);
      if (p.timestamp - audio.front().timestamp < 230) continue;
      for (const auto& a : audio)
        ASSERT_TRUE(m.push(a)) << "ts " << a.timestamp;
      audio.clear();
      continue;
    }
    ASSERT_TRUE(m.push(p)) << "ts " << p.timestamp;
  }
  for (const auto& a : audio)
    ASSERT_TRUE(m.push(a));
  ASSERT_TRUE(m.finish());
  const auto snap = m.snapshot();
  report("av low latency, audio in bursts", *snap);
  ASSERT_GE(snap->segments.size(), 6u);
  std::size_t parts = 0;
  for (const auto& seg : snap->segments) {
    for (std::size_t i = 0; i < seg.parts.size(); ++i, ++parts) {
      const std::string& data = *seg.parts[i].data;
      std::size_t trafs = 0;
      for (auto at = data.find("traf"); at != std::string::npos; at = data.find("traf", at + 4))
        ++trafs;
      EXPECT_EQ(trafs, 2u) << "segment " << seg.sequence << " part " << i;
    }
  }
  EXPECT_GE(parts, 30u);
  const auto dir = write_out(*snap, "ll-bursts");
  EXPECT_NEAR(
      7.0, std::stod(lines(probe(dir / "index.m3u8", "-show_entries format=duration")).at(0)), 0.3);
}

TEST_F(HlsMuxerTest, VideoOnly) {
  HlsMuxer m(keep_all(1000ms));
  push_all(m, load("v.flv"));
  ASSERT_TRUE(m.finish());
  const auto snap = m.snapshot();
  report("video only 1s", *snap);
  EXPECT_TRUE(m.stats().has_video);
  EXPECT_FALSE(m.stats().has_audio);
  ASSERT_EQ(4u, snap->segments.size());
  EXPECT_NEAR(4.0, total(*snap), 0.1);
  const auto dir = write_out(*snap, "v");
  check_segments(dir, *snap, {"h264"}, true);
}

TEST_F(HlsMuxerTest, AudioOnly) {
  HlsMuxer m(keep_all(2000ms));
  push_all(m, load("a.flv"));
  ASSERT_TRUE(m.finish());
  const auto snap = m.snapshot();
  report("audio only 2s", *snap);
  EXPECT_FALSE(m.stats().has_video);
  EXPECT_TRUE(m.stats().has_audio);
  ASSERT_EQ(3u, snap->segments.size());
  for (std::size_t i = 0; i + 1 < snap->segments.size(); ++i) {
    EXPECT_NEAR(2.0, snap->segments[i].duration_s, 0.03);
  }
  EXPECT_NEAR(5.0, total(*snap), 0.1);
  const auto dir = write_out(*snap, "a");
  check_segments(dir, *snap, {"aac"}, false);
  EXPECT_NEAR(
      5.0, std::stod(lines(probe(dir / "index.m3u8", "-show_entries format=duration")).at(0)), 0.2);
}

TEST_F(HlsMuxerTest, BadInputIsRefusedAndLaterPacketsStillSegment) {
  const auto packets = load("av.flv");
  HlsMuxer m(keep_all(1000ms));
  auto raw = [](std::uint8_t type, std::uint32_t ts, std::string body) {
    return classify_packet(type, ts, std::move(body));
  };
  // Frames before any sequence header: held, then dropped (nobody can decode them).
  std::vector<MediaPacket> frames;
  for (const auto& p : packets) {
    if (!p.sequence_header && p.type != tag_type::kScript) frames.push_back(p);
  }
  for (std::size_t k = 0; k < 100; ++k)
    EXPECT_TRUE(m.push(frames[k]));
  EXPECT_FALSE(m.stats().started);
  EXPECT_GT(m.stats().packets_skipped, 0u);

  EXPECT_FALSE(m.push(raw(tag_type::kVideo, 0, "")));                          // empty
  EXPECT_FALSE(m.push(raw(tag_type::kVideo, 0, std::string("\x17\x00", 2))));  // short AVC
  EXPECT_FALSE(m.push(raw(tag_type::kVideo, 0, std::string("\x17\x00\x00\x00\x00\x01", 6))));
  EXPECT_FALSE(m.push(raw(tag_type::kVideo, 0, std::string("\x12\x00", 2))));      // H.263
  EXPECT_FALSE(m.push(raw(tag_type::kAudio, 0, std::string("\x2f\x00", 2))));      // MP3
  EXPECT_FALSE(m.push(raw(tag_type::kAudio, 0, std::string("\xaf\x00\xff", 3))));  // bad ASC

  // Now the real stream: configuration, then frames with damage mixed in.
  std::size_t refused = 0;
  std::uint32_t last_video = 0;
  for (const auto& p : packets) {
    if (!m.push(p)) ++refused;
    if (p.type == tag_type::kVideo && p.body.size() > 12 && p.body[1] == 1) {
      last_video = p.timestamp;
      // A truncated copy (the NAL length runs past the end) and a replay from the past.
      std::string cut = p.body.substr(0, std::min<std::size_t>(p.body.size(), 12));
      EXPECT_FALSE(m.push(raw(tag_type::kVideo, p.timestamp + 1, cut))) << p.timestamp;
      EXPECT_FALSE(m.push(raw(tag_type::kVideo, p.timestamp > 40 ? p.timestamp - 40 : 0, p.body)))
          << p.timestamp;
    }
  }
  EXPECT_EQ(0u, refused);
  EXPECT_GT(last_video, 6000u);
  ASSERT_TRUE(m.finish());
  EXPECT_FALSE(m.push(packets.back()));  // after finish: 409
  const auto snap = m.snapshot();
  report("damaged av 1s", *snap);
  ASSERT_EQ(7u, snap->segments.size());
  const auto dir = write_out(*snap, "bad");
  check_segments(dir, *snap, {"h264", "aac"}, true);
  EXPECT_EQ("", run("ffmpeg -v error -i '" + (dir / "index.m3u8").string() + "' -f null - 2>&1"));
}

TEST_F(HlsMuxerTest, OversizedSegmentsAreCut) {
  HlsOptions o = keep_all(10000ms);
  o.max_segment_bytes = 64 * 1024;  // the minimum
  HlsMuxer m(o);
  push_all(m, load("av.flv"));
  ASSERT_TRUE(m.finish());
  const auto snap = m.snapshot();
  ASSERT_GT(snap->segments.size(), 3u);
  for (const auto& s : snap->segments)
    EXPECT_LE(s.data->size(), o.max_segment_bytes);
  EXPECT_NEAR(7.0, total(*snap), 0.1);
}

}  // namespace
