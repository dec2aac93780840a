// The MQTT broker with clients nobody here wrote: Debian's mosquitto_pub / mosquitto_sub (the
// guide's Arduino flow: advertise, heartbeat, withdraw, events; other devices cannot touch the
// stream), /ws hub clients and MQTT devices seeing each other, credentials from the trust issue,
// and the npm `mqtt` client over TCP and over WebSocket at /mqtt (QoS 1, retained, last will,
// MQTT 5 request/response).
#include <netinet/in.h>
#include <sys/socket.h>

#include <future>

#include "browser_fixture.hpp"
#include "client/event_stream.hpp"
#include "client/hub_connection.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

const std::string kPub = "/usr/bin/mosquitto_pub";
const std::string kSub = "/usr/bin/mosquitto_sub";

class Mqtt : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kPub.c_str(), X_OK) != 0) GTEST_SKIP() << "mosquitto-clients is not installed";
  }
  // Loopback clients are anonymous devices here (DaemonProcess makes them admin by default).
  void start(std::vector<std::string> extra = {"--loopback-admin", "false"}) {
    extra.insert(extra.begin(), {"--mqtt", "127.0.0.1:0"});
    daemon_ = std::make_unique<DaemonProcess>(extra);
    ASSERT_TRUE(daemon_->start());
    ASSERT_GT(daemon_->mqtt_port(), 0) << daemon_->output();
  }
  std::vector<std::string> broker() const {
    return {"-h", "127.0.0.1", "-p", std::to_string(daemon_->mqtt_port())};
  }
  CommandResult pub(const std::string& client_id, const std::string& topic,
                    const std::string& message, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{kPub};
    auto b = broker();
    argv.insert(argv.end(), b.begin(), b.end());
    argv.insert(argv.end(), {"-i", client_id, "-t", topic, "-m", message, "-q", "1"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, 10s);
  }
  // mosquitto_sub printing "topic payload" lines, until `count` messages or `seconds`.
  void subscribe(ChildProcess& sub, std::vector<std::string> topics, int count, int seconds,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{kSub};
    auto b = broker();
    argv.insert(argv.end(), b.begin(), b.end());
    argv.insert(argv.end(), {"-v", "-C", std::to_string(count), "-W", std::to_string(seconds)});
    for (const auto& t : topics)
      argv.insert(argv.end(), {"-t", t});
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(sub.spawn(argv));
    std::this_thread::sleep_for(300ms);  // subscribed before anything is published
  }
  json::array streams() {
    Answer a = http_call(daemon_->url(), "GET", "/streams");
    EXPECT_EQ(a.status, 200) << a.raw;
    return a.status == 200 ? a.body.as_array() : json::array{};
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(Mqtt, TheArduinoFlowRegistersHeartbeatsAndWithdrawsAStream) {
  start();
  if (HasFatalFailure()) return;
  ChildProcess events;
  subscribe(
      events,
      {"maestra/stream/advertise", "maestra/stream/advertise/sensor", "maestra/stream/withdraw/#"},
      10, 20);
  // The Arduino SDK's advertiseStream(): no id, no publisher_id beyond the client id.
  CommandResult ad = pub("arduino-1", "maestra/stream/advertise",
                         R"({"name":"temp","stream_type":"sensor","protocol":"udp",)"
                         R"("address":"10.0.0.9","port":9000})");
  ASSERT_EQ(ad.exit_code, 0) << ad.err;
  std::string id;
  ASSERT_TRUE(eventually([&] {
    for (const auto& s : streams()) {
      if (s.at("name") == "temp") id = std::string(s.at("id").as_string());
    }
    return !id.empty();
  })) << daemon_->output();
  auto listed = streams();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("publisher_id"), "arduino-1");
  EXPECT_EQ(listed[0].at("address"), "10.0.0.9");

  // Both the typed and the untyped topic carry the record with its id (subscribeStreamEvents
  // and subscribeStreamType), and sluiced's own event is not taken for a new advert.
  auto typed = events.wait_for_text("maestra/stream/advertise/sensor {", 5s);
  ASSERT_TRUE(typed) << events.stdout_text();
  EXPECT_NE(typed->find("\"id\":\"" + id + "\""), std::string::npos) << *typed;
  auto untyped = events.wait_for_text("maestra/stream/advertise {", 5s);
  ASSERT_TRUE(untyped) << events.stdout_text();
  EXPECT_NE(untyped->find(id), std::string::npos);

  // Another device cannot withdraw or heartbeat it.
  ASSERT_EQ(pub("intruder", "maestra/stream/withdraw/" + id, "{}").exit_code, 0);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(streams().size(), 1u) << "another client id withdrew the stream";

  // The owner's heartbeat moves last_heartbeat; its withdraw removes the stream.
  const auto before = streams()[0].at("last_heartbeat");
  std::this_thread::sleep_for(50ms);
  ASSERT_EQ(pub("arduino-1", "maestra/stream/heartbeat/" + id, "{}").exit_code, 0);
  EXPECT_TRUE(eventually([&] {
    auto s = streams();
    return !s.empty() && s[0].at("last_heartbeat") != before;
  }));
  ASSERT_EQ(pub("arduino-1", "maestra/stream/withdraw/" + id, "{}").exit_code, 0);
  EXPECT_TRUE(eventually([&] { return streams().empty(); }));
  auto withdrawn = events.wait_for_text("maestra/stream/withdraw/" + id, 5s);
  ASSERT_TRUE(withdrawn) << events.stdout_text();
  EXPECT_NE(withdrawn->find("\"id\":\"" + id + "\""), std::string::npos) << *withdrawn;
}

TEST_F(Mqtt, MqttDevicesAndHubClientsSeeEachOther) {
  start();
  if (HasFatalFailure()) return;
  std::promise<std::string> got;
  client::HubConnection::Callbacks cb;
  cb.on_message = [&](client::HubConnection&, const client::HubMessage& m) {
    if (m.subject == "sensors.kitchen.temp") got.set_value(json::serialize(m.data));
  };
  auto ws = client::HubConnection::open(daemon_->url(), cb);
  ASSERT_TRUE(ws && (*ws)->subscribe("s", "sensors.>"));
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(pub("esp32", "sensors/kitchen/temp", R"({"c":21.5})").exit_code, 0);
  auto future = got.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready) << daemon_->output();
  EXPECT_EQ(json::parse(future.get()), json::parse(R"({"c":21.5})"));

  ChildProcess lights;
  subscribe(lights, {"lights/#"}, 1, 10);
  ASSERT_TRUE((*ws)->publish("lights.stage.1", json::parse(R"({"level":0.75})")));
  auto line = lights.wait_for_text("lights/stage/1", 5s);
  ASSERT_TRUE(line) << lights.stdout_text() << daemon_->output();
  EXPECT_NE(line->find(R"({"level":0.75})"), std::string::npos) << *line;

  // What an MQTT device publishes reaches other MQTT devices once, not again from the hub.
  ChildProcess both;
  subscribe(both, {"sensors/#"}, 2, 3);
  ASSERT_EQ(pub("esp32", "sensors/hall/temp", "19").exit_code, 0);
  both.wait(5s);
  const std::string seen = both.stdout_text();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), '\n'), 1) << seen;
}

// An ESP32 publisher that listens on MQTT for consumers (Maestra's informal registration, section
// 5.4): opening the stream's preview tells it where to send, and what it sends is shown.
TEST_F(Mqtt, APreviewRegistersWithAnMqttPublisher) {
  start();
  if (HasFatalFailure()) return;
  ASSERT_EQ(pub("esp32-glove", "maestra/stream/advertise",
                R"({"name":"glove","stream_type":"data","protocol":"udp",)"
                R"("address":"127.0.0.1","port":9000,"config":{"preview":true}})")
                .exit_code,
            0);
  std::string id;
  ASSERT_TRUE(eventually([&] {
    auto s = streams();
    if (!s.empty()) id = std::string(s[0].at("id").as_string());
    return !id.empty();
  }));
  ChildProcess device;  // the board's subscription
  subscribe(device, {"maestra/stream/" + id + "/subscribe"}, 1, 10);
  client::EventStream preview(daemon_->url());
  std::promise<std::string> shown;
  std::thread reader([&] {
    bool once = false;
    (void)preview.run("/streams/" + id + "/preview", [&](const client::ServerSentEvent& e) {
      if (e.event == "preview" && !once) {
        once = true;
        shown.set_value(e.data);
      }
    });
  });
  auto line = device.wait_for_text("maestra/stream/" + id + "/subscribe {", 5s);
  ASSERT_TRUE(line) << device.stdout_text() << daemon_->output();
  const json::value to = json::parse(line->substr(line->find('{')));
  const int port = static_cast<int>(to.at("port").as_int64());
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(port));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto got = shown.get_future();
  for (int i = 0; i < 20 && got.wait_for(100ms) != std::future_status::ready; ++i) {
    const std::string packet = R"({"finger":)" + std::to_string(i) + "}";
    (void)::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&dst),
                   sizeof dst);
  }
  ::close(fd);
  ASSERT_EQ(got.wait_for(2s), std::future_status::ready) << "no preview event";
  EXPECT_NE(got.get().find("finger"), std::string::npos);
  preview.stop();
  reader.join();
}

TEST_F(Mqtt, CredentialsFollowTheAuthMode) {
  start({"--auth", "required", "--loopback-admin", "false", "--admin-token",
         "adm-secret-0123456789"});
  if (HasFatalFailure()) return;
  // No credentials: refused with "not authorised".
  CommandResult anonymous = pub("anon", "sensors/x", "1");
  EXPECT_NE(anonymous.exit_code, 0);
  std::this_thread::sleep_for(150ms);  // a refused address waits 100 ms before it is heard again
  // A wrong password: refused too; the admin token as the password (user "token") works.
  EXPECT_NE(pub("bad", "sensors/x", "1", {"-u", "token", "-P", "wrong"}).exit_code, 0);
  std::this_thread::sleep_for(150ms);
  CommandResult admin = pub("ok", "sensors/x", "1", {"-u", "token", "-P", "adm-secret-0123456789"});
  EXPECT_EQ(admin.exit_code, 0) << admin.err;
  // A user with the viewer role connects and reads, but may not advertise or publish.
  Answer made = http_call(daemon_->url(), "POST", "/auth/users?token=adm-secret-0123456789",
                          R"({"name":"vera","password":"vera-pass-123","role":"viewer"})");
  ASSERT_EQ(made.status, 201) << made.raw;
  ChildProcess watcher;
  subscribe(watcher, {"sensors/#"}, 1, 2, {"-u", "token", "-P", "adm-secret-0123456789"});
  CommandResult refused = pub("vera-1", "sensors/x", "from-vera",
                              {"-u", "vera", "-P", "vera-pass-123", "-V", "mqttv5"});
  EXPECT_NE(refused.out + refused.err, "") << "mosquitto_pub says nothing of the refusal";
  watcher.wait(5s);
  EXPECT_EQ(watcher.stdout_text().find("from-vera"), std::string::npos)
      << "a viewer's publish reached a subscriber";
  pub("vera-1", "maestra/stream/advertise",
      R"({"name":"v","stream_type":"sensor","protocol":"udp","port":1})",
      {"-u", "vera", "-P", "vera-pass-123"});
  std::this_thread::sleep_for(300ms);
  Answer listed = http_call(daemon_->url(), "GET", "/streams?token=adm-secret-0123456789");
  EXPECT_EQ(listed.body.as_array().size(), 0u) << listed.raw;
}

TEST_F(Mqtt, TheNpmClientOverTcpAndWebSocket) {
  const std::string why = missing_browser_tools({"mqtt/package.json"});
  if (!why.empty() && why.find("chromium") == std::string::npos) GTEST_SKIP() << why;
  start();
  if (HasFatalFailure()) return;
  CommandResult r =
      run_command({program_path("node"), kBrowserDir + "/mqtt_flow.mjs",
                   std::to_string(daemon_->mqtt_port()), std::to_string(daemon_->port())},
                  60s);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << daemon_->output();
  json::value v = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(v.at("live").at("payload"), "on");
  EXPECT_EQ(v.at("live").at("qos").to_number<int>(), 1);
  EXPECT_EQ(v.at("retained").at("payload"), "on");
  EXPECT_EQ(v.at("retained").at("retain"), true);
  EXPECT_EQ(v.at("will").at("payload"), "offline");
  const json::value record = json::parse(v.at("reply").at("payload").as_string());
  EXPECT_EQ(record.at("name"), "ws-sensor");
  EXPECT_EQ(record.at("publisher_id"), "ws-watcher");
  EXPECT_EQ(record.at("address"), "127.0.0.1");
  EXPECT_EQ(v.at("reply").at("correlation"), "req-1");
}

}  // namespace
}  // namespace sluice::testing
