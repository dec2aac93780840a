// The web console (issue 16): the files sluiced embeds and serves at `/` and `/console/…`
// (http/console_routes with a table of its own, then the real binary over a raw socket: content
// types, caching, gzip, public in every auth mode, no Basic challenge for the console's requests),
// and the console itself in Debian's Chromium driven by playwright-core
// (tests/browser/console_check.mjs): sign-in, a stream appearing live, a key shown once, a WHEP
// preview (and its HLS fallback) with frames advancing, a setting's 422, a viewer without the
// keys page. The browser tests skip themselves without Chromium, the npm packages or Node.js 20+.
#include <fstream>

#include "browser_fixture.hpp"
#include "http/console_routes.hpp"

namespace sluice::testing {
namespace {

// ---- the routes, transport-free -------------------------------------------------------------

TEST(ConsoleRoutes, AcceptEncodingIsRead) {
  EXPECT_TRUE(http::accepts_gzip("gzip"));
  EXPECT_TRUE(http::accepts_gzip("gzip, deflate, br, zstd"));
  EXPECT_TRUE(http::accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(http::accepts_gzip("x-gzip"));
  EXPECT_TRUE(http::accepts_gzip("*"));
  EXPECT_FALSE(http::accepts_gzip(""));
  EXPECT_FALSE(http::accepts_gzip("identity"));
  EXPECT_FALSE(http::accepts_gzip("br, deflate"));
  EXPECT_FALSE(http::accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(http::accepts_gzip("gzip;q=0.000, *"));  // an explicit refusal wins over *
  EXPECT_FALSE(http::accepts_gzip("*;q=0"));
  EXPECT_FALSE(http::accepts_gzip("gzip;q=banana"));
}

std::string header(const http::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

TEST(ConsoleRoutes, FilesAreServedWithTheirTypeCachingAndGzip) {
  const http::ConsoleFile files[] = {
      {"/", "text/html; charset=utf-8", "<!doctype html>", "GZ-INDEX"},
      {"/console/assets/index-abc.js", "text/javascript; charset=utf-8", "let x = 1;", "GZ-JS"},
      {"/console/robots.txt", "text/plain; charset=utf-8", "plain", ""},
  };
  auto index = http::console_response(files, "/", "gzip, br");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index.body, "GZ-INDEX");
  EXPECT_EQ(header(index, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(index, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(index, "Cache-Control"), "no-cache");
  EXPECT_NE(header(index, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);

  auto js = http::console_response(files, "/console/assets/index-abc.js", "");
  EXPECT_EQ(js.body, "let x = 1;");
  EXPECT_EQ(header(js, "Content-Encoding"), "");
  EXPECT_EQ(header(js, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(js, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");

  auto txt = http::console_response(files, "/console/robots.txt", "gzip");
  EXPECT_EQ(txt.body, "plain");  // no gzip copy: the body as it is, nothing varies
  EXPECT_EQ(header(txt, "Content-Encoding"), "");
  EXPECT_EQ(header(txt, "Vary"), "");
  EXPECT_EQ(header(txt, "Cache-Control"), "no-cache");  // not a hashed asset

  EXPECT_EQ(http::console_response(files, "/console/assets/missing.js", "gzip").status, 404);
  EXPECT_EQ(http::console_response(files, "/console/assets", "").status, 404);
}

// ---- the real sluiced ------------------------------------------------------------------------

struct RawAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// One request over a raw socket (Connection: close), `extra` being header lines.
RawAnswer raw_request(int port, const std::string& method, const std::string& target,
                      const std::string& extra = "") {
  TcpClient c(port);
  c.send_all(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
             "\r\nConnection: close\r\n" + extra + "\r\n");
  c.read_to_end(10s);
  const std::string& all = c.received();
  RawAnswer a;
  const auto end = all.find("\r\n\r\n");
  if (end == std::string::npos) return a;
  std::istringstream head(all.substr(0, end));
  std::string line;
  std::getline(head, line);
  std::smatch m;
  if (std::regex_search(line, m, std::regex(R"(^HTTP/1\.1 (\d{3}))"))) a.status = std::stoi(m[1]);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& ch : name)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    a.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  a.body = all.substr(end + 4);
  return a;
}

std::string gunzip(const std::string& data) {
  const std::string path =
      ::testing::TempDir() + "/console-test-" + std::to_string(::getpid()) + ".gz";
  std::ofstream(path, std::ios::binary) << data;
  CommandResult r = run_command({program_path("gzip"), "-dc", path}, 20s);
  std::remove(path.c_str());
  return r.exit_code == 0 ? r.out : std::string("<gzip -dc failed: ") + r.err + ">";
}

class ConsoleServing : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {}) {
    daemon_ = std::make_unique<DaemonProcess>(std::move(args));
    auto started = daemon_->start();
    ASSERT_TRUE(started) << started.message();
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

// `/` is the console's index.html (revalidated every load); its hashed assets are cached for a
// year as immutable; each comes gzipped to a client that accepts it (the same bytes as plain),
// with its content type; HEAD has the GET's headers; unknown assets are 404.
TEST_F(ConsoleServing, IndexAndAssetsComeWithTheirTypesCachingAndGzip) {
  start();
  const int port = daemon_->port();
  RawAnswer index = raw_request(port, "GET", "/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.headers["cache-control"], "no-cache");
  EXPECT_EQ(index.headers.count("content-encoding"), 0u);
  EXPECT_NE(index.body.find("<div id=\"app\">"), std::string::npos)
      << "not the console (a placeholder page? node and npm missing at build time)\n"
      << index.body;
  EXPECT_NE(index.headers["content-security-policy"].find("default-src 'self'"), std::string::npos);

  std::smatch js, css;
  ASSERT_TRUE(std::regex_search(index.body, js,
                                std::regex(R"re(src="(/console/assets/index-[\w-]+\.js)")re")))
      << index.body;
  ASSERT_TRUE(std::regex_search(index.body, css,
                                std::regex(R"re(href="(/console/assets/[\w.-]+\.css)")re")))
      << index.body;

  RawAnswer plain = raw_request(port, "GET", js[1].str());
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(plain.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(plain.headers["vary"], "Accept-Encoding");
  EXPECT_EQ(plain.headers.count("content-encoding"), 0u);
  EXPECT_EQ(plain.headers["content-length"], std::to_string(plain.body.size()));

  RawAnswer zipped =
      raw_request(port, "GET", js[1].str(), "Accept-Encoding: gzip, deflate, br\r\n");
  ASSERT_EQ(zipped.status, 200);
  EXPECT_EQ(zipped.headers["content-encoding"], "gzip");
  EXPECT_EQ(zipped.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_LT(zipped.body.size(), plain.body.size() / 2);
  ASSERT_GE(zipped.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(zipped.body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(zipped.body[1]), 0x8b);
  EXPECT_TRUE(gunzip(zipped.body) == plain.body) << "the gzip copy is not the same file";

  RawAnswer style = raw_request(port, "GET", css[1].str(), "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(style.status, 200);
  EXPECT_EQ(style.headers["content-type"], "text/css; charset=utf-8");
  EXPECT_EQ(style.headers["content-encoding"], "gzip");

  RawAnswer head = raw_request(port, "HEAD", "/", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(head.headers["content-encoding"], "gzip");
  EXPECT_TRUE(head.body.empty());

  EXPECT_EQ(raw_request(port, "GET", "/console/assets/index-nothere.js").status, 404);
  EXPECT_EQ(raw_request(port, "GET", "/console/nothere.html").status, 404);
  EXPECT_EQ(raw_request(port, "POST", "/").status, 405);
}

// The files hold no data, so they are public even with --auth required, where the API needs
// credentials; a 401 to the console (X-Sluice-Console: 1) carries only the Bearer challenge, so
// the browser shows no login dialog of its own, while other clients still get Basic offered.
TEST_F(ConsoleServing, TheConsoleIsPublicAndItsRequestsGetNoBasicChallenge) {
  start({"--auth", "required", "--loopback-admin", "false"});
  const int port = daemon_->port();
  RawAnswer index = raw_request(port, "GET", "/");
  EXPECT_EQ(index.status, 200);
  std::smatch js;
  ASSERT_TRUE(std::regex_search(index.body, js,
                                std::regex(R"re(src="(/console/assets/index-[\w-]+\.js)")re")));
  EXPECT_EQ(raw_request(port, "GET", js[1].str()).status, 200);

  RawAnswer api = raw_request(port, "GET", "/streams");
  EXPECT_EQ(api.status, 401);
  EXPECT_EQ(api.headers["www-authenticate"], R"(Bearer realm="sluice", Basic realm="sluice")");

  RawAnswer console = raw_request(port, "GET", "/streams", "X-Sluice-Console: 1\r\n");
  EXPECT_EQ(console.status, 401);
  EXPECT_EQ(console.headers["www-authenticate"], R"(Bearer realm="sluice")");
  RawAnswer wrong = raw_request(port, "GET", "/auth/whoami",
                                "X-Sluice-Console: 1\r\nAuthorization: Basic YW5hOndyb25n\r\n");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.headers["www-authenticate"], R"(Bearer realm="sluice")");
}

// ---- the console in Chromium -----------------------------------------------------------------

constexpr const char* kAdminToken = "console-test-admin-token";

class ConsoleBrowser : public BrowserTest {
 protected:
  // sluiced with loopback clients not admin (so the console must sign in), an admin token for
  // the test's own calls, WebRTC on a free UDP port of 127.0.0.1, and users made over the API:
  // `ana` (operator), `root` (admin).
  void start(std::vector<std::string> extra = {}) {
    udp_port_ = unused_local_udp_port();
    ASSERT_GT(udp_port_, 0);
    std::vector<std::string> args{
        "--loopback-admin", "false", "--admin-token", kAdminToken,
        "--hls-segment",    "1",     "--webrtc-udp",  "127.0.0.1:" + std::to_string(udp_port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string refused;
    ASSERT_TRUE(start_daemon(args, &refused)) << refused;
    for (const auto& [name, role] : {std::pair{"ana", "operator"}, std::pair{"root", "admin"}}) {
      auto made = admin("POST", "/auth/users",
                        std::string(R"({"name":")") + name +
                            R"(","password":"console-pass-1","role":")" + role + "\"}");
      ASSERT_EQ(made.status, 201) << made.raw;
    }
  }

  Answer admin(std::string_view method, const std::string& target, std::string_view body = {}) {
    client::Client c(daemon_->url());
    c.set_bearer_token(kAdminToken);
    auto res = c.request(method, target, body);
    Answer a;
    a.status = res ? res->status : res.error().status;
    a.raw = res ? res->body : res.error().detail;
    boost::system::error_code ec;
    a.body = json::parse(a.raw, ec);
    return a;
  }

  // console_check.mjs with `args` after the URL; its JSON line, checked to say "ok".
  json::value check(const std::vector<std::string>& args, int seconds = 20) {
    std::vector<std::string> all{daemon_->url() + "/"};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back("--verbose");
    int code = -1;
    json::value result = run_browser_script("console_check.mjs", all, seconds, &code, &log_);
    EXPECT_EQ(code, 0) << log_;
    EXPECT_TRUE(flag(result, "ok")) << log_;
    return result;
  }

  std::vector<std::string> as(const std::string& user) {
    return {"--user", user, "--password", "console-pass-1"};
  }

  // ffmpeg publishing `name` over RTMP with a key made by the admin.
  void publish_with_admin_key(const std::string& name) {
    auto key = admin("POST", "/keys", R"({"stream":")" + name + "\"}");
    ASSERT_EQ(key.status, 201) << key.raw;
    const std::string rtmp = "rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) + "/live/" +
                             str(key.body, "key");
    ASSERT_TRUE(ffmpeg_.spawn(publisher_argv(rtmp), true));
    ASSERT_TRUE(eventually(
        [&] { return num(admin("GET", "/media/paths/" + name).body, "video_frames") > 0; }, 30s))
        << "never live. ffmpeg: " << ffmpeg_.stdout_text() << "\nsluiced:\n"
        << daemon_->output();
  }

  int udp_port_ = 0;
  std::string log_;
};

// The sign-in page refuses a wrong password in its own words, signs in with the right one (HTTP
// Basic on each fetch), shows who is signed in and the pages an operator may use; a stream
// advertised over HTTP while the Streams page is open appears without a reload (the page reads
// the registry's events).
TEST_F(ConsoleBrowser, SignsInAndSeesAStreamAppearLive) {
  start();
  if (IsSkipped() || HasFatalFailure()) return;
  json::value r = check({"--scenario", "signin", "--stream", "Console Camera", "--user", "ana",
                         "--password", "console-pass-1"});
  EXPECT_EQ(str(r, "wrongMessage"), "Invalid or expired credentials") << log_;
  EXPECT_NE(str(r, "identity").find("ana"), std::string::npos) << log_;
  EXPECT_NE(str(r, "identity").find("operator"), std::string::npos) << log_;
  EXPECT_EQ(num(r, "advertiseStatus"), 201) << log_;
  EXPECT_TRUE(flag(r, "streamAppeared")) << log_;
  EXPECT_LT(num(r, "appearMs"), 3000) << log_;
  const std::string nav = json::serialize(r.as_object().at("nav"));
  EXPECT_NE(nav.find("\"Keys\""), std::string::npos) << nav;            // operator: keys_rw
  EXPECT_EQ(nav.find("\"Users & tokens\""), std::string::npos) << nav;  // but not users_rw
}

// Keys: a key created in the console is shown once with OBS's server and copy buttons, and it
// is a working key of that stream (listed by the API under its id).
TEST_F(ConsoleBrowser, CreatesAKeyAndShowsItOnce) {
  start();
  if (IsSkipped() || HasFatalFailure()) return;
  std::vector<std::string> args{"--scenario", "key", "--stream", "stage1"};
  for (const auto& a : as("ana"))
    args.push_back(a);
  json::value r = check(args);
  const std::string key = str(r, "key");
  EXPECT_EQ(key, find_key(key)) << log_;
  EXPECT_EQ(str(r, "rtmpUrl"), "rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) + "/live")
      << log_;
  auto listed = admin("GET", "/keys/" + key.substr(3, 16));
  EXPECT_EQ(listed.status, 200) << listed.raw;
  EXPECT_EQ(str(listed.body, "stream"), "stage1");
  EXPECT_EQ(listed.raw.find(key), std::string::npos) << "the API shows the secret again";
}

// Media: the preview of a path ffmpeg publishes over RTMP plays over WebRTC (WHEP with the
// signed-in user's credentials), its decoded frames growing every second.
TEST_F(ConsoleBrowser, PlaysAWhepPreviewWithFramesAdvancing) {
  start();
  if (IsSkipped() || HasFatalFailure()) return;
  publish_with_admin_key("cam");
  if (HasFatalFailure()) return;
  std::vector<std::string> args{"--scenario", "preview", "--path", "cam", "--seconds", "4"};
  for (const auto& a : as("ana"))
    args.push_back(a);
  json::value r = check(args);
  EXPECT_EQ(str(r, "mode"), "webrtc") << log_;
  EXPECT_TRUE(flag(r, "rising")) << log_;
}

// With WebRTC off the preview falls back to HLS (hls.js, loaded only then) and plays.
TEST_F(ConsoleBrowser, FallsBackToHlsWithoutWebrtc) {
  start({"--webrtc-udp", "off"});
  if (IsSkipped() || HasFatalFailure()) return;
  publish_with_admin_key("cam");
  if (HasFatalFailure()) return;
  std::vector<std::string> args{"--scenario", "preview", "--path",    "cam",
                                "--expect",   "hls",     "--seconds", "4"};
  for (const auto& a : as("ana"))
    args.push_back(a);
  json::value r = check(args, 40);
  EXPECT_EQ(str(r, "mode"), "hls") << log_;
}

// Settings: a bad value shows the server's 422 message and is not stored; a good one is saved.
TEST_F(ConsoleBrowser, ShowsTheServers422ForABadSetting) {
  start();
  if (IsSkipped() || HasFatalFailure()) return;
  std::vector<std::string> args{"--scenario", "setting"};
  for (const auto& a : as("root"))
    args.push_back(a);
  json::value r = check(args);
  EXPECT_EQ(str(r, "badMessage"), "stream_ttl: must be at least 1") << log_;
  auto ttl = admin("GET", "/settings/stream_ttl");
  EXPECT_EQ(num(ttl.body, "value"), 45) << ttl.raw;
}

// A viewer's API token signs in but gets no Keys page: no link, a "Not allowed" page when
// opened by hand, and no request for the keys at all (the API would refuse it: 403).
TEST_F(ConsoleBrowser, AViewerTokenCannotSeeTheKeysPage) {
  start();
  if (IsSkipped() || HasFatalFailure()) return;
  auto token = admin("POST", "/auth/tokens", R"({"name":"stage-viewer","role":"viewer"})");
  ASSERT_EQ(token.status, 201) << token.raw;
  ASSERT_EQ(admin("POST", "/keys", R"({"stream":"secret-cam"})").status, 201);
  json::value r = check({"--scenario", "viewer", "--token", str(token.body, "token")});
  EXPECT_FALSE(flag(r, "keysLinkShown")) << log_;
  EXPECT_FALSE(flag(r, "keysRequested")) << log_;
  EXPECT_EQ(str(r, "keysPageText").find("secret-cam"), std::string::npos) << log_;
  client::Client viewer(daemon_->url());
  viewer.set_bearer_token(str(token.body, "token"));
  auto keys = viewer.request("GET", "/keys");
  EXPECT_EQ(keys ? keys->status : keys.error().status, 403);
}

}  // namespace
}  // namespace sluice::testing
