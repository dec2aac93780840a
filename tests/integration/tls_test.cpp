// HTTPS and RTMPS (issue 12): the TLS front doors serve every route, HTTP-FLV and RTMP publishing
// with the client's real address (so ownership and permissions work as over plain TCP), with real
// curl and ffmpeg against a real sluiced and a certificate made by openssl.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <filesystem>
#include <thread>

#include "daemon_fixture.hpp"
#include "eventually.hpp"

namespace sluice::testing {
namespace {
using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kAdmin = "tls-test-admin-token-0123456789";

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/sluice-tls-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    auto made = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                             "-keyout", dir_ + "/key.pem", "-out", dir_ + "/cert.pem", "-days", "1",
                             "-subj", "/CN=localhost"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    daemon_ = std::make_unique<DaemonProcess>(std::vector<std::string>{
        // Every listener on a free port: the relay's TLS port too (its default, 0.0.0.0:7071,
        // would clash with the other test of this suite running in parallel).
        "--https", "127.0.0.1:0", "--rtmps", "127.0.0.1:0", "--rtsps", "127.0.0.1:0", "--wire-tls",
        "127.0.0.1:0", "--tls-cert", dir_ + "/cert.pem", "--tls-key", dir_ + "/key.pem",
        "--admin-token", kAdmin, "--loopback-admin", "false"});
    ASSERT_TRUE(daemon_->start());
    ASSERT_GT(daemon_->https_port(), 0);
    ASSERT_GT(daemon_->rtmps_port(), 0);
    ASSERT_GT(daemon_->rtsps_port(), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string https(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(daemon_->https_port()) + path;
  }
  // curl over HTTPS from a chosen source address; returns the body.
  CommandResult curl(const std::string& source, std::vector<std::string> args) const {
    std::vector<std::string> argv{"/usr/bin/curl", "-sk", "--max-time", "10",
                                  "--interface",   source};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv);
  }

  std::string dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(Tls, HttpsServesTheApiWithTheClientsOwnAddressAndIdentity) {
  auto who = curl("127.0.0.5", {https("/auth/whoami")});
  ASSERT_EQ(who.exit_code, 0) << who.err;
  auto v = json::parse(who.out).as_object();
  EXPECT_EQ(v.at("owner").as_string(), "addr:127.0.0.5") << who.out;
  // Ownership works across the TLS door like over plain HTTP.
  auto ad = curl("127.0.0.5", {"-X", "POST", https("/streams/advertise"), "-d",
                               R"({"name":"cam","stream_type":"video","publisher_id":"pi",)"
                               R"("protocol":"srt","address":"127.0.0.5","port":1})"});
  const std::string id(json::parse(ad.out).as_object().at("id").as_string());
  auto steal = curl("127.0.0.6", {"-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
                                  https("/streams/" + id)});
  EXPECT_EQ(steal.out.substr(0, 3), "403") << steal.out;
  auto admin = curl("127.0.0.1",
                    {"-H", std::string("Authorization: Bearer ") + kAdmin, https("/auth/whoami")});
  EXPECT_NE(admin.out.find("\"kind\":\"admin\""), std::string::npos) << admin.out;
  // Plain HTTP on the TLS port is refused (no plaintext leaks through the front door).
  auto plain = run_command(
      {"/usr/bin/curl", "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
       "http://127.0.0.1:" + std::to_string(daemon_->https_port()) + "/health"});
  EXPECT_NE(plain.out.substr(0, 3), "200") << plain.out;
}

TEST_F(Tls, ObsStylePublishingOverRtmpsPlaysOverHttpsFlvAndRtsps) {
  auto key = curl("127.0.0.1", {"-H", std::string("Authorization: Bearer ") + kAdmin,
                                https("/keys"), "-d", R"({"stream":"cam"})"});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::string secret(json::parse(key.out).as_object().at("key").as_string());
  ChildProcess ffmpeg;
  ASSERT_TRUE(ffmpeg.spawn(
      {"/usr/bin/ffmpeg", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
       "testsrc2=size=320x240:rate=25", "-t", "20", "-c:v", "libx264", "-g", "25", "-pix_fmt",
       "yuv420p", "-f", "flv",
       "rtmps://127.0.0.1:" + std::to_string(daemon_->rtmps_port()) + "/live/" + secret},
      true));
  ASSERT_TRUE(eventually(
      [&] {
        auto paths = curl("127.0.0.1", {https("/media/paths")});
        return paths.out.find("\"cam\"") != std::string::npos &&
               paths.out.find("h264") != std::string::npos;
      },
      15s));
  auto flv =
      curl("127.0.0.7", {"--max-time", "3", "-o", dir_ + "/cam.flv", https("/live/cam.flv")});
  EXPECT_GT(std::filesystem::file_size(dir_ + "/cam.flv"), 10000u);
  // The same path over RTSPS (rtsps://, RTP interleaved inside TLS), decoded by ffmpeg.
  auto rtsps =
      run_command({"/usr/bin/ffmpeg", "-nostdin", "-v", "error", "-i",
                   "rtsps://127.0.0.1:" + std::to_string(daemon_->rtsps_port()) + "/live/cam", "-t",
                   "2", "-f", "null", "-"},
                  60s);
  EXPECT_EQ(rtsps.exit_code, 0) << rtsps.err;
  ffmpeg.kill_and_reap();
}

}  // namespace
}  // namespace sluice::testing
