// The OSC gateway with real OSC tools (Debian's liblo-tools): `oscsend` messages reach relay
// channels as JSON for /ws subscribers, each sender is an `osc` stream in the registry, channels
// go out to `oscdump` through the osc_targets setting, and bad datagrams are counted, never
// fatal.
#include <sys/socket.h>

#include <future>

#include "browser_fixture.hpp"
#include "client/hub_connection.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

class Osc : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{"--osc", "127.0.0.1:0"});
    ASSERT_TRUE(daemon_->start());
    ASSERT_GT(daemon_->osc_port(), 0) << daemon_->output();
  }
  CommandResult oscsend(std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/oscsend", "127.0.0.1",
                                  std::to_string(daemon_->osc_port())};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 10s);
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(Osc, OscsendReachesARelayChannelAndTheSenderIsAStream) {
  std::promise<json::value> got;
  client::HubConnection::Callbacks cb;
  cb.on_message = [&](client::HubConnection&, const client::HubMessage& m) {
    if (m.subject == "osc.stage.light.1") got.set_value(m.data);
  };
  auto ws = client::HubConnection::open(daemon_->url(), cb);
  ASSERT_TRUE(ws && (*ws)->subscribe("s", "osc.stage.>"));
  std::this_thread::sleep_for(200ms);
  CommandResult sent = oscsend({"/stage/light/1", "fis", "0.75", "3", "warm"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready) << "nothing on osc.stage.light.1";
  const json::value message = future.get();
  EXPECT_EQ(message.at("address").as_string(), "/stage/light/1");
  const auto& args = message.at("args").as_array();
  ASSERT_EQ(args.size(), 3u);
  EXPECT_DOUBLE_EQ(args[0].to_number<double>(), 0.75);
  EXPECT_EQ(args[1].to_number<std::int64_t>(), 3);
  EXPECT_EQ(args[2].as_string(), "warm");

  Answer streams = http_call(daemon_->url(), "GET", "/streams?stream_type=osc");
  ASSERT_EQ(streams.status, 200);
  ASSERT_EQ(streams.body.as_array().size(), 1u) << streams.raw;
  EXPECT_EQ(streams.body.as_array()[0].at("address").as_string(), "127.0.0.1");
  EXPECT_EQ(streams.body.as_array()[0].at("protocol").as_string(), "osc");

  // A pattern address and garbage are refused and counted; the gateway goes on.
  EXPECT_EQ(oscsend({"/stage/*", "f", "1"}).exit_code, 0);
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(daemon_->osc_port()));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::sendto(fd, "not osc at all", 14, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
  EXPECT_TRUE(eventually(
      [&] {
        const std::string m = http_call(daemon_->url(), "GET", "/metrics").raw;
        return metric(m, R"(sluice_osc_total{event="malformed"})").value_or(0) >= 1 &&
               metric(m, R"(sluice_osc_total{event="refused"})").value_or(0) >= 1;
      },
      5s))
      << http_call(daemon_->url(), "GET", "/metrics").raw;
  EXPECT_EQ(oscsend({"/stage/light/2", "T"}).exit_code, 0);
  EXPECT_TRUE(eventually(
      [&] {
        return metric(http_call(daemon_->url(), "GET", "/metrics").raw,
                      R"(sluice_osc_total{event="forwarded"})")
                   .value_or(0) >= 2;
      },
      5s));
}

TEST_F(Osc, ChannelsGoOutAsOscToTargets) {
  const int port = unused_local_udp_port();
  ChildProcess dump;
  ASSERT_TRUE(dump.spawn({"/usr/bin/oscdump", "-L", std::to_string(port)}));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(
      http_call(daemon_->url(), "PUT", "/settings/osc_targets", R"({"value": ["no equals sign"]})")
          .status,
      422);
  Answer set = http_call(daemon_->url(), "PUT", "/settings/osc_targets",
                         R"({"value": ["osc.out.>=127.0.0.1:)" + std::to_string(port) + "\"]}");
  ASSERT_EQ(set.status, 200) << set.raw;
  auto ws = client::HubConnection::open(daemon_->url(), {});
  ASSERT_TRUE(ws);
  ASSERT_TRUE((*ws)->publish("osc.out.cue", json::parse(R"({"args": [7, "go", 0.5]})")));
  auto line = dump.wait_for_text("/out/cue", 5s);
  ASSERT_TRUE(line.has_value()) << dump.stdout_text() << dump.stderr_text();
  EXPECT_NE(line->find("7"), std::string::npos) << *line;
  EXPECT_NE(line->find("go"), std::string::npos) << *line;
  EXPECT_EQ(http_call(daemon_->url(), "PUT", "/settings/osc_payload", R"({"value": "xml"})").status,
            422);
}

}  // namespace
}  // namespace sluice::testing
