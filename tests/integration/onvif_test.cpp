// sluiced as an ONVIF Profile S device, seen by an ONVIF client nobody here wrote: the npm
// `onvif` package (tests/browser/onvif_client.mjs) discovers it with WS-Discovery, connects,
// lists profiles and asks for stream and snapshot URIs; ffprobe plays the stream URI and decodes
// the snapshot. WS-UsernameToken credentials of the trust issue's users are checked; Probes,
// Hello and Bye are read off the wire by the test itself.
//
// Multicast must not leave this machine, so the whole test binary runs in a network namespace of
// its own (main() below: unshare(CLONE_NEWNET), `lo` up with a 224.0.0.0/4 route): sluiced,
// node and ffmpeg started from it see only that namespace's loopback. Without the privilege to
// make one the tests skip, saying why.
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <cstring>
#include <fstream>

#include "browser_fixture.hpp"
#include "private_network.hpp"

namespace sluice::testing {
namespace {

// A UDP socket on 0.0.0.0:`port` (shared with sluiced's), joined to the WS-Discovery group on lo.
class DiscoveryListener {
 public:
  explicit DiscoveryListener(int port = 3702) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(static_cast<std::uint16_t>(port));
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any) == 0;
    ip_mreqn join{};
    inet_pton(AF_INET, "239.255.255.250", &join.imr_multiaddr);
    inet_pton(AF_INET, "127.0.0.1", &join.imr_address);
    join.imr_ifindex = static_cast<int>(if_nametoindex("lo"));
    ok_ = ok_ && ::setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) == 0;
    timeval tv{0, 200 * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~DiscoveryListener() { ::close(fd_); }
  bool ok() const { return ok_; }

  // The first datagram containing `needle` within `timeout` ("" when none came).
  std::string wait_for(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::string buf(65536, '\0');
    while (std::chrono::steady_clock::now() < until) {
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n > 0 && std::string_view(buf.data(), n).find(needle) != std::string_view::npos) {
        return buf.substr(0, static_cast<std::size_t>(n));
      }
    }
    return {};
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// One datagram to 127.0.0.1:`port` from a fresh socket; the first answer within 3 s.
std::string unicast_exchange(const std::string& datagram, int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string buf(65536, '\0');
  const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  ::close(fd);
  return n > 0 ? buf.substr(0, static_cast<std::size_t>(n)) : std::string();
}

const std::string kProbe =
    R"(<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><e:Header><w:MessageID>uuid:84ede3de-7dec-11d0-c360-f01234567890</w:MessageID><w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To><w:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action></e:Header><e:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>)";

class Onvif : public BrowserTest {
 protected:
  void SetUp() override {
    BrowserTest::SetUp();
    if (IsSkipped()) return;
    if (!private_network_error().empty()) {
      GTEST_SKIP() << "ONVIF test skipped: no private network namespace for multicast ("
                   << private_network_error() << ")";
    }
  }
  std::vector<std::string> npm_files() const override { return {"onvif/package.json"}; }

  // sluiced with the ONVIF device on, WS-Discovery on lo.
  void start_onvif(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--onvif", "on", "--onvif-interfaces", "lo"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string refused;
    ASSERT_TRUE(start_daemon(args, &refused)) << refused;
  }

  json::value client(const std::vector<std::string>& args, std::string* log) {
    int code = 0;
    json::value v = run_browser_script("onvif_client.mjs", args, 20, &code, log);
    EXPECT_EQ(code, 0) << *log;
    return v;
  }

  std::string port_arg() const { return std::to_string(daemon_->port()); }

  // POST `body` to the device service with curl (the whole answer, faults included).
  Answer soap(const std::string& body) {
    CommandResult r =
        run_command({program_path("curl"), "-s", "-w", "\n%{http_code}", "--data-binary", body,
                     daemon_->url() + "/onvif/device_service"});
    Answer a;
    while (!r.out.empty() && r.out.back() == '\n')
      r.out.pop_back();
    const auto nl = r.out.rfind('\n');
    a.raw = r.out.substr(0, nl == std::string::npos ? 0 : nl);
    a.status = nl == std::string::npos ? 0 : std::atoi(r.out.c_str() + nl + 1);
    return a;
  }
};

TEST_F(Onvif, ClientDiscoversSluicedListsItsPathsAndPlaysTheStreamUri) {
  start_onvif();
  publish("stage");
  std::string log;
  json::value r = client({"--probe", "lo"}, &log);
  ASSERT_TRUE(r.is_object()) << log;
  const auto& found = r.at("discovered").as_array();
  ASSERT_EQ(found.size(), 1u) << log;
  const std::string xaddr(found[0].at("xaddrs").as_array().at(0).as_string());
  EXPECT_EQ(xaddr, "http://127.0.0.1:" + port_arg() + "/onvif/device_service") << log;
  ASSERT_TRUE(r.at("connected").as_bool()) << log;
  const auto& profiles = r.at("profiles").as_array();
  ASSERT_EQ(profiles.size(), 1u) << log;
  const json::value& p = profiles[0];
  EXPECT_EQ(str(p, "token"), "stage") << log;
  EXPECT_EQ(str(p, "encoding"), "H264") << log;
  EXPECT_EQ(num(p, "width"), 320) << log;
  EXPECT_EQ(num(p, "height"), 240) << log;
  EXPECT_EQ(num(r, "videoSources"), 1) << log;
  EXPECT_EQ(str(r.at("device"), "manufacturer"), "sluice") << log;

  // The stream URI plays, with the host the client used.
  const std::string uri = str(p, "streamUri");
  EXPECT_EQ(uri, "rtsp://127.0.0.1:" + std::to_string(daemon_->rtsp_port()) + "/live/stage");
  CommandResult probe;
  EXPECT_EQ(probe_streams(uri, &probe, 30s, {"-rtsp_transport", "tcp"}),
            (std::vector<std::string>{"h264 320x240", "aac"}))
      << probe.err;

  // The snapshot URI serves a JPEG of the picture that decodes.
  const std::string snapshot = str(p, "snapshotUri");
  ASSERT_EQ(snapshot, daemon_->url() + "/live/stage/snapshot.jpg");
  Answer jpeg = http_call(daemon_->url(), "GET", "/live/stage/snapshot.jpg");
  ASSERT_EQ(jpeg.status, 200) << jpeg.raw.substr(0, 200);
  ASSERT_GT(jpeg.raw.size(), 1000u);
  EXPECT_EQ(jpeg.raw.substr(0, 3), std::string("\xFF\xD8\xFF"));
  const std::string file = ::testing::TempDir() + "/onvif-snapshot.jpg";
  std::ofstream(file, std::ios::binary) << jpeg.raw;
  EXPECT_EQ(probe_streams(file, &probe), (std::vector<std::string>{"mjpeg 320x240"})) << probe.err;

  // A path made private (a read key) is no longer a profile: its key is not the NVR's.
  ASSERT_EQ(
      http_call(daemon_->url(), "POST", "/keys", R"({"stream":"stage","kind":"read"})").status,
      201);
  json::value hidden = client({"--port", port_arg()}, &log);
  ASSERT_TRUE(hidden.at("connected").as_bool()) << log;
  EXPECT_TRUE(hidden.at("profiles").as_array().empty()) << log;
}

TEST_F(Onvif, WrongCredentialsAreRefusedAndAUsersTokenSeesThePaths) {
  start_onvif({"--auth", "required", "--loopback-admin", "false", "--admin-token",
               "onvif-test-admin-token"});
  client::Client admin(daemon_->url());
  admin.set_bearer_token("onvif-test-admin-token");
  auto created = admin.request("POST", "/auth/users",
                               R"({"name":"nvr","password":"correct horse 42","role":"viewer"})");
  ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "");
  auto key = admin.request("POST", "/keys", R"({"stream":"stage"})");
  ASSERT_TRUE(key && key->status == 201);
  boost::system::error_code ec;
  const std::string k = str(json::parse(key->body, ec), "key");
  ASSERT_TRUE(ffmpeg_.spawn(
      publisher_argv("rtmp://127.0.0.1:" + std::to_string(daemon_->rtmp_port()) + "/live/" + k),
      true));
  ASSERT_TRUE(eventually(
      [&] {
        auto p = admin.request("GET", "/media/paths/stage");
        return p && p->status == 200 && p->body.find("\"video_frames\":0") == std::string::npos;
      },
      30s));

  std::string log;
  json::value wrong = client({"--port", port_arg(), "--user", "nvr", "--password", "wrong"}, &log);
  EXPECT_FALSE(wrong.at("connected").as_bool()) << log;
  EXPECT_NE(str(wrong, "error").find("Sender not Authorized"), std::string::npos) << log;

  // Anonymous clients learn what ONVIF answers before authentication, and no profile.
  json::value nobody = client({"--port", port_arg()}, &log);
  EXPECT_TRUE(nobody.at("profiles").as_array().empty()) << log;
  Answer profiles = soap(
      R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/></s:Body></s:Envelope>)");
  EXPECT_EQ(profiles.status, 400) << profiles.raw;
  EXPECT_NE(profiles.raw.find("ter:NotAuthorized"), std::string::npos) << profiles.raw;

  json::value right =
      client({"--port", port_arg(), "--user", "nvr", "--password", "correct horse 42"}, &log);
  ASSERT_TRUE(right.at("connected").as_bool()) << log;
  ASSERT_EQ(right.at("profiles").as_array().size(), 1u) << log;
  EXPECT_EQ(str(right.at("profiles").as_array()[0], "token"), "stage") << log;
}

TEST_F(Onvif, UnicastProbeIsAnsweredAndPathsComingAndGoingSayHelloAndBye) {
  DiscoveryListener group;
  ASSERT_TRUE(group.ok()) << std::strerror(errno);
  start_onvif();
  const std::string match = unicast_exchange(kProbe, 3702);
  EXPECT_NE(match.find("ProbeMatches"), std::string::npos) << match;
  EXPECT_NE(match.find("uuid:84ede3de-7dec-11d0-c360-f01234567890</a:RelatesTo>"),
            std::string::npos)
      << match;
  EXPECT_NE(match.find("http://127.0.0.1:" + port_arg() + "/onvif/device_service"),
            std::string::npos)
      << match;
  // A Probe for something else is not answered; garbage neither (and hurts nothing).
  EXPECT_EQ(unicast_exchange("<not xml", 3702), "");

  publish("stage");
  const std::string hello = group.wait_for("discovery/Hello", 5s);
  EXPECT_NE(hello.find("NetworkVideoTransmitter"), std::string::npos) << hello;
  EXPECT_NE(hello.find("http://127.0.0.1:" + port_arg() + "/onvif/device_service"),
            std::string::npos)
      << hello;
  ffmpeg_.kill_and_reap();
  const std::string bye = group.wait_for("discovery/Bye", 10s);
  EXPECT_NE(bye.find("<d:Bye>"), std::string::npos) << "no Bye when the last path ended";
  const std::string metrics = http_call(daemon_->url(), "GET", "/metrics").raw;
  for (const char* line : {"sluice_onvif_discovery_total{kind=\"answered\"} 1",
                           "sluice_onvif_discovery_total{kind=\"refused\"} 1",
                           "sluice_onvif_discovery_total{kind=\"hellos\"} 1",
                           "sluice_onvif_discovery_total{kind=\"byes\"} 1"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  }
}

TEST_F(Onvif, SoapThatIsNotXmlOrHidesEntitiesIsAFaultAndTheDeviceGoesOn) {
  start_onvif();
  Answer garbage = soap("this is not xml");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_NE(garbage.raw.find("ter:WellFormed"), std::string::npos) << garbage.raw;
  const std::string bomb =
      R"(<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>)"
      R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&lol2;</s:Body></s:Envelope>)";
  Answer refused = soap(bomb);
  EXPECT_EQ(refused.status, 400) << refused.raw;
  EXPECT_NE(refused.raw.find("DOCTYPE"), std::string::npos) << refused.raw;
  Answer unknown = soap(
      R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><SystemReboot xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>)");
  EXPECT_EQ(unknown.status, 500);
  EXPECT_NE(unknown.raw.find("ter:ActionNotSupported"), std::string::npos) << unknown.raw;
  Answer time = soap(
      R"(<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>)");
  EXPECT_EQ(time.status, 200) << time.raw;
  EXPECT_NE(time.raw.find("<tt:UTCDateTime>"), std::string::npos) << time.raw;
  // Each refusal is counted.
  const std::string metrics = http_call(daemon_->url(), "GET", "/metrics").raw;
  for (const char* line : {"sluice_onvif_requests_total{outcome=\"malformed\"} 2",
                           "sluice_onvif_requests_total{outcome=\"fault\"} 1",
                           "sluice_onvif_requests_total{outcome=\"answered\"} 1"}) {
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  }
}

}  // namespace
}  // namespace sluice::testing

// The tests' own network namespace, made before any thread exists so every child inherits it.
int main(int argc, char** argv) {
  sluice::testing::enter_private_network();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
