// What clients see on the wire, over raw sockets against an in-process App: numbers in JSON as
// people write them (5, 0.96 — not 5E0, 9.6E-1) in answers and events, a subject pattern with a
// raw `>` in the query (as curl sends docs/api.md's examples), HEAD answered like GET without a
// body, and HTTP-FLV requests in the request metrics.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstring>
#include <regex>

#include "app_fixture.hpp"
#include "eventually.hpp"
#include "hub/hub.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// One blocking TCP connection to 127.0.0.1 with a deadline on every read.
class RawHttp {
 public:
  explicit RawHttp(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawHttp() { ::close(fd_); }
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  bool send(const std::string& text) {
    return connected_ &&
           ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }
  // Reads until `needle` arrived (true), the peer closed or `timeout` passed (false).
  bool read_until(std::string_view needle, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }
  // Everything until the peer closes (or `timeout` passes).
  std::string read_all(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_some(deadline)) {
    }
    return received_;
  }
  const std::string& received() const { return received_; }

 private:
  // One recv before `deadline`; false on timeout, close or error.
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    received_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

// The answer to `request` on a fresh connection (sent with Connection: close).
std::string ask(std::uint16_t port, const std::string& request) {
  RawHttp c(port);
  EXPECT_TRUE(c.send(request));
  return c.read_all();
}

std::string body_of(const std::string& answer) {
  const auto end = answer.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : answer.substr(end + 4);
}

std::string header_of(const std::string& answer, const std::string& name) {
  std::smatch m;
  const std::regex re("\r\n" + name + ": ([^\r]*)\r\n", std::regex::icase);
  const std::string head = answer.substr(0, answer.find("\r\n\r\n") + 2);
  return std::regex_search(head, m, re) ? m[1].str() : std::string();
}

std::string get(std::uint16_t port, const std::string& target, const std::string& method = "GET") {
  return ask(port,
             method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

// Boost.JSON's default form of a double: a mantissa and an exponent (5E0, 9.6E-1).
bool has_exponent_form(const std::string& text) {
  return std::regex_search(text, std::regex(R"([0-9]E-?[0-9])"));
}

const char* kDecimalCamera =
    R"({"name":"cam","stream_type":"video","publisher_id":"p1","protocol":"rtmp",)"
    R"("address":"10.0.0.1","port":1935,"config":{"fps":29.97,"gain":5.0,"level":0.96,"big":1e20}})";

TEST(HttpFormat, NumbersInAnswersAndEventsAreShortest) {
  testing::InProcessDaemon daemon(30s, 400ms);
  // The MQTT bridge's advert carries the stream's config.
  RawHttp events(daemon.port());
  ASSERT_TRUE(
      events.send("GET /streams/events?subject=maestra.to_mqtt.%3E HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(events.read_until("\r\n\r\n"));
  ASSERT_TRUE(events.received().starts_with("HTTP/1.1 200")) << events.received();
  // The head goes out before the subscription lands: wait for it.
  ASSERT_TRUE(testing::eventually([&] {
    return daemon.app().hub().has_subscribers("maestra.to_mqtt.maestra.stream.advertise.video");
  }));

  std::string advertise =
      "POST /streams/advertise HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(std::strlen(kDecimalCamera)) + "\r\n\r\n" + kDecimalCamera;
  const std::string created = ask(daemon.port(), advertise);
  ASSERT_TRUE(created.starts_with("HTTP/1.1 201")) << created;
  auto expect_shortest = [](const std::string& text) {
    EXPECT_NE(text.find(R"("fps":29.97)"), std::string::npos) << text;
    EXPECT_TRUE(std::regex_search(text, std::regex(R"("gain":5[,}])"))) << text;
    EXPECT_NE(text.find(R"("level":0.96)"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("big":1e+20)"), std::string::npos) << text;
    EXPECT_FALSE(has_exponent_form(text)) << text;
  };
  expect_shortest(body_of(created));
  const std::string id(json::parse(body_of(created)).at("id").as_string());
  ASSERT_TRUE(events.read_until(R"("big":1e+20)")) << events.received();
  expect_shortest(events.received());
  expect_shortest(body_of(get(daemon.port(), "/streams/" + id)));
  const std::string health = body_of(get(daemon.port(), "/health"));
  EXPECT_NE(health.find(R"("request_timeout_seconds":0.4)"), std::string::npos) << health;
  EXPECT_FALSE(has_exponent_form(health)) << health;
}

// docs/api.md's `curl -N '…/streams/events?subject=sluice.media.>'`, byte for byte.
TEST(HttpFormat, RawGreaterThanInTheQuerySubscribes) {
  testing::InProcessDaemon daemon;
  RawHttp events(daemon.port());
  ASSERT_TRUE(
      events.send("GET /streams/events?subject=maestra.stream.advertise.>&subject=sluice.media.> "
                  "HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(events.read_until("\r\n\r\n"));
  ASSERT_TRUE(events.received().starts_with("HTTP/1.1 200")) << events.received();
  ASSERT_TRUE(testing::eventually(
      [&] { return daemon.app().hub().has_subscribers("maestra.stream.advertise.video"); }));
  const std::string created = ask(
      daemon.port(), std::string("POST /streams/advertise HTTP/1.1\r\nHost: x\r\nConnection: "
                                 "close\r\nContent-Type: application/json\r\nContent-Length: ") +
                         std::to_string(std::strlen(kDecimalCamera)) + "\r\n\r\n" + kDecimalCamera);
  ASSERT_TRUE(created.starts_with("HTTP/1.1 201")) << created;
  EXPECT_TRUE(events.read_until(R"("subject":"maestra.stream.advertise.video")"))
      << events.received();
}

TEST(HttpFormat, HeadIsGetWithoutTheBody) {
  testing::InProcessDaemon daemon;
  // (Not /health: its uptime may change length between the two requests.)
  for (const std::string target : {"/streams", "/openapi.json", "/streams/types"}) {
    SCOPED_TRACE(target);
    const std::string full = get(daemon.port(), target);
    const std::string head = get(daemon.port(), target, "HEAD");
    ASSERT_TRUE(full.starts_with("HTTP/1.1 200")) << full;
    EXPECT_TRUE(head.starts_with("HTTP/1.1 200")) << head;
    EXPECT_EQ(body_of(head), "");
    EXPECT_EQ(header_of(head, "Content-Length"), std::to_string(body_of(full).size()));
    EXPECT_EQ(header_of(head, "Content-Type"), header_of(full, "Content-Type"));
  }
  // Statuses are GET's too: an unknown stream, an HLS playlist nobody publishes, an HTTP-FLV
  // path nobody publishes (answered on the media thread).
  for (const std::string target : {"/streams/00000000-0000-4000-8000-000000000000",
                                   "/live/nobody/index.m3u8", "/live/nobody.flv"}) {
    SCOPED_TRACE(target);
    const std::string full = get(daemon.port(), target);
    const std::string head = get(daemon.port(), target, "HEAD");
    ASSERT_TRUE(full.starts_with("HTTP/1.1 404")) << full;
    EXPECT_TRUE(head.starts_with("HTTP/1.1 404")) << head;
    EXPECT_EQ(body_of(head), "");
    EXPECT_EQ(header_of(head, "Content-Length"), std::to_string(body_of(full).size()));
  }
  // A HEAD keeps a keep-alive connection usable.
  RawHttp c(daemon.port());
  ASSERT_TRUE(
      c.send("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n"));
  const std::string both = c.read_all();
  EXPECT_EQ(both.find("HTTP/1.1 200"), 0u) << both;
  EXPECT_NE(both.find("HTTP/1.1 200", 10), std::string::npos) << both;
  EXPECT_NE(both.find(R"("status":"ok")"), std::string::npos) << both;
}

TEST(HttpFormat, HttpFlvRequestsAreCountedInTheHttpMetrics) {
  testing::InProcessDaemon daemon;
  ASSERT_TRUE(get(daemon.port(), "/live/nobody.flv").starts_with("HTTP/1.1 404"));
  ASSERT_TRUE(get(daemon.port(), "/live/nobody.flv").starts_with("HTTP/1.1 404"));
  ASSERT_TRUE(get(daemon.port(), "/live/nobody.flv", "HEAD").starts_with("HTTP/1.1 404"));
  ASSERT_TRUE(get(daemon.port(), "/live/bad$name.flv").starts_with("HTTP/1.1 400"));
  const std::string metrics = body_of(get(daemon.port(), "/metrics"));
  const std::string series = R"(sluice_http_requests_total{route="GET /live/{name}.flv",)";
  EXPECT_NE(metrics.find(series + R"(method="GET",status="404"} 2)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(series + R"(method="HEAD",status="404"} 1)"), std::string::npos);
  EXPECT_NE(metrics.find(series + R"(method="GET",status="400"} 1)"), std::string::npos);
  EXPECT_NE(
      metrics.find(R"(sluice_http_request_duration_seconds_count{route="GET /live/{name}.flv"} 4)"),
      std::string::npos);
}

}  // namespace
}  // namespace sluice
