// sluiced's mDNS/DNS-SD responder seen by a client nobody here wrote: python3-zeroconf
// (tests/integration/mdns_browse.py) finds _maestra._tcp with the api_url Maestra's SDKs read,
// _sluice._tcp, the console's _http._tcp and an _rtsp._tcp per camera alias (following the
// rtsp_aliases setting), gets legacy unicast answers (RFC 6762 section 6.7) and sees the goodbye
// when sluiced stops.
//
// Multicast must not leave this machine: the binary runs in a network namespace of its own
// (private_network.hpp; sluiced and python inherit it) and sluiced is told --mdns-interfaces lo.
// Without the privilege to make one the tests skip, saying why.
#include <boost/json/parse.hpp>

#include "media_fixture.hpp"
#include "private_network.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

class Mdns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!private_network_error().empty()) {
      GTEST_SKIP() << "needs a network namespace of its own (" << private_network_error() << ")";
    }
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{
        "--mdns", "on", "--mdns-interfaces", "lo", "--mqtt", "127.0.0.1:0"});
    ASSERT_TRUE(daemon_->start());
  }

  // What mdns_browse.py prints for `args`, as JSON (null when it failed).
  json::value zeroconf(std::vector<std::string> args) {
    std::vector<std::string> argv{
        "/usr/bin/python3", std::string(SLUICE_SOURCE_DIR) + "/tests/integration/mdns_browse.py"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = run_command(argv, 30s);
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << "out: " << r.out << "\nerr: " << r.err << "\nexit " << r.exit_code;
    return ec ? json::value() : v;
  }

  // The instance of `type` that is this daemon's (its port: the HTTP or RTSP port).
  json::object instance(const std::string& type, int port) {
    const json::value found = zeroconf({"browse", type});
    if (!found.is_array()) return {};
    for (const auto& v : found.as_array()) {
      if (v.as_object().at("port").as_int64() == port) return v.as_object();
    }
    return {};
  }

  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(Mdns, MaestraSdksAndBrowsersFindSluicedAndItsServices) {
  const std::string api_url = "http://127.0.0.1:" + std::to_string(daemon_->port());
  json::object maestra = instance("_maestra._tcp.local.", daemon_->port());
  ASSERT_FALSE(maestra.empty()) << "zeroconf did not find _maestra._tcp";
  EXPECT_EQ(maestra.at("txt").at("api_url").as_string(), api_url) << json::serialize(maestra);
  EXPECT_EQ(maestra.at("txt").at("mqtt_broker").as_string(), "127.0.0.1");
  EXPECT_EQ(maestra.at("txt").at("mqtt_port").as_string(), std::to_string(daemon_->mqtt_port()));
  EXPECT_NE(std::string(maestra.at("server").as_string()).find(".local"), std::string::npos);
  EXPECT_EQ(maestra.at("addresses").as_array().at(0).as_string(), "127.0.0.1");

  json::object own = instance("_sluice._tcp.local.", daemon_->port());
  ASSERT_FALSE(own.empty());
  EXPECT_EQ(own.at("txt").at("rtmp").as_string(), std::to_string(daemon_->rtmp_port()));
  EXPECT_EQ(own.at("txt").at("rtsp").as_string(), std::to_string(daemon_->rtsp_port()));
  json::object console = instance("_http._tcp.local.", daemon_->port());
  ASSERT_FALSE(console.empty());
  EXPECT_EQ(console.at("txt").at("path").as_string(), "/");

  // The camera aliases, as the setting changes.
  EXPECT_TRUE(instance("_rtsp._tcp.local.", daemon_->rtsp_port()).empty());
  Answer set =
      http_call(daemon_->url(), "PUT", "/settings/rtsp_aliases", R"({"value": ["stream1=cam"]})");
  ASSERT_EQ(set.status, 200) << set.raw;
  json::object camera = instance("_rtsp._tcp.local.", daemon_->rtsp_port());
  ASSERT_FALSE(camera.empty()) << "no _rtsp._tcp for the alias";
  EXPECT_EQ(camera.at("txt").at("path").as_string(), "/stream1");
  EXPECT_NE(std::string(camera.at("name").as_string()).find("stream1"), std::string::npos);
}

TEST_F(Mdns, LegacyUnicastQueriesAreAnsweredToTheSender) {
  json::value answer = zeroconf({"legacy", "_maestra._tcp.local."});
  ASSERT_TRUE(answer.is_object());
  const auto& a = answer.as_object();
  EXPECT_EQ(a.at("answered_id"), a.at("id")) << "the query's id comes back";
  EXPECT_EQ(a.at("questions").as_int64(), 1) << "the question is echoed";
  bool ptr = false;
  for (const auto& name : a.at("names").as_array()) {
    ptr = ptr || std::string(name.as_string()).starts_with("_maestra._tcp.local");
  }
  EXPECT_TRUE(ptr) << json::serialize(a);
  for (const auto& ttl : a.at("ttls").as_array())
    EXPECT_LE(ttl.as_int64(), 10) << "legacy answers carry TTLs of at most 10 s";
}

TEST_F(Mdns, StoppingSaysGoodbye) {
  ChildProcess watcher;
  ASSERT_TRUE(watcher.spawn({std::string("/usr/bin/python3"),
                             std::string(SLUICE_SOURCE_DIR) + "/tests/integration/mdns_browse.py",
                             "watch", "_sluice._tcp.local.", "6"}));
  std::this_thread::sleep_for(3s);  // it has started and found the service
  daemon_->stop();
  ASSERT_TRUE(watcher.wait(20s).has_value());
  boost::system::error_code ec;
  json::value events = json::parse(watcher.stdout_text(), ec);
  ASSERT_FALSE(ec) << watcher.stdout_text() << watcher.stderr_text();
  bool added = false, removed = false;
  for (const auto& e : events.as_array()) {
    added = added || e.as_array().at(0).as_string() == "added";
    removed = removed || e.as_array().at(0).as_string() == "removed";
  }
  EXPECT_TRUE(added) << json::serialize(events);
  EXPECT_TRUE(removed) << "no goodbye seen: " << json::serialize(events);
}

}  // namespace
}  // namespace sluice::testing

int main(int argc, char** argv) {
  sluice::testing::enter_private_network();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
