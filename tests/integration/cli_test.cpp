// The `sluice` CLI (SLUICE_CLI_PATH) against a real sluiced: tables, --json output, the
// advertise/request negotiation between two CLI processes, watch, and exit codes.
#include <boost/json/parse.hpp>
#include <fstream>

#include "client/client.hpp"
#include "daemon_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;

class CliTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    client_ = std::make_unique<client::Client>(daemon_.url());
  }

  std::vector<std::string> argv(std::vector<std::string> args) const {
    std::vector<std::string> full{SLUICE_CLI_PATH, "--server", daemon_.url()};
    full.insert(full.end(), args.begin(), args.end());
    return full;
  }
  CommandResult sluice(std::vector<std::string> args) const { return run_command(argv(args)); }

  // Starts `sluice advertise …` and returns the stream id it prints first.
  std::string start_advertiser(ChildProcess& process, std::vector<std::string> extra) {
    std::vector<std::string> args{"advertise",  "--name",      "cam",       "--type",   "ndi",
                                  "--protocol", "ndi",         "--address", "10.0.0.5", "--port",
                                  "5960",       "--heartbeat", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_TRUE(process.spawn(argv(args)));
    auto id = process.wait_for_line([](const std::string& l) { return l.size() == 36; },
                                    std::chrono::seconds(10));
    EXPECT_TRUE(id) << "advertise printed no stream id; stderr:\n" << process.stderr_text();
    return id.value_or("");
  }

  std::string advertise_via_sdk(const std::string& name) {
    registry::AdvertiseRequest a;
    a.name = name;
    a.stream_type = "data";
    a.publisher_id = "sdk";
    a.protocol = "udp";
    a.address = "10.0.0.1";
    a.port = 9000;
    auto view = client_->advertise(a);
    EXPECT_TRUE(view);
    return view ? view->stream.id : "";
  }

  std::unique_ptr<client::Client> client_;
};

bool parses_as_json(const std::string& text, json::kind kind) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return !ec && v.kind() == kind;
}

// sluice pipelines: a pipeline made from a spec file is listed with its state, its bitrate
// changed and it is stopped.
TEST_F(CliTest, PipelinesAreMadeListedChangedAndStopped) {
  const std::string file = ::testing::TempDir() + "/cli-pipeline.json";
  std::ofstream(file) << R"({"name": "clicam", "source": {"type": "testsrc", "width": 160,
      "height": 120, "fps": 10}, "encoder": {"bitrate_kbps": 200, "preset": "ultrafast"}})";
  auto created = sluice({"--json", "pipelines", "create", file});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const json::value made = json::parse(created.out);
  const std::string id(made.at("id").as_string());
  EXPECT_TRUE(testing::eventually(
      [&] { return sluice({"pipelines"}).out.find("running") != std::string::npos; }, 20s));
  auto listed = sluice({"pipelines"});
  EXPECT_NE(listed.out.find("clicam"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("clicam 160x120"), std::string::npos) << listed.out;
  auto changed = sluice({"--json", "pipelines", "bitrate", id, "150"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(json::parse(changed.out).at("encoder").at("bitrate_kbps").to_number<int>(), 150);
  auto stopped = sluice({"pipelines", "delete", id});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_NE(stopped.out.find("stopped " + id), std::string::npos) << stopped.out;
  EXPECT_NE(sluice({"pipelines", "nosuch"}).exit_code, 0);
}

TEST_F(CliTest, TablesForPeople) {
  const std::string id = advertise_via_sdk("sensor-feed");
  auto streams = sluice({"streams"});
  EXPECT_EQ(streams.exit_code, 0) << streams.err;
  EXPECT_NE(streams.out.find("ID"), std::string::npos);
  EXPECT_NE(streams.out.find("sensor-feed"), std::string::npos) << streams.out;
  EXPECT_NE(streams.out.find("10.0.0.1:9000"), std::string::npos) << streams.out;
  auto filtered = sluice({"streams", "--type", "ndi"});
  EXPECT_EQ(filtered.exit_code, 0);
  EXPECT_EQ(filtered.out.find("sensor-feed"), std::string::npos);

  auto types = sluice({"types"});
  EXPECT_EQ(types.exit_code, 0) << types.err;
  EXPECT_NE(types.out.find("NDI Video"), std::string::npos) << types.out;

  auto one = sluice({"stream", id});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("sensor-feed"), std::string::npos);

  for (auto args : std::vector<std::vector<std::string>>{
           {"health"}, {"sessions"}, {"sessions", "--history", "--limit", "5"}, {"subscribers"}}) {
    auto r = sluice(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
  }
}

TEST_F(CliTest, JsonOutputIsTheServersJson) {
  const std::string id = advertise_via_sdk("json-feed");
  auto streams = sluice({"--json", "streams"});
  EXPECT_EQ(streams.exit_code, 0);
  EXPECT_TRUE(parses_as_json(streams.out, json::kind::array)) << streams.out;
  auto types = sluice({"types", "--json"});  // global flags also after the subcommand
  EXPECT_TRUE(parses_as_json(types.out, json::kind::array)) << types.out;
  auto stream = sluice({"--json", "stream", id});
  ASSERT_TRUE(parses_as_json(stream.out, json::kind::object)) << stream.out;
  EXPECT_EQ(std::string((json::parse(stream.out).at("id")).as_string()), id);
  auto health = sluice({"--json", "health"});
  EXPECT_TRUE(parses_as_json(health.out, json::kind::object)) << health.out;
}

TEST_F(CliTest, TypeCreateAndDelete) {
  auto created = sluice({"type", "create", "lidar", "--display-name", "LiDAR", "--default-config",
                         R"({"rate_hz": 10})"});
  EXPECT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(sluice({"types"}).out.find("LiDAR"), std::string::npos);
  auto duplicate = sluice({"type", "create", "lidar", "--display-name", "LiDAR"});
  EXPECT_EQ(duplicate.exit_code, 1);
  EXPECT_NE(duplicate.err.find("error: 409"), std::string::npos) << duplicate.err;
  EXPECT_EQ(sluice({"type", "delete", "lidar"}).exit_code, 0);
  EXPECT_EQ(sluice({"type", "delete", "lidar"}).exit_code, 1);
}

TEST_F(CliTest, AdvertiseAcceptsAndRequestPrintsTheOffer) {
  ChildProcess advertiser;
  const std::string id = start_advertiser(
      advertiser,
      {"--accept", "--offer-port", "6000", "--transport-config", R"({"ndi_name":"CAM"})"});
  ASSERT_FALSE(id.empty());

  auto offer = sluice({"request", id, "--consumer-id", "viewer", "--consumer-address", "10.0.0.7"});
  EXPECT_EQ(offer.exit_code, 0) << offer.err;
  EXPECT_NE(offer.out.find("10.0.0.5:6000"), std::string::npos) << offer.out;
  EXPECT_NE(offer.out.find("ndi_name"), std::string::npos) << offer.out;
  EXPECT_TRUE(advertiser.wait_for_text("request from viewer", std::chrono::seconds(5)))
      << advertiser.stdout_text();

  auto as_json =
      sluice({"--json", "request", id, "--consumer-id", "v2", "--consumer-address", "h"});
  ASSERT_TRUE(parses_as_json(as_json.out, json::kind::object)) << as_json.out;
  EXPECT_EQ(json::parse(as_json.out).at("publisher_port").to_number<int>(), 6000);

  EXPECT_EQ(advertiser.signal_and_wait(SIGINT), 0) << advertiser.stderr_text();
  EXPECT_EQ(client_->get_stream(id).error().status, 404) << "advertise did not withdraw";
}

TEST_F(CliTest, RejectingAdvertiserMakesRequestExit1WithReason) {
  ChildProcess advertiser;
  const std::string id = start_advertiser(advertiser, {"--reject", "why"});
  ASSERT_FALSE(id.empty());
  auto r = sluice({"request", id, "--consumer-id", "viewer", "--consumer-address", "10.0.0.7"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: 404 why"), std::string::npos) << r.err;
  EXPECT_EQ(advertiser.signal_and_wait(SIGTERM), 0);
}

TEST_F(CliTest, RequestHoldKeepsTheSessionUntilInterrupted) {
  ChildProcess advertiser;
  const std::string id = start_advertiser(advertiser, {});
  ASSERT_FALSE(id.empty());
  ChildProcess holder;
  ASSERT_TRUE(holder.spawn(argv(
      {"request", id, "--consumer-id", "holder", "--consumer-address", "10.0.0.8", "--hold"})));
  ASSERT_TRUE(holder.wait_for_text("session", std::chrono::seconds(10))) << holder.stderr_text();
  std::this_thread::sleep_for(std::chrono::seconds(kStreamTtlSeconds + 1));
  auto sessions = client_->list_sessions(id);
  ASSERT_TRUE(sessions);
  EXPECT_EQ(sessions->size(), 1u) << "held session expired";
  EXPECT_EQ(holder.signal_and_wait(SIGINT), 0);
  EXPECT_TRUE(client_->list_sessions(id)->empty()) << "session not stopped on exit";
  advertiser.signal_and_wait(SIGINT);
}

TEST_F(CliTest, WatchPrintsAdvertiseEvents) {
  ChildProcess watcher;
  ASSERT_TRUE(watcher.spawn(argv({"watch"})));
  int n = 0;
  bool seen = eventually([&] {
    advertise_via_sdk("watched-" + std::to_string(n++));
    return watcher.wait_for_text("maestra.stream.advertise", std::chrono::milliseconds(200))
        .has_value();
  });
  EXPECT_TRUE(seen) << watcher.stdout_text() << watcher.stderr_text();
  auto line = watcher.wait_for_text("maestra.stream.advertise", std::chrono::seconds(1));
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("stream_advertised"), std::string::npos) << *line;
  EXPECT_EQ(watcher.signal_and_wait(SIGINT), 0);

  ChildProcess json_watcher;
  ASSERT_TRUE(json_watcher.spawn(argv({"--json", "watch", "maestra.stream.withdraw.>"})));
  const std::string id = advertise_via_sdk("to-withdraw");
  bool withdrawn_seen = eventually([&] {
    (void)client_->withdraw(id);  // 404 after the first, harmless
    (void)advertise_via_sdk("to-withdraw");
    return json_watcher.wait_for_text("stream_withdrawn", std::chrono::milliseconds(200))
        .has_value();
  });
  ASSERT_TRUE(withdrawn_seen) << json_watcher.stdout_text();
  auto json_line = json_watcher.wait_for_text("stream_withdrawn", std::chrono::seconds(1));
  EXPECT_TRUE(parses_as_json(*json_line, json::kind::object)) << *json_line;
  EXPECT_EQ(json_watcher.signal_and_wait(SIGTERM), 0);
}

TEST_F(CliTest, WithdrawCommand) {
  const std::string id = advertise_via_sdk("doomed");
  auto r = sluice({"withdraw", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto again = sluice({"stream", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("error: 404 Stream not found or expired"), std::string::npos)
      << again.err;
}

TEST_F(CliTest, ExitCodes) {
  auto down = run_command({SLUICE_CLI_PATH, "--server",
                           "http://127.0.0.1:" + std::to_string(unused_local_port()), "streams"});
  EXPECT_EQ(down.exit_code, 3);
  EXPECT_NE(down.err.find("error:"), std::string::npos) << down.err;

  EXPECT_EQ(sluice({"streams", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(sluice({"request"}).exit_code, 2);
  EXPECT_EQ(sluice({}).exit_code, 2);
  EXPECT_EQ(sluice({"type", "create", "x", "--display-name", "X", "--metadata", "[1]"}).exit_code,
            2);
  EXPECT_EQ(sluice({"advertise", "--name", "n", "--type", "data", "--protocol", "udp", "--address",
                    "a", "--port", "1", "--accept", "--reject", "r"})
                .exit_code,
            2);
  EXPECT_EQ(sluice({"--help"}).exit_code, 0);

  auto server_error = sluice({"stream", "not-a-uuid"});
  EXPECT_EQ(server_error.exit_code, 1);
  EXPECT_NE(server_error.err.find("error: 422"), std::string::npos) << server_error.err;
}

}  // namespace
}  // namespace sluice::testing
