// Pipelines (issue 15) against a real sluiced: a test-pattern pipeline made with POST /pipelines
// becomes live paths, one per rendition, that ffprobe reads over RTMP and RTSP at their sizes,
// codec and frame rate, at the bitrate asked for; PATCH changes the bitrate live while a reader
// stays connected; bad specs are refused naming the fields; DELETE ends the paths.
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/time_format.hpp"
#include "media_fixture.hpp"

namespace sluice::testing {
namespace {

constexpr const char* kTwoRenditions = R"({
  "name": "cam",
  "source": {"type": "testsrc", "width": 640, "height": 360, "fps": 25, "clock": true},
  "encoder": {"codec": "h264", "bitrate_kbps": 1000, "preset": "veryfast", "gop": 25},
  "renditions": [{"path": "stream1", "width": 640, "height": 360},
                 {"path": "stream2", "width": 320, "height": 180, "bitrate_kbps": 300}]})";

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>();
    ASSERT_TRUE(daemon_->start());
  }
  Answer api(std::string_view method, const std::string& target, std::string_view body = {}) {
    return http_call(daemon_->url(), method, target, body);
  }
  std::string rtmp(const std::string& path) const {
    return "rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) + "/live/" + path;
  }
  std::string rtsp(const std::string& path) const {
    return "rtsp://127.0.0.1:" + std::to_string(daemon_->rtsp_port()) + "/live/" + path;
  }
  // The id of a pipeline made from `spec`, once it runs.
  std::string start(const char* spec) {
    Answer created = api("POST", "/pipelines", spec);
    EXPECT_EQ(created.status, 201) << created.raw;
    const std::string id = str(created.body, "id");
    EXPECT_FALSE(id.empty()) << created.raw;
    EXPECT_TRUE(eventually(
        [&] { return str(api("GET", "/pipelines/" + id).body, "state") == "running"; }, 20s))
        << api("GET", "/pipelines/" + id).raw << daemon_->output();
    return id;
  }
  // The video bitrate over `seconds` of `url` (RTSP over TCP), from the H.264 bytes received.
  double measured_kbps(const std::string& url, int seconds) {
    const std::string file =
        ::testing::TempDir() + "/pipeline-" + std::to_string(::getpid()) + ".h264";
    CommandResult r = run_command(
        {program_path("ffmpeg"), "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url, "-t",
         std::to_string(seconds), "-map", "0:v", "-c", "copy", "-f", "h264", "-y", file},
        std::chrono::seconds(seconds + 30));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    const double bytes = in ? static_cast<double>(in.tellg()) : 0;
    return bytes * 8 / 1000 / seconds;
  }
  // "WxH@fps" of the first video stream of `url`, as ffprobe sees it.
  std::string shape(const std::string& url, const std::vector<std::string>& options = {}) {
    std::vector<std::string> argv{program_path("ffprobe"),
                                  "-v",
                                  "error",
                                  "-select_streams",
                                  "v:0",
                                  "-show_entries",
                                  "stream=codec_name,width,height,r_frame_rate",
                                  "-of",
                                  "csv=p=0"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(url);
    CommandResult r = run_command(argv, 30s);
    std::string out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
      out.pop_back();
    return out;
  }

  // The whole answer of a POST (client::Client keeps only the first error's message).
  std::string post_raw(const std::string& target, const std::string& body) {
    return run_command({program_path("curl"), "-s", "-X", "POST", "--data-binary", body,
                        daemon_->url() + target})
        .out;
  }

  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(PipelineTest, ATestPatternPipelineIsLivePathsEveryDoorPlaysAtTheAskedBitrate) {
  const std::string id = start(kTwoRenditions);
  EXPECT_EQ(shape(rtmp("stream1")), "h264,640,360,25/1");
  EXPECT_EQ(shape(rtsp("stream2"), {"-rtsp_transport", "tcp"}), "h264,320,180,25/1");
  // The path says who publishes it.
  EXPECT_EQ(str(api("GET", "/media/paths/stream1").body.at("publisher"), "protocol"), "pipeline");
  const double kbps = measured_kbps(rtsp("stream1"), 6);
  EXPECT_GT(kbps, 900) << "asked for 1000 kbit/s";
  EXPECT_LT(kbps, 1100) << "asked for 1000 kbit/s";
  const json::value listed = api("GET", "/pipelines").body;
  ASSERT_TRUE(listed.is_array());
  ASSERT_EQ(listed.as_array().size(), 1u);
  EXPECT_GT(num(listed.as_array()[0], "frames"), 100);
  // ok — or dropping, on a machine too busy for 25 fps, which the count then shows.
  const std::string health_now = str(listed.as_array()[0], "health");
  EXPECT_TRUE(health_now == "ok" ||
              (health_now == "dropping" && num(listed.as_array()[0], "dropped_frames") > 0))
      << listed;
  // The stream manager's metrics, and the pipeline's health in /health.
  const std::string metrics = api("GET", "/metrics").raw;
  const auto fps = metric(metrics, "encoder_fps{pipeline=\"cam\"}");
  ASSERT_TRUE(fps) << metrics;
  EXPECT_NEAR(*fps, 25, 2);
  const auto bps = metric(metrics, "encoder_bitrate{pipeline=\"cam\",path=\"stream2\"}");
  ASSERT_TRUE(bps) << metrics;
  EXPECT_GT(*bps, 150'000);
  EXPECT_LT(*bps, 600'000);
  EXPECT_TRUE(metric(metrics, "encoder_dropped_frames{pipeline=\"cam\"}")) << metrics;
  EXPECT_TRUE(metric(metrics, "encoder_queue_size{pipeline=\"cam\"}")) << metrics;
  const std::string health = api("GET", "/health").raw;
  EXPECT_NE(health.find("\"pipelines\":[{\"id\":\"" + id + "\",\"name\":\"cam\",\"health\""),
            std::string::npos)
      << health;
}

TEST_F(PipelineTest, ABitrateChangeAppliesLiveAndReadersStay) {
  const std::string id = start(kTwoRenditions);
  // A reader connected before the change.
  ChildProcess reader;
  ASSERT_TRUE(reader.spawn(player_argv(rtmp("stream1")), true));
  ASSERT_TRUE(eventually([&] { return frames_of(reader) > 25; }, 20s)) << reader.stdout_text();
  Answer patched = api("PATCH", "/pipelines/" + id, R"({"encoder": {"bitrate_kbps": 400}})");
  ASSERT_EQ(patched.status, 200) << patched.raw;
  EXPECT_EQ(num(patched.body.at("encoder"), "bitrate_kbps"), 400);
  std::this_thread::sleep_for(2s);  // the 1 s VBV drains
  const double kbps = measured_kbps(rtsp("stream1"), 5);
  EXPECT_GT(kbps, 320) << "asked for 400 kbit/s";
  EXPECT_LT(kbps, 480) << "asked for 400 kbit/s";
  const long before = frames_of(reader);
  std::this_thread::sleep_for(1s);
  EXPECT_GT(frames_of(reader), before) << "the reader stopped\n" << reader.stdout_text();
  EXPECT_FALSE(reader.wait(0ms).has_value()) << "the reader was disconnected";
  // What cannot change while running is named.
  Answer refused = api("PATCH", "/pipelines/" + id, R"({"encoder": {"preset": "slow"}})");
  EXPECT_EQ(refused.status, 422);
  EXPECT_NE(refused.raw.find("only bitrate_kbps"), std::string::npos) << refused.raw;
}

TEST_F(PipelineTest, BadSpecsAreRefusedNamingTheFieldsAndDeleteEndsThePaths) {
  const char* kBad = R"({"name": "x", "source": {"type": "webcam", "width": 641},
                         "encoder": {"preset": "ludicrous", "bitrate_kbps": 1}})";
  EXPECT_EQ(api("POST", "/pipelines", kBad).status, 422);
  const std::string bad = post_raw("/pipelines", kBad);
  for (const char* field : {"type", "width", "preset", "bitrate_kbps"})
    EXPECT_NE(bad.find(std::string("\"") + field + "\""), std::string::npos) << bad;
  EXPECT_EQ(api("POST", "/pipelines", R"({"name": "x"})").status, 422);  // no source
  EXPECT_EQ(api("GET", "/pipelines/p00000000").status, 404);

  const std::string id = start(kTwoRenditions);
  // The same paths twice: refused, the first one keeps running.
  EXPECT_EQ(api("POST", "/pipelines", kTwoRenditions).status, 409);
  ASSERT_EQ(api("GET", "/media/paths/stream1").status, 200);
  EXPECT_EQ(api("DELETE", "/pipelines/" + id).status, 200);
  EXPECT_TRUE(eventually([&] { return api("GET", "/media/paths/stream1").status == 404; }, 5s));
  EXPECT_EQ(api("GET", "/pipelines/" + id).status, 404);
}

// Restream: a push output sends a rendition to another server (a second sluiced, with a stream
// key in the URL); that server plays it, the key is never shown or logged, and when the server
// goes away the output says it is retrying.
TEST_F(PipelineTest, APushOutputRestreamsToASecondSluicedAndRetriesWhenItGoes) {
  auto second = std::make_unique<DaemonProcess>(std::vector<std::string>{"--dev-key"});
  ASSERT_TRUE(second->start());
  const std::string key = find_key(second->output());
  ASSERT_FALSE(key.empty()) << second->output();
  const std::string spec =
      R"({"name": "cam", "source": {"type": "testsrc", "width": 320, "height": 180, "fps": 25},
          "encoder": {"bitrate_kbps": 400},
          "outputs": [{"type": "push", "url": "rtmp://127.0.0.1:)" +
      std::to_string(second->rtmp_port()) + "/live/" + key + R"("}, {"type": "record"}]})";
  Answer created = api("POST", "/pipelines", spec);
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = str(created.body, "id");
  EXPECT_EQ(created.raw.find(key), std::string::npos) << "the key is shown: " << created.raw;

  const std::string played =
      "rtmp://127.0.0.1:" + std::to_string(second->rtmp_port()) + "/live/dev";
  EXPECT_TRUE(eventually([&] { return shape(played) == "h264,320,180,25/1"; }, 30s))
      << shape(played) << "\n"
      << api("GET", "/pipelines/" + id).raw;
  json::value pipeline = api("GET", "/pipelines/" + id).body;
  const json::value& push = pipeline.at("outputs").as_array().at(0);
  EXPECT_EQ(str(push, "state"), "pushing") << json::serialize(pipeline);
  EXPECT_EQ(str(push, "url"), "rtmp://127.0.0.1:" + std::to_string(second->rtmp_port()));
  EXPECT_TRUE(eventually(
      [&] {
        return str(api("GET", "/pipelines/" + id).body.at("outputs").as_array().at(1), "state") ==
               "recording";
      },
      5s))
      << api("GET", "/pipelines/" + id).raw;
  EXPECT_EQ(json::serialize(pipeline).find(key), std::string::npos);
  EXPECT_EQ(daemon_->output().find(key), std::string::npos) << "the key is in the log";

  second.reset();  // the server goes away
  EXPECT_TRUE(eventually(
      [&] {
        const json::value p = api("GET", "/pipelines/" + id).body;
        return str(p.at("outputs").as_array().at(0), "state") == "retrying";
      },
      20s))
      << api("GET", "/pipelines/" + id).raw;
  EXPECT_EQ(str(api("GET", "/pipelines/" + id).body, "state"), "running");  // the paths go on
  EXPECT_EQ(str(api("GET", "/pipelines/" + id).body, "health"), "erroring");
  EXPECT_TRUE(metric(api("GET", "/metrics").raw, "encoder_rtmp_latency{pipeline=\"cam\"}"));
}

// A pipeline pulls an RTSP camera — a second sluiced, fed by ffmpeg — and makes renditions of
// it: its own size, and a smaller one; a URL that does not answer leaves the pipeline retrying
// and says why.
TEST_F(PipelineTest, AUrlSourcePullsAnRtspCameraAndANoAnswerIsRetried) {
  auto camera = std::make_unique<DaemonProcess>();
  ASSERT_TRUE(camera->start());
  Answer key = http_call(camera->url(), "POST", "/keys", R"({"stream":"cam"})");
  ASSERT_EQ(key.status, 201);
  ChildProcess ffmpeg;
  ASSERT_TRUE(
      ffmpeg.spawn(publisher_argv("rtmp://127.0.0.1:" + std::to_string(camera->rtmp_port()) +
                                  "/live/" + str(key.body, "key")),
                   true));
  ASSERT_TRUE(eventually(
      [&] { return num(http_call(camera->url(), "GET", "/media/paths/cam").body, "width") > 0; },
      30s));
  const std::string spec =
      R"({"name": "pulled", "source": {"type": "url", "clock": false, "url": "rtsp://127.0.0.1:)" +
      std::to_string(camera->rtsp_port()) + R"(/live/cam"}, "encoder": {"bitrate_kbps": 300},
          "renditions": [{"path": "full"}, {"path": "half", "width": 160, "height": 120}]})";
  const std::string id = start(spec.c_str());
  EXPECT_EQ(shape(rtmp("full")), "h264,320,240,25/1");
  EXPECT_EQ(shape(rtsp("half"), {"-rtsp_transport", "tcp"}).substr(0, 12), "h264,160,120");
  // The camera's sound comes along, copied.
  CommandResult probed;
  EXPECT_EQ(probe_streams(rtmp("full"), &probed), (std::vector<std::string>{"h264 320x240", "aac"}))
      << probed.err;
  EXPECT_NE(api("GET", "/pipelines/" + id).raw.find("\"url\":\"rtsp://127.0.0.1:"),
            std::string::npos);
  // A decoded source's frame path starts when the packet completing a picture is read.
  EXPECT_TRUE(
      eventually([&] { return num(api("GET", "/pipelines/" + id).body, "frame_path_ms") > 0; }, 5s))
      << api("GET", "/pipelines/" + id).raw;
  // Over SRT the sound comes as ADTS in MPEG-TS: copied too, its headers taken off.
  const std::string over_srt =
      R"({"name": "pulled-srt", "source": {"type": "url", "url": "srt://127.0.0.1:)" +
      std::to_string(camera->srt_port()) + R"(?streamid=read:cam"},
          "encoder": {"bitrate_kbps": 300}, "renditions": [{"path": "via-srt"}]})";
  start(over_srt.c_str());
  EXPECT_EQ(probe_streams(rtmp("via-srt"), &probed),
            (std::vector<std::string>{"h264 320x240", "aac"}))
      << probed.err;
  CommandResult decoded =
      run_command({program_path("ffmpeg"), "-nostdin", "-v", "error", "-i", rtmp("via-srt"), "-t",
                   "3", "-map", "0:a", "-f", "null", "-"},
                  40s);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(decoded.err, "") << "the copied AAC decodes cleanly";

  const std::string dead = R"({"name": "dead", "source": {"type": "url",
      "url": "rtsp://127.0.0.1:1/nothing"}, "renditions": [{"path": "dead"}]})";
  Answer created = api("POST", "/pipelines", dead);
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string dead_id = str(created.body, "id");
  EXPECT_TRUE(eventually(
      [&] {
        const json::value p = api("GET", "/pipelines/" + dead_id).body;
        return str(p, "state") == "retrying" && !str(p, "error").empty() &&
               str(p, "health") == "stalled";
      },
      15s))
      << api("GET", "/pipelines/" + dead_id).raw;
  EXPECT_EQ(str(api("GET", "/pipelines/" + id).body, "state"), "running");  // unaffected
}

// An on-demand URL source pulls only while someone watches: idle (the camera sees no reader)
// until a player asks over RTSP or RTMP — the player waits for the pull to start and plays —
// and idle again once the last one left. On-demand pipelines take no outputs.
TEST_F(PipelineTest, AnOnDemandUrlSourcePullsOnlyWhileWatched) {
  auto camera = std::make_unique<DaemonProcess>();
  ASSERT_TRUE(camera->start());
  Answer key = http_call(camera->url(), "POST", "/keys", R"({"stream":"cam"})");
  ASSERT_EQ(key.status, 201);
  ChildProcess ffmpeg;
  ASSERT_TRUE(
      ffmpeg.spawn(publisher_argv("rtmp://127.0.0.1:" + std::to_string(camera->rtmp_port()) +
                                  "/live/" + str(key.body, "key")),
                   true));
  auto camera_readers = [&] {
    return num(http_call(camera->url(), "GET", "/media/paths/cam").body, "reader_count");
  };
  ASSERT_TRUE(eventually(
      [&] { return num(http_call(camera->url(), "GET", "/media/paths/cam").body, "width") > 0; },
      30s));
  const std::string url = "rtsp://127.0.0.1:" + std::to_string(camera->rtsp_port()) + "/live/cam";
  Answer created = api("POST", "/pipelines", R"({"name": "lazy", "source": {"type": "url",
      "url": ")" + url + R"(", "on_demand": true, "close_after_s": 2},
      "encoder": {"bitrate_kbps": 300}, "renditions": [{"path": "lazy"}]})");
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = str(created.body, "id");
  auto state = [&] { return str(api("GET", "/pipelines/" + id).body, "state"); };
  ASSERT_TRUE(eventually([&] { return state() == "idle"; }, 10s))
      << api("GET", "/pipelines/" + id).raw;
  EXPECT_EQ(str(api("GET", "/pipelines/" + id).body, "health"), "ok");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(camera_readers(), 0) << "an idle on-demand source pulls nothing";
  EXPECT_EQ(api("GET", "/media/paths/lazy").status, 404);

  // The first reader waits for the pull and plays.
  EXPECT_EQ(shape(rtsp("lazy"), {"-rtsp_transport", "tcp"}), "h264,320,240,25/1");
  EXPECT_EQ(state(), "running");
  EXPECT_EQ(camera_readers(), 1);
  // With no reader for close_after_s it sleeps again, and the camera loses its reader.
  EXPECT_TRUE(eventually([&] { return state() == "idle"; }, 15s))
      << api("GET", "/pipelines/" + id).raw;
  EXPECT_TRUE(eventually([&] { return camera_readers() == 0; }, 10s));
  // Over RTMP, HTTP-FLV and HLS too.
  EXPECT_EQ(shape(rtmp("lazy")), "h264,320,240,25/1");
  EXPECT_TRUE(eventually([&] { return state() == "idle"; }, 15s));
  EXPECT_EQ(shape(daemon_->url() + "/live/lazy.flv"), "h264,320,240,25/1");
  EXPECT_TRUE(eventually([&] { return state() == "idle"; }, 15s));
  EXPECT_EQ(shape(daemon_->url() + "/live/lazy/index.m3u8").substr(0, 12), "h264,320,240");
  // A path nobody makes is still refused at once.
  CommandResult absent = run_command(
      {program_path("ffprobe"), "-v", "error", "-rtsp_transport", "tcp", rtsp("nobody")}, 30s);
  EXPECT_NE(absent.exit_code, 0);

  const std::string with_push = post_raw("/pipelines", R"({"name": "lazy2", "source": {
      "type": "testsrc", "on_demand": true}, "renditions": [{"path": "lazy2"}],
      "outputs": [{"type": "push", "url": "rtmp://127.0.0.1:1/live/x"}]})");
  EXPECT_NE(with_push.find("on_demand pipeline"), std::string::npos) << with_push;
}

// The camera's stream settings apply to the pipeline with a stream1 rendition — its primary
// stream — in place: the new size and bitrate reach a reader that stays connected; stream2 keeps
// its own; a value out of range is refused naming the rule.
TEST_F(PipelineTest, CameraSettingsChangeThePrimaryStreamAndReadersStay) {
  const std::string id = start(kTwoRenditions);
  ChildProcess reader;
  ASSERT_TRUE(reader.spawn(player_argv(rtmp("stream1")), true));
  ASSERT_TRUE(eventually([&] { return frames_of(reader) > 25; }, 20s)) << reader.stdout_text();

  EXPECT_EQ(api("PUT", "/settings/streamResolution", R"({"value": "480x270"})").status, 200);
  EXPECT_EQ(api("PUT", "/settings/streamBitrate", R"({"value": 600})").status, 200);
  EXPECT_EQ(api("PUT", "/settings/streamFramerate", R"({"value": 20})").status, 200);
  EXPECT_EQ(api("PUT", "/settings/streamResolution", R"({"value": "481x270"})").status, 422);
  EXPECT_EQ(api("PUT", "/settings/streamLatencyMode", R"({"value": "instant"})").status, 422);
  ASSERT_TRUE(eventually(
      [&] {
        const json::value p = api("GET", "/pipelines/" + id).body;
        const json::value& r = p.at("renditions").as_array().at(0);
        return num(r, "width") == 480 && num(p.at("source"), "fps") == 20 &&
               num(p.at("encoder"), "bitrate_kbps") == 600;
      },
      10s))
      << api("GET", "/pipelines/" + id).raw;
  EXPECT_TRUE(eventually([&] { return shape(rtmp("stream1")) == "h264,480,270,20/1"; }, 15s))
      << shape(rtmp("stream1"));
  EXPECT_EQ(shape(rtsp("stream2"), {"-rtsp_transport", "tcp"}).substr(0, 12), "h264,320,180");
  const long before = frames_of(reader);
  std::this_thread::sleep_for(1s);
  EXPECT_GT(frames_of(reader), before) << "the reader stopped\n" << reader.stdout_text();
  EXPECT_FALSE(reader.wait(0ms).has_value()) << "the reader was disconnected";
  const double kbps = measured_kbps(rtsp("stream1"), 5);
  EXPECT_GT(kbps, 480);
  EXPECT_LT(kbps, 720);

  // videoEncoder mjpeg: stream1 is also Motion JPEG over HTTP, its reader stays on H.264; back
  // to h264, the MJPEG goes.
  EXPECT_EQ(api("GET", "/live/stream1/mjpeg").status, 404);
  EXPECT_EQ(api("PUT", "/settings/videoEncoder", R"({"value": "mjpeg"})").status, 200);
  CommandResult mjpeg;
  ASSERT_TRUE(eventually(
      [&] {
        mjpeg = run_command(
            {program_path("ffmpeg"), "-hide_banner", "-f", "mpjpeg", "-i",
             daemon_->url() + "/live/stream1/mjpeg", "-frames:v", "5", "-f", "null", "-"},
            20s);
        return mjpeg.exit_code == 0;
      },
      20s))
      << mjpeg.err;
  EXPECT_NE(mjpeg.err.find("Video: mjpeg"), std::string::npos) << mjpeg.err;
  EXPECT_NE(mjpeg.err.find("480x270"), std::string::npos) << mjpeg.err;
  EXPECT_FALSE(reader.wait(0ms).has_value()) << "the reader was disconnected";
  EXPECT_EQ(shape(rtmp("stream1")), "h264,480,270,20/1");
  EXPECT_EQ(api("PUT", "/settings/videoEncoder", R"({"value": "h264"})").status, 200);
  std::string status;
  EXPECT_TRUE(eventually(
      [&] {
        status = run_command({program_path("curl"), "-s", "-o", "/dev/null", "-w", "%{http_code}",
                              "--max-time", "2", daemon_->url() + "/live/stream1/mjpeg"})
                     .out;
        return status.starts_with("404");
      },
      10s))
      << ::testing::PrintToString(status);
}

// HLS adaptive bitrate: /live/{pipeline}/index.m3u8 is the multivariant playlist over the
// pipeline's renditions, which a player (ffprobe) follows to both.
TEST_F(PipelineTest, AMultivariantPlaylistListsThePipelinesRenditions) {
  start(kTwoRenditions);
  Answer master = api("GET", "/live/cam/index.m3u8");
  ASSERT_EQ(master.status, 200) << master.raw;
  for (const char* line :
       {"#EXT-X-STREAM-INF:BANDWIDTH=1100000,RESOLUTION=640x360,FRAME-RATE=25.000",
        "../stream1/index.m3u8", "#EXT-X-STREAM-INF:BANDWIDTH=330000,RESOLUTION=320x180",
        "../stream2/index.m3u8"}) {
    EXPECT_NE(master.raw.find(line), std::string::npos) << line << "\n" << master.raw;
  }
  EXPECT_LT(master.raw.find("stream1"), master.raw.find("stream2"));  // highest first
  CommandResult r;
  EXPECT_EQ(probe_streams(daemon_->url() + "/live/cam/index.m3u8", &r),
            (std::vector<std::string>{"h264 640x360", "h264 320x180"}))
      << r.err;
}

// Recording: a path matching the record_paths setting is recorded in segments on disk (under
// the data dir), listed by GET /recordings and played back as an MP4 of a requested span.
TEST_F(PipelineTest, ARecordedPathIsListedAndASpanPlaysBackAsMp4) {
  EXPECT_EQ(api("PUT", "/settings/record_segment", R"({"value": 1})").status, 200);
  EXPECT_EQ(api("PUT", "/settings/record_paths", R"({"value": ["rec*"]})").status, 200);
  const auto t0 = std::chrono::system_clock::now() - 2s;
  start(R"({"name": "rec", "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
            "encoder": {"bitrate_kbps": 300}})");
  json::value listed;
  ASSERT_TRUE(eventually(
      [&] {
        listed = api("GET", "/recordings").body;
        return listed.is_array() && !listed.as_array().empty() &&
               num(listed.as_array()[0], "segments") >= 3;
      },
      20s))
      << json::serialize(listed);
  EXPECT_EQ(str(listed.as_array()[0], "path"), "rec");
  const std::string start_text = format_timestamp(t0);
  Answer mp4 = api("GET", "/recordings/rec?start=" + start_text + "&duration=60");
  ASSERT_EQ(mp4.status, 200) << mp4.raw.substr(0, 200);
  const std::string file =
      ::testing::TempDir() + "/recording-" + std::to_string(::getpid()) + ".mp4";
  std::ofstream(file, std::ios::binary) << mp4.raw;
  CommandResult r;
  EXPECT_EQ(probe_streams(file, &r), (std::vector<std::string>{"h264 320x240"})) << r.err;
  CommandResult d = run_command({program_path("ffprobe"), "-v", "error", "-show_entries",
                                 "format=duration", "-of", "csv=p=0", file});
  EXPECT_GT(std::atof(d.out.c_str()), 2.0) << d.out;
  // A span with nothing in it, or no span at all, is said so.
  EXPECT_EQ(api("GET", "/recordings/rec?start=2001-01-01T00:00:00Z&duration=60").status, 404);
  EXPECT_EQ(api("GET", "/recordings/rec").status, 422);
  EXPECT_EQ(api("GET", "/recordings/nothing?start=" + start_text + "&duration=5").status, 404);
}

// The record_path_template setting puts segments where it says (by day here), and listing and
// playback still find them; a template that is not one is refused naming the rule.
TEST_F(PipelineTest, ARecordingPathTemplatePutsSegmentsWhereItSays) {
  for (const char* bad : {"%path/%path", "../%path", "%Y/%x/%path", "cams", "%path/", "/%path"}) {
    EXPECT_EQ(
        api("PUT", "/settings/record_path_template", std::string(R"({"value": ")") + bad + "\"}")
            .status,
        422)
        << bad;
  }
  Answer ok = api("PUT", "/settings/record_path_template", R"({"value": "%Y-%m-%d/cams/%path"})");
  ASSERT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(api("PUT", "/settings/record_segment", R"({"value": 1})").status, 200);
  EXPECT_EQ(api("PUT", "/settings/record_paths", R"({"value": ["tpl"]})").status, 200);
  const auto t0 = std::chrono::system_clock::now() - 2s;
  start(R"({"name": "tpl", "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
            "encoder": {"bitrate_kbps": 300}})");
  ASSERT_TRUE(eventually(
      [&] {
        const json::value listed = api("GET", "/recordings").body;
        return listed.is_array() && !listed.as_array().empty() &&
               str(listed.as_array()[0], "path") == "tpl" &&
               num(listed.as_array()[0], "segments") >= 2;
      },
      20s))
      << api("GET", "/recordings").raw;
  const std::string day = format_timestamp(std::chrono::system_clock::now()).substr(0, 10);
  const std::filesystem::path dir =
      std::filesystem::path(daemon_->data_dir()) / "recordings" / day / "cams" / "tpl";
  int segments = 0, inits = 0;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    segments += f.path().extension() == ".m4s";
    inits += f.path().string().ends_with(".init.mp4");
  }
  EXPECT_GE(segments, 2) << dir;
  EXPECT_GE(inits, 1) << dir;
  Answer mp4 = api("GET", "/recordings/tpl?start=" + format_timestamp(t0) + "&duration=60");
  ASSERT_EQ(mp4.status, 200) << mp4.raw.substr(0, 200);
  const std::string file = ::testing::TempDir() + "/tpl-" + std::to_string(::getpid()) + ".mp4";
  std::ofstream(file, std::ios::binary) << mp4.raw;
  CommandResult r;
  EXPECT_EQ(probe_streams(file, &r), (std::vector<std::string>{"h264 320x240"})) << r.err;
}

// A V4L2 capture device that is not there (none exists on these machines): the pipeline says so
// in its state and health, retries, and nothing else is affected; a device outside /dev is 422.
TEST_F(PipelineTest, AMissingCaptureDeviceIsAClearStateNotAFailure) {
  EXPECT_EQ(api("POST", "/pipelines",
                R"({"name": "webcam", "source": {"type": "v4l2", "device": "/etc/passwd"}})")
                .status,
            422);
  Answer created = api("POST", "/pipelines", R"({"name": "webcam",
      "source": {"type": "v4l2", "device": "/dev/video97", "width": 640, "height": 480}})");
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string id = str(created.body, "id");
  json::value p;
  EXPECT_TRUE(eventually(
      [&] {
        p = api("GET", "/pipelines/" + id).body;
        return str(p, "state") == "retrying" && str(p, "health") == "stalled";
      },
      15s))
      << json::serialize(p);
  EXPECT_NE(str(p, "error").find("/dev/video97"), std::string::npos) << json::serialize(p);
  EXPECT_EQ(api("GET", "/health").status, 200);
  EXPECT_EQ(api("DELETE", "/pipelines/" + id).status, 200);
}

// An H.265 encoder (libx265): the rendition is an HEVC path that RTSP plays.
TEST_F(PipelineTest, AnH265PipelinePlaysOverRtsp) {
  const std::string id = start(
      R"({"name": "hevc", "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
            "encoder": {"codec": "h265", "bitrate_kbps": 300, "preset": "ultrafast"}})");
  EXPECT_EQ(shape(rtsp("hevc"), {"-rtsp_transport", "tcp"}), "hevc,320,240,25/1");
  EXPECT_EQ(str(api("GET", "/pipelines/" + id).body, "encoder_used"), "libx265");
}

// Audio: a pipeline with a tone carries it on every rendition — AAC that RTMP and RTSP players
// read beside the video, and Opus over RTSP; the tone is really there (its level, decoded).
TEST_F(PipelineTest, APipelineCarriesItsToneAsAacOrOpus) {
  auto second = std::make_unique<DaemonProcess>(std::vector<std::string>{"--dev-key"});
  ASSERT_TRUE(second->start());
  const std::string key = find_key(second->output());
  start((R"({"name": "tone", "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
            "encoder": {"bitrate_kbps": 300}, "audio": {"codec": "aac", "tone_hz": 1000},
            "renditions": [{"path": "tone"}, {"path": "tone-small", "width": 160, "height": 120}],
            "outputs": [{"type": "push", "url": "rtmp://127.0.0.1:)" +
         std::to_string(second->rtmp_port()) + "/live/" + key + R"("}]})")
            .c_str());
  CommandResult r;
  // The push output carries the sound too.
  const std::string pushed =
      "rtmp://127.0.0.1:" + std::to_string(second->rtmp_port()) + "/live/dev";
  EXPECT_TRUE(eventually(
      [&] {
        return probe_streams(pushed, &r) == std::vector<std::string>{"h264 320x240", "aac"};
      },
      30s))
      << r.err;
  EXPECT_EQ(probe_streams(rtmp("tone"), &r), (std::vector<std::string>{"h264 320x240", "aac"}))
      << r.err;
  EXPECT_EQ(probe_streams(rtsp("tone-small"), &r, 40s, {"-rtsp_transport", "tcp"}),
            (std::vector<std::string>{"h264 160x120", "aac"}))
      << r.err;
  // The tone's level, decoded: a sine at 0.3 of full scale is about -13.5 dBFS.
  CommandResult level =
      run_command({program_path("ffmpeg"), "-hide_banner", "-i", rtmp("tone"), "-t", "2", "-map",
                   "0:a", "-af", "volumedetect", "-f", "null", "-"},
                  30s);
  const auto at = level.err.find("mean_volume: ");
  ASSERT_NE(at, std::string::npos) << level.err;
  const double mean_db = std::atof(level.err.c_str() + at + 13);
  EXPECT_GT(mean_db, -18) << level.err.substr(at, 40);
  EXPECT_LT(mean_db, -10) << level.err.substr(at, 40);

  start(R"({"name": "opus", "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
            "encoder": {"bitrate_kbps": 300}, "audio": {"codec": "opus", "bitrate_kbps": 48}})");
  EXPECT_EQ(probe_streams(rtsp("opus"), &r, 40s, {"-rtsp_transport", "tcp"}),
            (std::vector<std::string>{"h264 320x240", "opus"}))
      << r.err;
  EXPECT_EQ(api("POST", "/pipelines", R"({"name": "x", "source": {"type": "testsrc"},
      "audio": {"codec": "mp3"}})")
                .status,
            422);
}

// A hardware encoder asked for where there is none (no VAAPI render node or V4L2 M2M device on
// these machines): the pipeline runs with software, says so in its state and logs it.
TEST_F(PipelineTest, AMissingHardwareEncoderFallsBackToSoftwareWithANote) {
  EXPECT_EQ(api("POST", "/pipelines", R"({"name": "x", "source": {"type": "testsrc"},
      "encoder": {"hardware": "nvenc"}})")
                .status,
            422);
  const std::string id = start(R"({"name": "hw",
      "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
      "encoder": {"bitrate_kbps": 300, "hardware": "vaapi",
                  "hardware_device": "/dev/dri/renderD199"}})");
  EXPECT_EQ(shape(rtmp("hw")), "h264,320,240,25/1");
  const json::value p = api("GET", "/pipelines/" + id).body;
  EXPECT_EQ(str(p, "encoder_used"), "libx264");
  EXPECT_NE(str(p, "encoder_note").find("/dev/dri/renderD199"), std::string::npos)
      << json::serialize(p);
  EXPECT_EQ(str(p.at("encoder"), "hardware"), "vaapi");
  EXPECT_NE(daemon_->output().find("software encoding"), std::string::npos);
}

// Filters: a caption drawn on the picture is there in a decoded frame (white letters on a dark
// box where testsrc2 is plain red), and captions that could be filter syntax are refused.
TEST_F(PipelineTest, ATextOverlayIsDrawnOnThePicture) {
  EXPECT_EQ(api("POST", "/pipelines", R"({"name": "x", "source": {"type": "testsrc"},
      "filters": [{"type": "text", "text": "a',drawbox"}]})")
                .status,
            422);
  start(R"({"name": "cap", "source": {"type": "testsrc", "width": 640, "height": 360, "fps": 25,
            "clock": false}, "filters": [{"type": "text", "text": "STAGE A", "x": 20, "y": 100,
            "size": 40}, {"type": "timestamp", "x": 20, "y": 300, "size": 16}]})");
  const std::string file =
      ::testing::TempDir() + "/overlay-" + std::to_string(::getpid()) + ".gray";
  CommandResult r =
      run_command({program_path("ffmpeg"), "-loglevel", "error", "-i", rtmp("cap"), "-frames:v",
                   "1", "-f", "rawvideo", "-pix_fmt", "gray", "-y", file},
                  30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(file, std::ios::binary);
  const std::string gray((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(gray.size(), 640u * 360);
  int bright = 0, dark = 0;
  for (int y = 100; y < 145; ++y) {
    for (int x = 20; x < 220; ++x) {
      const auto luma = static_cast<unsigned char>(gray[static_cast<std::size_t>(y) * 640 + x]);
      bright += luma > 200;
      dark += luma < 60;
    }
  }
  EXPECT_GT(bright, 200) << "no white letters";
  EXPECT_GT(dark, 1000) << "no box under them";
}

// MJPEG: an mjpeg output serves a rendition's pictures as Motion JPEG over HTTP (multipart), which
// ffmpeg's mpjpeg reader decodes frame after frame; a path without one is 404.
TEST_F(PipelineTest, AnMjpegOutputServesTheRenditionAsMotionJpeg) {
  const std::string id = start(R"({"name": "mj",
      "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
      "encoder": {"bitrate_kbps": 300},
      "outputs": [{"type": "mjpeg", "fps": 10, "quality": 70}]})");
  EXPECT_EQ(api("GET", "/live/nothing/mjpeg").status, 404);
  const std::string url = daemon_->url() + "/live/mj/mjpeg";
  CommandResult r = run_command({program_path("ffmpeg"), "-hide_banner", "-f", "mpjpeg", "-i", url,
                                 "-frames:v", "20", "-f", "null", "-"},
                                30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Video: mjpeg"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("320x240"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("frame=   20"), std::string::npos) << r.err;
  const json::value p = api("GET", "/pipelines/" + id).body;
  EXPECT_EQ(str(p.at("outputs").as_array().at(0), "state"), "serving") << json::serialize(p);
}

// Rate control: on an easy picture (one flat colour) "vbv" spends far less than the bitrate while
// "cbr" pads to it.
TEST_F(PipelineTest, ConstantBitratePadsAnEasyPictureToTheRate) {
  start(R"({"name": "flat-vbv", "source": {"type": "testsrc", "pattern": "color", "color": "gray",
            "width": 320, "height": 240, "fps": 25, "clock": false},
            "encoder": {"bitrate_kbps": 500}})");
  start(R"({"name": "flat-cbr", "source": {"type": "testsrc", "pattern": "color", "color": "gray",
            "width": 320, "height": 240, "fps": 25, "clock": false},
            "encoder": {"bitrate_kbps": 500, "rate_control": "cbr"}})");
  const double vbv = measured_kbps(rtsp("flat-vbv"), 4);
  const double cbr = measured_kbps(rtsp("flat-cbr"), 4);
  EXPECT_LT(vbv, 250) << "vbv";
  EXPECT_GT(cbr, 450) << "cbr";
  EXPECT_LT(cbr, 550) << "cbr";
}

// Adaptive bitrate from reader-queue drops: an RTMP viewer that stops reading (ffmpeg, stopped
// with SIGSTOP) overflows its queue, which drops to the next keyframe; the drops count as loss
// and the pipeline's bitrate goes down by the camera's rule.
TEST_F(PipelineTest, AViewerWhoseQueueOverflowsLowersTheBitrate) {
  const std::string id = start(R"({"name": "abr",
      "source": {"type": "testsrc", "width": 640, "height": 360, "fps": 25, "clock": false},
      "encoder": {"bitrate_kbps": 20000, "rate_control": "cbr", "preset": "ultrafast"},
      "adaptive": {"enabled": true, "min_kbps": 2000}})");
  ChildProcess viewer;
  ASSERT_TRUE(viewer.spawn(player_argv(rtmp("abr")), true));
  ASSERT_TRUE(eventually([&] { return frames_of(viewer) > 10; }, 20s)) << viewer.stdout_text();
  ::kill(viewer.pid(), SIGSTOP);  // it reads nothing more; its TCP buffer, then its queue, fill
  json::value p;
  EXPECT_TRUE(eventually(
      [&] {
        p = api("GET", "/pipelines/" + id).body;
        return num(p, "adaptations") >= 1 &&
               num(p.at("bitrates").as_array().at(0), "bitrate_kbps") < 20000;
      },
      40s))
      << json::serialize(p);
  ::kill(viewer.pid(), SIGCONT);
}

// Scale and frame-rate filters: the picture is resized and its rate lowered before the
// renditions, which default to the scaled size.
TEST_F(PipelineTest, ScaleAndFrameRateFiltersShapeThePicture) {
  EXPECT_EQ(api("POST", "/pipelines", R"({"name": "x", "source": {"type": "testsrc"},
      "filters": [{"type": "scale", "width": 321, "height": 180}, {"type": "fps"}]})")
                .status,
            422);
  const std::string id = start(R"({"name": "shaped",
      "source": {"type": "testsrc", "width": 640, "height": 360, "fps": 30},
      "filters": [{"type": "scale", "width": 320, "height": 180}, {"type": "fps", "fps": 15}],
      "encoder": {"bitrate_kbps": 300}})");
  EXPECT_EQ(shape(rtsp("shaped"), {"-rtsp_transport", "tcp"}), "h264,320,180,15/1");
  const json::value p = api("GET", "/pipelines/" + id).body;
  EXPECT_EQ(num(p.at("renditions").as_array().at(0), "width"), 320);
}

// [[pipeline]] tables in the config file are made at start; a bad one stops the start, naming it.
TEST_F(PipelineTest, ConfigFilePipelinesAreMadeAtStartAndABadOneIsNamed) {
  const std::string good = ::testing::TempDir() + "/pipelines-good.toml";
  std::ofstream(good) << R"([[pipeline]]
name = "fromfile"
source = { type = "testsrc", width = 160, height = 120, fps = 10 }
encoder = { bitrate_kbps = 150, preset = "ultrafast" }
)";
  DaemonProcess configured({"--config", good});
  ASSERT_TRUE(configured.start());
  EXPECT_TRUE(eventually(
      [&] {
        const json::value list = http_call(configured.url(), "GET", "/pipelines").body;
        return list.is_array() && list.as_array().size() == 1 &&
               str(list.as_array()[0], "name") == "fromfile" &&
               str(list.as_array()[0], "state") == "running";
      },
      20s))
      << http_call(configured.url(), "GET", "/pipelines").raw;

  const std::string bad = ::testing::TempDir() + "/pipelines-bad.toml";
  std::ofstream(bad) << "[[pipeline]]\nname = \"x\"\nsource = { type = \"webcam\" }\n";
  CommandResult refused =
      run_command({SLUICED_PATH, "--config",     bad,   "--http", "127.0.0.1:0", "--history",
                   ":memory:",   "--onvif",      "off", "--mdns", "off",         "--osc",
                   "off",        "--rtmp",       "off", "--rtsp", "off",         "--srt",
                   "off",        "--webrtc-udp", "off"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE((refused.out + refused.err).find("[[pipeline]] 1"), std::string::npos)
      << refused.out << refused.err;
}

// A pipeline made through the API comes back after a restart (same id, running again), with its
// changes; one that was deleted does not. Pipelines of the config file are not kept (the file
// makes them).
TEST_F(PipelineTest, ApiPipelinesComeBackAfterARestart) {
  const std::string id = start(R"({"name": "kept", "source": {"type": "testsrc", "width": 160,
      "height": 120, "fps": 10}, "encoder": {"bitrate_kbps": 200, "preset": "ultrafast"},
      "outputs": [{"type": "push", "url": "rtmp://127.0.0.1:9/live/sk_notshown"}]})");
  ASSERT_EQ(api("PATCH", "/pipelines/" + id, R"({"encoder": {"bitrate_kbps": 150}})").status, 200);
  const std::string gone = start(R"({"name": "gone", "source": {"type": "testsrc", "width": 160,
      "height": 120, "fps": 10}, "encoder": {"preset": "ultrafast"}})");
  ASSERT_EQ(api("DELETE", "/pipelines/" + gone).status, 200);

  ASSERT_TRUE(daemon_->restart_on_same_port());
  json::value p;
  EXPECT_TRUE(eventually(
      [&] {
        p = api("GET", "/pipelines/" + id).body;
        return str(p, "state") == "running";
      },
      20s))
      << json::serialize(p) << daemon_->output();
  EXPECT_EQ(num(p.at("encoder"), "bitrate_kbps"), 150);
  EXPECT_EQ(str(p.at("outputs").as_array().at(0), "url"), "rtmp://127.0.0.1:9");
  EXPECT_EQ(api("GET", "/pipelines/" + gone).status, 404);
  EXPECT_EQ(api("GET", "/pipelines").body.as_array().size(), 1u);
  EXPECT_EQ(daemon_->output().find("sk_notshown"), std::string::npos) << "a key in the log";
}

// The decoded first picture of `url` as packed RGB (ffmpeg), `width` x `height`.
std::string rgb_picture(const std::string& url, int width, int height) {
  const std::string file = ::testing::TempDir() + "/picture-" + std::to_string(::getpid()) + ".rgb";
  CommandResult r =
      run_command({program_path("ffmpeg"), "-loglevel", "error", "-i", url, "-frames:v", "1", "-f",
                   "rawvideo", "-pix_fmt", "rgb24", "-y", file},
                  30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(file, std::ios::binary);
  std::string rgb((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rgb.size(), static_cast<std::size_t>(width) * height * 3);
  return rgb;
}
struct Rgb {
  int r, g, b;
};
Rgb pixel(const std::string& rgb, int width, int x, int y) {
  const std::size_t at = (static_cast<std::size_t>(y) * width + x) * 3;
  if (at + 2 >= rgb.size()) return {-1, -1, -1};
  return {static_cast<unsigned char>(rgb[at]), static_cast<unsigned char>(rgb[at + 1]),
          static_cast<unsigned char>(rgb[at + 2])};
}

// Picture-in-picture with the camera's layout: a second source (a flat green test pattern) is
// inset at the bottom right of the main one, at a quarter of its size, inside a white border; the
// inset region of a decoded frame is green, its border white, the rest is the main picture; the
// pipeline shows both sources and how far apart in time the composed pictures were.
TEST_F(PipelineTest, PictureInPictureInsetsTheSecondSourceWhereTheLayoutSays) {
  EXPECT_EQ(api("POST", "/pipelines", R"({"name": "x", "source": {"type": "testsrc"},
      "filters": [{"type": "pip", "pipSource": "nothere"}]})")
                .status,
            422);
  const std::string id = start(R"({"name": "pip",
      "source": {"type": "testsrc", "pattern": "color", "color": "blue", "width": 640,
                 "height": 360, "fps": 25, "clock": false},
      "sources": {"inset": {"type": "testsrc", "pattern": "color", "color": "lime",
                            "width": 320, "height": 180, "fps": 25}},
      "filters": [{"type": "pip", "mainSource": "main", "pipSource": "inset",
                   "pipPosition": "bottom-right", "pipScale": 0.25, "pipBorder": true}],
      "alignment": {"maxLatencyMs": 100, "syncTolerance": 40}})");
  // The inset: 160x90 at x 468, y 258 (a margin of 8 plus the 4 px border), the border around it.
  std::string rgb;
  EXPECT_TRUE(eventually(
      [&] {
        rgb = rgb_picture(rtmp("pip"), 640, 360);
        const Rgb c = pixel(rgb, 640, 548, 303);
        return c.g > 200 && c.r < 60 && c.b < 60;
      },
      15s))
      << "the inset is not green";
  const Rgb border = pixel(rgb, 640, 466, 303);
  EXPECT_GT(border.r, 200);
  EXPECT_GT(border.g, 200);
  EXPECT_GT(border.b, 200);
  int blue_elsewhere = 0;  // the main picture (flat blue) everywhere else
  for (int y = 20; y < 240; y += 10) {
    for (int x = 20; x < 440; x += 10) {
      const Rgb c = pixel(rgb, 640, x, y);
      blue_elsewhere += c.b > 200 && c.r < 60 && c.g < 60;
    }
  }
  EXPECT_EQ(blue_elsewhere, 22 * 42);
  const json::value p = api("GET", "/pipelines/" + id).body;
  const auto& sources = p.at("sources").as_array();
  ASSERT_EQ(sources.size(), 2u) << json::serialize(p);
  EXPECT_EQ(str(sources[0], "role"), "main");
  EXPECT_EQ(str(sources[1], "name"), "inset");
  EXPECT_EQ(str(sources[1], "role"), "pip");
  EXPECT_EQ(str(sources[1], "state"), "running");
  ASSERT_TRUE(sources[1].as_object().contains("offset_ms")) << json::serialize(p);
  EXPECT_LT(std::abs(sources[1].at("offset_ms").to_number<double>()), 100) << json::serialize(p);
  EXPECT_EQ(num(p.at("alignment"), "syncTolerance"), 40);
}

// A relay client pushing raw frames (ffmpeg's raw RGBA piped into `sluice pub --frame-bytes`,
// the format and size in the channel's metadata) is a pipeline source: its path plays. A client
// that sends frames of the wrong size leaves that pipeline retrying with the reason, and the
// first one unaffected.
TEST_F(PipelineTest, RawFramesPushedOverARelayChannelBecomeAPlayablePath) {
  const std::string pub = std::string(SLUICE_CLI_PATH) + " pub --wire " + daemon_->wire_address();
  ChildProcess frames;
  ASSERT_TRUE(frames.spawn(
      {"/bin/sh", "-c",
       program_path("ffmpeg") +
           " -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=25 -t 30 -f rawvideo "
           "-pix_fmt rgba - | " +
           pub +
           " frames.render - --frame-bytes 307200 --metadata "
           "'{\"format\":\"rgba\",\"width\":320,\"height\":240,\"fps\":25}'"},
      true));
  const std::string id = start(R"({"name": "render",
      "source": {"type": "relay", "channel": "frames.render", "clock": false},
      "encoder": {"bitrate_kbps": 400}})");
  EXPECT_EQ(shape(rtmp("render")), "h264,320,240,25/1");
  EXPECT_EQ(str(api("GET", "/pipelines/" + id).body.at("source"), "channel"), "frames.render");
  // The frame path — arrival in sluiced to the encoders — is measured and shown.
  EXPECT_TRUE(
      eventually([&] { return num(api("GET", "/pipelines/" + id).body, "frame_path_ms") > 0; }, 5s))
      << api("GET", "/pipelines/" + id).raw;
  EXPECT_TRUE(
      metric(api("GET", "/metrics").raw, R"(sluice_pipeline_frame_path_seconds{pipeline="render"})")
          .has_value());

  ChildProcess wrong;
  ASSERT_TRUE(wrong.spawn({"/bin/sh", "-c",
                           "head -c 1000000 /dev/zero | " + pub +
                               " frames.wrong - --frame-bytes 1000 --metadata "
                               "'{\"format\":\"rgba\",\"width\":320,\"height\":240}'"},
                          true));
  Answer created = api("POST", "/pipelines", R"({"name": "wrong",
      "source": {"type": "relay", "channel": "frames.wrong"}})");
  ASSERT_EQ(created.status, 201) << created.raw;
  json::value p;
  EXPECT_TRUE(eventually(
      [&] {
        p = api("GET", "/pipelines/" + str(created.body, "id")).body;
        return str(p, "state") == "retrying" &&
               str(p, "error").find("307200 bytes") != std::string::npos;
      },
      20s))
      << json::serialize(p);
  EXPECT_EQ(str(api("GET", "/pipelines/" + id).body, "state"), "running");
}

// A live path of this sluiced (ffmpeg publishing over RTMP) decoded as a pipeline's source: a
// smaller rendition of it plays, and the pipeline is listed among the path's readers.
TEST_F(PipelineTest, ALivePathIsDecodedAsASource) {
  Answer key = api("POST", "/keys", R"({"stream":"cam"})");
  ASSERT_EQ(key.status, 201);
  ChildProcess ffmpeg;
  ASSERT_TRUE(ffmpeg.spawn(publisher_argv(rtmp(str(key.body, "key"))), true));
  ASSERT_TRUE(
      eventually([&] { return num(api("GET", "/media/paths/cam").body, "width") > 0; }, 30s));
  EXPECT_EQ(api("POST", "/pipelines", R"({"name": "loop",
      "source": {"type": "path", "path": "loop"}})")
                .status,
            422);  // its own rendition
  auto second = std::make_unique<DaemonProcess>(std::vector<std::string>{"--dev-key"});
  ASSERT_TRUE(second->start());
  const std::string push_key = find_key(second->output());
  // The pushed rendition has no size of its own: it is pushed at the picture's.
  start((R"({"name": "small", "source": {"type": "path", "path": "cam"},
            "encoder": {"bitrate_kbps": 200},
            "renditions": [{"path": "cam-small", "width": 160, "height": 120}, {"path": "cam-same"}],
            "outputs": [{"type": "push", "rendition": "cam-same", "url": "rtmp://127.0.0.1:)" +
         std::to_string(second->rtmp_port()) + "/live/" + push_key + R"("}]})")
            .c_str());
  const std::string pushed =
      "rtmp://127.0.0.1:" + std::to_string(second->rtmp_port()) + "/live/dev";
  EXPECT_TRUE(eventually([&] { return shape(pushed).substr(0, 12) == "h264,320,240"; }, 30s))
      << shape(pushed);
  EXPECT_EQ(shape(rtsp("cam-small"), {"-rtsp_transport", "tcp"}).substr(0, 12), "h264,160,120");
  CommandResult probed;  // the publisher's AAC, copied
  EXPECT_EQ(probe_streams(rtsp("cam-small"), &probed, 40s, {"-rtsp_transport", "tcp"}),
            (std::vector<std::string>{"h264 160x120", "aac"}))
      << probed.err;
  EXPECT_NE(api("GET", "/media/paths/cam").raw.find("\"kind\":\"pipeline\""), std::string::npos)
      << api("GET", "/media/paths/cam").raw;
}

// The segment still being written is on disk part by part (about once a second), so the last
// seconds play back before the segment (10 s here) is whole.
TEST_F(PipelineTest, TheLastSecondsOfARecordingPlayBackBeforeItsSegmentIsWhole) {
  EXPECT_EQ(api("PUT", "/settings/record_segment", R"({"value": 10})").status, 200);
  start(R"({"name": "live-rec",
      "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
      "encoder": {"bitrate_kbps": 300, "gop": 250},
      "outputs": [{"type": "record"}]})");
  std::this_thread::sleep_for(4s);
  const std::string from = format_timestamp(std::chrono::system_clock::now() - 5s);
  Answer mp4 = api("GET", "/recordings/live-rec?start=" + from + "&duration=10");
  ASSERT_EQ(mp4.status, 200) << mp4.raw.substr(0, 200);
  const std::string file = ::testing::TempDir() + "/partial-" + std::to_string(::getpid()) + ".mp4";
  std::ofstream(file, std::ios::binary) << mp4.raw;
  CommandResult d = run_command({program_path("ffprobe"), "-v", "error", "-show_entries",
                                 "format=duration", "-of", "csv=p=0", file});
  EXPECT_GT(std::atof(d.out.c_str()), 1.5) << d.out << d.err;
  CommandResult r;
  EXPECT_EQ(probe_streams(file, &r), (std::vector<std::string>{"h264 320x240"})) << r.err;
}

// Retention by disk budget: lowering record_max_size deletes the oldest segments until the
// recordings fit (the sweep runs every 5 s).
TEST_F(PipelineTest, RecordingsAreKeptWithinTheirDiskBudget) {
  EXPECT_EQ(api("PUT", "/settings/record_segment", R"({"value": 1})").status, 200);
  EXPECT_EQ(api("PUT", "/settings/record_max_size", R"({"value": 0})").status, 422);
  start(R"({"name": "budget",
      "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
      "encoder": {"bitrate_kbps": 4000, "rate_control": "cbr", "preset": "ultrafast"},
      "outputs": [{"type": "record"}]})");
  json::value listed;
  ASSERT_TRUE(eventually(
      [&] {
        listed = api("GET", "/recordings").body;
        return listed.is_array() && listed.as_array().size() == 1 &&
               num(listed.as_array()[0], "bytes") > 2.5 * 1024 * 1024;
      },
      20s))
      << json::serialize(listed);
  EXPECT_EQ(api("PUT", "/settings/record_max_size", R"({"value": 0.001})").status, 200);  // 1 MiB
  EXPECT_TRUE(eventually(
      [&] {
        listed = api("GET", "/recordings").body;
        return listed.is_array() && listed.as_array().size() == 1 &&
               num(listed.as_array()[0], "bytes") < 1.6 * 1024 * 1024;
      },
      15s))
      << json::serialize(listed);
}

// A record output records its rendition while the pipeline runs: segments are listed.
TEST_F(PipelineTest, ARecordOutputRecordsItsRendition) {
  EXPECT_EQ(api("PUT", "/settings/record_segment", R"({"value": 1})").status, 200);
  const std::string id = start(R"({"name": "rc",
      "source": {"type": "testsrc", "width": 320, "height": 240, "fps": 25},
      "encoder": {"bitrate_kbps": 300},
      "renditions": [{"path": "rc1"}, {"path": "rc2", "width": 160, "height": 120}],
      "outputs": [{"type": "record", "rendition": "rc2"}]})");
  json::value listed;
  ASSERT_TRUE(eventually(
      [&] {
        listed = api("GET", "/recordings").body;
        return listed.is_array() && listed.as_array().size() == 1 &&
               num(listed.as_array()[0], "segments") >= 2;
      },
      20s))
      << json::serialize(listed);
  EXPECT_EQ(str(listed.as_array()[0], "path"), "rc2");  // only the rendition asked for
  EXPECT_EQ(str(api("GET", "/pipelines/" + id).body.at("outputs").as_array().at(0), "state"),
            "recording");
}

// Frames dropped because the machine cannot keep up (x264's veryslow preset at 720p30 on one
// thread) move the pipeline's health to "dropping" and its counters, in GET, /health and
// /metrics, and the change is announced on the hub (sluice.pipelines.health).
TEST_F(PipelineTest, DroppedFramesShowInHealthAndMetrics) {
  MediaEvents hub(daemon_->port(), "sluice.pipelines.>");
  ASSERT_TRUE(hub.subscribed());
  const std::string id = start(R"({"name": "slow",
      "source": {"type": "testsrc", "width": 1280, "height": 720, "fps": 30},
      "encoder": {"bitrate_kbps": 2000, "preset": "veryslow"}})");
  json::value p;
  EXPECT_TRUE(eventually(
      [&] {
        p = api("GET", "/pipelines/" + id).body;
        return str(p, "health") == "dropping" && num(p, "dropped_frames") > 10;
      },
      20s))
      << json::serialize(p);
  const auto dropped =
      metric(api("GET", "/metrics").raw, "encoder_dropped_frames{pipeline=\"slow\"}");
  ASSERT_TRUE(dropped);
  EXPECT_GT(*dropped, 10);
  EXPECT_NE(api("GET", "/health").raw.find("\"name\":\"slow\",\"health\":\"dropping\""),
            std::string::npos)
      << api("GET", "/health").raw;
  // The change of health went out on the hub.
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& e : hub.events()) {
          if (str(e, "name") == "slow" && str(e, "health") == "dropping" &&
              !str(e, "previous").empty()) {
            return true;
          }
        }
        return false;
      },
      5s))
      << hub.events().size() << " events";
  EXPECT_EQ(api("DELETE", "/pipelines/" + id).status, 200);
}

}  // namespace
}  // namespace sluice::testing
