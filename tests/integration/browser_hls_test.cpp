// A real browser plays sluiced's HLS: hls.js in Debian's Chromium (/usr/bin/chromium), driven
// headless by playwright-core (tests/browser/hls_play.mjs), against a real sluiced fed by the
// real ffmpeg over RTMP. `make test` installs Chromium (scripts/install-deps.sh --test) and the
// npm packages (npm ci --prefix tests/browser); without them each test is skipped, saying why.
#include <iostream>

#include "media_fixture.hpp"

namespace sluice::testing {
namespace {

const std::string kBrowserDir = std::string(SLUICE_SOURCE_DIR) + "/tests/browser";
const std::string kChromium = "/usr/bin/chromium";

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Why the browser test cannot run here, or "" when it can.
std::string missing_browser_tools() {
  if (::access(kChromium.c_str(), X_OK) != 0) {
    return kChromium + " is missing (Debian package chromium: scripts/install-deps.sh --test)";
  }
  if (!exists(kBrowserDir + "/node_modules/playwright-core/package.json") ||
      !exists(kBrowserDir + "/node_modules/hls.js/dist/hls.min.js")) {
    return kBrowserDir + "/node_modules lacks playwright-core or hls.js (npm ci --prefix " +
           kBrowserDir + ", which make test-deps runs)";
  }
  CommandResult v = run_command({program_path("node"), "--version"}, 20s);
  std::smatch m;
  if (v.exit_code != 0 || !std::regex_search(v.out, m, std::regex(R"(^v(\d+)\.)"))) {
    return "node is missing (Debian package nodejs)";
  }
  if (std::stoi(m[1].str()) < 20) return "playwright-core needs Node.js 20+, node is " + v.out;
  return {};
}

class BrowserHls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = missing_browser_tools(); !why.empty()) {
      GTEST_SKIP() << "browser test skipped: " << why;
    }
  }

  // Starts sluiced with `args`; false (and the daemon's output in *output) when it refuses them.
  bool start_daemon(std::vector<std::string> args, std::string* output = nullptr) {
    daemon_ = std::make_unique<DaemonProcess>(std::move(args));
    auto started = daemon_->start();
    if (!started && output) *output = started.message();
    return static_cast<bool>(started);
  }

  // A key for `name`, ffmpeg publishing with it over RTMP, and the path live with video.
  void publish(const std::string& name) {
    auto key = http_call(daemon_->url(), "POST", "/keys", R"({"stream":")" + name + "\"}");
    ASSERT_EQ(key.status, 201) << key.raw;
    const std::string rtmp = "rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) + "/live/" +
                             str(key.body, "key");
    ASSERT_TRUE(ffmpeg_.spawn(publisher_argv(rtmp), true));
    ASSERT_TRUE(eventually(
        [&] {
          auto p = http_call(daemon_->url(), "GET", "/media/paths/" + name).body;
          return num(p, "video_frames") > 0;
        },
        30s))
        << "never live. ffmpeg: " << ffmpeg_.stdout_text() << "\nsluiced:\n"
        << daemon_->output();
  }

  // hls_play.mjs on the path's playlist for `seconds`; its JSON line, and its exit code in *code.
  json::value play(const std::string& name, int seconds, bool expect_ll, int* code,
                   std::string* log) {
    std::vector<std::string> argv{program_path("node"),
                                  kBrowserDir + "/hls_play.mjs",
                                  daemon_->url() + "/live/" + name + "/index.m3u8",
                                  "--seconds",
                                  std::to_string(seconds),
                                  "--verbose"};
    if (expect_ll) argv.push_back("--expect-ll");
    // The script's own watchdog ends it within seconds + 60 s; this is the backstop.
    CommandResult r = run_command(argv, std::chrono::seconds(seconds + 90));
    *code = r.exit_code;
    *log = "hls_play.mjs exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out +
           "\nstderr:\n" + r.err + "\nffmpeg: " + ffmpeg_.stdout_text() + "\nsluiced:\n" +
           daemon_->output();
    std::istringstream lines(r.out);
    json::value last;
    for (std::string line; std::getline(lines, line);) {
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (!ec && v.is_object()) {
        last = std::move(v);
        std::cout << "hls_play.mjs: " << line << std::endl;
      }
    }
    return last;
  }

  static bool flag(const json::value& v, std::string_view key) {
    const auto* f = v.is_object() ? v.as_object().if_contains(key) : nullptr;
    return f && f->is_bool() && f->as_bool();
  }

  std::unique_ptr<DaemonProcess> daemon_;
  ChildProcess ffmpeg_;
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
