// A real browser plays sluiced's HLS: hls.js in Debian's Chromium (/usr/bin/chromium), driven
// headless by playwright-core (tests/browser/hls_play.mjs), against a real sluiced fed by the
// real ffmpeg over RTMP (tests/integration/browser_fixture.hpp). `make test` installs Chromium
// (scripts/install-deps.sh --test) and the npm packages (npm ci --prefix tests/browser); without
// them each test is skipped, saying why.
#include "browser_fixture.hpp"

namespace sluice::testing {
namespace {

class BrowserHls : public BrowserTest {
 protected:
  std::vector<std::string> npm_files() const override {
    return {"playwright-core/package.json", "hls.js/dist/hls.min.js"};
  }

  // hls_play.mjs on the path's playlist for `seconds`; its JSON line, and its exit code in *code.
  json::value play(const std::string& name, int seconds, bool expect_ll, int* code,
                   std::string* log) {
    std::vector<std::string> args{daemon_->url() + "/live/" + name + "/index.m3u8", "--seconds",
                                  std::to_string(seconds), "--verbose"};
    if (expect_ll) args.push_back("--expect-ll");
    return run_browser_script("hls_play.mjs", args, seconds, code, log);
  }
};

// Today's HLS (MPEG-TS segments, no parts): hls.js with lowLatencyMode on plays it from another
// origin (CORS), the video advances, no fatal error.
TEST_F(BrowserHls, HlsJsInChromiumPlaysALivePath) {
  ASSERT_TRUE(start_daemon({"--hls-segment", "1"})) << daemon_->output();
  ASSERT_GT(daemon_->rtmp_port(), 0) << daemon_->output();
  publish("cam");
  if (HasFatalFailure()) return;

  int code = -1;
  std::string log;
  json::value result = play("cam", 10, false, &code, &log);
  EXPECT_EQ(code, 0) << log;
  EXPECT_TRUE(flag(result, "played")) << log;
  ASSERT_TRUE(result.is_object()) << log;
  EXPECT_TRUE(result.at("errors").is_array() && result.at("errors").as_array().empty()) << log;
  EXPECT_GT(num(result, "fragmentsLoaded") + num(result, "partsLoaded"), 2) << log;
}

// LL-HLS (--hls-variant lowlatency: EXT-X-PART, blocking reloads): hls.js loads parts and plays.
// Skipped while the daemon does not take the flag.
TEST_F(BrowserHls, HlsJsPlaysLowLatencyHls) {
  std::string refused;
  if (!start_daemon({"--hls-segment", "1", "--hls-variant", "lowlatency"}, &refused)) {
    if (refused.find("hls-variant") != std::string::npos) {
      GTEST_SKIP() << "sluiced does not take --hls-variant lowlatency yet: " << refused;
    }
    FAIL() << refused;
  }
  ASSERT_GT(daemon_->rtmp_port(), 0) << daemon_->output();
  publish("cam");
  if (HasFatalFailure()) return;

  int code = -1;
  std::string log;
  json::value result = play("cam", 10, true, &code, &log);
  EXPECT_EQ(code, 0) << log;
  EXPECT_TRUE(flag(result, "played")) << log;
  EXPECT_TRUE(flag(result, "lowLatency")) << log;
  EXPECT_TRUE(flag(result, "canBlockReload")) << log;
  EXPECT_GT(num(result, "partsLoaded"), 0) << log;
  // hls.js read EXT-X-PART-INF, and every blocking playlist reload it sent was answered in a way
  // the browser let it read (an error reply without Access-Control-Allow-Origin is a network
  // error to it; hls.js retries, so playback alone would not show it).
  EXPECT_GT(num(result, "partTarget"), 0) << log;
  const json::value* non_fatal =
      result.is_object() ? result.as_object().if_contains("nonFatalErrors") : nullptr;
  ASSERT_TRUE(non_fatal && non_fatal->is_object()) << log;
  EXPECT_EQ(num(*non_fatal, "levelLoadError"), -1) << "playlist loads failed\n" << log;
  EXPECT_EQ(num(*non_fatal, "fragLoadError"), -1) << "part or segment loads failed\n" << log;
}

}  // namespace
}  // namespace sluice::testing
