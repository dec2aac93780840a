// HLS variants end to end (issue 13) with the real ffmpeg and ffprobe against a real sluiced:
// Low-Latency HLS (the default) lists fMP4 parts with INDEPENDENT keyframe parts, a preload hint
// and server control; a blocking playlist reload is answered once the part it names exists, a
// reload too far ahead is 400 (readable cross-origin), a request for the hinted part waits for
// it; `--hls-variant mpegts` serves MPEG-TS segments and `fmp4` fMP4 segments without parts;
// every variant decodes in ffmpeg. (hls.js in Chromium plays it: browser_hls_test.cpp.)
#include <regex>

#include "media_fixture.hpp"

namespace sluice::testing {
namespace {

const std::vector<std::string> kAvStreams{"h264 320x240", "aac"};

class HlsTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args) {
    args.insert(args.end(), {"--hls-segment", "1"});
    daemon_ = std::make_unique<DaemonProcess>(args);
    ASSERT_TRUE(daemon_->start());
    auto key = http_call(daemon_->url(), "POST", "/keys", R"({"stream":"cam"})");
    ASSERT_EQ(key.status, 201) << key.raw;
    ASSERT_TRUE(
        publisher_.spawn(publisher_argv("rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) +
                                        "/live/" + str(key.body, "key")),
                         true));
    ASSERT_TRUE(eventually(
        [&] {
          playlist_ = get("/live/cam/index.m3u8").raw;
          return std::count(playlist_.begin(), playlist_.end(), '\n') > 0 &&
                 playlist_.find("#EXTINF") != std::string::npos &&
                 playlist_.find("#EXTINF", playlist_.find("#EXTINF") + 1) != std::string::npos;
        },
        30s))
        << playlist_ << daemon_->output();
  }
  Answer get(const std::string& target) { return http_call(daemon_->url(), "GET", target); }
  // Status line and headers of GET `target` over a raw socket.
  std::string head_of(const std::string& target) {
    TcpClient c(daemon_->port());
    c.send_all("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    c.read_to_end(10s);
    const std::string all = c.received();
    return all.substr(0, all.find("\r\n\r\n"));
  }

  std::unique_ptr<DaemonProcess> daemon_;
  ChildProcess publisher_;
  std::string playlist_;
};

double tag_number(const std::string& text, const std::string& attribute) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(attribute + "=([0-9.]+)"))) return -1;
  return std::stod(m[1].str());
}

TEST_F(HlsTest, LowLatencyPlaylistsHavePartsHintsAndBlockingReload) {
  start({});
  EXPECT_NE(playlist_.find("#EXT-X-VERSION:9\n"), std::string::npos) << playlist_;
  EXPECT_NE(playlist_.find("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES"), std::string::npos);
  const double part_target = tag_number(playlist_, "PART-TARGET");
  EXPECT_GT(part_target, 0) << playlist_;
  EXPECT_GE(tag_number(playlist_, "PART-HOLD-BACK"), 3 * part_target - 1e-9) << playlist_;

  // Each listed segment's parts add up to it; its first part starts with a keyframe.
  std::smatch map;
  ASSERT_TRUE(
      std::regex_search(playlist_, map, std::regex(R"re(#EXT-X-MAP:URI="(init-\d+\.mp4)")re")))
      << playlist_;
  const auto init = get("/live/cam/" + map[1].str());
  ASSERT_EQ(init.status, 200);
  EXPECT_EQ(init.raw.substr(4, 4), "ftyp");
  const std::regex part_line(
      R"re(#EXT-X-PART:DURATION=([0-9.]+),URI="part-(\d+)-(\d+)\.mp4"(,INDEPENDENT=YES)?)re");
  const std::regex extinf(R"(#EXTINF:([0-9.]+),\nseg-(\d+)\.mp4)");
  std::map<std::uint64_t, double> part_sums;
  int parts = 0;
  for (auto it = std::sregex_iterator(playlist_.begin(), playlist_.end(), part_line);
       it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    EXPECT_LE(std::stod(m[1].str()), part_target + 0.05) << m.str();
    part_sums[std::stoull(m[2].str())] += std::stod(m[1].str());
    EXPECT_EQ(m[3].str() == "0", m[4].matched) << "INDEPENDENT on the first part only: " << m.str();
    if (++parts == 1) {
      const auto data = get("/live/cam/part-" + m[2].str() + "-" + m[3].str() + ".mp4");
      ASSERT_EQ(data.status, 200);
      EXPECT_EQ(data.raw.substr(4, 4), "moof");
    }
  }
  EXPECT_GT(parts, 3) << playlist_;
  for (auto it = std::sregex_iterator(playlist_.begin(), playlist_.end(), extinf);
       it != std::sregex_iterator(); ++it) {
    const auto seq = std::stoull((*it)[2].str());
    if (part_sums.count(seq)) {
      EXPECT_NEAR(part_sums[seq], std::stod((*it)[1].str()), 0.002) << "segment " << seq;
    }
  }

  // The preload hint names the next part: a blocking reload for it returns once it exists.
  std::smatch hint;
  ASSERT_TRUE(std::regex_search(
      playlist_, hint,
      std::regex(R"re(#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-(\d+)-(\d+)\.mp4")re")))
      << playlist_;
  const std::string msn = hint[1].str(), part = hint[2].str();
  auto started = std::chrono::steady_clock::now();
  const auto blocked = get("/live/cam/index.m3u8?_HLS_msn=" + msn + "&_HLS_part=" + part);
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(blocked.status, 200) << blocked.raw;
  const bool listed =
      blocked.raw.find("part-" + msn + "-" + part + ".mp4\"") != std::string::npos ||
      blocked.raw.find("seg-" + msn + ".mp4") != std::string::npos;
  EXPECT_TRUE(listed) << "the reload answered without the part it waited for:\n" << blocked.raw;
  EXPECT_LT(waited, 3s);
  // A request for the part a new hint names waits for it and gets it.
  ASSERT_TRUE(std::regex_search(
      blocked.raw, hint,
      std::regex(R"re(#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(part-\d+-\d+\.mp4)")re")));
  const auto next = get("/live/cam/" + hint[1].str());
  ASSERT_EQ(next.status, 200);
  EXPECT_EQ(next.raw.substr(4, 4), "moof");
  // Too far ahead: 400 at once, readable from a web page.
  const std::string far = std::to_string(std::stoull(msn) + 10);
  const std::string refused = head_of("/live/cam/index.m3u8?_HLS_msn=" + far);
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 400")) << refused;
  EXPECT_NE(refused.find("Access-Control-Allow-Origin: *"), std::string::npos) << refused;
  EXPECT_EQ(get("/live/cam/index.m3u8?_HLS_msn=abc").status, 400);
  EXPECT_EQ(get("/live/cam/part-0-99999.mp4").status, 404);

  CommandResult r;
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/cam/index.m3u8", &r), kAvStreams) << r.err;
  auto decoded =
      run_command({program_path("ffmpeg"), "-nostdin", "-v", "error", "-i",
                   daemon_->url() + "/live/cam/index.m3u8", "-t", "2", "-f", "null", "-"},
                  60s);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
}

TEST_F(HlsTest, MpegTsVariantServesTransportStreamSegments) {
  start({"--hls-variant", "mpegts"});
  EXPECT_NE(playlist_.find("#EXT-X-VERSION:3\n"), std::string::npos) << playlist_;
  EXPECT_EQ(playlist_.find("#EXT-X-PART"), std::string::npos) << playlist_;
  EXPECT_EQ(playlist_.find("#EXT-X-MAP"), std::string::npos) << playlist_;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(playlist_, m, std::regex(R"(seg-\d+\.ts)"))) << playlist_;
  const auto segment = get("/live/cam/" + m.str());
  ASSERT_EQ(segment.status, 200);
  ASSERT_GE(segment.raw.size(), 188u * 3);
  EXPECT_EQ(segment.raw.size() % 188, 0u);
  for (std::size_t i = 0; i < segment.raw.size(); i += 188) {
    ASSERT_EQ(segment.raw[i], '\x47') << "no TS sync byte at " << i;
  }
  EXPECT_NE(head_of("/live/cam/" + m.str()).find("Content-Type: video/mp2t"), std::string::npos);
  CommandResult r;
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/cam/index.m3u8", &r), kAvStreams) << r.err;
}

TEST_F(HlsTest, Fmp4VariantServesFragmentedMp4SegmentsWithoutParts) {
  start({"--hls-variant", "fmp4"});
  EXPECT_NE(playlist_.find("#EXT-X-VERSION:7\n"), std::string::npos) << playlist_;
  EXPECT_NE(playlist_.find("#EXT-X-MAP:URI=\"init-1.mp4\""), std::string::npos) << playlist_;
  EXPECT_EQ(playlist_.find("#EXT-X-PART"), std::string::npos) << playlist_;
  EXPECT_EQ(playlist_.find("PRELOAD-HINT"), std::string::npos) << playlist_;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(playlist_, m, std::regex(R"(seg-\d+\.mp4)"))) << playlist_;
  EXPECT_EQ(get("/live/cam/" + m.str()).raw.substr(4, 4), "moof");
  EXPECT_NE(head_of("/live/cam/" + m.str()).find("Content-Type: video/mp4"), std::string::npos);
  CommandResult r;
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/cam/index.m3u8", &r), kAvStreams) << r.err;
}

TEST(HlsVariantFlag, AnUnknownVariantStopsTheDaemonNamingTheFlag) {
  DaemonProcess daemon({"--hls-variant", "dash"});
  EXPECT_FALSE(daemon.start());
  EXPECT_NE(daemon.output().find("hls-variant"), std::string::npos) << daemon.output();
}

}  // namespace
}  // namespace sluice::testing
