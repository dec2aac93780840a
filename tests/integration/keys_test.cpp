// Stream keys end to end: the /keys routes over real sockets against an in-process App (create,
// list, show, revoke, rotate; secrets never listed; validation; the admin token), the keys the
// routes hand out checked through App::keys() as the RTMP server will, and `sluice keys …`
// plus `sluiced --dev-key` as processes.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fstream>
#include <regex>
#include <thread>

#include "client/client.hpp"
#include "core/config.hpp"
#include "daemon_fixture.hpp"
#include "keys/key_service.hpp"
#include "server/app.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

// An App on 127.0.0.1:<ephemeral> with `admin_token` (empty: loopback clients are admin), RTMP
// on `rtmp_host`:<ephemeral>.
class KeysApp {
 public:
  explicit KeysApp(std::string admin_token = {}, std::string rtmp_host = "127.0.0.1") {
    Config c;
    c.onvif_enabled = false;  // no WS-Discovery multicast
    c.mdns_enabled = false;   // nor mDNS
    c.osc_enabled = false;
    c.mqtt_enabled = false;
    c.http = HostPort{"127.0.0.1", 0};
    c.wire = HostPort{"127.0.0.1", 0};
    c.rtmp = HostPort{std::move(rtmp_host), 0};
    c.rtsp = HostPort{"127.0.0.1", 0};
    c.rtsp_udp_ports = {0, 0};
    c.srt = HostPort{"127.0.0.1", 0};
    c.history = ":memory:";
    c.threads = 2;
    c.loopback_admin = admin_token.empty();
    c.admin_token = std::move(admin_token);
    app_ = std::make_unique<server::App>(c);
    port_ = app_->start();
    thread_ = std::thread([this] { app_->run(); });
  }
  ~KeysApp() {
    app_->stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  server::App& app() { return *app_; }

 private:
  std::unique_ptr<server::App> app_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

struct Answer {
  int status = 0;
  json::value body;
  std::string raw;
};

Answer call(client::Client& c, std::string_view method, const std::string& target,
            std::string_view body = {}) {
  auto res = c.request(method, target, body);
  Answer a;
  if (res) {
    a.status = res->status;
    a.raw = res->body;
  } else {
    a.status = res.error().status;
    a.raw = res.error().detail;
  }
  boost::system::error_code ec;
  a.body = json::parse(a.raw, ec);
  return a;
}

std::string str(const json::value& v, std::string_view key) {
  const auto* f = v.as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

TEST(KeysHttp, CreateListShowRevokeRotate) {
  KeysApp daemon;
  client::Client c(daemon.url());
  auto created = call(c, "POST", "/keys",
                      R"({"stream":"cam1","expires_in":3600,"allowed_ips":["127.0.0.1","::1"],)"
                      R"("alias":"studio","note":"main camera"})");
  ASSERT_EQ(created.status, 201) << created.raw;
  const std::string key = str(created.body, "key");
  const std::string id = str(created.body, "id");
  EXPECT_EQ(key.size(), 62u);
  EXPECT_TRUE(key.starts_with("sk_" + id));
  EXPECT_EQ(str(created.body, "state"), "active");
  EXPECT_EQ(str(created.body, "kind"), "publish");
  EXPECT_EQ(json::serialize(created.body.at("allowed_ips")), R"(["127.0.0.1/32","::1/128"])");
  EXPECT_FALSE(created.body.as_object().contains("hmac"));

  // Listing and showing never carry the secret, nor its HMAC.
  auto list = call(c, "GET", "/keys");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body.as_array().size(), 1u);
  EXPECT_EQ(list.raw.find(key.substr(3 + 16)), std::string::npos) << list.raw;
  EXPECT_EQ(list.raw.find("hmac"), std::string::npos);
  EXPECT_FALSE(list.body.as_array()[0].as_object().contains("key"));
  auto by_alias = call(c, "GET", "/keys/studio");
  ASSERT_EQ(by_alias.status, 200);
  EXPECT_EQ(str(by_alias.body, "id"), id);
  EXPECT_EQ(by_alias.raw.find(key.substr(19)), std::string::npos);

  // The RTMP server's view: the key works from loopback, and only from there.
  auto grant = daemon.app().keys().check_publish(key, "127.0.0.1");
  ASSERT_TRUE(grant) << grant.error().detail;
  EXPECT_EQ(grant->stream, "cam1");
  EXPECT_EQ(daemon.app().keys().check_publish(key, "203.0.113.9").error().reason,
            keys::RefusalReason::kIpForbidden);
  EXPECT_EQ(call(c, "GET", "/keys/" + id).body.at("uses").as_int64(), 1);

  // Rotate: same id, new key, the old one is refused at once.
  auto rotated = call(c, "POST", "/keys/studio/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.raw;
  EXPECT_EQ(str(rotated.body, "id"), id);
  const std::string key2 = str(rotated.body, "key");
  EXPECT_NE(key2, key);
  EXPECT_EQ(daemon.app().keys().check_publish(key, "127.0.0.1").error().reason,
            keys::RefusalReason::kWrong);
  EXPECT_TRUE(daemon.app().keys().check_publish(key2, "::1"));

  // Revoke: 200 with the record, listed as revoked, refused.
  auto revoked = call(c, "DELETE", "/keys/" + id);
  ASSERT_EQ(revoked.status, 200) << revoked.raw;
  EXPECT_EQ(str(revoked.body, "state"), "revoked");
  EXPECT_EQ(str(call(c, "GET", "/keys").body.as_array()[0], "state"), "revoked");
  EXPECT_EQ(daemon.app().keys().check_publish(key2, "127.0.0.1").error().reason,
            keys::RefusalReason::kRevoked);
  EXPECT_EQ(call(c, "POST", "/keys/" + id + "/rotate").status, 409);
  EXPECT_EQ(call(c, "DELETE", "/keys/nothing-here").status, 404);
  EXPECT_EQ(call(c, "GET", "/keys/0123456789abcdef").status, 404);

  // Refusals are counted in /metrics by reason.
  auto metrics = c.request("GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find(R"(sluice_stream_key_checks_total{result="revoked"} 1)"),
            std::string::npos);
  EXPECT_NE(metrics->body.find(R"(sluice_stream_key_checks_total{result="accepted"} 2)"),
            std::string::npos);
}

// Where to use a new key: the daemon's real RTMP port (ephemeral here, never assumed 1935), on
// the RTMP address, or on the host the client used when RTMP listens everywhere.
TEST(KeysHttp, CreateAndRotateAnswerWithTheDaemonsRtmpUrl) {
  {
    KeysApp daemon;
    const std::string expected =
        "rtmp://127.0.0.1:" + std::to_string(daemon.app().rtmp_port()) + "/live";
    ASSERT_NE(daemon.app().rtmp_port(), 1935);
    client::Client c(daemon.url());
    auto created = call(c, "POST", "/keys", R"({"stream":"cam1"})");
    ASSERT_EQ(created.status, 201) << created.raw;
    EXPECT_EQ(str(created.body, "rtmp_url"), expected) << created.raw;
    auto rotated = call(c, "POST", "/keys/" + str(created.body, "id") + "/rotate");
    EXPECT_EQ(str(rotated.body, "rtmp_url"), expected) << rotated.raw;
    auto read = call(c, "POST", "/keys", R"({"stream":"cam1","kind":"read"})");
    EXPECT_EQ(str(read.body, "rtmp_url"), expected) << read.raw;
    // Only create and rotate carry it, with the key.
    EXPECT_FALSE(
        call(c, "GET", "/keys/" + str(created.body, "id")).body.as_object().contains("rtmp_url"));
  }
  {
    KeysApp everywhere({}, "0.0.0.0");
    client::Client c("http://localhost:" + std::to_string(everywhere.port()));
    auto created = call(c, "POST", "/keys", R"({"stream":"cam1"})");
    ASSERT_EQ(created.status, 201) << created.raw;
    EXPECT_EQ(str(created.body, "rtmp_url"),
              "rtmp://localhost:" + std::to_string(everywhere.app().rtmp_port()) + "/live");
  }
}

TEST(KeysHttp, ValidationNamesEveryBadFieldAndAliasesAreUnique) {
  KeysApp daemon;
  client::Client c(daemon.url());
  // Every field error is in the body (the router-level test reads them all); the client
  // reports the first.
  auto bad =
      call(c, "POST", "/keys", R"({"stream":"no/slash","allowed_ips":["10.0.0.0/8","banana"]})");
  ASSERT_EQ(bad.status, 422) << bad.raw;
  EXPECT_NE(bad.raw.find("stream must be"), std::string::npos) << bad.raw;
  EXPECT_EQ(call(c, "POST", "/keys", "not json").status, 422);
  EXPECT_EQ(call(c, "POST", "/keys", "{}").status, 422);
  EXPECT_EQ(call(c, "GET", "/keys").body.as_array().size(), 0u);

  ASSERT_EQ(call(c, "POST", "/keys", R"({"stream":"a","alias":"main"})").status, 201);
  auto clash = call(c, "POST", "/keys", R"({"stream":"b","alias":"main"})");
  EXPECT_EQ(clash.status, 409) << clash.raw;

  auto read = call(c, "POST", "/keys", R"({"stream":"a","kind":"read"})");
  ASSERT_EQ(read.status, 201);
  EXPECT_EQ(str(read.body, "kind"), "read");
  EXPECT_FALSE(daemon.app().keys().check_read("a", std::nullopt, "127.0.0.1"));
  EXPECT_TRUE(daemon.app().keys().check_read("a", str(read.body, "key"), "127.0.0.1"));
}

TEST(KeysHttp, AdminTokenIsRequiredWhenSet) {
  const std::string token = "test-admin-token-0123456789";
  KeysApp daemon(token);
  client::Client c(daemon.url());
  EXPECT_EQ(call(c, "GET", "/keys").status, 401);
  EXPECT_EQ(call(c, "POST", "/keys", R"({"stream":"cam"})").status, 401);
  c.set_bearer_token("wrong-token-0123456789abcdef");
  auto wrong = call(c, "GET", "/keys");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.raw.find("Invalid or expired credentials"), std::string::npos);
  EXPECT_EQ(wrong.raw.find("wrong-token"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the address's failure backoff
  c.set_bearer_token(token);
  EXPECT_EQ(call(c, "POST", "/keys", R"({"stream":"cam"})").status, 201);
  EXPECT_EQ(call(c, "GET", "/keys").status, 200);
  // Other routes do not need it.
  c.set_bearer_token("");
  EXPECT_EQ(call(c, "GET", "/streams").status, 200);
}

class KeysCliTest : public ::testing::Test {
 protected:
  static constexpr const char* kToken = "cli-admin-token-0123456789";
  void SetUp() override { ASSERT_TRUE(daemon_.start()); }
  CommandResult sluice(std::vector<std::string> args, bool with_token = true) const {
    std::vector<std::string> full{SLUICE_CLI_PATH, "--server", daemon_.url()};
    full.insert(full.end(), args.begin(), args.end());
    if (with_token) full.insert(full.end(), {"--admin-token", kToken});
    return run_command(full);
  }
  DaemonProcess daemon_{{"--admin-token", kToken, "--loopback-admin", "false"}};
};

std::string find_key(const std::string& text) {
  static const std::regex kKey("sk_[0-9a-f]{16}[A-Za-z0-9_-]{43}");
  std::smatch m;
  return std::regex_search(text, m, kKey) ? m.str() : std::string();
}

TEST_F(KeysCliTest, CreateListRevokeRotate) {
  auto created = sluice({"keys", "create", "cam1", "--alias", "studio", "--allow", "10.0.0.0/8",
                         "--expires-in", "600", "--note", "front door"});
  ASSERT_EQ(created.exit_code, 0) << created.err << created.out;
  const std::string key = find_key(created.out);
  ASSERT_FALSE(key.empty()) << created.out;
  // The daemon's RTMP port (ephemeral in tests), not 1935.
  const std::string rtmp = "rtmp://127.0.0.1:" + std::to_string(daemon_.rtmp_port()) + "/live";
  ASSERT_NE(daemon_.rtmp_port(), 1935);
  EXPECT_NE(created.out.find("OBS server"), std::string::npos) << created.out;
  EXPECT_NE(created.out.find(rtmp + "\n"), std::string::npos) << created.out;
  EXPECT_NE(created.out.find(rtmp + "/cam1\n"), std::string::npos) << created.out;
  EXPECT_EQ(created.out.find(":1935"), std::string::npos) << created.out;
  EXPECT_NE(created.out.find("shown once"), std::string::npos);
  auto read = sluice({"keys", "create", "cam1", "--read"});
  ASSERT_EQ(read.exit_code, 0) << read.err << read.out;
  EXPECT_NE(read.out.find(rtmp + "/cam1?key=" + find_key(read.out)), std::string::npos) << read.out;

  auto list = sluice({"keys", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("studio"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("10.0.0.0/8"), std::string::npos);
  EXPECT_NE(list.out.find("active"), std::string::npos);
  EXPECT_TRUE(find_key(list.out).empty()) << list.out;

  auto rotated = sluice({"keys", "rotate", "studio"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  const std::string key2 = find_key(rotated.out);
  EXPECT_FALSE(key2.empty());
  EXPECT_NE(key2, key);
  EXPECT_EQ(key2.substr(0, 19), key.substr(0, 19));  // same id
  EXPECT_NE(rotated.out.find(rtmp + "\n"), std::string::npos) << rotated.out;

  auto revoked = sluice({"keys", "revoke", "studio"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_NE(revoked.out.find("revoked"), std::string::npos) << revoked.out;
  EXPECT_NE(sluice({"keys", "list"}).out.find("revoked"), std::string::npos);

  auto json_list = sluice({"--json", "keys", "list"});
  ASSERT_EQ(json_list.exit_code, 0);
  EXPECT_TRUE(find_key(json_list.out).empty());

  auto missing = sluice({"keys", "revoke", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("404"), std::string::npos);
  auto unauthorised = sluice({"keys", "list"}, false);
  EXPECT_EQ(unauthorised.exit_code, 1);
  EXPECT_NE(unauthorised.err.find("401"), std::string::npos) << unauthorised.err;
}

TEST(KeysDaemon, DevKeyIsPrintedAtStart) {
  DaemonProcess daemon({"--dev-key"});
  ASSERT_TRUE(daemon.start());
  // The line is printed before "sluiced listening", which start() waited for.
  const std::string out = daemon.output();
  auto at = out.find("dev key: sk_");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string line = out.substr(at, out.find('\n', at) - at);
  const std::string key = find_key(line);
  EXPECT_FALSE(key.empty()) << line;
  // The RTMP port is the daemon's (ephemeral in tests, 1935 by default).
  const std::regex obs("OBS server rtmp://127\\.0\\.0\\.1:[0-9]+/live, stream key " + key +
                       ".*play rtmp://127\\.0\\.0\\.1:[0-9]+/live/dev");
  EXPECT_TRUE(std::regex_search(line, obs)) << line;
  client::Client c(daemon.url());
  auto dev = c.request_json("GET", "/keys/dev");
  ASSERT_TRUE(dev) << dev.error().detail;
  EXPECT_EQ(str(*dev, "stream"), "dev");
  EXPECT_EQ(str(*dev, "state"), "active");
  EXPECT_FALSE(dev->as_object().at("expires_at").is_null());
}

}  // namespace
}  // namespace sluice::testing
