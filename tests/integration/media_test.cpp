// Media end to end with the real ffmpeg and ffprobe against a real sluiced: RTMP publish guarded
// by stream keys, playback over RTMP, HTTP-FLV and HLS, refusals, takeover, slow readers, the
// registry entry of a live path, the GOP cache, read keys, kicks, bad RTMP input, lifecycle
// events and metrics. ffmpeg and ffprobe are found on PATH.
#include <mutex>
#include <thread>

#include "media_fixture.hpp"

namespace sluice::testing {
namespace {

class MediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(daemon_args());
    ASSERT_TRUE(daemon_->start());
    ASSERT_GT(daemon_->rtmp_port(), 0) << daemon_->output();
  }
  virtual std::vector<std::string> daemon_args() const { return {"--hls-segment", "1"}; }

  DaemonProcess& daemon() { return *daemon_; }
  Answer api(std::string_view method, const std::string& target, std::string_view body = {}) {
    return http_call(daemon_->url(), method, target, body);
  }

  struct Key {
    std::string id;
    std::string key;
  };
  // POST /keys {"stream": stream, <extra>}; fails the test unless 201.
  Key create_key(const std::string& stream, const std::string& extra = {}) {
    auto a = api("POST", "/keys", R"({"stream":")" + stream + "\"" + extra + "}");
    EXPECT_EQ(a.status, 201) << a.raw;
    return {str(a.body, "id"), str(a.body, "key")};
  }

  std::string rtmp(const std::string& tail) const {
    return "rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) + "/live/" + tail;
  }
  std::string http(const std::string& target) const { return daemon_->url() + target; }

  json::value path(const std::string& name) { return api("GET", "/media/paths/" + name).body; }
  // Live with video of a known size and packets flowing.
  bool wait_live(const std::string& name, std::chrono::milliseconds timeout = 30s) {
    return eventually(
        [&] {
          auto p = path(name);
          return num(p, "width") == 320 && num(p, "video_frames") > 0 &&
                 !str(p, "audio_codec").empty();
        },
        timeout);
  }
  std::size_t live_paths() {
    auto a = api("GET", "/media/paths");
    return a.body.is_array() ? a.body.as_array().size() : 999;
  }
  // The entries of GET /streams named `name`.
  std::vector<json::value> registry_entries(const std::string& name) {
    std::vector<json::value> out;
    auto a = api("GET", "/streams");
    if (!a.body.is_array()) return out;
    for (const auto& s : a.body.as_array()) {
      if (str(s, "name") == name) out.push_back(s);
    }
    return out;
  }

  std::string metrics() { return api("GET", "/metrics").raw; }
  double metric_or(const std::string& series, double fallback = 0) {
    return metric(metrics(), series).value_or(fallback);
  }
  double attempts(const std::string& status) {
    return metric_or(R"(rtmp_publish_attempts_total{status=")" + status + "\"}");
  }

  // Starts ffmpeg publishing to rtmp://…/live/<tail> and waits until `path_name` is live.
  void publish(ChildProcess& ffmpeg, const std::string& tail, const std::string& path_name,
               PublishSpec spec = {}) {
    ASSERT_TRUE(ffmpeg.spawn(publisher_argv(rtmp(tail), spec), true));
    ASSERT_TRUE(wait_live(path_name))
        << "never live. ffmpeg: " << ffmpeg.stdout_text() << "\nsluiced:\n"
        << daemon_->output();
  }

  // A publish that must be refused: ffmpeg exits non-zero within 20 s.
  CommandResult refused_publish(const std::string& tail) {
    ChildProcess ffmpeg;
    CommandResult r;
    EXPECT_TRUE(ffmpeg.spawn(publisher_argv(rtmp(tail)), true));
    auto code = ffmpeg.wait(20s);
    EXPECT_TRUE(code.has_value()) << "ffmpeg kept publishing to " << tail;
    r.exit_code = code.value_or(-1);
    r.out = ffmpeg.stdout_text();
    return r;
  }

  std::unique_ptr<DaemonProcess> daemon_;
};

const std::vector<std::string> kAvStreams{"h264 320x240", "aac"};

// The key with one character of its secret changed. Not the last one: its low bits are padding
// of the base64url text, so most changes there make the key malformed rather than wrong.
std::string wrong_secret(std::string key) {
  key[40] = key[40] == 'a' ? 'b' : 'a';
  return key;
}

// ---- 1. publish with a key, read back over RTMP, HTTP-FLV and HLS ----

TEST_F(MediaTest, KeyFromApiPublishesAndPlaysOverRtmpFlvAndHls) {
  const Key key = create_key("cam1");
  ChildProcess ffmpeg;
  publish(ffmpeg, key.key, "cam1");  // OBS style: server rtmp://…/live, stream key = the key

  auto p = path("cam1");
  EXPECT_EQ(str(p, "video_codec"), "h264") << json::serialize(p);
  EXPECT_EQ(str(p, "audio_codec"), "aac");
  EXPECT_EQ(num(p, "height"), 240);
  EXPECT_EQ(str(p.at("publisher"), "key_id"), key.id);
  EXPECT_EQ(str(p.at("publisher"), "protocol"), "rtmp");

  CommandResult r;
  EXPECT_EQ(probe_streams(rtmp("cam1"), &r), kAvStreams) << r.err;
  EXPECT_EQ(probe_streams(http("/live/cam1.flv"), &r), kAvStreams) << r.err;
  EXPECT_EQ(probe_streams(http("/live/cam1/index.m3u8"), &r), kAvStreams) << r.err;

  // The playlist (Low-Latency HLS by default) lists fMP4 segments on an initialization section
  // (hls_test.cpp covers every variant).
  auto playlist = api("GET", "/live/cam1/index.m3u8");
  ASSERT_EQ(playlist.status, 200) << playlist.raw;
  EXPECT_TRUE(playlist.raw.starts_with("#EXTM3U")) << playlist.raw;
  EXPECT_NE(playlist.raw.find("#EXTINF:"), std::string::npos) << playlist.raw;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(playlist.raw, m, std::regex(R"(seg-\d+\.mp4)"))) << playlist.raw;
  auto segment = api("GET", "/live/cam1/" + m.str());
  ASSERT_EQ(segment.status, 200) << segment.raw.substr(0, 200);
  ASSERT_GE(segment.raw.size(), 1000u);
  EXPECT_EQ(segment.raw.substr(4, 4), "moof");
  // ffmpeg decodes two seconds of the live playlist without an error.
  auto decoded = run_command({program_path("ffmpeg"), "-nostdin", "-v", "error", "-i",
                              http("/live/cam1/index.m3u8"), "-t", "2", "-f", "null", "-"},
                             60s);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(decoded.err, "");
  EXPECT_TRUE(ffmpeg.running());
}

// An encoder that reconnects (Ctrl-C and start again) while someone watches HLS: the playlist
// ends while no one publishes, then continues with the new publisher — sequence numbers go on,
// EXT-X-DISCONTINUITY marks the new timeline, EXT-X-ENDLIST is gone — and ffmpeg plays it.
TEST_F(MediaTest, HlsPlaylistContinuesWhenTheEncoderReconnects) {
  const Key key = create_key("stage");
  auto segments_of = [](const std::string& playlist) {
    std::vector<std::uint64_t> out;
    static const std::regex seg(R"(seg-(\d+)\.(?:ts|mp4))");
    for (auto it = std::sregex_iterator(playlist.begin(), playlist.end(), seg);
         it != std::sregex_iterator(); ++it) {
      out.push_back(std::stoull((*it)[1].str()));
    }
    return out;
  };
  std::string playlist;
  {
    ChildProcess first;
    publish(first, key.key, "stage");
    ASSERT_TRUE(eventually(
        [&] {
          playlist = api("GET", "/live/stage/index.m3u8").raw;
          return segments_of(playlist).size() >= 2;
        },
        30s))
        << playlist;
    first.kill_and_reap();
  }
  ASSERT_TRUE(eventually([&] { return live_paths() == 0; }, 10s));
  ASSERT_TRUE(eventually(
      [&] {
        playlist = api("GET", "/live/stage/index.m3u8").raw;
        return playlist.find("#EXT-X-ENDLIST") != std::string::npos;
      },
      10s))
      << playlist;
  const std::uint64_t last_before = segments_of(playlist).back();

  ChildProcess second;
  publish(second, key.key, "stage");
  ASSERT_TRUE(eventually(
      [&] {
        playlist = api("GET", "/live/stage/index.m3u8").raw;
        const auto listed = segments_of(playlist);
        return !listed.empty() && listed.back() > last_before + 1;
      },
      30s))
      << "the playlist did not continue with the new publisher:\n"
      << playlist;
  EXPECT_EQ(playlist.find("#EXT-X-ENDLIST"), std::string::npos) << playlist;
  EXPECT_NE(playlist.find("#EXT-X-DISCONTINUITY\n"), std::string::npos) << playlist;
  // The new publisher's segments stand on a new initialization section.
  EXPECT_NE(playlist.find("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-2.mp4\""), std::string::npos)
      << playlist;
  auto decoded =
      run_command({program_path("ffmpeg"), "-nostdin", "-v", "error", "-live_start_index", "-1",
                   "-i", http("/live/stage/index.m3u8"), "-t", "2", "-f", "null", "-"},
                  60s);
  EXPECT_EQ(decoded.exit_code, 0) << decoded.err;
}

TEST_F(MediaTest, KeyFromCliPublishesWithTheKeyInTheQuery) {
  auto created = run_command(
      {SLUICE_CLI_PATH, "--server", daemon().url(), "keys", "create", "cam2", "--note", "cli"});
  ASSERT_EQ(created.exit_code, 0) << created.err << created.out;
  const std::string key = find_key(created.out);
  ASSERT_FALSE(key.empty()) << created.out;

  ChildProcess ffmpeg;
  publish(ffmpeg, "cam2?key=" + key, "cam2");
  EXPECT_EQ(str(path("cam2").at("publisher"), "key_id"), key.substr(3, 16));
  CommandResult r;
  EXPECT_EQ(probe_streams(rtmp("cam2"), &r), kAvStreams) << r.err;
  EXPECT_EQ(probe_streams(http("/live/cam2.flv"), &r), kAvStreams) << r.err;
}

// ---- 2. refusals ----

TEST_F(MediaTest, RefusedKeysNeverGoLiveAndAreCountedByReason) {
  const Key good = create_key("cam");
  const Key expiring = create_key("cam", R"(,"expires_in":1)");
  const Key revoked = create_key("cam");
  const Key far = create_key("cam", R"(,"allowed_ips":["10.0.0.0/8"])");
  ASSERT_EQ(api("DELETE", "/keys/" + revoked.id).status, 200);
  ASSERT_TRUE(eventually(
      [&] { return str(api("GET", "/keys/" + expiring.id).body, "state") == "expired"; }, 10s));

  const std::string wrong = wrong_secret(good.key);
  const std::string unknown = "sk_0123456789abcdef" + good.key.substr(19);
  struct Case {
    std::string key;
    std::string status;
  };
  const std::vector<Case> cases{{wrong, "wrong"},
                                {unknown, "unknown"},
                                {"sk_garbage!", "malformed"},
                                {expiring.key, "expired"},
                                {revoked.key, "revoked"},
                                {far.key, "ip_forbidden"},
                                {"no-key-at-all", "missing"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.status);
    const auto started = Clock::now();
    auto r = refused_publish(c.key);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_LT(Clock::now() - started, 10s) << "refusal was not quick";
    EXPECT_NE(r.out.find("refused"), std::string::npos) << r.out;
    EXPECT_EQ(attempts(c.status), 1) << metrics();
  }
  EXPECT_EQ(attempts("accepted"), 0);
  EXPECT_EQ(live_paths(), 0u);
  EXPECT_TRUE(registry_entries("cam").empty());
  const std::string out = daemon().output();
  for (const auto& k : {wrong, unknown, expiring.key, revoked.key, far.key}) {
    EXPECT_EQ(out.find(k.substr(19)), std::string::npos) << "secret of " << k << " logged:\n"
                                                         << out;
  }
  // The good key still works afterwards.
  ChildProcess ffmpeg;
  publish(ffmpeg, good.key, "cam");
  EXPECT_EQ(attempts("accepted"), 1);
}

// ---- 3. rotation ----

TEST_F(MediaTest, RotatedKeyRefusesTheOldSecretAndAcceptsTheNew) {
  const Key old_key = create_key("cam");
  auto rotated = api("POST", "/keys/" + old_key.id + "/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.raw;
  const std::string new_key = str(rotated.body, "key");
  ASSERT_NE(new_key, old_key.key);

  auto r = refused_publish(old_key.key);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(attempts("wrong"), 1) << metrics();
  EXPECT_EQ(live_paths(), 0u);

  ChildProcess ffmpeg;
  publish(ffmpeg, new_key, "cam");
  EXPECT_EQ(str(path("cam").at("publisher"), "key_id"), old_key.id);
}

// ---- 4. a second publisher ----

TEST_F(MediaTest, SecondPublisherIsRefusedWhileTheFirstKeepsGoing) {
  const Key key = create_key("cam");
  ChildProcess first;
  publish(first, key.key, "cam");
  const std::string first_id = str(path("cam").at("publisher"), "id");

  // Another key of the same stream: refused while the first publisher is live.
  const Key other = create_key("cam");
  auto r = refused_publish(other.key);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(attempts("busy"), 1) << metrics();

  EXPECT_TRUE(first.running());
  EXPECT_EQ(str(path("cam").at("publisher"), "id"), first_id);
  const double bytes = num(path("cam"), "bytes_in");
  EXPECT_TRUE(eventually([&] { return num(path("cam"), "bytes_in") > bytes + 10000; }));
  CommandResult probe;
  EXPECT_EQ(probe_streams(rtmp("cam"), &probe), kAvStreams) << probe.err;
}

// An encoder whose network dropped reconnects with its key while its old connection is still
// open (silent, not yet timed out): the new connection takes the path over at once.
TEST_F(MediaTest, SameKeyReconnectTakesOverAStaleConnection) {
  const Key key = create_key("cam");
  ChildProcess stale;
  publish(stale, key.key, "cam");
  const std::string stale_id = str(path("cam").at("publisher"), "id");
  ASSERT_EQ(::kill(stale.pid(), SIGSTOP), 0);  // the cable is pulled: the socket stays open
  ChildProcess reconnected;
  ASSERT_TRUE(reconnected.spawn(publisher_argv(rtmp(key.key)), true));
  EXPECT_TRUE(eventually(
      [&] {
        const std::string id = str(path("cam").at("publisher"), "id");
        return !id.empty() && id != stale_id;
      },
      20s))
      << json::serialize(path("cam"));
  EXPECT_TRUE(reconnected.running()) << reconnected.stdout_text();
  CommandResult probe;
  EXPECT_EQ(probe_streams(rtmp("cam"), &probe), kAvStreams) << probe.err;
  EXPECT_EQ(attempts("busy"), 0) << metrics();
  ::kill(stale.pid(), SIGKILL);
}

class MediaTakeoverTest : public MediaTest {
 protected:
  std::vector<std::string> daemon_args() const override { return {"--rtmp-takeover", "true"}; }
};

TEST_F(MediaTakeoverTest, SecondPublisherTakesOverAndTheFirstEnds) {
  const Key key = create_key("cam");
  ChildProcess first;
  publish(first, key.key, "cam");
  const std::string first_id = str(path("cam").at("publisher"), "id");

  ChildProcess second;
  ASSERT_TRUE(second.spawn(publisher_argv(rtmp(key.key)), true));
  EXPECT_TRUE(eventually(
      [&] {
        const std::string id = str(path("cam").at("publisher"), "id");
        return !id.empty() && id != first_id;
      },
      20s))
      << json::serialize(path("cam"));
  EXPECT_TRUE(first.wait(20s).has_value()) << "the first publisher is still running";
  EXPECT_TRUE(second.running()) << second.stdout_text();
  EXPECT_TRUE(wait_live("cam"));
  CommandResult probe;
  EXPECT_EQ(probe_streams(rtmp("cam"), &probe), kAvStreams) << probe.err;
  EXPECT_EQ(live_paths(), 1u);
}

// ---- 5. a slow reader ----

TEST_F(MediaTest, SlowReaderDropsWhilePlayersAndPublisherAreUnaffected) {
  const Key key = create_key("cam");
  ChildProcess publisher;
  publish(publisher, key.key, "cam", PublishSpec{.gop = 25, .readrate = 8});

  ChildProcess player1, player2;
  ASSERT_TRUE(player1.spawn(player_argv(rtmp("cam"))));
  ASSERT_TRUE(player2.spawn(player_argv(rtmp("cam"))));

  // Asks for the FLV body with a tiny receive window and never reads it.
  TcpClient slow(daemon().port(), 2048);
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.send_all("GET /live/cam.flv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));

  auto slow_reader = [&]() -> json::value {
    auto p = path("cam");
    if (!p.is_object() || !p.as_object().contains("readers")) return nullptr;
    for (const auto& r : p.at("readers").as_array()) {
      if (str(r, "kind") == "http-flv") return r;
    }
    return nullptr;
  };
  ASSERT_TRUE(eventually([&] { return num(slow_reader(), "dropped") > 0; }, 25s))
      << json::serialize(path("cam"));
  const json::value slow_info = slow_reader();
  EXPECT_LE(num(slow_info, "queued"), 2048) << json::serialize(slow_info);

  // The players keep receiving, and one that joins now gets a steady flow of frames.
  const long frames1 = frames_of(player1), frames2 = frames_of(player2);
  ChildProcess late;
  ASSERT_TRUE(late.spawn(player_argv(rtmp("cam"))));
  EXPECT_TRUE(eventually([&] { return frames_of(late) >= 100; }, 15s))
      << "late player: " << frames_of(late) << " frames " << late.stderr_text();
  EXPECT_GT(frames_of(player1), frames1 + 50) << player1.stderr_text();
  EXPECT_GT(frames_of(player2), frames2 + 50) << player2.stderr_text();

  // The publisher goes on at its own rate (8 x 25 fps: at least 100 frames in a few seconds).
  const double frames_in = num(path("cam"), "video_frames");
  EXPECT_TRUE(eventually([&] { return num(path("cam"), "video_frames") > frames_in + 100; }, 10s));
  EXPECT_TRUE(publisher.running());
  EXPECT_NE(slow_reader(), json::value(nullptr)) << "the slow reader was closed early";
  EXPECT_GT(metric_or(R"(sluice_media_dropped_packets_total{path="cam"})"), 0);
}

// ---- 6. the registry ----

TEST_F(MediaTest, LivePathIsAVideoStreamInTheRegistryUntilThePublisherLeaves) {
  const Key key = create_key("studio");
  ChildProcess ffmpeg;
  publish(ffmpeg, key.key, "studio");

  json::value entry;
  ASSERT_TRUE(eventually([&] {
    auto entries = registry_entries("studio");
    if (entries.size() != 1) return false;
    entry = entries[0];
    return entry.as_object().contains("config") &&
           str(entry.at("config"), "resolution") == "320x240";
  })) << api("GET", "/streams").raw;
  EXPECT_EQ(str(entry, "stream_type"), "video") << json::serialize(entry);
  EXPECT_EQ(str(entry, "protocol"), "rtmp");
  EXPECT_EQ(num(entry, "port"), daemon().rtmp_port());
  const auto& config = entry.at("config");
  EXPECT_EQ(str(config, "codec"), "h264");
  EXPECT_EQ(str(config, "rtmp_url"), rtmp("studio"));
  EXPECT_EQ(str(config, "flv_url"), http("/live/studio.flv"));
  EXPECT_EQ(str(config, "hls_url"), http("/live/studio/index.m3u8"));
  EXPECT_EQ(str(config, "rtsp_url"),
            "rtsp://127.0.0.1:" + std::to_string(daemon().rtsp_port()) + "/live/studio");
  EXPECT_EQ(str(config, "srt_url"), "srt://127.0.0.1:" + std::to_string(daemon().srt_port()) +
                                        "?streamid=#!::r=live/studio,m=request");
  // The bitrate follows what arrives (the publisher's declared figure is only a start).
  EXPECT_TRUE(eventually(
      [&] {
        auto entries = registry_entries("studio");
        const double measured = num(path("studio"), "bitrate_kbps");
        if (entries.size() != 1 || measured <= 0) return false;
        const double shown = num(entries[0].at("config"), "bitrate_kbps");
        return std::abs(shown - measured) <= std::max(50.0, measured * 0.25);
      },
      25s))
      << api("GET", "/streams").raw << json::serialize(path("studio"));

  ffmpeg.signal_and_wait(SIGKILL);
  EXPECT_TRUE(eventually([&] { return registry_entries("studio").empty(); }, 15s))
      << api("GET", "/streams").raw;
  EXPECT_TRUE(eventually([&] { return live_paths() == 0; }, 15s));
  EXPECT_EQ(api("GET", "/media/paths/studio").status, 404);
}

// ---- 7. the GOP cache ----

TEST_F(MediaTest, NewPlayerGetsAPictureAtOnceFromTheGopCache) {
  // One keyframe every 24 s: without the cache a new player would wait for the next one.
  const Key key = create_key("cam");
  ChildProcess ffmpeg;
  publish(ffmpeg, key.key, "cam", PublishSpec{.gop = 600});
  ASSERT_TRUE(eventually([&] { return num(path("cam"), "video_frames") >= 50; }));
  ASSERT_EQ(num(path("cam"), "keyframes"), 1) << json::serialize(path("cam"));
  EXPECT_GT(num(path("cam"), "gop_cache_bytes"), 0);

  auto started = Clock::now();
  auto picture = run_command({program_path("ffmpeg"), "-nostdin", "-v", "error", "-i", rtmp("cam"),
                              "-frames:v", "1", "-f", "null", "-"},
                             30s);
  const auto picture_time = Clock::now() - started;
  EXPECT_EQ(picture.exit_code, 0) << picture.err;
  EXPECT_LT(picture_time, 6s) << "first picture after "
                              << std::chrono::duration<double>(picture_time).count() << " s";

  started = Clock::now();
  CommandResult r;
  EXPECT_EQ(probe_streams(rtmp("cam"), &r), kAvStreams) << r.err;
  EXPECT_LT(Clock::now() - started, 6s);
  EXPECT_EQ(num(path("cam"), "keyframes"), 1) << "a second keyframe came: the test proves nothing";
}

// ---- 8. read keys ----

TEST_F(MediaTest, ReadKeyIsRequiredToPlayAPrivatePath) {
  const Key key = create_key("private");
  ChildProcess ffmpeg;
  publish(ffmpeg, key.key, "private");
  const Key read = create_key("private", R"(,"kind":"read")");

  // Without the key: RTMP, HTTP-FLV and HLS refuse.
  CommandResult r;
  EXPECT_TRUE(probe_streams(rtmp("private"), &r, 20s).empty()) << r.out;
  EXPECT_NE(r.exit_code, 0);
  {
    TcpClient flv(daemon().port());
    flv.send_all("GET /live/private.flv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    ASSERT_TRUE(flv.read_until("\r\n\r\n", 10s)) << flv.received();
    // No key at all: 401, like every other route that wants a key it was not given.
    EXPECT_TRUE(flv.received().starts_with("HTTP/1.1 401")) << flv.received();
  }
  EXPECT_EQ(api("GET", "/live/private/index.m3u8").status, 401);
  EXPECT_EQ(
      api("GET", "/live/private/index.m3u8?key=sk_0123456789abcdef" + read.key.substr(19)).status /
          100,
      4);

  // With it: all three play.
  EXPECT_EQ(probe_streams(rtmp("private?key=" + read.key), &r), kAvStreams) << r.err;
  {
    TcpClient flv(daemon().port());
    flv.send_all("GET /live/private.flv?key=" + read.key + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    ASSERT_TRUE(flv.read_until("\r\n\r\nFLV", 10s)) << flv.received().substr(0, 300);
    EXPECT_TRUE(flv.received().starts_with("HTTP/1.1 200")) << flv.received().substr(0, 300);
  }
  auto playlist = api("GET", "/live/private/index.m3u8?key=" + read.key);
  ASSERT_EQ(playlist.status, 200) << playlist.raw;
  // Every URI carries the read key: segments, parts, the map and the preload hint.
  for (const std::string uri : {".mp4?key=", "#EXT-X-MAP:URI=\"init-1.mp4?key=",
                                "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-"}) {
    EXPECT_NE(playlist.raw.find(uri), std::string::npos) << uri << "\n" << playlist.raw;
  }
  std::smatch hint;
  ASSERT_TRUE(std::regex_search(playlist.raw, hint,
                                std::regex(R"re(PRELOAD-HINT[^\n]*\.mp4\?key=([^"]+))re")))
      << playlist.raw;
  EXPECT_EQ(hint[1].str(), read.key);
  EXPECT_EQ(probe_streams(http("/live/private/index.m3u8?key=" + read.key), &r), kAvStreams)
      << r.err;
}

// ---- 9. kicks ----

TEST_F(MediaTest, KickingAReaderEndsItAndKickingThePathEndsThePublisher) {
  const Key key = create_key("cam");
  ChildProcess ffmpeg;
  publish(ffmpeg, key.key, "cam");

  TcpClient flv(daemon().port());
  flv.send_all("GET /live/cam.flv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_TRUE(flv.read_until("\r\n\r\nFLV", 10s)) << flv.received().substr(0, 300);
  std::string reader_id;
  ASSERT_TRUE(eventually([&] {
    const json::value p = path("cam");
    for (const auto& r : p.at("readers").as_array()) {
      if (str(r, "kind") == "http-flv") reader_id = str(r, "id");
    }
    return !reader_id.empty();
  }));
  EXPECT_EQ(api("DELETE", "/media/paths/cam/readers/nobody").status, 404);
  auto kicked = api("DELETE", "/media/paths/cam/readers/" + reader_id);
  EXPECT_EQ(kicked.status, 200) << kicked.raw;
  EXPECT_TRUE(flv.wait_closed(10s)) << "the kicked FLV reader still gets data";
  // Logged with the reader, its kind and peer, and the path (docs/operations.md, "Media").
  EXPECT_TRUE(daemon().process().wait_for_line(
      [&](const std::string& line) {
        return line.find("media: reader " + reader_id + " (http-flv from 127.0.0.1:") !=
                   std::string::npos &&
               line.find(") of 'cam' kicked through the API") != std::string::npos;
      },
      10s))
      << daemon().output();
  EXPECT_EQ(num(path("cam"), "reader_count"), 0);
  EXPECT_TRUE(ffmpeg.running());

  auto ended = api("DELETE", "/media/paths/cam");
  EXPECT_EQ(ended.status, 200) << ended.raw;
  EXPECT_TRUE(ffmpeg.wait(15s).has_value()) << "the kicked publisher is still running";
  EXPECT_TRUE(eventually([&] { return live_paths() == 0; }));
  EXPECT_EQ(api("DELETE", "/media/paths/cam").status, 404);
}

// ---- 10. bad input on the RTMP port ----

TEST_F(MediaTest, BadRtmpInputIsClosedWithoutHurtingALivePublisher) {
  const Key key = create_key("cam");
  ChildProcess ffmpeg;
  publish(ffmpeg, key.key, "cam");
  const int port = daemon().rtmp_port();
  const double errors_before = metric_or("rtmp_errors_total");

  // Garbage (an HTTP request): the handshake's version byte is wrong.
  TcpClient garbage(port);
  garbage.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(2000, '\x7f'));
  // A handshake that stops half-way.
  TcpClient truncated(port);
  truncated.send_all(std::string(1, '\x03') + std::string(700, '\0'));
  // Handshake, then Set Chunk Size 0.
  TcpClient zero_chunk(port);
  ASSERT_TRUE(rtmp_handshake(zero_chunk));
  zero_chunk.send_all(rtmp_message(1, std::string(4, '\0')));
  // Handshake, then a message that claims 16 MiB - 1 (over the 8 MiB limit) and sends 100 bytes.
  TcpClient huge(port);
  ASSERT_TRUE(rtmp_handshake(huge));
  huge.send_all(rtmp_message(20, std::string(100, 'x'), 0xFFFFFF));
  // Handshake, connect, then a command no server knows.
  TcpClient unknown(port);
  ASSERT_TRUE(rtmp_handshake(unknown));
  unknown.send_all(rtmp_connect_command());
  ASSERT_TRUE(unknown.read_until("_result", 10s)) << "connect was not answered";
  unknown.send_all(rtmp_message(20, amf_string("deleteEverything") + amf_number(2) + amf_null()));
  // Handshake, then an unknown command before connect.
  TcpClient early(port);
  ASSERT_TRUE(rtmp_handshake(early));
  early.send_all(rtmp_message(20, amf_string("fooBar") + amf_number(1) + amf_null()));

  EXPECT_TRUE(garbage.wait_closed(5s)) << "garbage";
  EXPECT_TRUE(zero_chunk.wait_closed(5s)) << "set chunk size 0";
  EXPECT_TRUE(unknown.wait_closed(5s)) << "unknown command";
  EXPECT_TRUE(early.wait_closed(5s)) << "command before connect";
  EXPECT_TRUE(huge.wait_closed(5s)) << "oversized message";
  EXPECT_GE(metric_or("rtmp_errors_total"), errors_before + 5) << metrics();
  // The truncated handshake is closed by the handshake timeout (10 s); not a protocol error.
  EXPECT_TRUE(truncated.wait_closed(20s)) << "truncated handshake";

  // The publisher never noticed.
  EXPECT_TRUE(ffmpeg.running()) << ffmpeg.stdout_text();
  const double bytes = num(path("cam"), "bytes_in");
  EXPECT_TRUE(eventually([&] { return num(path("cam"), "bytes_in") > bytes + 10000; }));
  CommandResult r;
  EXPECT_EQ(probe_streams(rtmp("cam"), &r), kAvStreams) << r.err;
}

// After a successful connect, a client that announces a command of 8 MiB - 1 and sends nothing
// more is closed at once: until a publish is accepted messages are limited to 64 KiB.
TEST_F(MediaTest, ConnectedClientAnnouncingAHugeCommandIsClosed) {
  TcpClient huge(daemon().rtmp_port());
  ASSERT_TRUE(rtmp_handshake(huge));
  huge.send_all(rtmp_connect_command());
  ASSERT_TRUE(huge.read_until("_result", 10s)) << "connect was not answered";
  huge.send_all(rtmp_message(20, std::string(100, 'x'), 0x7FFFFF));
  EXPECT_TRUE(huge.wait_closed(5s)) << "a connection announcing an 8 MiB command stays open";
}

// ---- 11. lifecycle events ----

TEST_F(MediaTest, LifecycleEventsFollowAPublishAPlayAndARefusal) {
  MediaEvents events(daemon().port());
  ASSERT_TRUE(events.subscribed());
  const Key key = create_key("cam");
  ChildProcess ffmpeg;
  publish(ffmpeg, key.key, "cam");
  CommandResult r;
  EXPECT_EQ(probe_streams(rtmp("cam"), &r), kAvStreams) << r.err;
  const std::string wrong = wrong_secret(key.key);
  EXPECT_NE(refused_publish(wrong).exit_code, 0);
  ffmpeg.signal_and_wait(SIGINT);

  auto has = [&](const std::string& name) {
    for (const auto& e : events.events()) {
      if (str(e, "event") == name) return true;
    }
    return false;
  };
  ASSERT_TRUE(eventually([&] { return has("donePublish") && has("donePlay"); }, 15s));

  const auto all = events.events();
  // The accepted publisher's client id is the one of its postPublish.
  std::string publisher_id, player_id, refused_id;
  for (const auto& e : all) {
    if (str(e, "event") == "postPublish") publisher_id = str(e, "client_id");
    if (str(e, "event") == "postPlay") player_id = str(e, "client_id");
    if (str(e, "event") == "prePublish" && e.at("refused").as_bool())
      refused_id = str(e, "client_id");
  }
  ASSERT_FALSE(publisher_id.empty());
  ASSERT_FALSE(player_id.empty());
  ASSERT_FALSE(refused_id.empty());

  std::vector<std::string> sequence;
  for (const auto& e : all) {
    const std::string id = str(e, "client_id");
    const std::string name = str(e, "event");
    if (id == publisher_id && name.find("Publish") != std::string::npos) {
      sequence.push_back(name);
      if (name != "prePublish") {
        EXPECT_EQ(str(e, "path"), "cam") << json::serialize(e);
        EXPECT_EQ(str(e, "key_id"), key.id) << json::serialize(e);
      }
      EXPECT_FALSE(e.at("refused").as_bool());
      EXPECT_EQ(str(e, "protocol"), "rtmp");
    }
    if (id == player_id && name.find("Play") != std::string::npos) {
      sequence.push_back(name);
      EXPECT_EQ(str(e, "path"), "cam") << json::serialize(e);
      EXPECT_FALSE(e.at("refused").as_bool());
    }
    if (id == refused_id) {
      EXPECT_NE(name, "postPublish");
      EXPECT_NE(name, "donePublish");
    }
  }
  EXPECT_EQ(sequence, (std::vector<std::string>{"prePublish", "postPublish", "prePlay", "postPlay",
                                                "donePlay", "donePublish"}));
  bool refusal_seen = false;
  for (const auto& e : all) {
    if (str(e, "client_id") == refused_id && str(e, "event") == "prePublish" &&
        e.at("refused").as_bool()) {
      refusal_seen = true;
      EXPECT_FALSE(str(e, "reason").empty());
      EXPECT_EQ(str(e, "reason").find(wrong.substr(19)), std::string::npos);
    }
  }
  EXPECT_TRUE(refusal_seen);
}

// ---- 12. metrics ----

TEST_F(MediaTest, MetricsCountStreamsConnectionsAndReaders) {
  EXPECT_EQ(metric_or("rtmp_active_streams", -1), 0) << metrics();
  const Key key = create_key("cam");
  ChildProcess ffmpeg;
  publish(ffmpeg, key.key, "cam");
  EXPECT_EQ(metric_or("rtmp_active_streams"), 1);

  ChildProcess player1, player2;
  ASSERT_TRUE(player1.spawn(player_argv(rtmp("cam"))));
  ASSERT_TRUE(player2.spawn(player_argv(rtmp("cam"))));
  EXPECT_TRUE(eventually(
      [&] {
        return metric_or(R"(sluice_media_readers{path="cam"})") == 2 && frames_of(player1) > 0 &&
               frames_of(player2) > 0;
      },
      20s))
      << metrics();
  EXPECT_EQ(num(path("cam"), "reader_count"), 2);
  const std::string text = metrics();
  EXPECT_GE(metric(text, "rtmp_connections_total").value_or(0), 3) << text;
  EXPECT_EQ(metric(text, "rtmp_connections_open").value_or(0), 3) << text;
  EXPECT_EQ(metric(text, R"(rtmp_publish_attempts_total{status="accepted"})").value_or(0), 1);
  EXPECT_TRUE(
      eventually([&] { return metric_or(R"(rtmp_bandwidth_bytes{direction="in"})") > 0; }, 15s));

  player1.signal_and_wait(SIGKILL);
  EXPECT_TRUE(eventually([&] { return metric_or(R"(sluice_media_readers{path="cam"})") == 1; }));
  player2.signal_and_wait(SIGKILL);
  ffmpeg.signal_and_wait(SIGKILL);
  EXPECT_TRUE(eventually([&] { return metric_or("rtmp_active_streams", -1) == 0; })) << metrics();
  EXPECT_TRUE(eventually([&] { return metric_or("rtmp_connections_open", -1) == 0; })) << metrics();
  EXPECT_FALSE(metric(metrics(), R"(sluice_media_readers{path="cam"})").has_value());
}

// ---- webhook ----

// A minimal HTTP endpoint on 127.0.0.1: answers every request 204 and keeps the bodies of POSTs.
// Each connection has a thread and a 2 s receive deadline, so a stray client of another test
// (one that picked a "free" port the kernel later gave this receiver) cannot hold it up.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~WebhookReceiver() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : connections_)
      t.join();
  }
  int port() const { return port_; }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  void serve() {
    for (;;) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      connections_.emplace_back([this, c] { answer(c); });
    }
  }

  void answer(int c) {
    const timeval deadline{2, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
    std::string in;
    char buf[4096];
    std::size_t want = std::string::npos;
    while (want == std::string::npos || in.size() < want) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
      const auto end = in.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        std::size_t length = 0;
        const auto cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(in.substr(cl + 16));
        want = end + 4 + length;
      }
    }
    if (in.starts_with("POST ") && want != std::string::npos && in.size() >= want) {
      std::lock_guard lock(mutex_);
      bodies_.push_back(in.substr(in.find("\r\n\r\n") + 4));
    }
    const std::string reply =
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::thread> connections_;  // touched by the accept thread, then the destructor
  std::thread thread_;
};

class MediaWebhookTest : public MediaTest {
 protected:
  std::vector<std::string> daemon_args() const override {
    return {"--media-webhook",
            "http://127.0.0.1:" + std::to_string(receiver_.port()) + "/hooks/media"};
  }
  WebhookReceiver receiver_;
};

TEST_F(MediaWebhookTest, EveryLifecycleEventIsPostedToTheWebhook) {
  const Key key = create_key("cam");
  {
    ChildProcess ffmpeg;
    publish(ffmpeg, key.key, "cam");
  }  // the publisher is killed here
  auto events = [&] {
    std::vector<std::string> names;
    for (const auto& body : receiver_.bodies()) {
      boost::system::error_code ec;
      auto v = json::parse(body, ec);
      if (!ec && v.is_object()) names.push_back(str(v, "event"));
    }
    return names;
  };
  auto has = [&](const std::string& name) {
    auto names = events();
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  EXPECT_TRUE(eventually([&] { return has("donePublish"); }, 20s))
      << ::testing::PrintToString(events());
  for (const char* name : {"preConnect", "postConnect", "prePublish", "postPublish"}) {
    EXPECT_TRUE(has(name)) << name;
  }
  for (const auto& body : receiver_.bodies()) {
    EXPECT_EQ(body.find(key.key), std::string::npos) << "a webhook body carries the key: " << body;
  }
  EXPECT_NE(metrics().find(R"(sluice_media_webhook_total{result="sent"})"), std::string::npos);
}

}  // namespace
}  // namespace sluice::testing
