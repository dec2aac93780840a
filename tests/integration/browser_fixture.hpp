#pragma once
// Helpers of the browser tests (browser_hls_test.cpp, browser_webrtc_test.cpp): Debian's Chromium
// (/usr/bin/chromium) driven headless by playwright-core through a Node script in tests/browser,
// against a real sluiced fed by the real ffmpeg over RTMP. `make test` installs Chromium
// (scripts/install-deps.sh --test) and the npm packages (npm ci --prefix tests/browser); without
// them each test is skipped, saying why.
//
// Each script prints one JSON object per line on stdout (the last one is its result) and exits 0
// on success; run_browser_script() returns that object.
#include <iostream>

#include "media_fixture.hpp"

namespace sluice::testing {

inline const std::string kBrowserDir = std::string(SLUICE_SOURCE_DIR) + "/tests/browser";
inline const std::string kChromium = "/usr/bin/chromium";

inline bool file_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// Why the browser tests cannot run here, or "" when they can. `npm_files` are files under
// tests/browser/node_modules the test needs ("playwright-core/package.json", …); the message
// names their packages.
inline std::string missing_browser_tools(const std::vector<std::string>& npm_files) {
  if (::access(kChromium.c_str(), X_OK) != 0) {
    return kChromium + " is missing (Debian package chromium: scripts/install-deps.sh --test)";
  }
  std::string packages;
  bool missing = false;
  for (const auto& file : npm_files) {
    packages += (packages.empty() ? "" : " or ") + file.substr(0, file.find('/'));
    missing = missing || !file_exists(kBrowserDir + "/node_modules/" + file);
  }
  if (missing) {
    return kBrowserDir + "/node_modules lacks " + packages + " (npm ci --prefix " + kBrowserDir +
           ", which make test-deps runs)";
  }
  CommandResult v = run_command({program_path("node"), "--version"}, 20s);
  std::smatch m;
  if (v.exit_code != 0 || !std::regex_search(v.out, m, std::regex(R"(^v(\d+)\.)"))) {
    return "node is missing (Debian package nodejs)";
  }
  if (std::stoi(m[1].str()) < 20) return "playwright-core needs Node.js 20+, node is " + v.out;
  return {};
}

// A UDP port on 127.0.0.1 that nothing is bound to (bound, then released), not handed out
// before by this process.
inline int unused_local_udp_port() {
  static std::mutex mutex;
  static std::set<int> handed_out;
  std::lock_guard lock(mutex);
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    if (port != 0 && handed_out.insert(port).second) return port;
  }
  return 0;
}

// One sluiced and one ffmpeg publisher per test; skipped without the browser tools. Subclasses
// name the npm files they need by overriding npm_files().
class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = missing_browser_tools(npm_files()); !why.empty()) {
      GTEST_SKIP() << "browser test skipped: " << why;
    }
  }

  virtual std::vector<std::string> npm_files() const { return {"playwright-core/package.json"}; }

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

  // `node tests/browser/<script> <args…>`, expected to finish within `seconds` + its own 60 s
  // watchdog; its last JSON line (printed as "<script>: <line>"), its exit code in *code, and
  // in *log everything a failure message needs (the script's output, ffmpeg's, the daemon's).
  json::value run_browser_script(const std::string& script, const std::vector<std::string>& args,
                                 int seconds, int* code, std::string* log) {
    std::vector<std::string> argv{program_path("node"), kBrowserDir + "/" + script};
    argv.insert(argv.end(), args.begin(), args.end());
    // The script's own watchdog ends it within seconds + 60 s; this is the backstop.
    CommandResult r = run_command(argv, std::chrono::seconds(seconds + 90));
    *code = r.exit_code;
    *log = script + " exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr:\n" +
           r.err + "\nffmpeg: " + ffmpeg_.stdout_text() + "\nsluiced:\n" + daemon_->output();
    return last_json_line(script, r.out);
  }

  // The last line of `out` (a script's stdout) that is a JSON object, each such line printed as
  // "<script>: <line>"; null when there is none.
  static json::value last_json_line(const std::string& script, const std::string& out) {
    std::istringstream lines(out);
    json::value last;
    for (std::string line; std::getline(lines, line);) {
      boost::system::error_code ec;
      json::value v = json::parse(line, ec);
      if (!ec && v.is_object()) {
        last = std::move(v);
        std::cout << script << ": " << line << std::endl;
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

}  // namespace sluice::testing
