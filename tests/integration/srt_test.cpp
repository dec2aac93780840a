// SRT end to end (issue 13) with the real ffmpeg and ffprobe against a real sluiced: an encoder
// publishes MPEG-TS over SRT with a stream key in the streamid (the SRT access-control form, raw
// or URL-encoded) and the path plays over RTMP, HTTP-FLV, RTSP, HLS and SRT; a path published over
// RTMP plays over SRT (every streamid form), with the link's SRT statistics in /media/paths and
// /metrics, a kick, and its end when the publisher leaves; a caller without a valid key, asking
// for a path nobody publishes or a private path without its read key, is refused at the
// handshake.
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
  std::string srt_base() const { return "srt://127.0.0.1:" + std::to_string(daemon_->srt_port()); }
  std::string srt(const std::string& stream_id) const {
    return "srt://127.0.0.1:" + std::to_string(daemon_->srt_port()) + "?streamid=" + stream_id;
  }
  std::vector<std::string> publisher(const std::string& url, PublishSpec spec = {}) {
    auto argv = publisher_argv(url, spec);
    argv.erase(argv.end() - 3, argv.end());  // "-f flv URL" -> MPEG-TS over SRT
    argv.insert(argv.end(), {"-f", "mpegts", url});
    return argv;
  }
  // ffmpeg publishes `name` over RTMP with `key`; returns once the path is live.
  void publish_over_rtmp(ChildProcess& ffmpeg, const std::string& key, const std::string& name) {
    ASSERT_TRUE(ffmpeg.spawn(
        publisher_argv("rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) + "/live/" + key),
        true));
    ASSERT_TRUE(eventually(
        [&] { return num(api("GET", "/media/paths/" + name).body, "video_frames") > 10; }, 30s))
        << ffmpeg.stdout_text() << daemon_->output();
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
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/stage.flv", &r), av) << r.err;
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/stage/index.m3u8", &r), av) << r.err;
  EXPECT_EQ(probe_streams(srt("#!::r=live/stage,m=request"), &r), av) << r.err;
  // What libsrt measures of the publisher's link.
  const auto publisher_link = api("GET", "/media/paths/stage").body.at("publisher");
  ASSERT_TRUE(publisher_link.as_object().contains("srt")) << publisher_link;
  EXPECT_GE(num(publisher_link.at("srt"), "rtt_ms"), 0);
  EXPECT_GT(num(publisher_link.at("srt"), "mbps"), 0);
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

TEST_F(SrtTest, AnRtmpPathPlaysOverSrtWithItsLinkStatistics) {
  const std::string key = create_key("cam");
  ChildProcess ffmpeg;
  ASSERT_NO_FATAL_FAILURE(publish_over_rtmp(ffmpeg, key, "cam"));
  const std::vector<std::string> av{"h264 320x240", "aac"};
  for (const std::string& id :
       {std::string("#!::r=live/cam,m=request"), std::string("read:cam"),
        std::string("%23%21%3A%3Ar%3Dlive%2Fcam%2Cm%3Drequest"), std::string("#!::r=cam")}) {
    CommandResult r;
    EXPECT_EQ(probe_streams(srt(id), &r), av) << id << ": " << r.err;
  }
  // A player decodes without errors while it plays; the path shows it as an SRT reader with
  // what libsrt measures of its link, and /metrics has the connection.
  ChildProcess player;
  ASSERT_TRUE(player.spawn(
      {program_path("ffmpeg"), "-nostdin", "-v", "error", "-stats_period", "0.5", "-progress",
       "pipe:1", "-i", srt("#!::r=live/cam,m=request"), "-f", "null", "-"},
      true));
  json::value reader;
  ASSERT_TRUE(eventually(
      [&] {
        const auto readers = api("GET", "/media/paths/cam").body.at("readers").as_array();
        for (const auto& r : readers) {
          if (str(r, "kind") == "srt" && num(r, "packets_out") > 30) reader = r;
        }
        return !reader.is_null() && frames_of(player) > 30;
      },
      30s))
      << api("GET", "/media/paths/cam").raw << player.stdout_text();
  EXPECT_EQ(str(reader, "transport"), "udp");
  ASSERT_TRUE(reader.as_object().contains("srt")) << reader;
  EXPECT_GT(num(reader.at("srt"), "mbps"), 0);
  EXPECT_EQ(num(reader, "dropped"), 0);
  EXPECT_EQ(num(api("GET", "/media/paths/cam").body.at("readers_by_protocol"), "srt"), 1);
  const std::string series = "sluice_srt_rtt_milliseconds{connection=\"" + str(reader, "id") +
                             R"(",path="cam",role="play"})";
  EXPECT_TRUE(
      eventually([&] { return api("GET", "/metrics").raw.find(series) != std::string::npos; }, 5s))
      << api("GET", "/metrics").raw;
  // Kicked: the player's connection ends.
  EXPECT_EQ(api("DELETE", "/media/paths/cam/readers/" + str(reader, "id")).status, 200);
  EXPECT_TRUE(player.wait(20s).has_value()) << "the kicked player still runs";
  EXPECT_TRUE(eventually(
      [&] { return api("GET", "/media/paths/cam").body.at("readers").as_array().empty(); }, 10s));

  // A player is let go when the publisher leaves.
  ChildProcess second;
  ASSERT_TRUE(second.spawn(
      {program_path("ffmpeg"), "-nostdin", "-v", "error", "-i", srt("read:cam"), "-f", "null", "-"},
      true));
  ASSERT_TRUE(eventually(
      [&] { return num(api("GET", "/media/paths/cam").body, "reader_count") == 1; }, 20s));
  ffmpeg.kill_and_reap();
  EXPECT_TRUE(second.wait(20s).has_value()) << "the player outlived its path";
  EXPECT_EQ(daemon_->output().find(key), std::string::npos) << "the key was logged";
}

// GStreamer's srtsrc (what GStreamer pipelines use to pull SRT) plays a path and decodes it; its
// srtsink publishes one (with mpegtsmux alignment=7, as GStreamer advises for SRT: one SRT packet
// per TS packet makes the sender drop whole keyframes in bursts).
TEST_F(SrtTest, GstreamerPlaysAndPublishesOverSrt) {
  const std::string key = create_key("cam");
  ChildProcess ffmpeg;
  ASSERT_NO_FATAL_FAILURE(publish_over_rtmp(ffmpeg, key, "cam"));
  // A second try only for a machine too loaded to decode 50 frames in time (parallel ctest).
  CommandResult played;
  for (int attempt = 0; attempt < 2 && played.exit_code != 0; ++attempt) {
    // The streamid as a property: in a URI, '#' would start the fragment.
    played = run_command({"/usr/bin/gst-launch-1.0", "-q", "srtsrc", "uri=" + srt_base(),
                          "streamid=#!::r=live/cam,m=request", "!", "tsdemux", "!", "h264parse",
                          "!", "avdec_h264", "!", "fakesink", "num-buffers=50"},
                         40s);
  }
  EXPECT_EQ(played.exit_code, 0) << played.out << played.err;

  const std::string publish_key = create_key("gst");
  ChildProcess gst;
  ASSERT_TRUE(gst.spawn({"/usr/bin/gst-launch-1.0",
                         "-q",
                         "videotestsrc",
                         "is-live=true",
                         "!",
                         "video/x-raw,width=320,height=240,framerate=25/1",
                         "!",
                         "x264enc",
                         "tune=zerolatency",
                         "key-int-max=25",
                         "!",
                         "h264parse",
                         "config-interval=-1",
                         "!",
                         "mpegtsmux",
                         "alignment=7",
                         "!",
                         "srtsink",
                         "uri=" + srt_base(),
                         "streamid=#!::r=live/" + publish_key + ",m=publish"},
                        true));
  ASSERT_TRUE(eventually(
      [&] {
        auto p = api("GET", "/media/paths/gst").body;
        return num(p, "video_frames") > 25 && num(p, "width") == 320;
      },
      30s))
      << gst.stdout_text() << daemon_->output();
  EXPECT_EQ(probe_streams(srt("read:gst")), std::vector<std::string>{"h264 320x240"});
}

// An encoder sending H.265 (HEVC) over SRT: the path plays over RTSP, SRT and HLS (fMP4) with the
// picture size read from its SPS.
TEST_F(SrtTest, HevcFromAnSrtEncoderPlaysOverRtspSrtAndHls) {
  const std::string key = create_key("hevc");
  auto argv = publisher(srt("#!::r=live/" + key + ",m=publish"), PublishSpec{.hevc = true});
  ChildProcess ffmpeg;
  ASSERT_TRUE(ffmpeg.spawn(argv, true));
  ASSERT_TRUE(eventually(
      [&] {
        auto p = api("GET", "/media/paths/hevc").body;
        return num(p, "video_frames") > 10 && str(p, "video_codec") == "hevc" &&
               num(p, "width") == 320;
      },
      30s))
      << ffmpeg.stdout_text() << daemon_->output();
  const std::vector<std::string> av{"hevc 320x240", "aac"};
  CommandResult r;
  EXPECT_EQ(probe_streams(srt("read:hevc"), &r), av) << r.err;
  EXPECT_EQ(probe_streams("rtsp://127.0.0.1:" + std::to_string(daemon_->rtsp_port()) + "/live/hevc",
                          &r, 40s, {"-rtsp_transport", "tcp"}),
            av)
      << r.err;
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/hevc/index.m3u8", &r), av) << r.err;
}

// Opus in MPEG-TS (an SRT encoder set to Opus): the registration and extension descriptors and
// the control headers are read, and the path plays with its Opus over RTSP, SRT and HLS.
TEST_F(SrtTest, OpusFromAnSrtEncoderPlaysOverRtspSrtAndHls) {
  const std::string key = create_key("opus");
  ChildProcess ffmpeg;
  ASSERT_TRUE(ffmpeg.spawn(publisher(srt("publish:" + key), PublishSpec{.opus = true}), true));
  ASSERT_TRUE(eventually(
      [&] {
        auto p = api("GET", "/media/paths/opus").body;
        return num(p, "video_frames") > 10 && str(p, "audio_codec") == "opus";
      },
      30s))
      << ffmpeg.stdout_text() << daemon_->output();
  const std::vector<std::string> av{"h264 320x240", "opus"};
  CommandResult r;
  EXPECT_EQ(probe_streams(srt("read:opus"), &r), av) << r.err;
  EXPECT_EQ(probe_streams("rtsp://127.0.0.1:" + std::to_string(daemon_->rtsp_port()) + "/live/opus",
                          &r, 40s, {"-rtsp_transport", "tcp"}),
            av)
      << r.err;
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/opus/index.m3u8", &r), av) << r.err;
}

TEST_F(SrtTest, PlayersOfPrivateOrAbsentPathsAreRefusedAtTheHandshake) {
  const std::string key = create_key("vault");
  auto read = api("POST", "/keys", R"({"stream":"vault","kind":"read"})");
  ASSERT_EQ(read.status, 201) << read.raw;
  const std::string read_key = str(read.body, "key");
  ChildProcess ffmpeg;
  ASSERT_NO_FATAL_FAILURE(publish_over_rtmp(ffmpeg, key, "vault"));
  CommandResult r;
  EXPECT_TRUE(probe_streams(srt("#!::r=live/vault,m=request"), &r, 20s).empty())
      << "a private path played without its read key";
  EXPECT_TRUE(probe_streams(srt("#!::r=live/nobody,m=request"), &r, 20s).empty());
  EXPECT_EQ(probe_streams(srt("#!::r=live/vault?key=" + read_key + ",m=request"), &r),
            (std::vector<std::string>{"h264 320x240", "aac"}))
      << r.err;
  EXPECT_NE(api("GET", "/metrics").raw.find("sluice_srt_refused_total 2"), std::string::npos);
  EXPECT_EQ(daemon_->output().find(read_key), std::string::npos) << "the read key was logged";
}

TEST_F(SrtTest, ThePassphraseSettingAppliesToCallersConnectingAfterIt) {
  const std::string key = create_key("safe");
  ChildProcess ffmpeg;
  ASSERT_NO_FATAL_FAILURE(publish_over_rtmp(ffmpeg, key, "safe"));
  const std::string secret = "correcthorsebattery";
  EXPECT_EQ(api("PUT", "/settings/srt_passphrase", R"({"value":"short"})").status, 422);
  auto put = api("PUT", "/settings/srt_passphrase", R"({"value":")" + secret + R"("})");
  ASSERT_EQ(put.status, 200) << put.raw;
  EXPECT_EQ(put.raw.find(secret), std::string::npos) << "the passphrase was shown";
  EXPECT_EQ(api("GET", "/settings/srt_passphrase").raw.find(secret), std::string::npos);
  EXPECT_EQ(api("PUT", "/settings/srt_latency", R"({"value":250})").status, 200);
  CommandResult r;
  EXPECT_TRUE(probe_streams(srt("read:safe"), &r, 20s).empty()) << "played without the passphrase";
  EXPECT_EQ(probe_streams(srt("read:safe&passphrase=" + secret), &r),
            (std::vector<std::string>{"h264 320x240", "aac"}))
      << r.err;
  // Back to unencrypted: callers without one play again.
  ASSERT_EQ(api("PUT", "/settings/srt_passphrase", R"({"value":""})").status, 200);
  EXPECT_EQ(probe_streams(srt("read:safe"), &r), (std::vector<std::string>{"h264 320x240", "aac"}))
      << r.err;
  EXPECT_EQ(daemon_->output().find(secret), std::string::npos) << "the passphrase was logged";
}

TEST_F(SrtTest, CallersWithoutAKeyAreRefusedAtTheHandshake) {
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
