// SRT end to end (issue 13) with the real ffmpeg against a real sluiced: an encoder publishes
// MPEG-TS over SRT with a stream key in the streamid (the SRT access-control form, raw or
// URL-encoded) and the path plays over RTMP, RTSP and HLS; a caller without a valid key, or
// asking to play, is refused at the handshake and nothing goes live.
#include "media_fixture.hpp"

namespace sluice::testing {
namespace {

class SrtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{"--hls-segment", "1"});
    ASSERT_TRUE(daemon_->start());
    ASSERT_GT(daemon_->srt_port(), 0) << daemon_->output();
  }
  Answer api(std::string_view method, const std::string& target, std::string_view body = {}) {
    return http_call(daemon_->url(), method, target, body);
  }
  std::string create_key(const std::string& stream) {
    auto a = api("POST", "/keys", R"({"stream":")" + stream + "\"}");
    EXPECT_EQ(a.status, 201) << a.raw;
    return str(a.body, "key");
  }
  std::string srt(const std::string& stream_id) const {
    return "srt://127.0.0.1:" + std::to_string(daemon_->srt_port()) + "?streamid=" + stream_id;
  }
  std::vector<std::string> publisher(const std::string& url) {
    auto argv = publisher_argv(url);
    argv.erase(argv.end() - 3, argv.end());  // "-f flv URL" -> MPEG-TS over SRT
    argv.insert(argv.end(), {"-f", "mpegts", url});
    return argv;
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(SrtTest, AKeyedPublisherPlaysOverEveryDoor) {
  const std::string key = create_key("stage");
  ChildProcess ffmpeg;
  ASSERT_TRUE(ffmpeg.spawn(publisher(srt("#!::r=live/" + key + ",m=publish")), true));
  ASSERT_TRUE(eventually(
      [&] {
        auto p = api("GET", "/media/paths/stage").body;
        return num(p, "video_frames") > 25 && num(p, "width") == 320 &&
               str(p, "audio_codec") == "aac";
      },
      30s))
      << ffmpeg.stdout_text() << daemon_->output();
  EXPECT_EQ(str(api("GET", "/media/paths/stage").body.at("publisher"), "protocol"), "srt");
  const std::vector<std::string> av{"h264 320x240", "aac"};
  const std::string rtmp =
      "rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) + "/live/stage";
  CommandResult r;
  EXPECT_EQ(probe_streams(rtmp, &r), av) << r.err;
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/stage/index.m3u8", &r), av) << r.err;
  auto decoded =
      run_command({program_path("ffmpeg"), "-nostdin", "-v", "error", "-i",
                   "rtsp://127.0.0.1:" + std::to_string(daemon_->rtsp_port()) + "/live/stage", "-t",
                   "2", "-f", "null", "-"},
                  60s);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(daemon_->output().find(key), std::string::npos) << "the key was logged";
  ffmpeg.kill_and_reap();
  EXPECT_TRUE(eventually([&] { return api("GET", "/media/paths/stage").status == 404; }, 40s));

  // The URL-encoded form (what newer clients send) and the short form publish too.
  const std::vector<std::string> forms{"%23%21%3A%3Ar%3Dlive%2F" + key + "%2Cm%3Dpublish",
                                       "publish:" + key};
  for (const std::string& id : forms) {
    ChildProcess again;
    ASSERT_TRUE(again.spawn(publisher(srt(id)), true));
    EXPECT_TRUE(eventually(
        [&] { return num(api("GET", "/media/paths/stage").body, "video_frames") > 10; }, 30s))
        << id;
    again.kill_and_reap();
    EXPECT_TRUE(eventually([&] { return api("GET", "/media/paths/stage").status == 404; }, 40s));
  }
}

TEST_F(SrtTest, CallersWithoutAKeyOrAskingToPlayAreRefusedAtTheHandshake) {
  const std::string key = create_key("stage");
  const std::vector<std::string> refused{
      "#!::r=live/stage,m=publish", "#!::r=live/" + key.substr(0, key.size() - 2) + "xx,m=publish",
      "#!::r=live/stage,m=request", "no form at all"};
  for (const std::string& id : refused) {
    ChildProcess ffmpeg;
    ASSERT_TRUE(ffmpeg.spawn(publisher(srt(id)), true));
    auto code = ffmpeg.wait(20s);
    EXPECT_TRUE(code.has_value()) << id << ": the caller was not refused";
    if (code) EXPECT_NE(*code, 0) << id;
  }
  EXPECT_EQ(api("GET", "/media/paths/stage").status, 404);
  EXPECT_NE(daemon_->output().find("srt: caller"), std::string::npos);
  EXPECT_NE(api("GET", "/metrics").raw.find("sluice_srt_refused_total 4"), std::string::npos)
      << api("GET", "/metrics").raw.substr(0, 200);
}

}  // namespace
}  // namespace sluice::testing
