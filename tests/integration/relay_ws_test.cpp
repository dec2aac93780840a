// The relay over WebSocket (binary messages at `/wire` on the HTTP port, docs/protocol.md,
// "Transports") against an in-process App: the C++ client over ws talking to clients over TCP
// (pub/sub both ways, request/reply, a 5 MiB message), a raw Beast client for what a browser
// could send (frames split across messages, text messages, garbage, oversized messages),
// reconnection over ws to a restarted server, the `sluice` CLI with `--wire ws://…`, and the
// 503 of an HTTP server whose relay is not running.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app_fixture.hpp"
#include "client/client.hpp"
#include "client/wire_session.hpp"
#include "daemon_fixture.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "hub/hub.hpp"
#include "net/http_server.hpp"
#include "net/wire_server.hpp"
#include "wire/frame.hpp"
#include "wire_test_helpers.hpp"

namespace sluice {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using namespace std::chrono_literals;
using client::Message;
using client::Session;
using client::Stream;
using SessionPtr = std::shared_ptr<Session>;
using Clock = std::chrono::steady_clock;
using testing::eventually;
using testing::goaway_code;
using testing::hello_frame;

// ------------------------------------------------------------------------------ helpers

// `size` bytes that differ with position and seed, so an altered byte shows.
std::string blob(std::size_t size, std::size_t seed) {
  std::string b(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    b[i] = static_cast<char>((i * 131 + seed) & 0xff);
  return b;
}

client::WireOptions tcp_options(std::uint16_t wire_port) {
  client::WireOptions o;
  o.host = "127.0.0.1";
  o.port = wire_port;
  o.client_name = "ws-test-tcp";
  o.reconnect = false;
  o.connect_timeout = 3s;
  return o;
}

client::WireOptions ws_options(std::uint16_t http_port) {
  client::WireOptions o;
  o.host = "127.0.0.1";
  o.port = http_port;
  o.websocket = true;
  o.client_name = "ws-test-ws";
  o.reconnect = false;
  o.connect_timeout = 3s;
  return o;
}

// A WebSocket client as a browser would be: whatever messages the test asks for, and the wire
// frames found in the binary messages it receives (their payloads concatenated). Every
// operation is bounded by its timeout.
class RawWs {
 public:
  // TCP connect to 127.0.0.1:`port` and the upgrade at `target`.
  bool open(std::uint16_t port, const std::string& target = "/wire") {
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    error_ = run([&](auto done) { beast::get_lowest_layer(ws_).async_connect(ep, done); });
    if (error_) return false;
    ws_.binary(true);
    error_ = run([&](auto done) {
      ws_.async_handshake(response_, "127.0.0.1:" + std::to_string(port), target, done);
    });
    return !error_;
  }
  // Whether messages go out in write_buffer_bytes (4 KiB) fragments, as Beast does by default.
  void fragment(bool on) { ws_.auto_fragment(on); }
  bool send(std::string_view bytes, bool text = false) {
    ws_.text(text);
    error_ = run([&](auto done) {
      ws_.async_write(asio::buffer(bytes.data(), bytes.size()),
                      [done](beast::error_code ec, std::size_t) { done(ec); });
    });
    return !error_;
  }
  // Reads messages until a frame of `type` is complete; returns its payload.
  std::optional<std::string> read_frame(wire::FrameType type,
                                        std::chrono::milliseconds timeout = 3s) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto f = find_frame(type)) return f;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms || !read_message(left)) return find_frame(type);
    }
  }
  // Reads until the server closes the WebSocket; false on timeout.
  bool read_until_closed(std::chrono::milliseconds timeout = 3s) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (!read_message(
              std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))) {
        return error_ != beast::error::timeout;
      }
    }
    return false;
  }
  std::optional<std::string> find_frame(wire::FrameType type) const {
    std::size_t at = 0;
    while (received_.size() - at >= wire::kHeaderSize) {
      auto* p = reinterpret_cast<const std::uint8_t*>(received_.data() + at);
      std::uint32_t length = wire::get_u32(p + 8);
      if (received_.size() - at - wire::kHeaderSize < length) return std::nullopt;
      if (p[1] == static_cast<std::uint8_t>(type))
        return received_.substr(at + wire::kHeaderSize, length);
      at += wire::kHeaderSize + length;
    }
    return std::nullopt;
  }
  beast::error_code error() const { return error_; }
  const websocket::close_reason& close_reason() const { return ws_.reason(); }
  const websocket::response_type& response() const { return response_; }
  bool got_text() const { return got_text_; }

 private:
  bool read_message(std::chrono::milliseconds timeout) {
    beast::flat_buffer buffer;
    error_ = run(
        [&](auto done) {
          ws_.async_read(buffer, [done](beast::error_code ec, std::size_t) { done(ec); });
        },
        timeout);
    if (error_) return false;
    if (ws_.got_text()) got_text_ = true;
    received_ += beast::buffers_to_string(buffer.data());
    return true;
  }
  // Runs one asynchronous operation to completion, bounded by `timeout`.
  template <class Start>
  beast::error_code run(Start start, std::chrono::milliseconds timeout = 3s) {
    beast::error_code result = asio::error::would_block;
    beast::get_lowest_layer(ws_).expires_after(timeout);
    start([&result](beast::error_code ec) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  asio::io_context io_;
  websocket::stream<beast::tcp_stream> ws_{io_};
  websocket::response_type response_;
  beast::error_code error_;
  std::string received_;
  bool got_text_ = false;
};

class RelayWsTest : public ::testing::Test {
 protected:
  SessionPtr connect(const client::WireOptions& o) {
    auto s = Session::connect(o);
    EXPECT_TRUE(s) << (s ? "" : s.error().detail);
    return s ? *s : nullptr;
  }
  SessionPtr connect_ws() { return connect(ws_options(daemon_.port())); }
  SessionPtr connect_tcp() { return connect(tcp_options(daemon_.wire_port())); }
  // Once the server answered a request sent after an OPEN, that OPEN took effect (nobody
  // answers "_sync.barrier": 503 at once).
  static void sync(Session& s) {
    auto r = s.request("_sync.barrier", "", 5s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 503) << r.error().detail;
  }
  static std::vector<Message> receive_n(Stream& s, std::size_t n) {
    std::vector<Message> got;
    while (got.size() < n) {
      auto m = s.receive(5s);
      if (!m) break;
      got.push_back(std::move(*m));
    }
    return got;
  }
  // `count` messages from `from` arrive at `to`'s subscription complete and in order.
  void expect_in_order(Session& from, Session& to, const std::string& channel, std::size_t count) {
    auto sub = to.subscribe(channel);
    ASSERT_TRUE(sub) << sub.error().detail;
    sync(to);
    auto pub = from.publish(channel);
    ASSERT_TRUE(pub) << pub.error().detail;
    for (std::size_t i = 0; i < count; ++i)
      ASSERT_TRUE(pub->send("m" + std::to_string(i)));
    auto got = receive_n(*sub, count);
    ASSERT_EQ(got.size(), count);
    for (std::size_t i = 0; i < count; ++i) {
      EXPECT_EQ(got[i].data, "m" + std::to_string(i)) << "message " << i;
      EXPECT_EQ(got[i].gap, 0u);
    }
  }

  testing::InProcessDaemon daemon_{30s, 5000ms};
  client::Client http_{daemon_.url()};
};

// ------------------------------------------------------------------ the C++ client over ws

TEST_F(RelayWsTest, WebSocketPublisherReachesTcpSubscriberInOrder) {
  auto ws = connect_ws(), tcp = connect_tcp();
  ASSERT_TRUE(ws && tcp);
  expect_in_order(*ws, *tcp, "ws.to.tcp", 5000);
}

TEST_F(RelayWsTest, TcpPublisherReachesWebSocketSubscriberInOrder) {
  auto ws = connect_ws(), tcp = connect_tcp();
  ASSERT_TRUE(ws && tcp);
  expect_in_order(*tcp, *ws, "tcp.to.ws", 5000);
}

TEST_F(RelayWsTest, RequestReplyAcrossWebSocketAndTcp) {
  auto ws = connect_ws(), tcp = connect_tcp();
  ASSERT_TRUE(ws && tcp);
  auto ws_echo = ws->respond("svc.ws", [](const Message& m) { return "ws:" + m.data; });
  auto tcp_echo = tcp->respond("svc.tcp", [](const Message& m) { return "tcp:" + m.data; });
  ASSERT_TRUE(ws_echo && tcp_echo);
  sync(*ws);
  sync(*tcp);
  for (int i = 0; i < 20; ++i) {
    auto a = tcp->request("svc.ws", "q" + std::to_string(i), 2s);
    ASSERT_TRUE(a) << a.error().detail;
    EXPECT_EQ(*a, "ws:q" + std::to_string(i));
    auto b = ws->request("svc.tcp", "q" + std::to_string(i), 2s);
    ASSERT_TRUE(b) << b.error().detail;
    EXPECT_EQ(*b, "tcp:q" + std::to_string(i));
  }
}

// 5 MiB: 80 DATA fragments of 64 KiB, spread over many WebSocket messages either way (the
// sender's write batches are ~256 KiB), reassembled exactly at a ws and a TCP subscriber.
TEST_F(RelayWsTest, FiveMebibyteMessageOverWebSocket) {
  auto pub = connect_ws(), ws_sub = connect_ws(), tcp_sub = connect_tcp();
  ASSERT_TRUE(pub && ws_sub && tcp_sub);
  auto a = ws_sub->subscribe("big.blob");
  auto b = tcp_sub->subscribe("big.blob");
  ASSERT_TRUE(a && b);
  sync(*ws_sub);
  sync(*tcp_sub);
  auto p = pub->publish("big.blob");
  ASSERT_TRUE(p);
  const std::string big = blob(5u << 20, 7);
  ASSERT_TRUE(p->send(big));
  auto took = p->send_acked("end");
  ASSERT_TRUE(took) << took.error().detail;
  EXPECT_EQ(*took, 2u);
  for (Stream* s : {&*a, &*b}) {
    auto m = s->receive(10s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data.size(), big.size());
    EXPECT_TRUE(m->data == big) << "the 5 MiB message arrived altered";
    auto end = s->receive(3s);
    ASSERT_TRUE(end);
    EXPECT_EQ(end->data, "end");
  }
}

TEST_F(RelayWsTest, PlainGetOfWireIsNotAnUpgrade) {
  auto r = http_.request_json("GET", "/wire");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 426) << r.error().detail;
  EXPECT_NE(r.error().detail.find("WebSocket"), std::string::npos) << r.error().detail;
}

TEST_F(RelayWsTest, TlsOverWebSocketIsRefusedClearly) {
  auto o = ws_options(daemon_.port());
  o.tls = true;
  auto s = Session::connect(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().status, 400);
  EXPECT_NE(s.error().detail.find("wss"), std::string::npos) << s.error().detail;
}

// ------------------------------------------------------------------ what a browser may send

class RelayWsRawTest : public RelayWsTest {
 protected:
  void SetUp() override {
    // A healthy ws session, established before the raw ones and checked after each.
    good_ = connect_ws();
    ASSERT_TRUE(good_);
    auto sub = good_->subscribe("health.check");
    auto pub = good_->publish("health.check");
    ASSERT_TRUE(sub && pub);
    sub_ = *sub;
    pub_ = *pub;
    sync(*good_);
  }
  void expect_good_session_still_works() {
    const std::string text = "ok " + std::to_string(++round_);
    auto took = pub_.send_acked(text);
    ASSERT_TRUE(took) << took.error().detail;
    EXPECT_EQ(*took, 1u);
    auto m = sub_.receive(3s);
    ASSERT_TRUE(m) << "the healthy session stopped receiving";
    EXPECT_EQ(m->data, text);
    auto fresh = connect_ws();  // and the server still accepts ws sessions
    ASSERT_TRUE(fresh);
    sync(*fresh);
  }
  SessionPtr good_;
  Stream sub_, pub_;
  int round_ = 0;
};

// The byte stream is the concatenation of message payloads: a frame may span messages, and one
// message may carry several frames.
TEST_F(RelayWsRawTest, FramesMaySpanMessagesAndMessagesMayHoldManyFrames) {
  auto tcp = connect_tcp();
  ASSERT_TRUE(tcp);
  auto sub = tcp->subscribe("raw.feed");
  ASSERT_TRUE(sub);
  sync(*tcp);

  RawWs raw;
  ASSERT_TRUE(raw.open(daemon_.port())) << raw.error().message();
  EXPECT_EQ(raw.response()[beast::http::field::server], "sluice");
  const std::string hello = hello_frame();
  ASSERT_TRUE(raw.send(hello.substr(0, 5)));  // half a header
  ASSERT_TRUE(raw.send(hello.substr(5, 10)));
  ASSERT_TRUE(raw.send(hello.substr(15)));
  ASSERT_TRUE(raw.read_frame(wire::FrameType::kWelcome)) << "no WELCOME for a split HELLO";

  std::string batch = wire::encode_frame(
      wire::FrameType::kOpen, 0, 1, R"({"channel":"raw.feed","role":"publish","advertise":false})");
  for (int i = 0; i < 3; ++i)
    batch += wire::encode_frame(wire::FrameType::kData, 0, 1, "raw-" + std::to_string(i));
  ASSERT_TRUE(raw.send(batch));  // OPEN and three messages in one WebSocket message
  for (int i = 0; i < 3; ++i) {
    auto m = sub->receive(3s);
    ASSERT_TRUE(m) << "message " << i << " did not arrive";
    EXPECT_EQ(m->data, "raw-" + std::to_string(i));
  }
  EXPECT_FALSE(raw.find_frame(wire::FrameType::kGoAway));
  EXPECT_FALSE(raw.got_text()) << "the server sent a text message";
}

TEST_F(RelayWsRawTest, TextMessageGetsGoawayProtocolErrorThenClose) {
  RawWs raw;
  ASSERT_TRUE(raw.open(daemon_.port())) << raw.error().message();
  ASSERT_TRUE(raw.send(hello_frame()));
  ASSERT_TRUE(raw.read_frame(wire::FrameType::kWelcome));
  ASSERT_TRUE(raw.send(R"({"op":"pub","subject":"x","data":"hi"})", /*text=*/true));
  auto goaway = raw.read_frame(wire::FrameType::kGoAway);
  ASSERT_TRUE(goaway) << "no GOAWAY for a text message: " << raw.error().message();
  EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kProtocol));
  EXPECT_NE(goaway->find("text"), std::string::npos) << goaway->substr(4);
  EXPECT_TRUE(raw.read_until_closed()) << "the connection stayed open after GOAWAY";
  EXPECT_EQ(raw.error(), websocket::error::closed) << raw.error().message();
  EXPECT_EQ(raw.close_reason().code, websocket::close_code::unknown_data);
  expect_good_session_still_works();
}

TEST_F(RelayWsRawTest, GarbageBinaryGetsGoaway) {
  {
    RawWs raw;
    ASSERT_TRUE(raw.open(daemon_.port()));
    ASSERT_TRUE(raw.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    auto goaway = raw.read_frame(wire::FrameType::kGoAway);
    ASSERT_TRUE(goaway) << "no GOAWAY for garbage";
    EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kUnsupportedVersion));
    EXPECT_TRUE(raw.read_until_closed());
  }
  expect_good_session_still_works();
  {
    RawWs raw;
    ASSERT_TRUE(raw.open(daemon_.port()));
    ASSERT_TRUE(raw.send(std::string("\x01\xee\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04junk", 16)));
    auto goaway = raw.read_frame(wire::FrameType::kGoAway);
    ASSERT_TRUE(goaway) << "no GOAWAY for an unknown frame type";
    EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kProtocol));
    EXPECT_TRUE(raw.read_until_closed());
  }
  expect_good_session_still_works();
}

// The limit holds for the message, however it is framed: one WebSocket frame announcing more
// than 1 MiB, or a message of 4 KiB WebSocket fragments that grows past 1 MiB. Either way the
// peer gets GOAWAY frame_size_error and close code 1009, while it is still sending.
TEST_F(RelayWsRawTest, MessageOverOneMebibyteGetsGoawayAnd1009) {
  for (bool fragmented : {false, true}) {
    SCOPED_TRACE(fragmented ? "4 KiB fragments" : "one frame");
    RawWs raw;
    ASSERT_TRUE(raw.open(daemon_.port()));
    raw.fragment(fragmented);
    ASSERT_TRUE(raw.send(hello_frame()));
    ASSERT_TRUE(raw.read_frame(wire::FrameType::kWelcome));
    std::string big = wire::encode_frame(
        wire::FrameType::kOpen, 0, 1, R"({"channel":"big.ws","role":"publish","advertise":false})");
    while (big.size() <= 2u << 20)
      big += wire::encode_frame(wire::FrameType::kData, 0, 1, std::string(60 * 1024, 'x'));
    ASSERT_TRUE(raw.send(big)) << raw.error().message();
    auto goaway = raw.read_frame(wire::FrameType::kGoAway);
    ASSERT_TRUE(goaway) << "no GOAWAY for a 2 MiB message: " << raw.error().message();
    EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kFrameSize));
    EXPECT_TRUE(raw.read_until_closed()) << "the connection stayed open";
    EXPECT_EQ(raw.error(), websocket::error::closed) << raw.error().message();
    EXPECT_EQ(raw.close_reason().code, websocket::close_code::too_big);
  }
  expect_good_session_still_works();
}

TEST_F(RelayWsRawTest, PeerVanishingMidHandshakeOrFrameIsHarmless) {
  for (int i = 0; i < 10; ++i) {
    RawWs raw;
    ASSERT_TRUE(raw.open(daemon_.port()));
    ASSERT_TRUE(raw.send(hello_frame().substr(0, 7 + i)));  // half a HELLO, then gone
  }
  for (int i = 0; i < 10; ++i) {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), daemon_.port()});
    std::string half =
        "GET /wire HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    asio::write(s, asio::buffer(half.substr(0, 20 + i * 5)));
  }
  expect_good_session_still_works();
}

// ------------------------------------------------------------------ reconnect over ws

// An App whose HTTP and wire ports can be named, to restart on the same ones.
class FixedPortDaemon {
 public:
  FixedPortDaemon(std::uint16_t http_port, std::uint16_t wire_port) {
    Config c;
    c.onvif_enabled = false;  // no WS-Discovery multicast
    c.mdns_enabled = false;   // nor mDNS
    c.osc_enabled = false;
    c.mqtt_enabled = false;
    c.http = HostPort{"127.0.0.1", http_port};
    c.wire = HostPort{"127.0.0.1", wire_port};
    c.rtmp = HostPort{"127.0.0.1", 0};
    c.rtsp = HostPort{"127.0.0.1", 0};
    c.rtsp_udp_ports = {0, 0};
    c.srt = HostPort{"127.0.0.1", 0};
    c.history = ":memory:";
    c.threads = 2;
    app_ = std::make_unique<server::App>(c);
    http_port_ = app_->start();
    thread_ = std::thread([this] { app_->run(); });
  }
  ~FixedPortDaemon() {
    app_->stop();
    thread_.join();
  }
  std::uint16_t http_port() const { return http_port_; }
  std::uint16_t wire_port() const { return app_->wire_port(); }

 private:
  std::unique_ptr<server::App> app_;
  std::uint16_t http_port_ = 0;
  std::thread thread_;
};

TEST(RelayWsReconnect, WebSocketSessionReconnectsToARestartedServer) {
  auto server = std::make_unique<FixedPortDaemon>(0, 0);
  const std::uint16_t http_port = server->http_port();
  const std::uint16_t wire_port = server->wire_port();

  auto o = ws_options(http_port);
  o.reconnect = true;
  o.reconnect_initial = 50ms;
  o.reconnect_max = 200ms;
  auto session = Session::connect(o);
  ASSERT_TRUE(session) << session.error().detail;
  auto sub = (*session)->subscribe("re.ws");
  ASSERT_TRUE(sub);
  auto publish_once = [&](const std::string& text) -> std::size_t {
    auto pub = Session::connect(tcp_options(wire_port));
    if (!pub) return 0;
    auto p = (*pub)->publish("re.ws");
    if (!p) return 0;
    auto took = p->send_acked(text, 2s);
    return took ? *took : 0;
  };
  ASSERT_TRUE(eventually([&] { return publish_once("before") == 1; }));
  auto m = sub->receive(3s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->data, "before");

  server.reset();  // GOAWAY going-away, then the WebSocket closes
  EXPECT_TRUE(eventually([&] { return !(*session)->connected(); }, 3s));
  server = std::make_unique<FixedPortDaemon>(http_port, wire_port);

  EXPECT_TRUE(eventually([&] { return (*session)->connected(); }, 5s)) << "never reconnected";
  EXPECT_GE((*session)->reconnects(), 1u);
  ASSERT_TRUE(eventually([&] { return publish_once("after") == 1; }, 5s))
      << "the subscription was not re-established over ws";
  std::optional<Message> after;
  const auto deadline = Clock::now() + 3s;
  while (Clock::now() < deadline && !(after && after->data == "after"))
    after = sub->receive(500ms);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->data, "after");
  (*session)->close();
}

// ------------------------------------------------------------------ the CLI

TEST_F(RelayWsTest, CliPubAndSubSpeakWebSocket) {
  const std::string ws = "ws://127.0.0.1:" + std::to_string(daemon_.port());
  testing::ChildProcess sub;
  ASSERT_TRUE(sub.spawn({SLUICE_CLI_PATH, "sub", "--wire", ws, "cli.ws", "--count", "1"}));
  // The CLI's subscription shows in the channel's subscriber count once a publisher made it one.
  auto tcp = connect_tcp();
  ASSERT_TRUE(tcp);
  auto probe = tcp->publish("cli.ws");
  ASSERT_TRUE(probe);
  ASSERT_TRUE(eventually([&] {
    auto c = http_.request_json("GET", "/channels/cli.ws");
    return c && c->at("subscribers").to_number<int>() == 1;
  })) << "sluice sub --wire ws:// never subscribed:\n"
      << sub.stderr_text();
  EXPECT_TRUE(probe->send("from tcp"));
  auto code = sub.wait(10s);
  ASSERT_TRUE(code) << sub.stderr_text();
  EXPECT_EQ(*code, 0) << sub.stderr_text();
  EXPECT_EQ(sub.stdout_lines(), (std::vector<std::string>{"cli.ws  from tcp"}));

  auto listener = tcp->subscribe("cli.pub");
  ASSERT_TRUE(listener);
  sync(*tcp);
  auto pub =
      testing::run_command({SLUICE_CLI_PATH, "pub", "--wire", ws + "/wire", "cli.pub", "hi"});
  EXPECT_EQ(pub.exit_code, 0) << pub.err;
  EXPECT_NE(pub.err.find("published to 1 subscriber(s)"), std::string::npos) << pub.err;
  auto got = listener->receive(3s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, "hi");

  auto wss = testing::run_command(
      {SLUICE_CLI_PATH, "pub", "--wire", "wss://127.0.0.1:1/wire", "cli.pub", "x"});
  EXPECT_NE(wss.exit_code, 0);
  EXPECT_NE(wss.err.find("wss"), std::string::npos) << wss.err;
}

// ------------------------------------------------------------------ no relay: 503

TEST(RelayWsUnavailable, WireAnswers503WhileTheRelayIsNotRunning) {
  asio::io_context io;
  http::Router router;
  http::HttpMetrics metrics(std::vector<std::string>{});
  hub::Hub hub;
  net::HttpServer http(io, router, metrics, hub, {});
  net::WireServer wire;  // never started
  net::connect_wire_upgrades(http, wire);
  const std::uint16_t port = http.listen("127.0.0.1", 0);
  auto guard = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });

  RawWs raw;
  EXPECT_FALSE(raw.open(port));
  EXPECT_EQ(raw.error(), websocket::error::upgrade_declined) << raw.error().message();
  EXPECT_EQ(raw.response().result_int(), 503u);
  EXPECT_NE(raw.response().body().find("relay is not running"), std::string::npos)
      << raw.response().body();

  auto s = Session::connect(ws_options(port));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().status, 503);
  EXPECT_NE(s.error().detail.find("503"), std::string::npos) << s.error().detail;

  http.stop();
  guard.reset();
  io.stop();
  runner.join();
}

}  // namespace
}  // namespace sluice
