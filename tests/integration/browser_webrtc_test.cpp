// A real browser plays sluiced over WebRTC: Debian's Chromium (/usr/bin/chromium), driven headless
// by playwright-core (tests/browser/whep_play.mjs), offers recvonly video and audio to a real
// sluiced fed by the real ffmpeg over RTMP (libx264 320x240 at 25 fps, tests/integration/
// media_fixture.hpp) and decodes H.264 from it (tests/integration/browser_fixture.hpp).
//
// The daemon gets `--webrtc-udp 127.0.0.1:<port>`, a UDP port the test picks free; its answer
// must name that port in a host candidate on 127.0.0.1. The player page is served on sluiced's own
// origin, so the offer is a same-origin request. Skipped without Chromium, the npm packages or
// Node.js 20+.
#include "browser_fixture.hpp"

namespace sluice::testing {
namespace {

// v[key], or null when v is not an object or lacks it.
json::value member(const json::value& v, std::string_view key) {
  const auto* f = v.is_object() ? v.as_object().if_contains(key) : nullptr;
  return f ? *f : json::value();
}

class BrowserWebrtc : public BrowserTest {
 protected:
  // sluiced with WebRTC on a free UDP port of 127.0.0.1, and ffmpeg publishing `name`.
  void start_and_publish(const std::string& name) {
    udp_port_ = unused_local_udp_port();
    ASSERT_GT(udp_port_, 0);
    std::string refused;
    ASSERT_TRUE(start_daemon(
        {"--hls-segment", "1", "--webrtc-udp", "127.0.0.1:" + std::to_string(udp_port_)},
        &refused))
        << refused;
    ASSERT_GT(daemon_->rtmp_port(), 0) << daemon_->output();
    publish(name);
  }

  std::string whep_url(const std::string& name) const {
    return daemon_->url() + "/live/" + name + "/whep";
  }
  std::string camera_url(const std::string& name) const {
    return daemon_->url() + "/api/webrtc/offer?path=" + name;
  }

  // whep_play.mjs on `url` for `seconds` with `options`; its JSON line, its exit code in *code.
  json::value play(const std::string& url, int seconds, const std::vector<std::string>& options,
                   int* code, std::string* log) {
    std::vector<std::string> args{url, "--seconds", std::to_string(seconds), "--verbose"};
    args.insert(args.end(), options.begin(), options.end());
    return run_browser_script("whep_play.mjs", args, seconds, code, log);
  }

  // What every playback must show: frames decoded from the start and never frozen, H.264 at the
  // publisher's 320x240, a connected peer connection, no error.
  void expect_smooth_h264(const json::value& result, int code, const std::string& log) {
    EXPECT_EQ(code, 0) << log;
    ASSERT_TRUE(result.is_object()) << log;
    EXPECT_TRUE(member(result, "errors").is_array() && member(result, "errors").as_array().empty())
        << log;
    EXPECT_TRUE(flag(result, "decoded")) << log;
    EXPECT_GT(num(result, "framesDecoded"), 60) << log;
    EXPECT_TRUE(flag(result, "rising")) << "frames froze\n" << log;
    EXPECT_EQ(num(result, "freezes"), 0) << log;
    EXPECT_GE(num(result, "firstFrameMs"), 0) << log;
    EXPECT_LT(num(result, "firstFrameMs"), 3000) << "first frame too late\n" << log;
    EXPECT_EQ(num(result, "frameWidth"), 320) << log;
    EXPECT_EQ(num(result, "frameHeight"), 240) << log;
    EXPECT_EQ(str(result, "codec"), "video/H264") << log;
    EXPECT_EQ(str(result, "connectionState"), "connected") << log;
  }

  // The answer is ICE-lite, passive, and names 127.0.0.1:<the --webrtc-udp port> as a host
  // candidate.
  void expect_answer_contract(const json::value& result, const std::string& log) {
    const json::value answer = member(result, "answer");
    EXPECT_TRUE(flag(answer, "iceLite")) << log;
    EXPECT_EQ(str(answer, "setup"), "passive") << log;
    const std::string wanted = " 127.0.0.1 " + std::to_string(udp_port_) + " typ host";
    bool found = false;
    if (const json::value c = member(answer, "candidates"); c.is_array()) {
      for (const auto& line : c.as_array()) {
        found = found || (line.is_string() &&
                          std::string(line.as_string()).find(wanted) != std::string::npos);
      }
    }
    EXPECT_TRUE(found) << "no candidate with '" << wanted << "'\n" << log;
  }

  int udp_port_ = 0;
};

// WHEP: POST the offer as application/sdp to /live/NAME/whep, 201 with the SDP answer and a
// relative Location naming the session; Chromium connects and decodes the live path smoothly.
TEST_F(BrowserWebrtc, WhepPlaysALivePathInChromium) {
  start_and_publish("cam");
  if (IsSkipped() || HasFatalFailure()) return;

  int code = -1;
  std::string log;
  json::value result = play(whep_url("cam"), 6, {}, &code, &log);
  expect_smooth_h264(result, code, log);
  expect_answer_contract(result, log);
  const json::value http = member(result, "http");
  EXPECT_EQ(num(http, "status"), 201) << log;
  EXPECT_TRUE(str(http, "contentType").starts_with("application/sdp")) << log;
  EXPECT_TRUE(str(http, "location").starts_with("/live/cam/whep/")) << log;
  EXPECT_GT(str(http, "location").size(), std::string("/live/cam/whep/").size()) << log;
}

// The camera endpoint: POST {"type":"offer","sdp":…} with no Content-Type to
// /api/webrtc/offer?path=NAME, 200 with {"type":"answer","sdp":…}; Chromium plays as over WHEP.
TEST_F(BrowserWebrtc, CameraOfferEndpointPlaysInChromium) {
  start_and_publish("cam");
  if (IsSkipped() || HasFatalFailure()) return;

  int code = -1;
  std::string log;
  json::value result = play(camera_url("cam"), 6, {"--camera"}, &code, &log);
  expect_smooth_h264(result, code, log);
  expect_answer_contract(result, log);
  EXPECT_EQ(num(member(result, "http"), "status"), 200) << log;
}

// DELETE of the Location ends the session: the page DELETEs it while playing (200 or 204), no
// frame arrives from 500 ms to 2500 ms after, and the session is gone (a second DELETE, from
// here, is 404).
TEST_F(BrowserWebrtc, WhepDeleteEndsTheSession) {
  start_and_publish("cam");
  if (IsSkipped() || HasFatalFailure()) return;

  int code = -1;
  std::string log;
  json::value result = play(whep_url("cam"), 3, {"--delete"}, &code, &log);
  EXPECT_EQ(code, 0) << log;
  EXPECT_GT(num(result, "framesDecoded"), 0) << log;
  const json::value http = member(result, "http");
  const double status = num(http, "deleteStatus");
  EXPECT_TRUE(status == 200 || status == 204) << log;
  EXPECT_TRUE(flag(member(result, "afterDelete"), "stopped")) << "frames kept coming\n" << log;
  const std::string location = str(http, "location");
  ASSERT_TRUE(location.starts_with("/live/cam/whep/")) << log;
  EXPECT_EQ(http_call(daemon_->url(), "DELETE", location).status, 404) << daemon_->output();
}

}  // namespace
}  // namespace sluice::testing
