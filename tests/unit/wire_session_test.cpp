// wire::Session end to end: a client and a server session joined by the in-memory Duplex of
// wire_duplex.hpp (short reads, held output, interleaving), on a FakeClock advanced by hand; and
// raw hand-crafted frames fed to one session to check how it treats a misbehaving peer.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "unit/wire_duplex.hpp"
#include "wire/session.hpp"

namespace sluice::wire {
namespace {

using namespace std::chrono_literals;
using sluice::testing::Duplex;
using sluice::testing::WireFrame;

// ----------------------------------------------------------------------------------- helpers

}  // namespace
void PrintTo(ErrorCode code, std::ostream* os) {
  *os << to_string(code);
}
void PrintTo(SendQueue::Offer offer, std::ostream* os) {
  static constexpr const char* kNames[] = {"kQueued", "kQueuedOverLimit", "kDroppedOldest",
                                           "kDroppedNewest", "kDisconnect"};
  *os << kNames[static_cast<int>(offer)];
}
namespace {

struct Received {
  std::uint32_t stream = 0;
  std::uint16_t flags = 0;
  std::uint64_t gap = 0;
  std::uint64_t token = 0;
  std::string subject;
  std::string body;
  std::size_t size = 0;
  std::uint32_t credit = 0;
};
struct ResetSeen {
  std::uint32_t stream;
  ErrorCode code;
  std::string reason;
  bool by_peer;
};
struct ClosedSeen {
  ErrorCode code;
  std::string reason;
  bool by_peer;
};

// Records every event; hooks let a test act inside the callbacks.
class Recorder : public SessionEvents {
 public:
  Session* session = nullptr;
  bool accept_opens = true;  // accept_stream() with the OPEN's priority and buffer
  bool keep_bodies = true;
  std::function<HandshakeStep(const Hello&)> hello_hook;
  std::function<HandshakeStep(std::string_view)> auth_hook;
  std::function<Status(const Welcome&)> welcome_hook;
  std::function<void(const InboundMessage&)> message_hook;

  std::vector<Hello> hellos;
  std::vector<std::string> auths;
  std::vector<Welcome> welcomes;
  int established = 0;
  std::vector<std::pair<std::uint32_t, OpenRequest>> opens;
  std::vector<Received> messages;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> acks;
  std::vector<std::pair<std::uint32_t, std::string>> events;
  std::vector<std::uint32_t> finished;
  std::vector<ResetSeen> resets;
  std::vector<std::uint32_t> drained;
  std::vector<ClosedSeen> closed;

  HandshakeStep on_hello(const Hello& hello) override {
    hellos.push_back(hello);
    return hello_hook ? hello_hook(hello) : HandshakeStep::accept();
  }
  HandshakeStep on_auth(std::string_view data) override {
    auths.emplace_back(data);
    return auth_hook ? auth_hook(data) : SessionEvents::on_auth(data);
  }
  Status on_welcome(const Welcome& welcome) override {
    welcomes.push_back(welcome);
    return welcome_hook ? welcome_hook(welcome) : Status{};
  }
  void on_established() override { ++established; }
  void on_open(std::uint32_t stream, OpenRequest request) override {
    opens.emplace_back(stream, request);
    if (accept_opens) session->accept_stream(stream, request.priority, request.buffer);
  }
  void on_message(const InboundMessage& m) override {
    Received r{m.stream, m.flags,       m.gap,   m.token, std::string(m.subject),
               {},       m.body.size(), m.credit};
    if (keep_bodies) r.body = std::string(m.body);
    messages.push_back(std::move(r));
    if (message_hook) message_hook(m);
  }
  void on_ack(std::uint32_t stream, std::uint64_t delivered) override {
    acks.emplace_back(stream, delivered);
  }
  void on_event(std::uint32_t stream, std::string_view json) override {
    events.emplace_back(stream, std::string(json));
  }
  void on_finished(std::uint32_t stream) override { finished.push_back(stream); }
  void on_reset(std::uint32_t stream, ErrorCode code, std::string_view reason,
                bool by_peer) override {
    resets.push_back({stream, code, std::string(reason), by_peer});
  }
  void on_drained(std::uint32_t stream) override { drained.push_back(stream); }
  void on_closed(ErrorCode code, std::string_view reason, bool by_peer) override {
    closed.push_back({code, std::string(reason), by_peer});
  }

  std::vector<Received> on(std::uint32_t stream) const {
    std::vector<Received> out;
    for (const auto& m : messages) {
      if (m.stream == stream) out.push_back(m);
    }
    return out;
  }
};

// A client and a server session on one duplex; the client is end A, the server end B.
struct Pair {
  explicit Pair(SessionOptions client_options = {}, SessionOptions server_options = {},
                std::uint64_t seed = 1)
      : client(Side::kClient, client_options, client_events, clock.mono_now()),
        server(Side::kServer, server_options, server_events, clock.mono_now()),
        net(client, server, clock, seed) {
    client_events.session = &client;
    server_events.session = &server;
  }

  void handshake() {
    Hello hello;
    hello.client = "wire-test/1";
    client.start(hello);
    net.pump();
    ASSERT_TRUE(client.established());
    ASSERT_TRUE(server.established());
  }
  std::uint32_t open(const OpenRequest& request) {
    auto id = client.open_stream(request);
    EXPECT_TRUE(id) << id.error().detail;
    net.pump();
    return id.value_or(0);
  }

  FakeClock clock;
  Recorder client_events;
  Recorder server_events;
  Session client;
  Session server;
  Duplex net;
};

constexpr Duplex::End kClientEnd = Duplex::kA;
constexpr Duplex::End kServerEnd = Duplex::kB;

OpenRequest publish(std::string channel, std::uint16_t priority = 500) {
  OpenRequest r;
  r.channel = std::move(channel);
  r.role = Role::kPublish;
  r.priority = priority;
  return r;
}

OpenRequest subscribe(std::string channel, QueueLimits buffer = {}, std::uint16_t priority = 500) {
  OpenRequest r;
  r.channel = std::move(channel);
  r.role = Role::kSubscribe;
  r.priority = priority;
  r.buffer = buffer;
  return r;
}

QueueLimits queue_limits(std::size_t messages, OverflowPolicy policy,
                         std::size_t bytes = 64 << 20) {
  QueueLimits l;
  l.max_messages = messages;
  l.max_bytes = bytes;
  l.policy = policy;
  return l;
}

// Deterministic bytes: the same (size, seed) always gives the same content.
std::string pattern(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// "msg-<n>" padded to `size` bytes, so a body says which message it was.
std::string numbered(int n, std::size_t size = 1024) {
  std::string s = "msg-" + std::to_string(n) + ";";
  s.resize(std::max(size, s.size()), '.');
  return s;
}
int number_of(const std::string& body) {
  return std::stoi(body.substr(4));
}

OutMessage shared(std::shared_ptr<const std::string> bytes) {
  std::string_view view = *bytes;
  return shared_message(std::move(bytes), view);
}

std::string data_frame(std::uint32_t stream, std::uint16_t flags, std::string_view payload) {
  return encode_frame(FrameType::kData, flags, stream, payload);
}
std::string open_frame(std::uint32_t stream, const OpenRequest& request) {
  return encode_frame(FrameType::kOpen, 0, stream, encode(request));
}
std::string hello_frame(Settings settings = {}) {
  Hello h;
  h.client = "raw";
  h.settings = settings;
  return encode_frame(FrameType::kHello, 0, 0, encode(h));
}

// One session driven by hand-crafted bytes.
struct Raw {
  explicit Raw(Side side, SessionOptions options = {})
      : session(side, options, events, clock.mono_now()) {
    events.session = &session;
    if (side == Side::kClient) {
      Hello h;
      h.client = "raw";
      session.start(h);
      sluice::testing::drain_output(session, clock.mono_now());
    }
  }
  // Feeds `bytes` (in reads of at most `max_read`) and returns the frames written in response.
  std::vector<WireFrame> send(std::string_view bytes, std::size_t max_read = SIZE_MAX) {
    sluice::testing::feed(session, bytes, clock.mono_now(), max_read);
    return sluice::testing::parse_frames(sluice::testing::drain_output(session, clock.mono_now()));
  }
  std::vector<WireFrame> hello(Settings settings = {}) {
    auto out = send(hello_frame(settings));
    EXPECT_TRUE(session.established());
    return out;
  }
  std::vector<WireFrame> welcome(Settings settings = {}) {
    Welcome w;
    w.server = "raw";
    w.settings = settings;
    auto out = send(encode_frame(FrameType::kWelcome, 0, 0, encode(w)));
    EXPECT_TRUE(session.established());
    return out;
  }

  FakeClock clock;
  Recorder events;
  Session session;
};

// The GOAWAY code among `frames`; kNoError with a failure when there is none.
ErrorCode goaway_code(const std::vector<WireFrame>& frames) {
  auto g = sluice::testing::find_goaway(frames);
  EXPECT_TRUE(g) << "no GOAWAY was sent";
  return g ? g->code : ErrorCode::kNoError;
}

// RESET frames among `frames` as (stream, code).
std::vector<std::pair<std::uint32_t, ErrorCode>> resets_in(const std::vector<WireFrame>& frames) {
  std::vector<std::pair<std::uint32_t, ErrorCode>> out;
  for (const auto& f : frames) {
    if (f.header.type != FrameType::kReset) continue;
    auto e = decode_error_payload(
        {reinterpret_cast<const std::uint8_t*>(f.payload.data()), f.payload.size()});
    out.emplace_back(f.header.stream, e.code);
  }
  return out;
}

// ---------------------------------------------------------------------------------- handshake

TEST(WireSession, HandshakeAccept) {
  SessionOptions client_options;
  client_options.local.stream_window = 1 << 20;
  client_options.local.max_frame = 32 * 1024;
  client_options.local.lease_ms = 20'000;
  SessionOptions server_options;
  server_options.local.connection_window = 8 << 20;
  Pair p(client_options, server_options);
  EXPECT_FALSE(p.client.established());
  EXPECT_FALSE(p.client.open_stream(publish("a.b")));  // not before the handshake

  Hello hello;
  hello.client = "wire-test/1";
  hello.user = "alice";
  hello.settings.stream_window = 5;  // start() announces the session's own settings instead
  p.client.start(hello);
  EXPECT_TRUE(p.client.wants_write());
  p.net.pump();

  EXPECT_TRUE(p.client.established());
  EXPECT_TRUE(p.server.established());
  EXPECT_EQ(p.client_events.established, 1);
  EXPECT_EQ(p.server_events.established, 1);
  ASSERT_EQ(p.server_events.hellos.size(), 1u);
  EXPECT_EQ(p.server_events.hellos[0].client, "wire-test/1");
  EXPECT_EQ(p.server_events.hellos[0].user, "alice");
  ASSERT_EQ(p.client_events.welcomes.size(), 1u);
  EXPECT_TRUE(p.client_events.welcomes[0].server.starts_with("sluiced/"));
  // Each side learned the other's settings.
  EXPECT_EQ(p.server.peer_settings().stream_window, 1u << 20);
  EXPECT_EQ(p.server.peer_settings().max_frame, 32u * 1024);
  EXPECT_EQ(p.server.peer_settings().lease_ms, 20'000u);
  EXPECT_EQ(p.client.peer_settings().connection_window, 8u << 20);
  EXPECT_TRUE(p.client_events.closed.empty());
  EXPECT_TRUE(p.server_events.closed.empty());
  EXPECT_FALSE(p.client.wants_write());
  EXPECT_FALSE(p.server.wants_write());
  EXPECT_GT(p.client.bytes_sent(), 0u);
  EXPECT_EQ(p.client.bytes_sent(), p.server.bytes_received());
  EXPECT_EQ(p.server.bytes_sent(), p.client.bytes_received());
  EXPECT_EQ(p.client.open_streams(), 1u);  // stream 0
  // Keepalive: the server pings every min(lease / 3, 5 s) of the client's lease.
  EXPECT_EQ(p.server.next_deadline(), p.clock.mono_now() + 5s);
}

TEST(WireSession, HandshakeWithAuthSteps) {
  Pair p;
  p.server_events.hello_hook = [](const Hello& h) {
    EXPECT_EQ(h.mechanism, "SCRAM-SHA-256");
    EXPECT_EQ(h.auth_data, "client-first");
    return HandshakeStep::next("server-first");
  };
  p.client_events.auth_hook = [](std::string_view data) {
    EXPECT_EQ(data, "server-first");
    return HandshakeStep::next("client-final");
  };
  p.server_events.auth_hook = [](std::string_view data) {
    return data == "client-final" ? HandshakeStep::accept("server-final")
                                  : HandshakeStep::reject("bad proof");
  };
  p.client_events.welcome_hook = [](const Welcome& w) -> Status {
    if (w.auth_data != "server-final") return fail(Error::forbidden("bad server signature"));
    return {};
  };
  Hello hello;
  hello.mechanism = "SCRAM-SHA-256";
  hello.auth_data = "client-first";
  p.client.start(hello);
  p.net.max_read = 3;
  p.net.pump();
  EXPECT_TRUE(p.client.established());
  EXPECT_TRUE(p.server.established());
  EXPECT_EQ(p.server_events.auths, std::vector<std::string>{"client-final"});
  EXPECT_EQ(p.client_events.auths, std::vector<std::string>{"server-first"});
}

TEST(WireSession, HandshakeRejectClosesBothSides) {
  Pair p;
  p.server_events.hello_hook = [](const Hello&) { return HandshakeStep::reject("bad token"); };
  Hello hello;
  hello.mechanism = "token";
  hello.token = "wrong";
  p.client.start(hello);
  p.net.pump();
  ASSERT_EQ(p.server_events.closed.size(), 1u);
  EXPECT_EQ(p.server_events.closed[0].code, ErrorCode::kAuthFailed);
  EXPECT_EQ(p.server_events.closed[0].reason, "bad token");
  EXPECT_FALSE(p.server_events.closed[0].by_peer);
  ASSERT_EQ(p.client_events.closed.size(), 1u);
  EXPECT_EQ(p.client_events.closed[0].code, ErrorCode::kAuthFailed);
  EXPECT_EQ(p.client_events.closed[0].reason, "bad token");
  EXPECT_TRUE(p.client_events.closed[0].by_peer);
  EXPECT_FALSE(p.client.established());
  EXPECT_FALSE(p.server.established());
  EXPECT_EQ(p.client_events.established + p.server_events.established, 0);
  EXPECT_TRUE(p.client.closing());
  EXPECT_TRUE(p.server.done());
  EXPECT_TRUE(p.client.done());
  EXPECT_FALSE(p.client.open_stream(publish("a")));
  EXPECT_EQ(p.server.next_deadline(), MonoTime::max());
}

TEST(WireSession, ClientRejectsTheWelcome) {
  Pair p;
  p.client_events.welcome_hook = [](const Welcome&) -> Status {
    return fail(Error::forbidden("server signature mismatch"));
  };
  Hello hello;
  p.client.start(hello);
  p.net.pump();
  EXPECT_FALSE(p.client.established());
  ASSERT_EQ(p.client_events.closed.size(), 1u);
  EXPECT_EQ(p.client_events.closed[0].code, ErrorCode::kAuthFailed);
  EXPECT_FALSE(p.client_events.closed[0].by_peer);
  ASSERT_EQ(p.server_events.closed.size(), 1u);
  EXPECT_EQ(p.server_events.closed[0].code, ErrorCode::kAuthFailed);
  EXPECT_EQ(p.server_events.closed[0].reason, "server signature mismatch");
  EXPECT_TRUE(p.server_events.closed[0].by_peer);
}

TEST(WireSession, HandshakeTimeout) {
  Raw s(Side::kServer);
  EXPECT_EQ(s.session.next_deadline(), s.clock.mono_now() + 10s);
  s.clock.advance(9s);
  s.session.on_timer(s.clock.mono_now());
  EXPECT_FALSE(s.session.closing());
  s.clock.advance(1s);
  s.session.on_timer(s.clock.mono_now());
  ASSERT_TRUE(s.session.closing());
  EXPECT_EQ(s.events.closed.at(0).code, ErrorCode::kTimeout);
  EXPECT_EQ(goaway_code(s.send("")), ErrorCode::kTimeout);
}

TEST(WireSession, FramesBeforeTheHandshakeAreProtocolErrors) {
  std::uint8_t credit[4];
  put_u32(credit, 1000);
  const std::string early[] = {
      open_frame(1, publish("a.b")),
      data_frame(1, 0, "hi"),
      encode_frame(FrameType::kWindowUpdate, 0, 0, {reinterpret_cast<char*>(credit), 4}),
      encode_frame(FrameType::kReset, 0, 1, encode_error_payload(ErrorCode::kCancel, "")),
      encode_frame(FrameType::kAck, 0, 1, std::string(8, '\0')),
      encode_frame(FrameType::kEvent, 0, 1, "{}"),
  };
  for (const auto& frame : early) {
    Raw s(Side::kServer);
    auto out = s.send(frame + hello_frame());  // the HELLO after it is never looked at
    EXPECT_EQ(goaway_code(out), ErrorCode::kProtocol);
    EXPECT_TRUE(s.session.closing());
    EXPECT_FALSE(s.session.established());
    ASSERT_EQ(s.events.closed.size(), 1u);
    EXPECT_EQ(s.events.closed[0].code, ErrorCode::kProtocol);
    EXPECT_FALSE(s.events.closed[0].by_peer);
    EXPECT_TRUE(s.events.hellos.empty());

    // The GOAWAY reaches a client waiting for its WELCOME.
    Raw c(Side::kClient);
    std::string goaway;
    for (const auto& f : out)
      goaway += encode_frame(f.header.type, f.header.flags, f.header.stream, f.payload);
    c.send(goaway);
    ASSERT_EQ(c.events.closed.size(), 1u);
    EXPECT_EQ(c.events.closed[0].code, ErrorCode::kProtocol);
    EXPECT_TRUE(c.events.closed[0].by_peer);
  }
  // A client is held to the same rule.
  Raw c(Side::kClient);
  EXPECT_EQ(goaway_code(c.send(data_frame(2, 0, "early"))), ErrorCode::kProtocol);
  Raw c2(Side::kClient);
  EXPECT_EQ(goaway_code(c2.send(hello_frame())), ErrorCode::kProtocol);
  Raw s(Side::kServer);
  EXPECT_EQ(goaway_code(s.send(encode_frame(FrameType::kWelcome, 0, 0, "{}"))),
            ErrorCode::kProtocol);
}

TEST(WireSession, BadHandshakeFrames) {
  {
    Raw s(Side::kServer);
    EXPECT_EQ(goaway_code(s.send(encode_frame(FrameType::kHello, 0, 0, "{not json"))),
              ErrorCode::kInvalid);
  }
  {
    Raw s(Side::kServer);
    EXPECT_EQ(goaway_code(s.send(
                  encode_frame(FrameType::kHello, 0, 0, R"({"version":2,"client":"future"})"))),
              ErrorCode::kUnsupportedVersion);
  }
  {
    Raw s(Side::kServer);
    EXPECT_EQ(goaway_code(s.send(encode_frame(FrameType::kHello, 0, 3, encode(Hello{})))),
              ErrorCode::kProtocol);
  }
  {
    Raw s(Side::kServer);
    s.hello();
    EXPECT_EQ(goaway_code(s.send(hello_frame())), ErrorCode::kProtocol);  // a second HELLO
  }
  {
    Raw s(Side::kServer);  // AUTH without a mechanism asking for it
    EXPECT_EQ(goaway_code(s.send(encode_frame(FrameType::kAuth, 0, 0, encode_auth("x")))),
              ErrorCode::kAuthFailed);
  }
  {
    Raw c(Side::kClient);
    EXPECT_EQ(goaway_code(c.send(encode_frame(FrameType::kWelcome, 0, 0, R"({"lease_ms":1})"))),
              ErrorCode::kInvalid);
  }
}

// ----------------------------------------------------------------------- messages and order

class WireSessionOrder : public ::testing::TestWithParam<int> {};

TEST_P(WireSessionOrder, ThousandsOfMessagesInOrderBothWays) {
  const int seed = GetParam();
  Pair p({}, {}, seed);
  p.net.max_read = 1 + (seed * 53) % 300;
  p.net.interleave = true;
  p.handshake();
  auto up = p.client.open_stream(publish("up.stream"));
  auto down = p.server.open_stream(publish("down.stream"));
  ASSERT_TRUE(up && down);
  EXPECT_EQ(*up % 2, 1u);
  EXPECT_EQ(*down % 2, 0u);
  EXPECT_NE(*down, 0u);

  constexpr int kCount = 5000;
  static constexpr std::string_view kSubject = "sensors.imu.raw";
  auto make = [](int i, int dir) {
    std::size_t size = i % 97 == 0 ? 3000 + i : (i * 7 + dir) % 60;  // inline, copied, external
    OutMessage m = copy_message(pattern(size, i * 2 + dir));
    if (i % 10 == 0) m.subject = kSubject;
    if (i % 13 == 0) m.flags = flag::kRequest, m.token = 1000003ull * i + dir;
    if (i % 17 == 0) m.flags = flag::kReply | flag::kError, m.token = 7ull * i;
    if (i % 19 == 0) m.flags |= flag::kAckRequested;
    return m;
  };
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(p.client.send(*up, make(i, 0)), SendQueue::Offer::kQueued);
    ASSERT_EQ(p.server.send(*down, make(i, 1)), SendQueue::Offer::kQueued);
    if (i % 64 == 0) p.net.pump();
  }
  p.net.pump();

  auto check = [&](const Recorder& r, std::uint32_t stream, int dir) {
    auto got = r.on(stream);
    ASSERT_EQ(got.size(), std::size_t{kCount});
    for (int i = 0; i < kCount; ++i) {
      OutMessage want = make(i, dir);
      ASSERT_EQ(got[i].body, want.bytes()) << "message " << i;
      EXPECT_EQ(got[i].subject, want.subject) << i;
      EXPECT_EQ(got[i].gap, 0u);
      const std::uint16_t kinds =
          flag::kRequest | flag::kReply | flag::kError | flag::kAckRequested;
      EXPECT_EQ(got[i].flags & kinds, want.flags) << i;
      EXPECT_EQ(got[i].flags & flag::kMore, 0) << i;
      if (want.flags & (flag::kRequest | flag::kReply)) {
        EXPECT_EQ(got[i].token, want.token);
      }
      EXPECT_EQ(got[i].credit, 0u);  // automatic credit
    }
  };
  check(p.server_events, *up, 0);
  check(p.client_events, *down, 1);
  auto sent = p.client.stream_stats(*up);
  auto received = p.server.stream_stats(*up);
  ASSERT_TRUE(sent && received);
  EXPECT_EQ(sent->messages_sent, std::uint64_t{kCount});
  EXPECT_EQ(received->messages_received, std::uint64_t{kCount});
  EXPECT_EQ(sent->bytes_sent, received->bytes_received);
  EXPECT_EQ(sent->dropped, 0u);
  EXPECT_EQ(sent->queued_messages, 0u);
  EXPECT_TRUE(p.client_events.closed.empty());
  EXPECT_TRUE(p.server_events.closed.empty());
}

INSTANTIATE_TEST_SUITE_P(Seeds, WireSessionOrder, ::testing::Values(1, 2, 3, 4, 5));

TEST(WireSession, FragmentsAndReassemblesLargeMessages) {
  SessionOptions options;
  options.local.max_frame = 64 * 1024;
  Pair p(options, options, 9);
  p.net.max_read = 10'000;
  p.net.interleave = true;
  p.net.record = true;
  p.handshake();
  auto id = p.open(publish("big.data"));

  auto one = std::make_shared<const std::string>(pattern(1 << 20, 1));
  auto five = std::make_shared<const std::string>(pattern(5 << 20, 5));
  OutMessage first = shared(one);
  first.subject = "big.subject";
  first.flags = flag::kRequest | flag::kAckRequested;
  first.token = 77;
  ASSERT_EQ(p.client.send(id, first), SendQueue::Offer::kQueued);
  ASSERT_EQ(p.client.send(id, shared(five)), SendQueue::Offer::kQueued);
  ASSERT_EQ(p.client.send(id, copy_message("tail")), SendQueue::Offer::kQueued);
  p.net.pump();

  auto got = p.server_events.on(id);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].size, one->size());
  EXPECT_TRUE(got[0].body == *one);
  EXPECT_EQ(got[0].subject, "big.subject");
  EXPECT_EQ(got[0].token, 77u);
  EXPECT_TRUE(got[0].flags & flag::kRequest);
  EXPECT_TRUE(got[0].flags & flag::kAckRequested);
  EXPECT_FALSE(got[0].flags & flag::kMore);
  EXPECT_EQ(got[1].size, five->size());
  EXPECT_TRUE(got[1].body == *five);
  EXPECT_EQ(got[1].subject, "");
  EXPECT_EQ(got[2].body, "tail");

  // On the wire: no DATA payload above max_frame, prefixes only on first fragments, kMore on
  // every fragment but the last of each message.
  EXPECT_FALSE(p.net.torn_batch);
  std::size_t frames = 0, ends = 0, largest = 0;
  bool next_is_first = true;
  for (const auto& batch : p.net.batches[kClientEnd]) {
    for (const auto& f : batch) {
      if (f.header.type != FrameType::kData || f.header.stream != id) continue;
      ++frames;
      largest = std::max<std::size_t>(largest, f.payload.size());
      if (!next_is_first) {
        EXPECT_EQ(f.header.flags & (flag::kSubject | flag::kRequest), 0);
      }
      if (ends == 0 && next_is_first) {
        EXPECT_EQ(f.header.flags & (flag::kSubject | flag::kRequest),
                  flag::kSubject | flag::kRequest);
      }
      next_is_first = !(f.header.flags & flag::kMore);
      if (next_is_first) ++ends;
    }
  }
  EXPECT_EQ(ends, 3u);
  EXPECT_LE(largest, 64u * 1024);
  EXPECT_GE(frames, std::size_t{(6 << 20) / (64 * 1024)});
  EXPECT_TRUE(p.server_events.resets.empty());
}

TEST(WireSession, PartialMessagesOfAllSessionsShareOneBudget) {
  // The relay's relay-partial-budget: partial messages of every session together stay within
  // one budget. The stream whose fragment does not fit is reset (kLimit); its session, the other
  // sessions and whole messages go on; every byte is given back.
  ByteBudget budget(256 * 1024);
  SessionOptions o;
  o.reassembly_budget = &budget;
  const std::string fragment(64 * 1024, 'f');
  {
    Raw a(Side::kServer, o);
    Raw b(Side::kServer, o);
    a.hello();
    b.hello();
    a.send(open_frame(1, publish("a")));
    b.send(open_frame(1, publish("b")) + open_frame(3, publish("c")));
    a.send(data_frame(1, flag::kMore, fragment) + data_frame(1, flag::kMore, fragment) +
           data_frame(1, flag::kMore, fragment));
    b.send(data_frame(1, flag::kMore, fragment));
    EXPECT_EQ(budget.used(), 256u * 1024);
    auto out = b.send(data_frame(1, flag::kMore, fragment) + data_frame(3, 0, "whole"));
    EXPECT_EQ(resets_in(out),
              (std::vector<std::pair<std::uint32_t, ErrorCode>>{{1, ErrorCode::kLimit}}));
    EXPECT_EQ(budget.refused(), 1u);
    EXPECT_FALSE(b.session.closing());
    ASSERT_EQ(b.events.on(3).size(), 1u);
    EXPECT_EQ(budget.used(), 192u * 1024);  // b's partial went with its stream
    a.send(data_frame(1, 0, "end"));
    ASSERT_EQ(a.events.on(1).size(), 1u);
    EXPECT_EQ(a.events.on(1)[0].body.size(), 3 * fragment.size() + 3);
    EXPECT_EQ(budget.used(), 0u);
    a.send(data_frame(1, flag::kMore, fragment));  // left partial when the session ends
    EXPECT_EQ(budget.used(), 64u * 1024);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(WireSession, ReassemblyPastMaxMessageResetsOnlyThatStream) {
  // A peer that ignores the announced max_message (1 MiB): its fragments are accepted up to the
  // limit, then that stream is reset; the other stream on the session keeps working.
  SessionOptions o;
  o.local.max_message = 1 << 20;
  Raw s(Side::kServer, o);
  s.hello();
  s.send(open_frame(1, publish("big")) + open_frame(3, publish("small")));
  const std::string fragment(64 * 1024, 'f');
  std::string bytes;
  for (int i = 0; i < 16; ++i)  // exactly 1 MiB so far: fine
    bytes += data_frame(1, flag::kMore, fragment) + data_frame(3, 0, numbered(i, 100));
  auto out = s.send(bytes, 5000);
  EXPECT_TRUE(out.empty() || resets_in(out).empty());
  EXPECT_TRUE(s.events.resets.empty());
  out = s.send(data_frame(1, flag::kMore, "one byte too many"));
  EXPECT_EQ(resets_in(out),
            (std::vector<std::pair<std::uint32_t, ErrorCode>>{{1, ErrorCode::kMessageTooLarge}}));
  ASSERT_EQ(s.events.resets.size(), 1u);
  EXPECT_EQ(s.events.resets[0].stream, 1u);
  EXPECT_EQ(s.events.resets[0].code, ErrorCode::kMessageTooLarge);
  EXPECT_FALSE(s.events.resets[0].by_peer);
  EXPECT_FALSE(s.session.has_stream(1));
  EXPECT_TRUE(s.session.has_stream(3));
  // The rest of the big message, already in flight, is dropped quietly; stream 3 goes on.
  out = s.send(data_frame(1, flag::kMore, fragment) + data_frame(1, 0, "end") +
               data_frame(3, 0, numbered(16, 100)));
  EXPECT_FALSE(sluice::testing::find_goaway(out));
  EXPECT_TRUE(s.events.on(1).empty());
  auto got = s.events.on(3);
  ASSERT_EQ(got.size(), 17u);
  for (int i = 0; i < 17; ++i)
    EXPECT_EQ(got[i].body, numbered(i, 100));
  EXPECT_FALSE(s.session.closing());

  // A single frame above max_message, and a first fragment above it, are refused the same way.
  SessionOptions small;
  small.local.max_message = 1024;
  Raw t(Side::kServer, small);
  t.hello();
  t.send(open_frame(1, publish("a")) + open_frame(3, publish("b")) + open_frame(5, publish("c")));
  out = t.send(data_frame(1, 0, std::string(1024, 'k')) +  // at the limit
               data_frame(3, 0, std::string(1025, 'x')) +  // one byte over, in one frame
               data_frame(5, flag::kMore, std::string(2000, 'y')));
  EXPECT_EQ(resets_in(out),
            (std::vector<std::pair<std::uint32_t, ErrorCode>>{{3, ErrorCode::kMessageTooLarge},
                                                              {5, ErrorCode::kMessageTooLarge}}));
  EXPECT_EQ(t.events.messages.size(), 1u);
}

TEST(WireSession, SenderRefusesMessagesAboveThePeersMaxMessage) {
  // The sender knows the peer's max_message and refuses such a message up front, counted as
  // a drop and announced as a gap by the next message; the stream stays open.
  SessionOptions server_options;
  server_options.local.max_message = 1 << 20;
  Pair p({}, server_options, 11);
  p.net.max_read = 4000;
  p.net.interleave = true;
  p.handshake();
  EXPECT_EQ(p.client.peer_settings().max_message, 1u << 20);
  auto id = p.open(publish("big"));
  auto too_big = std::make_shared<const std::string>(pattern((1 << 20) + 1, 3));
  auto exactly = std::make_shared<const std::string>(pattern(1 << 20, 4));
  ASSERT_EQ(p.client.send(id, copy_message("before")), SendQueue::Offer::kQueued);
  EXPECT_EQ(p.client.send(id, shared(too_big)), SendQueue::Offer::kDroppedNewest);
  ASSERT_EQ(p.client.send(id, shared(exactly)), SendQueue::Offer::kQueued);
  p.net.pump();
  EXPECT_EQ(p.client.stream_stats(id)->dropped, 1u);
  auto got = p.server_events.on(id);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, "before");
  EXPECT_EQ(got[0].gap, 0u);
  EXPECT_TRUE(got[1].body == *exactly);
  EXPECT_EQ(got[1].gap, 1u);  // the refused message came between the two
  EXPECT_TRUE(p.server_events.resets.empty());
  EXPECT_TRUE(p.client_events.resets.empty());
}

// ------------------------------------------------------------------------------ flow control

TEST(WireSession, ManualCreditStopsTheSenderAtTheStreamWindow) {
  SessionOptions client_options;
  client_options.manual_credit = true;
  client_options.local.stream_window = 64 * 1024;
  Pair p(client_options, {}, 12);
  p.net.max_read = 777;
  p.handshake();
  auto id = p.open(subscribe("feed", queue_limits(100'000, OverflowPolicy::kDropOldest)));
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(p.server.send(id, copy_message(numbered(i))), SendQueue::Offer::kQueued);
  p.net.pump();

  // 64 messages of 1 KiB fill the 64 KiB window; the rest wait (the next one to go is held
  // aside by the scheduler and not counted as queued).
  auto got = p.client_events.on(id);
  ASSERT_EQ(got.size(), 64u);
  auto st = p.server.stream_stats(id);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->send_window, 0);
  EXPECT_EQ(st->queued_messages, 135u);
  EXPECT_EQ(st->queued_bytes, 135u * 1024);
  EXPECT_EQ(p.client.stream_stats(id)->receive_window, 0);
  EXPECT_FALSE(p.server.wants_write());
  p.clock.advance(10ms);
  p.net.pump();
  EXPECT_EQ(p.client_events.on(id).size(), 64u);  // nothing moves without consume()

  for (const auto& m : got) {
    EXPECT_EQ(m.credit, 1024u);
    p.client.consume(id, m.credit);
  }
  p.client_events.message_hook = [&](const InboundMessage& m) {
    p.client.consume(m.stream, m.credit);
  };
  p.net.pump();
  got = p.client_events.on(id);
  ASSERT_EQ(got.size(), 200u);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(number_of(got[i].body), i);
  EXPECT_EQ(p.server.stream_stats(id)->queued_messages, 0u);
  EXPECT_EQ(p.server.stream_stats(id)->queued_bytes, 0u);
}

TEST(WireSession, ManualCreditStopsTheSenderAtTheConnectionWindowAndResumes) {
  // The connection window runs out with a few hundred bytes left, less than the sender's
  // minimum fragment, while the stream window still has plenty. Connection credit alone must
  // wake the stream up again.
  SessionOptions server_options;
  server_options.manual_credit = true;
  server_options.local.connection_window = 100 * 1024;
  server_options.local.stream_window = 1 << 20;
  Pair p({}, server_options, 13);
  p.handshake();
  auto id = p.open(publish("up"));
  for (int i = 0; i < 300; ++i)
    ASSERT_EQ(p.client.send(id, copy_message(numbered(i, 1000))), SendQueue::Offer::kQueued);
  p.net.pump();
  auto got = p.server_events.on(id);
  ASSERT_EQ(got.size(), 102u);  // 102 * 1000 bytes; 400 bytes of credit left
  auto st = p.client.stream_stats(id);
  EXPECT_EQ(st->send_window, (1 << 20) - 102'000);
  EXPECT_EQ(st->queued_messages, 197u);  // and one held aside as the next to go
  EXPECT_EQ(st->queued_bytes, 197'000u);

  for (const auto& m : got)
    p.server.consume(id, m.credit);
  p.server_events.message_hook = [&](const InboundMessage& m) {
    p.server.consume(m.stream, m.credit);
  };
  p.net.pump();
  got = p.server_events.on(id);
  ASSERT_EQ(got.size(), 300u);
  for (int i = 0; i < 300; ++i)
    EXPECT_EQ(number_of(got[i].body), i);
}

TEST(WireSession, ConnectionWindowSharedByManyStreams) {
  // Several streams compete for a small connection window with automatic credit.
  SessionOptions server_options;
  server_options.local.connection_window = 16 * 1024;
  server_options.local.stream_window = 1 << 20;
  server_options.max_connection_window = 16 * 1024;  // no auto-tuning past it
  Pair p({}, server_options, 14);
  p.net.max_read = 1500;
  p.handshake();
  std::vector<std::uint32_t> ids;
  for (int s = 0; s < 5; ++s)
    ids.push_back(p.open(publish("s" + std::to_string(s))));
  for (int i = 0; i < 200; ++i) {
    for (auto id : ids)
      ASSERT_EQ(p.client.send(id, copy_message(numbered(i, 700 + 13 * (id % 7)))),
                SendQueue::Offer::kQueued);
  }
  p.net.pump();
  for (auto id : ids) {
    auto got = p.server_events.on(id);
    ASSERT_EQ(got.size(), 200u) << "stream " << id;
    for (int i = 0; i < 200; ++i)
      EXPECT_EQ(number_of(got[i].body), i);
  }
}

TEST(WireSession, DataBeyondTheWindowIsFlowControlError) {
  {  // the stream window, one byte at a time past it
    SessionOptions o;
    o.manual_credit = true;
    o.local.stream_window = 4096;
    Raw s(Side::kServer, o);
    s.hello();
    s.send(open_frame(1, publish("a.b")));
    auto out = s.send(data_frame(1, 0, std::string(4096, 'x')));
    EXPECT_FALSE(sluice::testing::find_goaway(out));
    EXPECT_EQ(s.events.messages.size(), 1u);
    out = s.send(data_frame(1, 0, "y"));
    EXPECT_EQ(goaway_code(out), ErrorCode::kFlowControl);
    EXPECT_EQ(s.events.closed.at(0).code, ErrorCode::kFlowControl);
    EXPECT_EQ(s.events.messages.size(), 1u);
  }
  {  // one frame larger than the stream window
    SessionOptions o;
    o.local.stream_window = 4096;
    Raw s(Side::kServer, o);
    s.hello();
    s.send(open_frame(1, publish("a.b")));
    EXPECT_EQ(goaway_code(s.send(data_frame(1, 0, std::string(8000, 'x')))),
              ErrorCode::kFlowControl);
    EXPECT_TRUE(s.events.messages.empty());
  }
  {  // the connection window, across two streams
    SessionOptions o;
    o.manual_credit = true;
    o.local.connection_window = 6000;
    Raw s(Side::kServer, o);
    s.hello();
    s.send(open_frame(1, publish("a")) + open_frame(3, publish("b")));
    EXPECT_FALSE(sluice::testing::find_goaway(s.send(data_frame(1, 0, std::string(4000, 'x')))));
    EXPECT_EQ(goaway_code(s.send(data_frame(3, 0, std::string(4000, 'x')))),
              ErrorCode::kFlowControl);
  }
  {  // a DATA frame above max_frame is a frame-size error before any window check
    SessionOptions o;
    o.local.max_frame = 16 * 1024;
    Raw s(Side::kServer, o);
    s.hello();
    s.send(open_frame(1, publish("a")));
    EXPECT_EQ(goaway_code(s.send(data_frame(1, 0, std::string(16 * 1024 + 1, 'x')))),
              ErrorCode::kFrameSize);
  }
  {  // a WINDOW_UPDATE pushing the peer's credit past 2^31-1
    Raw s(Side::kServer);
    s.hello();
    std::uint8_t inc[4];
    put_u32(inc, 0x7fffffff);
    EXPECT_EQ(goaway_code(s.send(
                  encode_frame(FrameType::kWindowUpdate, 0, 0, {reinterpret_cast<char*>(inc), 4}))),
              ErrorCode::kFlowControl);
  }
  {  // a zero or malformed WINDOW_UPDATE
    Raw s(Side::kServer);
    s.hello();
    EXPECT_EQ(
        goaway_code(s.send(encode_frame(FrameType::kWindowUpdate, 0, 0, std::string(4, '\0')))),
        ErrorCode::kProtocol);
  }
}

// ------------------------------------------------------------------------- stream lifecycle

TEST(WireSession, DataOnANeverOpenedStreamIsProtocolError) {
  for (std::uint32_t stream : {5u, 2u, 4u}) {
    Raw s(Side::kServer);
    s.hello();
    auto out = s.send(data_frame(stream, 0, "who?"));
    auto g = sluice::testing::find_goaway(out);
    ASSERT_TRUE(g) << stream;
    EXPECT_EQ(g->code, ErrorCode::kProtocol);
    EXPECT_NE(g->reason.find("never opened"), std::string::npos) << g->reason;
    EXPECT_TRUE(s.events.messages.empty());
  }
  Raw s(Side::kServer);
  s.hello();
  s.send(open_frame(1, publish("a")) + open_frame(3, publish("b")));
  EXPECT_EQ(goaway_code(s.send(data_frame(7, 0, "ahead"))), ErrorCode::kProtocol);
}

TEST(WireSession, StreamZeroCarriesNoData) {
  Raw s(Side::kServer);
  s.hello();
  EXPECT_EQ(goaway_code(s.send(data_frame(0, 0, "on the session itself"))), ErrorCode::kProtocol);
  EXPECT_TRUE(s.events.messages.empty());

  Pair p;
  p.handshake();
  EXPECT_EQ(p.client.send(0, copy_message("x")), SendQueue::Offer::kDroppedNewest);
  p.client.finish(0);
  p.client.reset(0, ErrorCode::kCancel, "no");
  p.net.pump();
  EXPECT_TRUE(p.client.established());
  EXPECT_TRUE(p.server.established());
  EXPECT_TRUE(p.server_events.messages.empty());
}

TEST(WireSession, OpenWithWrongParityOrOrderIsProtocolError) {
  auto expect_protocol = [](std::string bytes, const char* what) {
    Raw s(Side::kServer);
    s.hello();
    EXPECT_EQ(goaway_code(s.send(bytes)), ErrorCode::kProtocol) << what;
    EXPECT_TRUE(s.session.closing()) << what;
  };
  expect_protocol(open_frame(2, publish("a")), "server parity");
  expect_protocol(open_frame(0, publish("a")), "stream 0");
  expect_protocol(open_frame(3, publish("a")) + open_frame(1, publish("b")), "falling ids");
  expect_protocol(open_frame(3, publish("a")) + open_frame(3, publish("b")), "reused id");

  Raw ok(Side::kServer);
  ok.hello();
  ok.send(open_frame(1, publish("a")) + open_frame(7, publish("b")));  // gaps are fine
  EXPECT_EQ(ok.events.opens.size(), 2u);
  EXPECT_TRUE(ok.session.has_stream(7));
  EXPECT_FALSE(ok.session.closing());

  // A client accepts even ids from its server and refuses odd ones.
  Raw c(Side::kClient);
  c.welcome();
  c.send(open_frame(2, subscribe("x")));
  EXPECT_EQ(c.events.opens.size(), 1u);
  EXPECT_EQ(goaway_code(c.send(open_frame(5, subscribe("y")))), ErrorCode::kProtocol);
}

TEST(WireSession, OpenIsValidatedAndLimited) {
  SessionOptions server_options;
  server_options.max_streams = 2;
  Pair p({}, server_options, 15);
  p.handshake();
  auto bad = p.client.open_stream(publish("a..b"));  // the receiving side validates
  ASSERT_TRUE(bad);
  p.net.pump();
  ASSERT_EQ(p.client_events.resets.size(), 1u);
  EXPECT_EQ(p.client_events.resets[0].stream, *bad);
  EXPECT_EQ(p.client_events.resets[0].code, ErrorCode::kInvalid);
  EXPECT_TRUE(p.client_events.resets[0].by_peer);
  EXPECT_FALSE(p.client.has_stream(*bad));
  EXPECT_TRUE(p.server_events.opens.empty());

  OpenRequest sub = subscribe("sensors.>", queue_limits(12, OverflowPolicy::kBlock), 900);
  sub.last_value = true;
  auto a = p.open(sub);
  auto b = p.open(publish("b"));
  auto c = p.open(publish("c"));
  ASSERT_EQ(p.server_events.opens.size(), 2u);
  EXPECT_EQ(p.server_events.opens[0].first, a);
  EXPECT_EQ(p.server_events.opens[0].second.channel, "sensors.>");
  EXPECT_EQ(p.server_events.opens[0].second.buffer.max_messages, 12u);
  EXPECT_EQ(p.server_events.opens[0].second.buffer.policy, OverflowPolicy::kBlock);
  EXPECT_TRUE(p.server_events.opens[0].second.last_value);
  EXPECT_EQ(p.server.stream_stats(a)->priority, 900);
  EXPECT_TRUE(p.server.has_stream(b));
  ASSERT_EQ(p.client_events.resets.size(), 2u);
  EXPECT_EQ(p.client_events.resets[1].stream, c);
  EXPECT_EQ(p.client_events.resets[1].code, ErrorCode::kLimit);
  EXPECT_TRUE(p.server.established());

  SessionOptions client_options;
  client_options.max_streams = 1;
  Pair q(client_options, {}, 16);
  q.handshake();
  EXPECT_TRUE(q.client.open_stream(publish("one")));
  auto refused = q.client.open_stream(publish("two"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 429);
}

TEST(WireSession, PeerResetThenLateDataIsDiscarded) {
  Pair p({}, {}, 17);
  p.handshake();
  auto id = p.open(publish("x"));
  for (int i = 0; i < 3; ++i)
    p.client.send(id, copy_message(numbered(i, 3000)));
  ASSERT_TRUE(p.net.flush(kClientEnd));  // in flight, not yet delivered
  p.server.reset(id, ErrorCode::kForbidden, "not yours");
  EXPECT_FALSE(p.server.has_stream(id));
  ASSERT_TRUE(p.net.flush(kServerEnd));
  p.net.deliver(kServerEnd);
  ASSERT_EQ(p.client_events.resets.size(), 1u);
  EXPECT_EQ(p.client_events.resets[0].stream, id);
  EXPECT_EQ(p.client_events.resets[0].code, ErrorCode::kForbidden);
  EXPECT_EQ(p.client_events.resets[0].reason, "not yours");
  EXPECT_TRUE(p.client_events.resets[0].by_peer);
  EXPECT_FALSE(p.client.has_stream(id));
  EXPECT_EQ(p.client.send(id, copy_message("more")), SendQueue::Offer::kDroppedNewest);

  p.net.deliver(kClientEnd);  // the DATA sent before the RESET arrives now
  EXPECT_TRUE(p.server_events.on(id).empty());
  EXPECT_TRUE(p.server_events.resets.empty());  // a local reset() reports nothing
  EXPECT_FALSE(p.server.closing());
  p.net.pump();
  auto next = p.open(publish("y"));
  p.client.send(next, copy_message("still fine"));
  p.net.pump();
  ASSERT_EQ(p.server_events.on(next).size(), 1u);

  // The same with raw frames: RESET from the peer, then DATA it should not have sent.
  Raw s(Side::kServer);
  s.hello();
  s.send(open_frame(1, publish("a")));
  auto out = s.send(
      encode_frame(FrameType::kReset, 0, 1, encode_error_payload(ErrorCode::kCancel, "bye")));
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(s.events.resets.size(), 1u);
  EXPECT_EQ(s.events.resets[0].code, ErrorCode::kCancel);
  EXPECT_EQ(s.events.resets[0].reason, "bye");
  EXPECT_TRUE(s.events.resets[0].by_peer);
  out = s.send(data_frame(1, 0, "late") + data_frame(1, flag::kFin, "later"));
  EXPECT_FALSE(sluice::testing::find_goaway(out));
  EXPECT_TRUE(s.events.messages.empty());
  EXPECT_TRUE(s.events.finished.empty());
  EXPECT_FALSE(s.session.closing());
  // RESET of an unknown stream is ignored; RESET of stream 0 is not allowed.
  s.send(encode_frame(FrameType::kReset, 0, 9, encode_error_payload(ErrorCode::kCancel, "")));
  EXPECT_FALSE(s.session.closing());
  EXPECT_EQ(goaway_code(s.send(encode_frame(FrameType::kReset, 0, 0,
                                            encode_error_payload(ErrorCode::kCancel, "")))),
            ErrorCode::kProtocol);
}

TEST(WireSession, AnEmptyLastMessageIsNotSwallowedByTheFin) {
  Pair p({}, {}, 19);
  p.handshake();
  auto id = p.open(publish("empty"));
  p.client.send(id, copy_message("first"));
  p.client.send(id, copy_message(""));
  p.client.finish(id);
  p.net.pump();
  auto got = p.server_events.on(id);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, "first");
  EXPECT_EQ(got[1].body, "");
  EXPECT_EQ(p.server_events.finished, std::vector<std::uint32_t>{id});
}

TEST(WireSession, FinBothWaysRemovesTheStream) {
  Pair p({}, {}, 18);
  p.net.max_read = 5;
  p.handshake();
  auto id = p.open(publish("fin"));
  p.client.send(id, copy_message("last words"));
  p.client.finish(id);
  EXPECT_EQ(p.client.send(id, copy_message("too late")), SendQueue::Offer::kDroppedNewest);
  p.net.pump();
  auto got = p.server_events.on(id);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "last words");
  EXPECT_TRUE(got[0].flags & flag::kFin);  // FIN rode on the last message
  EXPECT_EQ(p.server_events.finished, std::vector<std::uint32_t>{id});
  EXPECT_TRUE(p.server.has_stream(id));  // half-closed: the server may still send
  EXPECT_TRUE(p.client.has_stream(id));

  p.server.send(id, copy_message("reply"));
  p.net.pump();
  p.server.finish(id);  // FIN alone, after the queue drained
  p.net.pump();
  ASSERT_EQ(p.client_events.on(id).size(), 1u);
  EXPECT_EQ(p.client_events.on(id)[0].body, "reply");
  EXPECT_EQ(p.client_events.finished, std::vector<std::uint32_t>{id});
  EXPECT_FALSE(p.server.has_stream(id));
  EXPECT_FALSE(p.client.has_stream(id));
  EXPECT_EQ(p.client.open_streams(), 1u);
  EXPECT_EQ(p.server.open_streams(), 1u);
  EXPECT_TRUE(p.client_events.resets.empty());
  EXPECT_TRUE(p.server_events.resets.empty());

  // A stream the server opens and finishes at once, with an empty FIN answered by the client.
  auto down = p.server.open_stream(publish("down"));
  ASSERT_TRUE(down);
  p.server.finish(*down);
  p.net.pump();
  EXPECT_EQ(p.client_events.finished.back(), *down);
  p.client.finish(*down);
  p.net.pump();
  EXPECT_FALSE(p.server.has_stream(*down));
  EXPECT_FALSE(p.client.has_stream(*down));
}

TEST(WireSession, DataAfterFinResetsTheStream) {
  Raw s(Side::kServer);
  s.hello();
  s.send(open_frame(1, publish("a")));
  s.send(data_frame(1, flag::kFin, "x"));
  ASSERT_EQ(s.events.messages.size(), 1u);
  EXPECT_EQ(s.events.finished, std::vector<std::uint32_t>{1});
  auto out = s.send(data_frame(1, 0, "y"));
  EXPECT_EQ(resets_in(out),
            (std::vector<std::pair<std::uint32_t, ErrorCode>>{{1, ErrorCode::kStreamClosed}}));
  ASSERT_EQ(s.events.resets.size(), 1u);
  EXPECT_EQ(s.events.resets[0].code, ErrorCode::kStreamClosed);
  EXPECT_FALSE(s.events.resets[0].by_peer);
  EXPECT_EQ(s.events.messages.size(), 1u);
  EXPECT_FALSE(s.session.closing());
}

TEST(WireSession, AcksAndEventsReachThePeer) {
  Pair p({}, {}, 19);
  p.handshake();
  auto id = p.open(publish("acked"));
  p.server.send_ack(id, 3);
  p.server.send_event(id, R"({"event":"subscribed","count":2})");
  p.client.send_event(id, R"({"event":"hello"})");
  p.net.pump();
  EXPECT_EQ(p.client_events.acks, (std::vector<std::pair<std::uint32_t, std::uint64_t>>{{id, 3}}));
  ASSERT_EQ(p.client_events.events.size(), 1u);
  EXPECT_EQ(p.client_events.events[0].second, R"({"event":"subscribed","count":2})");
  ASSERT_EQ(p.server_events.events.size(), 1u);
  EXPECT_EQ(p.server_events.events[0].first, id);
}

TEST(WireSession, CallbacksMayResetConsumeAndSendInsideOnMessage) {
  // Stream objects must outlive every callback that removes them, whatever the callback
  // calls next (consume() and send() are public calls too).
  SessionOptions server_options;
  server_options.manual_credit = true;
  Pair p({}, server_options, 20);
  p.handshake();
  auto a = p.open(publish("a"));
  auto b = p.open(subscribe("b", queue_limits(1, OverflowPolicy::kDisconnect)));
  p.server_events.message_hook = [&](const InboundMessage& m) {
    if (m.body == "reset me") p.server.reset(m.stream, ErrorCode::kCancel, "as asked");
    if (m.body == "flood") {  // overflows b's queue (1 message, disconnect): b is reset
      for (int i = 0; i < 3; ++i)
        p.server.send(m.stream, copy_message("echo"));
    }
    p.server.consume(m.stream, m.credit);
  };
  p.client.send(a, copy_message("one"));
  p.client.send(a, copy_message("reset me"));
  p.client.finish(a);
  p.client.send(b, copy_message("flood"));
  p.net.pump();
  ASSERT_EQ(p.server_events.on(a).size(), 2u);
  EXPECT_FALSE(p.server.has_stream(a));
  EXPECT_FALSE(p.server.has_stream(b));
  EXPECT_TRUE(p.server_events.finished.empty());  // a was gone before its FIN was looked at
  ASSERT_EQ(p.server_events.resets.size(), 1u);
  EXPECT_EQ(p.server_events.resets[0].stream, b);
  EXPECT_EQ(p.server_events.resets[0].code, ErrorCode::kSlowConsumer);
  ASSERT_EQ(p.client_events.resets.size(), 2u);
  for (const auto& r : p.client_events.resets) {
    EXPECT_EQ(r.code, r.stream == a ? ErrorCode::kCancel : ErrorCode::kSlowConsumer);
    EXPECT_TRUE(r.by_peer);
  }
  EXPECT_TRUE(p.server.established());
}

TEST(WireSession, NothingIsReportedAfterOnClosed) {
  // A callback that ends the session while a frame is being handled: the rest of that frame
  // (here the FIN riding on the message) is not reported after on_closed().
  Pair p({}, {}, 33);
  p.handshake();
  auto id = p.open(publish("x"));
  p.server_events.message_hook = [&](const InboundMessage&) {
    p.server.goaway(ErrorCode::kGoingAway, "shutting down");
  };
  p.client.send(id, copy_message("last"));
  p.client.finish(id);
  p.net.pump();
  ASSERT_EQ(p.server_events.messages.size(), 1u);
  EXPECT_TRUE(p.server_events.messages[0].flags & flag::kFin);
  ASSERT_EQ(p.server_events.closed.size(), 1u);
  EXPECT_TRUE(p.server_events.finished.empty());
  ASSERT_EQ(p.client_events.closed.size(), 1u);
  EXPECT_EQ(p.client_events.closed[0].code, ErrorCode::kGoingAway);
}

TEST(WireSession, GoawayEndsTheSessionOnBothSides) {
  Pair p({}, {}, 21);
  p.handshake();
  auto id = p.open(publish("x"));
  p.client.goaway(ErrorCode::kGoingAway, "maintenance");
  EXPECT_TRUE(p.client.closing());
  EXPECT_FALSE(p.client.done());  // the GOAWAY is not written yet
  EXPECT_EQ(p.client.send(id, copy_message("x")), SendQueue::Offer::kDroppedNewest);
  p.net.pump();
  EXPECT_TRUE(p.client.done());
  EXPECT_TRUE(p.server.done());
  ASSERT_EQ(p.client_events.closed.size(), 1u);
  EXPECT_FALSE(p.client_events.closed[0].by_peer);
  ASSERT_EQ(p.server_events.closed.size(), 1u);
  EXPECT_EQ(p.server_events.closed[0].code, ErrorCode::kGoingAway);
  EXPECT_EQ(p.server_events.closed[0].reason, "maintenance");
  EXPECT_TRUE(p.server_events.closed[0].by_peer);
  p.client.goaway(ErrorCode::kInternal, "twice");  // on_closed is called once
  p.net.pump();
  EXPECT_EQ(p.client_events.closed.size(), 1u);
  EXPECT_EQ(p.server_events.closed.size(), 1u);
}

// ------------------------------------------------------------------------------- scheduling

TEST(WireSession, UrgentMessageOvertakesABulkBacklog) {
  Pair p({}, {}, 22);
  p.client_events.keep_bodies = false;
  p.handshake();
  QueueLimits deep = queue_limits(1000, OverflowPolicy::kDropOldest, 256 << 20);
  auto bulk = p.open(subscribe("bulk.>", deep, 0));
  auto urgent = p.open(subscribe("urgent", {}, 1000));
  auto blob = std::make_shared<const std::string>(pattern(1 << 20, 8));
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(p.server.send(bulk, shared(blob)), SendQueue::Offer::kQueued);
  for (int round = 0; round < 3; ++round) {  // bulk traffic flows for a while
    p.net.flush(kServerEnd);
    p.net.deliver(kServerEnd);
    p.net.flush(kClientEnd);
    p.net.deliver(kClientEnd);
  }
  EXPECT_GT(p.client.stream_stats(bulk)->bytes_received, 0u);
  EXPECT_GT(p.server.stream_stats(bulk)->queued_bytes, std::size_t{40} << 20);

  ASSERT_EQ(p.server.send(urgent, copy_message("now!")), SendQueue::Offer::kQueued);
  p.net.record = true;
  ASSERT_TRUE(p.net.flush(kServerEnd));
  ASSERT_EQ(p.net.batches[kServerEnd].size(), 1u);
  const auto& batch = p.net.batches[kServerEnd][0];
  std::vector<std::uint32_t> data_streams;
  for (const auto& f : batch) {
    if (f.header.type == FrameType::kData) data_streams.push_back(f.header.stream);
  }
  ASSERT_FALSE(data_streams.empty());
  EXPECT_EQ(data_streams.front(), urgent) << "the urgent frame should lead the batch";
  // Bulk data still fills the rest of the batch behind it.
  EXPECT_GT(std::count(data_streams.begin(), data_streams.end(), bulk), 0);
  p.net.record = false;
  p.net.deliver(kServerEnd);
  ASSERT_EQ(p.client_events.on(urgent).size(), 1u);
  EXPECT_EQ(p.client_events.on(urgent)[0].size, 4u);
  EXPECT_GT(p.server.stream_stats(bulk)->queued_bytes, std::size_t{40} << 20);

  // Everything else arrives in the end.
  p.net.pump();
  EXPECT_EQ(p.client_events.on(bulk).size(), 50u);
  EXPECT_EQ(p.server.stream_stats(bulk)->dropped, 0u);
}

TEST(WireSession, PriorityWeightsShareTheLink) {
  // Two backlogged streams: the one with priority 1000 gets almost all of every batch.
  Pair p({}, {}, 23);
  p.client_events.keep_bodies = false;
  p.handshake();
  QueueLimits deep = queue_limits(1000, OverflowPolicy::kDropOldest, 256 << 20);
  auto low = p.open(subscribe("low", deep, 0));
  auto high = p.open(subscribe("high", deep, 1000));
  auto blob = std::make_shared<const std::string>(pattern(256 * 1024, 9));
  for (int i = 0; i < 8; ++i) {
    p.server.send(low, shared(blob));
    p.server.send(high, shared(blob));
  }
  p.net.record = true;
  for (int i = 0; i < 4; ++i) {
    p.net.flush(kServerEnd);
    p.net.deliver(kServerEnd);
  }
  std::size_t low_bytes = 0, high_bytes = 0;
  for (const auto& batch : p.net.batches[kServerEnd]) {
    for (const auto& f : batch) {
      if (f.header.type != FrameType::kData) continue;
      (f.header.stream == high ? high_bytes : low_bytes) += f.payload.size();
    }
  }
  EXPECT_GE(high_bytes, 900 * 1024u);
  EXPECT_LE(low_bytes, 2 * 65 * 1024u);
  p.net.record = false;
  p.net.pump();
  EXPECT_EQ(p.client_events.on(low).size(), 8u);
  EXPECT_EQ(p.client_events.on(high).size(), 8u);
}

TEST(WireSession, PriorityFrameReordersThePeersTraffic) {
  // Both subscriptions opened at 500; the client then raises "late" to 1000 and lowers "early"
  // to 0 with PRIORITY frames, and the server's next batches favour "late".
  Pair p({}, {}, 29);
  p.client_events.keep_bodies = false;
  p.handshake();
  QueueLimits deep = queue_limits(1000, OverflowPolicy::kDropOldest, 256 << 20);
  auto early = p.open(subscribe("early", deep, 500));
  auto late = p.open(subscribe("late", deep, 500));
  p.client.set_priority(late, 1000);
  p.client.set_priority(early, 0);
  p.net.pump();
  EXPECT_EQ(p.server.stream_stats(late)->priority, 1000);
  EXPECT_EQ(p.server.stream_stats(early)->priority, 0);
  auto blob = std::make_shared<const std::string>(pattern(256 * 1024, 4));
  for (int i = 0; i < 8; ++i) {
    p.server.send(early, shared(blob));
    p.server.send(late, shared(blob));
  }
  p.net.record = true;
  for (int i = 0; i < 4; ++i) {
    p.net.flush(kServerEnd);
    p.net.deliver(kServerEnd);
  }
  std::size_t early_bytes = 0, late_bytes = 0;
  for (const auto& batch : p.net.batches[kServerEnd]) {
    for (const auto& f : batch) {
      if (f.header.type != FrameType::kData) continue;
      (f.header.stream == late ? late_bytes : early_bytes) += f.payload.size();
    }
  }
  EXPECT_GE(late_bytes, 900 * 1024u);
  EXPECT_LE(early_bytes, 2 * 65 * 1024u);
}

// While a higher-priority stream is open, a low-priority stream's receive window shrinks to
// kLowPriorityWindow, so little of it sits in sockets ahead of urgent messages; alone, the
// same stream keeps (and grows) its full window.
TEST(WireSession, LowPriorityStreamsGetSmallWindowsBesideUrgentOnes) {
  auto bulk_window_after_transfer = [](bool with_urgent_stream) {
    Pair p({}, {}, 31);
    p.client_events.keep_bodies = false;
    p.handshake();
    QueueLimits deep = queue_limits(100'000, OverflowPolicy::kDropOldest, 256 << 20);
    auto bulk = p.open(subscribe("bulk", deep, 1));
    if (with_urgent_stream) (void)p.open(subscribe("urgent", deep, 1000));
    auto blob = std::make_shared<const std::string>(pattern(256 * 1024, 5));
    for (int i = 0; i < 64; ++i)
      p.server.send(bulk, shared(blob));
    p.net.pump();
    EXPECT_EQ(p.client_events.on(bulk).size(), 64u);
    return p.client.stream_stats(bulk)->receive_window_size;
  };
  EXPECT_EQ(bulk_window_after_transfer(true), kLowPriorityWindow);
  EXPECT_GE(bulk_window_after_transfer(false), 4u * 1024 * 1024);
}

TEST(WireSession, MalformedPriorityFrameIsProtocolError) {
  Raw s(Side::kServer);
  s.hello();
  s.send(open_frame(1, publish("a")));
  EXPECT_EQ(goaway_code(s.send(encode_frame(FrameType::kPriority, 0, 1, "abc"))),
            ErrorCode::kProtocol);
}

// ------------------------------------------------------------------------- overflow policies

// A subscriber with an 8 KiB window that does not consume, and a server that sends 1 KiB
// messages, flushing after each: 8 fit the window, the 9th is taken as the next to go (held
// aside by the scheduler, outside the queue), then the queue of 10 fills up. So 19 are kept.
struct SlowSubscriber {
  static constexpr int kSent = 8;
  static constexpr int kKept = kSent + 1 + 10;

  explicit SlowSubscriber(OverflowPolicy policy, std::uint64_t seed)
      : p(client_options(), {}, seed) {
    p.handshake();
    id = p.open(subscribe("slow", queue_limits(10, policy)));
  }
  static SessionOptions client_options() {
    SessionOptions o;
    o.manual_credit = true;
    o.local.stream_window = 8 * 1024;
    return o;
  }
  std::vector<SendQueue::Offer> send_all(int from, int to) {
    std::vector<SendQueue::Offer> offers;
    for (int i = from; i < to; ++i) {
      offers.push_back(p.server.send(id, copy_message(numbered(i))));
      p.net.pump();
    }
    return offers;
  }
  void catch_up() {
    for (const auto& m : p.client_events.on(id))
      p.client.consume(id, m.credit);
    p.client_events.message_hook = [this](const InboundMessage& m) {
      p.client.consume(m.stream, m.credit);
    };
    p.net.pump();
  }
  Pair p;
  std::uint32_t id = 0;
};

TEST(WireSession, DropOldestReportsTheGapToTheReceiver) {
  SlowSubscriber s(OverflowPolicy::kDropOldest, 24);
  constexpr int kDropped = 100 - SlowSubscriber::kKept;  // 81
  auto offers = s.send_all(0, 100);
  for (int i = 0; i < SlowSubscriber::kKept; ++i)
    EXPECT_EQ(offers[i], SendQueue::Offer::kQueued) << i;
  for (int i = SlowSubscriber::kKept; i < 100; ++i)
    EXPECT_EQ(offers[i], SendQueue::Offer::kDroppedOldest) << i;
  EXPECT_EQ(s.p.client_events.on(s.id).size(), std::size_t{SlowSubscriber::kSent});
  auto st = s.p.server.stream_stats(s.id);
  EXPECT_EQ(st->send_window, 0);
  EXPECT_EQ(st->queued_messages, 10u);
  EXPECT_EQ(st->queued_bytes, 10u * 1024);
  EXPECT_EQ(st->dropped, std::uint64_t{kDropped});

  s.catch_up();
  auto got = s.p.client_events.on(s.id);
  ASSERT_EQ(got.size(), std::size_t{SlowSubscriber::kKept});
  // 0..8 went out (or were about to), 9..89 were dropped, 90..99 were the newest ten.
  std::uint64_t gaps = 0;
  for (std::size_t k = 0; k < got.size(); ++k) {
    int n = number_of(got[k].body);
    int want = k < 9 ? static_cast<int>(k) : 90 + static_cast<int>(k - 9);
    EXPECT_EQ(n, want);
    EXPECT_EQ(got[k].gap, n == 90 ? std::uint64_t{kDropped} : 0u) << n;
    EXPECT_EQ(got[k].flags & flag::kGap, n == 90 ? flag::kGap : 0) << n;
    gaps += got[k].gap;
  }
  EXPECT_EQ(gaps, std::uint64_t{kDropped});
  EXPECT_EQ(s.p.client.stream_stats(s.id)->gaps_received, std::uint64_t{kDropped});
  EXPECT_EQ(got.size() + gaps, 100u);
}

TEST(WireSession, DropNewestReportsTheGapAfterTheMessagesKept) {
  SlowSubscriber s(OverflowPolicy::kDropNewest, 25);
  constexpr int kDropped = 100 - SlowSubscriber::kKept;
  auto offers = s.send_all(0, 100);
  for (int i = SlowSubscriber::kKept; i < 100; ++i)
    EXPECT_EQ(offers[i], SendQueue::Offer::kDroppedNewest) << i;
  EXPECT_EQ(s.p.server.stream_stats(s.id)->dropped, std::uint64_t{kDropped});
  s.catch_up();
  auto got = s.p.client_events.on(s.id);
  ASSERT_EQ(got.size(), std::size_t{SlowSubscriber::kKept});
  for (int k = 0; k < SlowSubscriber::kKept; ++k) {
    EXPECT_EQ(number_of(got[k].body), k);
    EXPECT_EQ(got[k].gap, 0u) << k;  // 19..99 were dropped after these
  }
  // The next message announces the refused ones, which came just before it.
  s.send_all(100, 101);
  got = s.p.client_events.on(s.id);
  ASSERT_EQ(got.size(), std::size_t{SlowSubscriber::kKept} + 1);
  EXPECT_EQ(number_of(got.back().body), 100);
  EXPECT_EQ(got.back().gap, std::uint64_t{kDropped});
}

TEST(WireSession, DisconnectPolicyResetsTheSlowConsumer) {
  SlowSubscriber s(OverflowPolicy::kDisconnect, 26);
  auto offers = s.send_all(0, SlowSubscriber::kKept + 1);
  for (int i = 0; i < SlowSubscriber::kKept; ++i)
    EXPECT_EQ(offers[i], SendQueue::Offer::kQueued) << i;
  EXPECT_EQ(offers.back(), SendQueue::Offer::kDisconnect);
  EXPECT_FALSE(s.p.server.has_stream(s.id));
  ASSERT_EQ(s.p.server_events.resets.size(), 1u);
  EXPECT_EQ(s.p.server_events.resets[0].code, ErrorCode::kSlowConsumer);
  EXPECT_FALSE(s.p.server_events.resets[0].by_peer);
  ASSERT_EQ(s.p.client_events.resets.size(), 1u);
  EXPECT_EQ(s.p.client_events.resets[0].stream, s.id);
  EXPECT_EQ(s.p.client_events.resets[0].code, ErrorCode::kSlowConsumer);
  EXPECT_TRUE(s.p.client_events.resets[0].by_peer);
  EXPECT_FALSE(s.p.client.has_stream(s.id));
  EXPECT_EQ(s.p.server.send(s.id, copy_message("gone")), SendQueue::Offer::kDroppedNewest);
  s.catch_up();  // credit for the messages already received still flows
  EXPECT_EQ(s.p.client_events.on(s.id).size(), std::size_t{SlowSubscriber::kSent});
  EXPECT_TRUE(s.p.server.established());
  EXPECT_TRUE(s.p.client.established());
}

TEST(WireSession, BlockPolicyGoesOverLimitAndDrains) {
  SlowSubscriber s(OverflowPolicy::kBlock, 27);
  auto offers = s.send_all(0, 30);
  for (int i = 0; i < SlowSubscriber::kKept; ++i)
    EXPECT_EQ(offers[i], SendQueue::Offer::kQueued) << i;
  for (int i = SlowSubscriber::kKept; i < 30; ++i)
    EXPECT_EQ(offers[i], SendQueue::Offer::kQueuedOverLimit) << i;
  EXPECT_EQ(s.p.server.stream_stats(s.id)->queued_messages, 21u);
  EXPECT_TRUE(s.p.server_events.drained.empty());
  s.catch_up();
  auto got = s.p.client_events.on(s.id);
  ASSERT_EQ(got.size(), 30u);
  for (int k = 0; k < 30; ++k) {
    EXPECT_EQ(number_of(got[k].body), k);
    EXPECT_EQ(got[k].gap, 0u);
  }
  EXPECT_EQ(s.p.server_events.drained, std::vector<std::uint32_t>{s.id});
  EXPECT_EQ(s.p.server.stream_stats(s.id)->dropped, 0u);
}

TEST(WireSession, BlockPolicyTrimmedAfterTheStall) {
  SlowSubscriber s(OverflowPolicy::kBlock, 28);
  s.send_all(0, 30);
  s.p.server.trim_queue(s.id);  // the owner's stall timer expired: drop-oldest to the limits
  EXPECT_EQ(s.p.server.stream_stats(s.id)->queued_messages, 10u);
  EXPECT_EQ(s.p.server.stream_stats(s.id)->dropped, 11u);  // 9..19
  s.catch_up();
  auto got = s.p.client_events.on(s.id);
  ASSERT_EQ(got.size(), 19u);
  EXPECT_EQ(number_of(got[8].body), 8);
  EXPECT_EQ(got[8].gap, 0u);
  EXPECT_EQ(number_of(got[9].body), 20);
  EXPECT_EQ(got[9].gap, 11u);
  EXPECT_EQ(number_of(got.back().body), 29);
  EXPECT_TRUE(s.p.server_events.drained.empty());
}

// --------------------------------------------------------------------------- time, keepalive

TEST(WireSession, KeepaliveHoldsTheLeaseAndSilenceExpiresIt) {
  Pair p({}, {}, 29);
  p.handshake();
  for (int i = 0; i < 120; ++i) {  // two minutes of an idle but healthy connection
    p.clock.advance(1s);
    p.net.fire_timers();
    p.net.pump();
  }
  EXPECT_TRUE(p.client.established());
  EXPECT_TRUE(p.server.established());
  EXPECT_TRUE(p.client.rtt());
  EXPECT_TRUE(p.server.rtt());

  // The client goes silent (its writes no longer arrive).
  p.net.hold(kClientEnd, true);
  const MonoTime silent_since = p.clock.mono_now();
  while (!p.server.closing() && p.clock.mono_now() - silent_since < 60s) {
    p.clock.advance(1s);
    p.net.fire_timers();
    p.net.pump();
  }
  ASSERT_TRUE(p.server.closing());
  EXPECT_GE(p.clock.mono_now() - silent_since, 29s);
  EXPECT_LE(p.clock.mono_now() - silent_since, 31s);
  ASSERT_EQ(p.server_events.closed.size(), 1u);
  EXPECT_EQ(p.server_events.closed[0].code, ErrorCode::kLeaseExpired);
  EXPECT_FALSE(p.server_events.closed[0].by_peer);
  ASSERT_EQ(p.client_events.closed.size(), 1u);
  EXPECT_EQ(p.client_events.closed[0].code, ErrorCode::kLeaseExpired);
  EXPECT_TRUE(p.client_events.closed[0].by_peer);
}

TEST(WireSession, LeaseExpiresWithoutAnyTraffic) {
  Pair p({}, {}, 30);
  p.handshake();
  p.clock.advance(30s);  // no timers ran in between, nothing was received
  p.server.on_timer(p.clock.mono_now());
  ASSERT_EQ(p.server_events.closed.size(), 1u);
  EXPECT_EQ(p.server_events.closed[0].code, ErrorCode::kLeaseExpired);
  p.net.pump();
  ASSERT_EQ(p.client_events.closed.size(), 1u);
  EXPECT_EQ(p.client_events.closed[0].code, ErrorCode::kLeaseExpired);
  EXPECT_TRUE(p.client_events.closed[0].by_peer);
}

TEST(WireSession, PingPongMeasuresRoundTripTime) {
  Pair p({}, {}, 31);
  p.handshake();
  EXPECT_FALSE(p.client.rtt());
  p.clock.advance(5s);
  EXPECT_EQ(p.client.next_deadline(), p.clock.mono_now());
  p.client.on_timer(p.clock.mono_now());
  EXPECT_TRUE(p.client.wants_write());
  ASSERT_TRUE(p.net.flush(kClientEnd));  // PING
  p.clock.advance(3ms);
  p.net.deliver(kClientEnd);
  ASSERT_TRUE(p.net.flush(kServerEnd));  // PONG
  p.clock.advance(4ms);
  p.net.deliver(kServerEnd);
  ASSERT_TRUE(p.client.rtt());
  EXPECT_EQ(*p.client.rtt(), 7ms);
  // Only the answer to the outstanding PING counts.
  Raw c(Side::kClient);
  c.welcome();
  c.send(encode_frame(FrameType::kPong, 0, 0, std::string(8, 'z')));
  EXPECT_FALSE(c.session.rtt());
  // A PING of the wrong size is a protocol error.
  EXPECT_EQ(goaway_code(c.send(encode_frame(FrameType::kPing, 0, 0, "short"))),
            ErrorCode::kProtocol);
}

// ------------------------------------------------------------------------------------ garbage

TEST(WireSession, GarbageBytesEndInGoawayNeverACrash) {
  {
    Raw s(Side::kServer);
    EXPECT_EQ(goaway_code(s.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
              ErrorCode::kUnsupportedVersion);
  }
  {
    Raw s(Side::kServer);
    EXPECT_EQ(goaway_code(s.send(std::string(64, '\xff'))), ErrorCode::kUnsupportedVersion);
  }
  {
    Raw s(Side::kServer);
    s.hello();
    EXPECT_EQ(goaway_code(s.send(std::string("\x01\x00", 2) + std::string(10, '\0'))),
              ErrorCode::kProtocol);  // frame type 0
  }
  std::mt19937_64 rng(32);
  for (int round = 0; round < 600; ++round) {
    const bool server = round % 2 == 0;
    Raw s(server ? Side::kServer : Side::kClient);
    std::string bytes;
    if (round % 4 >= 2) {  // get past the handshake first
      if (server) {
        bytes = hello_frame() + open_frame(1, publish("a"));
      } else {
        Welcome w;
        bytes = encode_frame(FrameType::kWelcome, 0, 0, encode(w)) + open_frame(2, subscribe("b"));
      }
    }
    std::string junk(rng() % 3000, '\0');
    for (auto& c : junk)
      c = static_cast<char>(rng());
    if (!junk.empty() && rng() % 2) junk[0] = 1;  // a plausible version
    if (junk.size() > 1 && rng() % 2) junk[1] = static_cast<char>(1 + rng() % kMaxFrameType);
    bytes += junk;
    auto out = s.send(bytes, 1 + rng() % 100);
    if (s.session.closing()) {
      ASSERT_EQ(s.events.closed.size(), 1u) << round;
      if (!s.events.closed[0].by_peer) {
        auto g = sluice::testing::find_goaway(out);
        ASSERT_TRUE(g) << round;
        EXPECT_EQ(g->code, s.events.closed[0].code) << round;
      }
      EXPECT_TRUE(s.session.done());
    }
    s.clock.advance(90s);
    s.session.on_timer(s.clock.mono_now());
    s.send(junk);
  }
}

}  // namespace
}  // namespace sluice::wire
