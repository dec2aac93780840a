// sluiced as a process: start-up errors are clear and non-zero, SIGTERM/SIGINT stop it cleanly,
// configuration comes from TOML and SLUICE_* variables, and JSON logs are JSON.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cstdlib>
#include <fstream>

#include <filesystem>

#include "client/client.hpp"
#include "client/hub_connection.hpp"
#include "daemon_fixture.hpp"

namespace sluice::testing {
namespace {

TEST(Daemon, PortTakenIsAClearErrorWithExitCode1) {
  DaemonProcess first;
  ASSERT_TRUE(first.start());
  auto second = run_command({SLUICED_PATH,
                             "--http",
                             "127.0.0.1:" + std::to_string(first.port()),
                             "--history",
                             ":memory:",
                             "--rtsp",
                             "off",
                             "--rtsp-udp-ports",
                             "off",
                             "--srt",
                             "off",
                             "--webrtc-udp",
                             "off",
                             "--onvif",
                             "off",
                             "--mdns",
                             "off",
                             "--osc",
                             "off",
                             "--mqtt",
                             "off"});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("port is taken"), std::string::npos) << second.err;
  // Nobody sent a signal: the log says why it stopped, not "received SIGTERM".
  EXPECT_NE(second.out.find("sluiced cannot start"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("received SIG"), std::string::npos) << second.out;
  EXPECT_EQ(second.err.find("received SIG"), std::string::npos) << second.err;
  EXPECT_EQ(client::Client(first.url()).health()->at("status").as_string(), "ok");
}

TEST(Daemon, BadConfigurationExitsWith2NamingTheKey) {
  auto r = run_command({SLUICED_PATH, "--stream-ttl", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("stream-ttl"), std::string::npos) << r.err;
  r = run_command({SLUICED_PATH, "--no-such-flag"});
  EXPECT_NE(r.exit_code, 0);
  std::string path = ::testing::TempDir() + "/sluiced_bad.toml";
  std::ofstream(path) << "http = \"127.0.0.1:0\"\nstream_tll = 3\n";
  r = run_command({SLUICED_PATH, "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("stream_tll"), std::string::npos) << r.err;
  // Settings of the shared back ends (judged when they are built).
  r = run_command({SLUICED_PATH, "--http", "127.0.0.1:0", "--store", "redis://127.0.0.1:99999"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'store'"), std::string::npos) << r.err;
  r = run_command({SLUICED_PATH, "--http", "127.0.0.1:0", "--global-channels", "maestra.>"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("global-channels"), std::string::npos) << r.err;
}

TEST(Daemon, StopsCleanlyOnSigtermAndSigint) {
  for (int sig : {SIGTERM, SIGINT}) {
    DaemonProcess d;
    ASSERT_TRUE(d.start());
    EXPECT_EQ(d.process().signal_and_wait(sig), 0);
    EXPECT_NE(d.output().find("sluiced stopped"), std::string::npos);
    EXPECT_NE(d.output().find(sig == SIGINT ? "received SIGINT" : "received SIGTERM"),
              std::string::npos)
        << d.output();
  }
}

TEST(Daemon, TomlFileAndJsonLogs) {
  std::string path = ::testing::TempDir() + "/sluiced_ok.toml";
  std::ofstream(path) << "stream-ttl = 7\nrequest_timeout = 2\nlog-format = \"json\"\n";
  DaemonProcess d({"--config", path});
  ASSERT_TRUE(d.start());
  auto health = client::Client(d.url()).health();
  ASSERT_TRUE(health);
  EXPECT_EQ(health->at("stream_ttl_seconds").as_int64(), 7);
  EXPECT_EQ(health->at("request_timeout_seconds").to_number<double>(), 2.0);
  for (const auto& line : d.process().stdout_lines()) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    EXPECT_FALSE(ec) << "not JSON: " << line;
    if (!ec) {
      EXPECT_TRUE(v.as_object().contains("msg"));
    }
  }
}

TEST(Daemon, SessionHistorySurvivesRestart) {
  const std::string dir = ::testing::TempDir() + "/sluiced_data_" + std::to_string(getpid());
  std::filesystem::remove_all(dir);  // an earlier process with this pid may have left one
  std::string db = dir + "/history.db";
  DaemonProcess d({"--history", db});
  ASSERT_TRUE(d.start());
  client::Client c(d.url());
  auto ad = c.advertise({"cam", "video", "pub", "udp", "10.0.0.1", 9000, {}, {}, {}, {}, {}, {}});
  ASSERT_TRUE(ad);
  client::HubConnection::Callbacks cb;
  cb.on_message = [](client::HubConnection& self, const client::HubMessage& m) {
    if (m.reply) (void)self.publish(*m.reply, boost::json::object{{"accepted", true}});
  };
  auto responder = client::HubConnection::open(d.url(), cb);
  ASSERT_TRUE(responder);
  ASSERT_TRUE((*responder)->subscribe("r", "maestra.stream.request." + ad->stream.id));
  auto offer = c.request_stream(ad->stream.id, {"viewer", "10.0.0.2", std::nullopt, {}});
  ASSERT_TRUE(offer) << offer.error().detail;
  ASSERT_TRUE(c.stop_session(offer->session_id));
  (*responder)->close();
  ASSERT_EQ(d.stop(), 0);
  ASSERT_TRUE(d.restart_on_same_port());
  auto rows = client::Client(d.url()).session_history({});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].session_id, offer->session_id);
  EXPECT_EQ((*rows)[0].status, "stopped");
}

}  // namespace
}  // namespace sluice::testing
