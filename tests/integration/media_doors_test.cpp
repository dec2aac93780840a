// Every door to every door (issue 13): a path published with a stream key over RTMP, RTSP (TCP),
// RTSP (UDP) or SRT by the real ffmpeg is read back by the real ffprobe over RTMP, HTTP-FLV, HLS,
// RTSP (TCP), RTSP (UDP) and SRT — the same H.264 picture size and AAC every time.
#include "media_fixture.hpp"

namespace sluice::testing {
namespace {

const std::vector<std::string> kAvStreams{"h264 320x240", "aac"};

class MediaDoors : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{"--hls-segment", "1"});
    ASSERT_TRUE(daemon_->start());
  }
  std::string port(int p) const { return "127.0.0.1:" + std::to_string(p); }

  // ffmpeg publishing to `path` (the key's stream) through the door `door`.
  std::vector<std::string> publisher(const std::string& door, const std::string& key) {
    auto argv = publisher_argv("rtmp://" + port(daemon_->rtmp_port()) + "/live/" + key);
    if (door == "rtmp") return argv;
    argv.erase(argv.end() - 3, argv.end());  // "-f flv URL"
    const std::string rtsp = "rtsp://" + port(daemon_->rtsp_port()) + "/live/" + key;
    if (door == "rtsp-tcp") argv.insert(argv.end(), {"-f", "rtsp", "-rtsp_transport", "tcp", rtsp});
    if (door == "rtsp-udp") argv.insert(argv.end(), {"-f", "rtsp", "-rtsp_transport", "udp", rtsp});
    if (door == "srt") {
      argv.insert(argv.end(), {"-f", "mpegts",
                               "srt://" + port(daemon_->srt_port()) + "?streamid=#!::r=live/" +
                                   key + ",m=publish"});
    }
    return argv;
  }

  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_P(MediaDoors, APathPublishedThroughThisDoorPlaysThroughEveryDoor) {
  auto created = http_call(daemon_->url(), "POST", "/keys", R"({"stream":"door"})");
  ASSERT_EQ(created.status, 201) << created.raw;
  ChildProcess ffmpeg;
  ASSERT_TRUE(ffmpeg.spawn(publisher(GetParam(), str(created.body, "key")), true));
  ASSERT_TRUE(eventually(
      [&] {
        auto p = http_call(daemon_->url(), "GET", "/media/paths/door").body;
        return num(p, "video_frames") > 10 && str(p, "audio_codec") == "aac" &&
               num(p, "width") == 320;
      },
      30s))
      << ffmpeg.stdout_text() << daemon_->output();
  const std::string rtsp = "rtsp://" + port(daemon_->rtsp_port()) + "/live/door";
  const std::vector<std::pair<std::string, std::vector<std::string>>> readers{
      {"rtmp://" + port(daemon_->rtmp_port()) + "/live/door", {}},
      {daemon_->url() + "/live/door.flv", {}},
      {daemon_->url() + "/live/door/index.m3u8", {}},
      {rtsp, {"-rtsp_transport", "tcp"}},
      {rtsp, {"-rtsp_transport", "udp"}},
      {"srt://" + port(daemon_->srt_port()) + "?streamid=#!::r=live/door,m=request", {}}};
  for (const auto& [url, options] : readers) {
    CommandResult r;
    EXPECT_EQ(probe_streams(url, &r, 40s, options), kAvStreams)
        << GetParam() << " -> " << url << " " << (options.empty() ? "" : options.back()) << ": "
        << r.err;
  }
  EXPECT_TRUE(ffmpeg.running()) << ffmpeg.stdout_text();
}

INSTANTIATE_TEST_SUITE_P(Publishers, MediaDoors,
                         ::testing::Values("rtmp", "rtsp-tcp", "rtsp-udp", "srt"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace sluice::testing
