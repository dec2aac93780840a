// Who may play and publish, what a refusal says and logs, and HTTP-FLV/HLS as HTTP: a real
// sluiced, curl-like raw sockets, the real ffmpeg/ffprobe. Read-key refusals are 401 with a
// challenge when no key came and 403 when one was refused; a publish key pasted into a play URL
// or an RTMP application is never echoed, published as an event or logged; every refusal is
// logged as docs/operations.md says and counted alike by the key and publish metrics; HEAD
// answers like GET without a body; HTTP-FLV requests are in sluice_http_requests_total.
#include "media_fixture.hpp"

namespace sluice::testing {
namespace {

class MediaAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.start());
    ASSERT_GT(daemon_.rtmp_port(), 0) << daemon_.output();
  }

  Answer api(std::string_view method, const std::string& target, std::string_view body = {}) {
    return http_call(daemon_.url(), method, target, body);
  }
  struct Key {
    std::string id;
    std::string key;
  };
  Key create_key(const std::string& stream, const std::string& extra = {}) {
    auto a = api("POST", "/keys", R"({"stream":")" + stream + "\"" + extra + "}");
    EXPECT_EQ(a.status, 201) << a.raw;
    return {str(a.body, "id"), str(a.body, "key")};
  }
  std::string rtmp(const std::string& tail) const {
    return "rtmp://127.0.0.1:" + std::to_string(daemon_.rtmp_port()) + "/" + tail;
  }
  // The answer to METHOD TARGET over a raw socket, up to `until` (empty: until the server
  // closes, which it does after answering: Connection: close).
  std::string answer(const std::string& method, const std::string& target,
                     const std::string& until = "") {
    TcpClient c(daemon_.port());
    c.send_all(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if (until.empty()) {
      c.read_to_end(10s);
    } else {
      c.read_until(until, 10s);
    }
    return c.received();
  }
  std::string metrics() { return api("GET", "/metrics").raw; }
  double metric_or(const std::string& series) { return metric(metrics(), series).value_or(0); }
  // `line` appears in the daemon's log within 10 s.
  bool logged(const std::string& line) {
    return daemon_.process().wait_for_text(line, 10s).has_value();
  }
  // A publish that is refused: ffmpeg exits non-zero.
  void refused_publish(const std::string& url) {
    ChildProcess ffmpeg;
    ASSERT_TRUE(ffmpeg.spawn(publisher_argv(url), true));
    auto code = ffmpeg.wait(20s);
    ASSERT_TRUE(code.has_value()) << "ffmpeg kept publishing to " << url;
    EXPECT_NE(*code, 0) << ffmpeg.stdout_text();
  }

  DaemonProcess daemon_{{"--hls-segment", "1"}};
};

std::string body_of(const std::string& answer) {
  const auto end = answer.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : answer.substr(end + 4);
}

// ---- read keys: 401 + challenge without a key, 403 with a refused one ----

TEST_F(MediaAccessTest, ReadKeyRefusalsAre401WithAChallengeThen403) {
  const Key read = create_key("private", R"(,"kind":"read")");
  const Key other = create_key("other", R"(,"kind":"read")");
  std::string wrong = read.key;
  wrong[40] = wrong[40] == 'a' ? 'b' : 'a';
  for (const std::string target : {"/live/private.flv", "/live/private/index.m3u8"}) {
    SCOPED_TRACE(target);
    const std::string none = answer("GET", target);
    EXPECT_TRUE(none.starts_with("HTTP/1.1 401")) << none;
    EXPECT_NE(none.find("\r\nWWW-Authenticate: StreamKey realm=\"sluice\", query=\"key\"\r\n"),
              std::string::npos)
        << none;
    for (const auto& key : {wrong, other.key, std::string("sk_garbage")}) {
      const std::string refused = answer("GET", target + "?key=" + key);
      EXPECT_TRUE(refused.starts_with("HTTP/1.1 403")) << refused;
      EXPECT_EQ(refused.find("WWW-Authenticate"), std::string::npos) << refused;
    }
    // HEAD gets the same status and headers.
    const std::string head = answer("HEAD", target);
    EXPECT_TRUE(head.starts_with("HTTP/1.1 401")) << head;
    EXPECT_NE(head.find("WWW-Authenticate: StreamKey"), std::string::npos) << head;
    EXPECT_EQ(body_of(head), "");
  }
  // Logged as docs/operations.md says: what, which stream, the peer, the reason, the key id.
  EXPECT_TRUE(
      logged("stream key refused: play of 'private' from 127.0.0.1 reason=missing key_id=-"))
      << daemon_.output();
  EXPECT_TRUE(
      logged("stream key refused: play of 'private' from 127.0.0.1 reason=wrong_stream "
             "key_id=" +
             other.id));
  EXPECT_TRUE(logged("stream key refused: play of 'private' from 127.0.0.1 reason=wrong key_id=" +
                     read.id));
  // RTMP: NetStream.Play.Failed, logged the same way.
  CommandResult r;
  EXPECT_TRUE(probe_streams(rtmp("live/private"), &r, 20s).empty());
  EXPECT_GE(metric_or(R"(sluice_stream_key_checks_total{result="missing"})"), 5) << metrics();
}

// Credentials that fail (a wrong ?token=) are the API's business: its challenge, not a key's.
TEST_F(MediaAccessTest, AFailedIdentityIsChallengedForCredentialsNotForAKey) {
  for (const std::string target :
       {"/live/cam.flv?token=st_wrong", "/live/cam/index.m3u8?token=st_wrong"}) {
    SCOPED_TRACE(target);
    const std::string got = answer("GET", target);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 401")) << got;
    EXPECT_NE(got.find("\r\nWWW-Authenticate: Bearer realm=\"sluice\""), std::string::npos) << got;
    EXPECT_EQ(got.find("StreamKey"), std::string::npos) << got;
  }
}

// ---- publish keys in play URLs ----

TEST_F(MediaAccessTest, APublishKeyInAPlayUrlIsNeverEchoedEventedOrLogged) {
  MediaEvents events(daemon_.port());
  ASSERT_TRUE(events.subscribed());
  const Key key = create_key("cam");
  const std::string secret = key.key.substr(19);
  for (const std::string& target : {"/live/" + key.key + ".flv", "/live/" + key.key + "/index.m3u8",
                                    "/live/" + key.key + "/seg-1.ts", "/media/paths/" + key.key}) {
    SCOPED_TRACE(target);
    const std::string got = answer("GET", target);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 404")) << got;
    EXPECT_EQ(got.find(secret), std::string::npos) << got;
    EXPECT_NE(got.find("sk_***"), std::string::npos) << got;
  }
  // Over RTMP: played as a path, and pasted into the application (OBS's Server field).
  // (ffprobe prints its own URL; the server's answers are what matter.)
  CommandResult r;
  EXPECT_TRUE(probe_streams(rtmp("live/" + key.key), &r, 20s).empty());
  EXPECT_NE(r.err.find("Server error: no one is publishing 'sk_***'"), std::string::npos) << r.err;
  EXPECT_TRUE(probe_streams(rtmp(key.key + "/cam"), &r, 20s).empty());
  EXPECT_NE(r.err.find("Server error: unknown application 'sk_***'"), std::string::npos) << r.err;

  ASSERT_TRUE(eventually([&] {
    int refused = 0;
    for (const auto& e : events.events())
      refused += e.at("refused").as_bool() ? 1 : 0;
    return refused >= 3;  // HTTP-FLV and RTMP prePlay, RTMP preConnect
  })) << ::testing::PrintToString(events.events().size());
  for (const auto& e : events.events()) {
    EXPECT_EQ(json::serialize(e).find(secret), std::string::npos) << json::serialize(e);
  }
  EXPECT_TRUE(logged("sk_***")) << daemon_.output();
  EXPECT_EQ(daemon_.output().find(secret), std::string::npos) << daemon_.output();
}

// ---- refused publishes: logged and counted alike ----

TEST_F(MediaAccessTest, RefusedPublishesAreLoggedAndCountedByBothMetrics) {
  const Key cam = create_key("cam");
  refused_publish(rtmp("live/cam"));  // a name, no key
  EXPECT_TRUE(logged("stream key refused: publish of - from 127.0.0.1 reason=missing key_id=-"))
      << daemon_.output();
  refused_publish(rtmp("live/other?key=" + cam.key));  // cam's key for another stream
  EXPECT_TRUE(
      logged("stream key refused: publish of 'other' from 127.0.0.1 reason=wrong_stream "
             "key_id=" +
             cam.id))
      << daemon_.output();

  const std::string text = metrics();
  for (const std::string reason : {"missing", "wrong_stream"}) {
    SCOPED_TRACE(reason);
    EXPECT_EQ(metric(text, R"(sluice_stream_key_checks_total{result=")" + reason + "\"}"), 1)
        << text;
    EXPECT_EQ(metric(text, R"(rtmp_publish_attempts_total{status=")" + reason + "\"}"), 1) << text;
  }
  // The refused key was not used.
  EXPECT_EQ(metric(text, R"(sluice_stream_key_checks_total{result="accepted"})"), 0) << text;
  EXPECT_EQ(num(api("GET", "/keys/" + cam.id).body, "uses"), 0);
}

// ---- HTTP-FLV and HLS as HTTP: HEAD and the request metrics ----

TEST_F(MediaAccessTest, HeadAndMetricsOfLiveHttpFlvAndHls) {
  const Key key = create_key("cam");
  ChildProcess ffmpeg;
  ASSERT_TRUE(ffmpeg.spawn(publisher_argv(rtmp("live/" + key.key)), true));
  ASSERT_TRUE(
      eventually([&] { return num(api("GET", "/media/paths/cam").body, "video_frames") > 0; }, 30s))
      << daemon_.output();

  const std::string flv_head = answer("HEAD", "/live/cam.flv");
  EXPECT_TRUE(flv_head.starts_with("HTTP/1.1 200")) << flv_head;
  EXPECT_NE(flv_head.find("Content-Type: video/x-flv"), std::string::npos) << flv_head;
  EXPECT_EQ(body_of(flv_head), "");
  const std::string flv = answer("GET", "/live/cam.flv", "\r\n\r\nFLV");
  EXPECT_TRUE(flv.starts_with("HTTP/1.1 200")) << flv.substr(0, 200);

  const std::string playlist = answer("GET", "/live/cam/index.m3u8");
  ASSERT_TRUE(playlist.starts_with("HTTP/1.1 200")) << playlist;
  const std::string playlist_head = answer("HEAD", "/live/cam/index.m3u8");
  EXPECT_TRUE(playlist_head.starts_with("HTTP/1.1 200")) << playlist_head;
  EXPECT_NE(playlist_head.find("Content-Type: application/vnd.apple.mpegurl"), std::string::npos);
  EXPECT_EQ(body_of(playlist_head), "");
  std::smatch m;
  const std::string list = body_of(playlist);
  ASSERT_TRUE(std::regex_search(list, m, std::regex(R"(seg-\d+\.mp4)"))) << list;
  const std::string segment_head = answer("HEAD", "/live/cam/" + m.str());
  EXPECT_TRUE(segment_head.starts_with("HTTP/1.1 200")) << segment_head;
  EXPECT_NE(segment_head.find("Content-Type: video/mp4"), std::string::npos);
  EXPECT_EQ(body_of(segment_head), "");

  const std::string text = metrics();
  const std::string flv_series = R"(sluice_http_requests_total{route="GET /live/{name}.flv",)";
  EXPECT_EQ(metric(text, flv_series + R"(method="HEAD",status="200"})"), 1) << text;
  EXPECT_EQ(metric(text, flv_series + R"(method="GET",status="200"})"), 1) << text;
  EXPECT_EQ(metric(text, R"(sluice_http_requests_total{route="GET /live/{name}/index.m3u8",)"
                         R"(method="HEAD",status="200"})"),
            1)
      << text;
}

}  // namespace
}  // namespace sluice::testing
