// The relay over real TCP: an in-process App (tests/integration/app_fixture.hpp) and the C++
// wire client (client::Session). Pub/sub with exact content and order, wildcards, acknowledged
// sends, request/reply, the four overflow policies against a deliberately slow subscriber, last
// values, the registry and hub integration, hostile bytes on a raw socket, and reconnection.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "app_fixture.hpp"
#include "client/client.hpp"
#include "client/wire_session.hpp"
#include "eventually.hpp"
#include "relay/relay.hpp"
#include "wire/frame.hpp"
#include "wire_test_helpers.hpp"

namespace sluice {
namespace {

namespace json = boost::json;
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

// "m<index>:" padded with 'x' to `size` bytes, so content and order can be checked exactly.
std::string payload(std::size_t index, std::size_t size = 0) {
  std::string s = "m" + std::to_string(index) + ":";
  if (s.size() < size) s.append(size - s.size(), 'x');
  return s;
}
std::size_t index_of(const std::string& data) {
  return std::stoul(data.substr(1, data.find(':') - 1));
}

// Messages of a callback subscription (the handler runs on the session's I/O thread).
class Inbox {
 public:
  std::function<void(const Message&)> handler() {
    return [this](const Message& m) {
      std::lock_guard lock(mutex_);
      messages_.push_back(m);
      cv_.notify_all();
    };
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
  }
  // Until a message with sequence >= `sequence` arrived (gaps count toward sequences).
  bool wait_for_sequence(std::uint64_t sequence, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(
        lock, timeout, [&] { return !messages_.empty() && messages_.back().sequence >= sequence; });
  }
  std::vector<Message> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Message> messages_;
};

// Joins a thread on every exit path, after `stop` (which must make it finish).
class JoinGuard {
 public:
  JoinGuard(std::thread& thread, std::function<void()> stop)
      : thread_(thread), stop_(std::move(stop)) {}
  ~JoinGuard() {
    if (!thread_.joinable()) return;
    stop_();
    thread_.join();
  }

 private:
  std::thread& thread_;
  std::function<void()> stop_;
};

class RelayTest : public ::testing::Test {
 protected:
  client::WireOptions options() const {
    client::WireOptions o;
    o.host = "127.0.0.1";
    o.port = daemon_.wire_port();
    o.client_name = "relay-test";
    o.reconnect = false;
    o.connect_timeout = 3s;
    return o;
  }
  // A session whose receive windows are small, so the server must queue for it.
  client::WireOptions small_window(std::uint32_t bytes = 128 * 1024) const {
    auto o = options();
    o.settings.stream_window = bytes;
    o.settings.connection_window = std::max<std::uint32_t>(bytes, 128 * 1024);
    return o;
  }
  SessionPtr connect(std::optional<client::WireOptions> o = std::nullopt) {
    auto s = Session::connect(o ? *o : options());
    EXPECT_TRUE(s) << (s ? "" : s.error().detail);
    return s ? *s : nullptr;
  }
  Stream subscribe(Session& s, std::string_view pattern, client::SubscribeOptions so = {}) {
    auto r = s.subscribe(pattern, so);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? *r : Stream();
  }
  Stream publish(Session& s, std::string_view channel, client::PublishOptions po = {}) {
    auto r = s.publish(channel, po);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? *r : Stream();
  }
  // The server handles one session's frames in order: once it has answered a request sent after
  // an OPEN, that subscription is in place. (Nobody answers "_sync.barrier": 503, at once.)
  static void sync(Session& s) {
    auto r = s.request("_sync.barrier", "", 5s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().status, 503) << r.error().detail;
  }
  static std::size_t acked(Stream& p, std::string_view data) {
    auto r = p.send_acked(data);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? *r : 999;
  }

  json::value get_json(const std::string& target) {
    auto r = http_.request_json("GET", target);
    EXPECT_TRUE(r) << target << ": " << (r ? "" : r.error().detail);
    return r ? *r : json::value(nullptr);
  }
  // GET /channels/{name}: the channel object, or nullopt on 404.
  std::optional<json::object> channel_info(const std::string& name) {
    auto r = http_.request_json("GET", "/channels/" + name);
    if (!r) return std::nullopt;
    return r->as_object();
  }
  // The relay's counters as of its last tick (at most 5 ms old).
  relay::RelayStats relay_stats() { return daemon_.app().relay().published_stats(); }
  std::optional<client::StreamView> registry_stream(const std::string& name) {
    auto list = http_.list_streams();
    EXPECT_TRUE(list) << (list ? "" : list.error().detail);
    if (!list) return std::nullopt;
    for (const auto& v : *list) {
      if (v.stream.name == name) return v;
    }
    return std::nullopt;
  }

  testing::InProcessDaemon daemon_{30s, 5000ms};
  client::Client http_{daemon_.url()};
};

// ------------------------------------------------------------------------- 1. pub/sub

// What a subscription received, for failure messages: count, gaps, the first gap.
std::string describe(const std::vector<Message>& got, std::size_t expected) {
  std::uint64_t gaps = 0, gap_messages = 0;
  std::string first;
  for (const auto& m : got) {
    if (!m.gap) continue;
    gaps += m.gap;
    if (!gap_messages++) {
      first = "; first gap: " + std::to_string(m.gap) + " dropped before \"" + m.data + "\"";
    }
  }
  return "received " + std::to_string(got.size()) + " of " + std::to_string(expected) + ", " +
         std::to_string(gap_messages) + " message(s) with GAP totalling " + std::to_string(gaps) +
         first;
}

// Blocking receive() until `count` messages, a message with sequence >= count, or 5 s of quiet.
std::vector<Message> receive_all(Stream& s, std::size_t count) {
  std::vector<Message> got;
  while (got.size() < count) {
    auto m = s.receive(5s);
    if (!m) break;
    got.push_back(std::move(*m));
    if (got.back().sequence >= count) break;
  }
  return got;
}

// Both subscribers keep up (one drains with receive(), one with a callback) and use the default
// buffer (4096 messages, drop-oldest); their 4 MiB windows are far larger than the ~220 KB sent.
TEST_F(RelayTest, TenThousandMessagesArriveInOrderAtTwoSubscribers) {
  constexpr std::size_t kCount = 10'000;
  Inbox inbox;  // before the sessions: their I/O threads call into it until they close
  auto a = connect(), b = connect(), pub = connect();
  ASSERT_TRUE(a && b && pub);
  Stream blocking = subscribe(*a, "orders.feed");
  auto cb = b->subscribe("orders.feed", inbox.handler());
  ASSERT_TRUE(cb);
  sync(*a);
  sync(*b);

  Stream p = publish(*pub, "orders.feed");
  for (std::size_t i = 0; i < kCount; ++i)
    ASSERT_TRUE(p.send("order-" + std::to_string(i)));

  auto check = [&](const char* who, const std::vector<Message>& got) {
    EXPECT_EQ(got.size(), kCount) << who << ": " << describe(got, kCount);
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i].data != "order-" + std::to_string(i) || got[i].sequence != i + 1 ||
          got[i].gap != 0 || got[i].channel != "orders.feed") {
        ADD_FAILURE() << who << ": message " << i << " is \"" << got[i].data << "\" (sequence "
                      << got[i].sequence << ", gap " << got[i].gap << ") on " << got[i].channel;
        break;
      }
    }
  };
  check("receive() subscriber", receive_all(blocking, kCount));
  EXPECT_FALSE(blocking.receive(100ms)) << "more messages than were published";
  EXPECT_TRUE(inbox.wait_for_sequence(kCount, 10s));
  check("callback subscriber", inbox.messages());
}

// The same burst with a buffer large enough to hold it: nothing is lost. (Together with the test
// above: losses come from the burst size against buffer_messages, not from a slow subscriber.)
TEST_F(RelayTest, TenThousandMessagesWithABufferLargerThanTheBurst) {
  constexpr std::size_t kCount = 10'000;
  auto a = connect(), pub = connect();
  ASSERT_TRUE(a && pub);
  client::SubscribeOptions so;
  so.buffer.max_messages = 100'000;
  Stream blocking = subscribe(*a, "orders.big", so);
  sync(*a);
  Stream p = publish(*pub, "orders.big");
  for (std::size_t i = 0; i < kCount; ++i)
    ASSERT_TRUE(p.send("order-" + std::to_string(i)));
  auto got = receive_all(blocking, kCount);
  ASSERT_EQ(got.size(), kCount) << describe(got, kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(got[i].data, "order-" + std::to_string(i));
    ASSERT_EQ(got[i].sequence, i + 1);
  }
  EXPECT_EQ(blocking.statistics().gaps, 0u);
}

// `block` stalls the publishers a subscriber hears: one channel's at most, never everyone's
// through a wildcard (issue 12: one anonymous `block` subscriber on `>` stalled every publisher).
TEST_F(RelayTest, BlockOnAWildcardIsRefusedAndStallsNoOne) {
  auto a = connect(), pub = connect();
  ASSERT_TRUE(a && pub);
  client::SubscribeOptions so;
  so.buffer.policy = wire::OverflowPolicy::kBlock;
  so.buffer.max_messages = 1;
  auto r = a->subscribe(">", so);
  if (r) {  // refused by a reset after the OPEN: the stream closes without a message
    EXPECT_FALSE(r->receive(3s)) << "a block subscription on '>' received a message";
    EXPECT_TRUE(eventually([&] { return !r->active(); }, 3s)) << "still open";
  }
  // Publishers elsewhere run at full speed: every acked send comes back.
  Stream p = publish(*pub, "orders.free");
  for (int i = 0; i < 100; ++i)
    ASSERT_LT(acked(p, "x"), 999u);
}

TEST_F(RelayTest, WildcardSubscriptionsGetTheRightChannels) {
  auto subs = connect(), pub = connect();
  ASSERT_TRUE(subs && pub);
  Stream star = subscribe(*subs, "sensors.*");
  Stream deep = subscribe(*subs, "sensors.>");
  Stream exact = subscribe(*subs, "sensors.a");
  Stream other = subscribe(*subs, "weather.today");
  sync(*subs);

  Stream a = publish(*pub, "sensors.a");
  Stream bc = publish(*pub, "sensors.b.c");
  Stream bare = publish(*pub, "sensors");
  Stream weather = publish(*pub, "weather.tomorrow");
  EXPECT_EQ(acked(a, "A"), 3u);  // sensors.*, sensors.> and sensors.a
  EXPECT_EQ(acked(bc, "BC"), 1u);
  EXPECT_EQ(acked(bare, "S"), 0u);  // '>' needs at least one more token
  EXPECT_EQ(acked(weather, "W"), 0u);

  using Seen = std::set<std::pair<std::string, std::string>>;
  auto seen = [](Stream& s, std::size_t expected) {
    Seen out;
    for (std::size_t i = 0; i < expected; ++i) {
      auto m = s.receive(5s);
      if (!m) break;
      out.emplace(m->channel, m->data);
    }
    if (auto extra = s.receive(150ms)) out.emplace("UNEXPECTED " + extra->channel, extra->data);
    return out;
  };
  EXPECT_EQ(seen(star, 1), (Seen{{"sensors.a", "A"}}));
  EXPECT_EQ(seen(deep, 2), (Seen{{"sensors.a", "A"}, {"sensors.b.c", "BC"}}));
  EXPECT_EQ(seen(exact, 1), (Seen{{"sensors.a", "A"}}));
  EXPECT_EQ(seen(other, 0), Seen{});
}

TEST_F(RelayTest, LargeMessagesAreFragmentedAndReassembledExactly) {
  auto sub_session = connect(), pub = connect();
  ASSERT_TRUE(sub_session && pub);
  Stream s = subscribe(*sub_session, "files.>");
  sync(*sub_session);
  Stream p = publish(*pub, "files.blob");
  std::vector<std::string> blobs;
  for (std::size_t size :
       {std::size_t(64 * 1024 + 1), std::size_t(1) << 20, std::size_t(3) << 20}) {
    std::string blob(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
      blob[i] = static_cast<char>((i * 131 + size) & 0xff);
    blobs.push_back(std::move(blob));
  }
  for (const auto& b : blobs)
    ASSERT_TRUE(p.send_all(b));
  EXPECT_EQ(acked(p, "end"), 1u);
  for (const auto& b : blobs) {
    auto m = s.receive(5s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data.size(), b.size());
    EXPECT_TRUE(m->data == b) << "a " << b.size() << "-byte message arrived altered";
    EXPECT_EQ(m->channel, "files.blob");
    EXPECT_EQ(m->gap, 0u);
  }
  auto end = s.receive(3s);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->data, "end");
}

// A subscriber that announced a small max_message is not sent larger messages: they count as
// drops, reported as a gap on the next message, and the subscription stays open.
TEST_F(RelayTest, MessagesAboveTheSubscribersMaxMessageBecomeAGap) {
  auto o = options();
  o.settings.max_message = 1024;
  auto small = connect(o), pub = connect();
  ASSERT_TRUE(small && pub);
  Stream s = subscribe(*small, "sizes.demo");
  sync(*small);
  Stream p = publish(*pub, "sizes.demo");
  EXPECT_EQ(acked(p, "small one"), 1u);
  EXPECT_EQ(acked(p, std::string(4096, 'B')), 0u) << "the too-large message was not refused";
  EXPECT_EQ(acked(p, "small two"), 1u);
  auto first = s.receive(3s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->data, "small one");
  auto second = s.receive(3s);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->data, "small two");
  EXPECT_EQ(second->gap, 1u);
  EXPECT_EQ(second->sequence, 3u);
  EXPECT_TRUE(s.active());
}

// send() only queues. Stream::close() promises that "what was sent before close() goes out
// first"; closing the stream and then the session right away (what `sluice pub ch -` does after
// reading stdin) must still deliver every message that send() accepted.
TEST_F(RelayTest, MessagesSentJustBeforeCloseAreDelivered) {
  constexpr std::size_t kCount = 500, kSize = 1024;
  Inbox inbox;
  auto sub_session = connect();
  ASSERT_TRUE(sub_session);
  auto s = sub_session->subscribe("closing.feed", inbox.handler());
  ASSERT_TRUE(s);
  sync(*sub_session);
  {
    auto pub = connect();
    ASSERT_TRUE(pub);
    Stream p = publish(*pub, "closing.feed");
    for (std::size_t i = 0; i < kCount; ++i)
      ASSERT_TRUE(p.send(payload(i, kSize)));
    p.close();
    pub->close();
  }
  inbox.wait_for(kCount, 2s);
  auto got = inbox.messages();
  EXPECT_EQ(got.size(), kCount) << describe(got, kCount)
                                << " (messages accepted by send() were lost at close())";
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i].data, payload(i, kSize));
}

// The server refuses an invalid channel with RESET `invalid` and a reason. Once that arrived, the
// stream's calls must fail with that reason, not as if the session were down.
TEST_F(RelayTest, RefusedStreamReportsTheServersReason) {
  auto session = connect();
  ASSERT_TRUE(session);
  Stream p = publish(*session, "not a channel");
  ASSERT_TRUE(eventually([&] { return !p.active(); })) << "the server accepted 'not a channel'";
  EXPECT_TRUE(session->connected());
  auto acked_send = p.send_acked("hi");
  ASSERT_FALSE(acked_send);
  EXPECT_NE(acked_send.error().status, 503) << "the session is up; the stream was refused";
  EXPECT_NE(acked_send.error().detail.find("channel"), std::string::npos)
      << "send_acked: \"" << acked_send.error().detail << "\" does not say why";
  auto plain_send = p.send("hi");
  ASSERT_FALSE(plain_send);
  EXPECT_NE(plain_send.error().detail.find("channel"), std::string::npos)
      << "send: \"" << plain_send.error().detail << "\" does not say why";
}

// ------------------------------------------------------------------------- 2. send_acked

TEST_F(RelayTest, SendAckedReturnsTheNumberOfSubscribers) {
  auto pub = connect(), s1 = connect(), s2 = connect();
  ASSERT_TRUE(pub && s1 && s2);
  Stream p = publish(*pub, "acks.demo");
  EXPECT_EQ(acked(p, "nobody"), 0u);

  Stream first = subscribe(*s1, "acks.demo");
  sync(*s1);
  EXPECT_EQ(acked(p, "one"), 1u);

  Stream second = subscribe(*s2, "acks.>");
  sync(*s2);
  EXPECT_EQ(acked(p, "two"), 2u);

  first.close();
  EXPECT_TRUE(eventually([&] { return acked(p, "after-close") == 1u; }))
      << "a closed subscription still counts";
  auto m = first.receive(50ms);  // closed: buffered messages only, then nothing
  while (m)
    m = first.receive(50ms);
  EXPECT_FALSE(first.active());
  auto m2 = second.receive(2s);
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->data, "two");
}

// ------------------------------------------------------------------------- 3. request/reply

TEST_F(RelayTest, RequestReplyAcrossSessions) {
  auto responder = connect(), requester = connect();
  ASSERT_TRUE(responder && requester);
  std::atomic<int> answered{0};
  auto echo = responder->respond("svc.echo", [&](const Message& m) {
    ++answered;
    return "echo:" + m.data;
  });
  ASSERT_TRUE(echo);
  sync(*responder);
  for (int i = 0; i < 50; ++i) {
    auto r = requester->request("svc.echo", "hello " + std::to_string(i), 2s);
    ASSERT_TRUE(r) << "request " << i << ": " << r.error().status << " " << r.error().detail;
    EXPECT_EQ(*r, "echo:hello " + std::to_string(i));
  }
  EXPECT_EQ(answered.load(), 50);
}

TEST_F(RelayTest, RequestWithoutResponderFailsFastWith503) {
  auto requester = connect();
  ASSERT_TRUE(requester);
  // A plain (non-responder) subscriber does not make a request look answered.
  auto watcher = connect();
  ASSERT_TRUE(watcher);
  Stream w = subscribe(*watcher, "svc.nobody");
  sync(*watcher);
  const auto start = Clock::now();
  auto r = requester->request("svc.nobody", "anyone?", 3s);
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 503) << r.error().detail;
  EXPECT_LT(took, 1s) << "no responder should fail at once, not after the timeout";
}

TEST_F(RelayTest, SilentResponderTimesOutWith504) {
  auto silent = connect(), requester = connect();
  ASSERT_TRUE(silent && requester);
  client::SubscribeOptions so;
  so.responder = true;
  Stream s = subscribe(*silent, "svc.silent", so);  // receives requests, never replies
  sync(*silent);
  const auto start = Clock::now();
  auto r = requester->request("svc.silent", "are you there?", 400ms);
  const auto took = Clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 504) << r.error().detail;
  EXPECT_GE(took, 350ms);
  EXPECT_LT(took, 2s);
  auto req = s.receive(2s);
  ASSERT_TRUE(req) << "the responder never saw the request";
  EXPECT_EQ(req->data, "are you there?");
  EXPECT_NE(req->reply_token, 0u);
  // A late answer is harmless, and the requester's session still works.
  EXPECT_TRUE(s.reply(req->reply_token, "too late"));
  auto echo = silent->respond("svc.late", [](const Message& m) { return m.data; });
  ASSERT_TRUE(echo);
  sync(*silent);
  auto again = requester->request("svc.late", "ping", 2s);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_EQ(*again, "ping");
}

// ------------------------------------------------------------------------- 4. overflow

// Publishes the indexed messages [from, count) of `size` bytes; the last one acknowledged, so
// every message has been offered to every subscriber when this returns. Returns the last ack.
std::size_t publish_indexed(Stream& p, std::size_t count, std::size_t size, std::size_t from = 0) {
  for (std::size_t i = from; i + 1 < count; ++i) {
    if (!p.send(payload(i, size))) return 999;
  }
  auto r = p.send_acked(payload(count - 1, size), 10s);
  EXPECT_TRUE(r) << (r ? "" : r.error().detail);
  return r ? *r : 999;
}

TEST_F(RelayTest, DropOldestKeepsTheNewestAndReportsTheGap) {
  constexpr std::size_t kCount = 5000, kSize = 100;
  auto slow = connect(small_window()), pub = connect();
  ASSERT_TRUE(slow && pub);
  client::SubscribeOptions so;
  so.buffer.max_messages = 10;
  so.buffer.policy = wire::OverflowPolicy::kDropOldest;
  Stream sub = subscribe(*slow, "flow.oldest", so);
  sync(*slow);
  client::PublishOptions po;
  po.advertise = false;
  Stream p = publish(*pub, "flow.oldest", po);
  EXPECT_EQ(publish_indexed(p, kCount, kSize), 1u);  // drop-oldest still takes the message

  // Only now does the subscriber read, up to the newest message: drop-oldest always keeps it, so
  // when it arrives everything kept has arrived (no waiting for a quiet period).
  std::vector<Message> got;
  while (got.empty() || index_of(got.back().data) != kCount - 1) {
    auto m = sub.receive(5s);
    ASSERT_TRUE(m) << "the newest message never arrived; " << describe(got, kCount);
    got.push_back(std::move(*m));
  }
  EXPECT_FALSE(sub.receive(50ms)) << "a message arrived after the newest one";
  ASSERT_LT(got.size(), kCount) << "nothing was dropped: the server did not have to queue";
  std::uint64_t gaps = 0;
  std::size_t gap_messages = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto idx = index_of(got[i].data);
    EXPECT_EQ(got[i].data, payload(idx, kSize));
    EXPECT_EQ(got[i].sequence, idx + 1) << "sequence numbers must count the dropped messages";
    if (i > 0) {
      EXPECT_EQ(idx, index_of(got[i - 1].data) + 1 + got[i].gap)
          << "the gap before message " << idx << " does not match what is missing";
    }
    gaps += got[i].gap;
    gap_messages += got[i].gap ? 1 : 0;
  }
  EXPECT_GE(gap_messages, 1u);
  EXPECT_EQ(gaps + got.size(), kCount) << "received + reported gaps must be everything";
  // The channel counts its subscribers' drops (an overflow may displace several at once).
  const auto dropped = get_json("/channels/flow.oldest").at("dropped").to_number<std::uint64_t>();
  EXPECT_GE(dropped, 1u);
  EXPECT_LE(dropped, gaps);
  EXPECT_EQ(got.front().sequence, index_of(got.front().data) + 1);
  EXPECT_EQ(got.front().gap, index_of(got.front().data));
  // The newest messages survived: the last ten are all there.
  ASSERT_GE(got.size(), 10u);
  for (std::size_t k = 0; k < 10; ++k)
    EXPECT_EQ(index_of(got[got.size() - 10 + k].data), kCount - 10 + k);
  EXPECT_EQ(sub.statistics().gaps, gaps);
}

// The subscriber reads nothing until the publisher is done, and its stream window (1024 bytes,
// the smallest allowed) holds ten of these messages. Once the server has used that window up,
// which the subscriber sees as its receive window running out, nothing can leave the server's
// queue: the next messages fill it and it stays full, so the last message is refused however the
// server's reads happen to split the publisher's bytes. (With a window of a thousand messages,
// whether the queue was still full at the end depended on that split.)
TEST_F(RelayTest, DropNewestKeepsTheFirstAndReportsTheGapOnTheNextMessage) {
  constexpr std::size_t kCount = 5000, kSize = 100, kFirst = 100;
  auto slow = connect(small_window(1024)), pub = connect();
  ASSERT_TRUE(slow && pub);
  client::SubscribeOptions so;
  so.buffer.max_messages = 10;
  so.buffer.policy = wire::OverflowPolicy::kDropNewest;
  Stream sub = subscribe(*slow, "flow.newest", so);
  sync(*slow);
  client::PublishOptions po;
  po.advertise = false;
  Stream p = publish(*pub, "flow.newest", po);
  for (std::size_t i = 0; i < kFirst; ++i)
    ASSERT_TRUE(p.send(payload(i, kSize)));
  ASSERT_TRUE(eventually([&] { return sub.statistics().receive_window < std::int64_t(kSize); }))
      << "the server never used up the subscriber's window";
  // Thousands more than the queue (10) plus the message being sent: the queue is full and stays.
  EXPECT_EQ(publish_indexed(p, kCount, kSize, kFirst), 0u)
      << "the full subscriber refused the last one";

  // Every message has been offered (the last one was acknowledged) and drop-newest refusals are
  // counted one by one: the relay's counters say how many were kept, and the subscriber reads
  // exactly those (no waiting for a quiet period).
  relay::RelayStats stats;
  auto all_offered = [&] {
    stats = relay_stats();
    return stats.messages_out >= kCount;
  };
  ASSERT_TRUE(eventually(all_offered)) << "the relay counted " << stats.messages_out << " offers";
  ASSERT_EQ(stats.messages_out, kCount) << "only this subscription receives messages";
  const std::size_t kept = kCount - stats.dropped;
  std::vector<Message> got;
  while (got.size() < kept) {
    auto m = sub.receive(5s);
    ASSERT_TRUE(m) << "the relay kept " << kept << "; " << describe(got, kCount);
    got.push_back(std::move(*m));
  }
  ASSERT_GE(got.size(), 10u);
  ASSERT_LT(got.size(), kCount) << "nothing was dropped: the server did not have to queue";
  // The queue starts empty and drop-newest never evicts: the first ten are always kept.
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(got[i].data, payload(i, kSize)) << "drop-newest must keep the first messages";
    EXPECT_EQ(got[i].gap, 0u);
  }
  std::uint64_t gaps = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto idx = index_of(got[i].data);
    EXPECT_EQ(got[i].data, payload(idx, kSize));
    EXPECT_EQ(got[i].sequence, idx + 1) << "sequence numbers must count the dropped messages";
    if (i > 0) {
      EXPECT_EQ(idx, index_of(got[i - 1].data) + 1 + got[i].gap)
          << "the gap before message " << idx << " does not match what is missing";
    }
    gaps += got[i].gap;
  }
  const std::size_t last = index_of(got.back().data);
  EXPECT_LT(last, kCount - 1) << "the newest message should have been refused";
  // The refusals after the last accepted message are reported by the next one that gets in.
  EXPECT_EQ(acked(p, "marker"), 1u);
  auto marker = sub.receive(5s);
  ASSERT_TRUE(marker) << "the marker after the drops never arrived";
  EXPECT_EQ(marker->data, "marker");
  EXPECT_EQ(marker->gap, kCount - 1 - last);
  EXPECT_EQ(marker->sequence, kCount + 1);
  EXPECT_EQ(gaps + marker->gap + got.size(), kCount);
  EXPECT_EQ(sub.statistics().gaps, gaps + marker->gap);
}

TEST_F(RelayTest, DisconnectClosesOnlyTheSlowSubscription) {
  constexpr std::size_t kCount = 5000, kSize = 100;
  Inbox inbox;
  auto slow = connect(small_window()), fast = connect(), pub = connect();
  ASSERT_TRUE(slow && fast && pub);
  client::SubscribeOptions so;
  so.buffer.max_messages = 10;
  so.buffer.policy = wire::OverflowPolicy::kDisconnect;
  Stream lagging = subscribe(*slow, "flow.disconnect", so);
  client::SubscribeOptions roomy = so;  // same policy, a buffer that bursts cannot fill
  roomy.buffer.max_messages = 100'000;
  auto keeping_up = fast->subscribe("flow.disconnect", inbox.handler(), roomy);
  ASSERT_TRUE(keeping_up);
  sync(*slow);
  sync(*fast);
  Stream p = publish(*pub, "flow.disconnect");
  publish_indexed(p, kCount, kSize);

  ASSERT_TRUE(inbox.wait_for(kCount, 10s)) << "the fast subscriber got only " << inbox.size();
  auto all = inbox.messages();
  for (std::size_t i = 0; i < kCount; ++i)
    ASSERT_EQ(all[i].data, payload(i, kSize)) << "fast subscriber, message " << i;
  EXPECT_TRUE(keeping_up->active());

  // The slow one gets what was already on its way, then its subscription is closed (receive()
  // returns at once then; 5 s without either means the reset never came).
  std::vector<Message> got;
  while (auto m = lagging.receive(5s))
    got.push_back(std::move(*m));
  EXPECT_LT(got.size(), kCount);
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(got[i].data, payload(i, kSize));
  EXPECT_FALSE(lagging.receive(100ms));
  EXPECT_FALSE(lagging.active()) << "the server should have closed the slow subscription";
  EXPECT_TRUE(slow->connected()) << "only the stream is reset, not the session";
  // The server no longer counts it.
  EXPECT_TRUE(eventually([&] {
    auto c = channel_info("flow.disconnect");
    return c && c->at("subscribers").to_number<int>() == 1;
  })) << json::serialize(get_json("/channels/flow.disconnect"));
}

TEST_F(RelayTest, BlockLosesNothingAndSlowsOnlyThePublisher) {
  // 24 MB: more than the publisher can buffer without credit, however its threads are scheduled:
  // its 4 MiB stream window, its 64 KiB buffer plus one hand-off batch already moved into it
  // (up to 8 MiB), and 8 MiB more waiting in the hand-off. (8 MiB fitted in those when the I/O
  // thread was slow to run, and then send() never blocked.)
  constexpr std::size_t kCount = 24'000, kSize = 1024;
  Inbox inbox;
  auto slow = connect(small_window()), pub = connect();
  ASSERT_TRUE(slow && pub);
  client::SubscribeOptions so;
  so.buffer.max_messages = 10;
  so.buffer.policy = wire::OverflowPolicy::kBlock;
  so.buffer.max_stall = 30s;
  Stream sub = subscribe(*slow, "flow.block", so);
  sync(*slow);
  client::PublishOptions po;
  po.advertise = false;
  po.buffer_bytes = 64 * 1024;
  Stream p = publish(*pub, "flow.block", po);

  std::atomic<std::size_t> sent{0};
  std::atomic<bool> failed{false};
  std::thread publisher([&] {
    for (std::size_t i = 0; i < kCount; ++i) {
      if (!p.send(payload(i, kSize))) {
        failed = true;
        return;
      }
      ++sent;
    }
  });
  JoinGuard guard(publisher, [&] { pub->close(); });  // close() wakes a blocked send()
  // The publisher stalls: the server withholds its credit (its send window runs out and is not
  // replenished), and send() blocks once its own buffer is used.
  EXPECT_TRUE(eventually([&] { return p.statistics().send_window < std::int64_t(kSize); }, 10s))
      << "the server kept granting credit to a publisher whose subscriber is blocked";
  EXPECT_LT(sent.load(), kCount) << "the publisher was not slowed down by the blocked subscriber";

  // Meanwhile other sessions are not affected.
  auto other_pub = connect(), other_sub = connect();
  ASSERT_TRUE(other_pub && other_sub);
  auto os = other_sub->subscribe("flow.other", inbox.handler());
  ASSERT_TRUE(os);
  sync(*other_sub);
  Stream op = publish(*other_pub, "flow.other");
  const auto start = Clock::now();
  EXPECT_EQ(acked(op, "still moving"), 1u);
  EXPECT_TRUE(inbox.wait_for(1, 2s));
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_LT(sent.load(), kCount) << "the slow subscriber has not read yet";

  // Now the subscriber reads: everything, in order, nothing dropped.
  for (std::size_t i = 0; i < kCount; ++i) {
    auto m = sub.receive(5s);
    ASSERT_TRUE(m) << "message " << i << " never arrived (publisher sent " << sent.load() << ")";
    ASSERT_EQ(m->gap, 0u) << "block must not drop (message " << i << ")";
    ASSERT_EQ(m->data, payload(i, kSize));
    ASSERT_EQ(m->sequence, i + 1);
  }
  publisher.join();
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(sent.load(), kCount);
  EXPECT_EQ(sub.statistics().gaps, 0u);
}

// A blocking receive() on a session that announced the smallest allowed window (1024 bytes,
// docs/protocol.md) must keep flowing: receive() has to give the consumed credit back.
TEST_F(RelayTest, BlockingReceiveWithTheMinimumWindowDoesNotStall) {
  constexpr std::size_t kCount = 200, kSize = 50;  // ~12 KiB in total, 12 windows' worth
  auto o = options();
  o.settings.stream_window = 1024;
  o.settings.connection_window = 1024;
  auto slow = connect(o), pub = connect();
  ASSERT_TRUE(slow && pub);
  Stream sub = subscribe(*slow, "flow.tiny");
  sync(*slow);
  Stream p = publish(*pub, "flow.tiny");
  for (std::size_t i = 0; i < kCount; ++i)
    ASSERT_TRUE(p.send(payload(i, kSize)));
  std::size_t received = 0;
  for (; received < kCount; ++received) {
    auto m = sub.receive(3s);
    if (!m) break;
    ASSERT_EQ(m->data, payload(received, kSize));
  }
  EXPECT_EQ(received, kCount) << "receive() stalled after " << received
                              << " messages: the 1024-byte window was never replenished";
}

// ------------------------------------------------------------------------- 5. last value

TEST_F(RelayTest, LateSubscriberGetsTheLastValueFirst) {
  auto pub = connect(), late = connect();
  ASSERT_TRUE(pub && late);
  client::PublishOptions po;
  po.keep_last_value = true;
  Stream p = publish(*pub, "status.door", po);
  EXPECT_EQ(acked(p, "closed"), 0u);
  EXPECT_EQ(acked(p, "open"), 0u);
  EXPECT_EQ(acked(p, "ajar"), 0u);

  client::SubscribeOptions so;
  so.last_value = true;
  Stream s = subscribe(*late, "status.door", so);
  auto first = s.receive(3s);
  ASSERT_TRUE(first) << "no last value";
  EXPECT_EQ(first->data, "ajar");
  EXPECT_EQ(first->channel, "status.door");
  sync(*late);
  EXPECT_EQ(acked(p, "locked"), 1u);
  auto next = s.receive(3s);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->data, "locked");
  EXPECT_FALSE(s.receive(100ms));

  // Without last_value, a late subscriber starts with the next message.
  auto plain_session = connect();
  ASSERT_TRUE(plain_session);
  Stream plain = subscribe(*plain_session, "status.door");
  sync(*plain_session);
  EXPECT_EQ(acked(p, "open again"), 2u);
  auto again = plain.receive(3s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->data, "open again");
}

// ------------------------------------------------------------------------- 6. registry

TEST_F(RelayTest, PublisherAppearsInTheRegistryAndIsWithdrawnOnClose) {
  auto pub = connect(), subscriber = connect();
  ASSERT_TRUE(pub && subscriber);
  client::PublishOptions po;
  po.stream_type = "sensor";
  Stream p = publish(*pub, "demo.temperature", po);

  std::optional<client::StreamView> view;
  ASSERT_TRUE(eventually([&] { return (view = registry_stream("demo.temperature")).has_value(); }))
      << "GET /streams never showed demo.temperature";
  EXPECT_EQ(view->stream.stream_type, "sensor");
  EXPECT_EQ(view->stream.protocol, "sluice");
  EXPECT_EQ(view->stream.address, "127.0.0.1");
  EXPECT_EQ(view->stream.port, daemon_.wire_port());
  auto raw = get_json("/streams/" + view->stream.id);
  EXPECT_EQ(raw.at("name").as_string(), "demo.temperature");

  // GET /channels: owner, counters, subscribers.
  Stream s = subscribe(*subscriber, "demo.*");
  sync(*subscriber);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(acked(p, "21." + std::to_string(i)), 1u);
  auto channels = get_json("/channels");
  ASSERT_TRUE(channels.is_array());
  const json::object* entry = nullptr;
  for (const auto& c : channels.as_array()) {
    if (c.at("name").as_string() == "demo.temperature") entry = &c.as_object();
  }
  ASSERT_NE(entry, nullptr) << json::serialize(channels);
  EXPECT_FALSE(entry->at("owner").as_string().empty());
  EXPECT_NE(entry->at("owner").as_string(), "server");
  EXPECT_EQ(entry->at("message_count").to_number<int>(), 3);
  EXPECT_EQ(entry->at("bytes").to_number<int>(), 3 * 4);
  EXPECT_EQ(entry->at("subscribers").to_number<int>(), 1);
  EXPECT_EQ(entry->at("publishers").to_number<int>(), 1);
  EXPECT_TRUE(entry->at("active").as_bool());
  EXPECT_EQ(entry->at("stream_id").as_string(), view->stream.id);
  auto one = channel_info("demo.temperature");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->at("message_count").to_number<int>(), 3);

  p.close();
  EXPECT_TRUE(eventually([&] { return !registry_stream("demo.temperature"); }))
      << "closing the publisher did not withdraw the stream";
  EXPECT_TRUE(eventually([&] { return !channel_info("demo.temperature"); }))
      << "GET /channels/demo.temperature still answers after the last publisher left";
  auto missing = http_.request_json("GET", "/channels/demo.temperature");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().status, 404);
}

TEST_F(RelayTest, DisconnectingPublisherSessionWithdrawsItsStream) {
  auto pub = connect();
  ASSERT_TRUE(pub);
  client::PublishOptions po;
  po.stream_type = "sensor";
  Stream p = publish(*pub, "demo.humidity", po);
  ASSERT_TRUE(eventually([&] { return registry_stream("demo.humidity").has_value(); }));
  pub->close();  // the whole session goes, without closing the stream first
  EXPECT_TRUE(eventually([&] { return !registry_stream("demo.humidity"); }));
  EXPECT_TRUE(eventually([&] { return !channel_info("demo.humidity"); }));
}

// The relay keeps its registry entries alive by heartbeat. A daemon configured with a short
// stream TTL (stream-ttl accepts 1..86400 s) must not let a connected publisher's stream expire.
TEST(RelayRegistryTtl, ConnectedPublisherOutlivesAShortStreamTtl) {
  testing::InProcessDaemon daemon(1s, 5000ms);
  client::Client http(daemon.url());
  client::WireOptions o;
  o.port = daemon.wire_port();
  o.reconnect = false;
  auto pub = Session::connect(o);
  ASSERT_TRUE(pub);
  auto p = (*pub)->publish("demo.pressure");
  ASSERT_TRUE(p);
  auto listed = [&] {
    auto list = http.list_streams();
    return list && std::any_of(list->begin(), list->end(), [](const client::StreamView& v) {
             return v.stream.name == "demo.pressure";
           });
  };
  ASSERT_TRUE(eventually(listed));
  // A few TTLs later, with the publisher still connected and sending, it must still be there.
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(p->send("1013 hPa"));
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(listed()) << "the relay's stream expired from the registry while its publisher "
                           "was connected (stream TTL 1 s; the relay heartbeats every 10 s)";
}

// ------------------------------------------------------------------------- 7. one hub

TEST_F(RelayTest, WireSubscriberSeesRegistryEventsFromHttp) {
  auto watcher = connect();
  ASSERT_TRUE(watcher);
  Stream events = subscribe(*watcher, "maestra.stream.>");
  sync(*watcher);

  registry::AdvertiseRequest a;
  a.name = "Stage Camera A";
  a.stream_type = "ndi";
  a.publisher_id = "td-workstation-01";
  a.protocol = "ndi";
  a.address = "192.168.1.50";
  a.port = 5960;
  auto advertised = http_.advertise(a);
  ASSERT_TRUE(advertised) << advertised.error().detail;

  std::set<std::string> subjects;
  std::optional<json::object> body;
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline && subjects.size() < 2) {
    auto m = events.receive(500ms);
    if (!m) continue;
    subjects.insert(m->channel);
    if (m->channel == "maestra.stream.advertise") body = json::parse(m->data).as_object();
  }
  EXPECT_TRUE(subjects.contains("maestra.stream.advertise"));
  EXPECT_TRUE(subjects.contains("maestra.stream.advertise.ndi"));
  ASSERT_TRUE(body);
  EXPECT_EQ(body->at("type").as_string(), "stream_advertised");
  EXPECT_EQ(body->at("stream_id").as_string(), advertised->stream.id);
  EXPECT_EQ(body->at("name").as_string(), "Stage Camera A");

  // Withdrawing over HTTP is seen too (maestra.stream.withdraw.<id>).
  ASSERT_TRUE(http_.withdraw(advertised->stream.id));
  bool withdrawn = false;
  while (!withdrawn) {
    auto m = events.receive(3s);
    if (!m) break;
    withdrawn = m->channel == "maestra.stream.withdraw." + advertised->stream.id;
  }
  EXPECT_TRUE(withdrawn) << "no withdraw event for the stream";
}

// ------------------------------------------------------------------------- 8. bad input

// A raw TCP connection to the wire port, for bytes no client library would send.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{0, 200 * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawSocket() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
  }
  // Reads until EOF (true) or `timeout` (false); bytes land in received().
  bool read_until_eof(std::chrono::milliseconds timeout = 3s) {
    const auto deadline = Clock::now() + timeout;
    char buf[4096];
    while (Clock::now() < deadline) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return true;
      if (n > 0) {
        received_.append(buf, std::size_t(n));
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return true;  // ECONNRESET and friends: the server closed too
    }
    return false;
  }
  // Reads until a frame of `type` is complete; returns its payload.
  std::optional<std::string> read_frame(wire::FrameType type,
                                        std::chrono::milliseconds timeout = 3s) {
    const auto deadline = Clock::now() + timeout;
    char buf[4096];
    for (;;) {
      if (auto f = find_frame(type)) return f;
      if (Clock::now() >= deadline) return std::nullopt;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0) return find_frame(type);
      if (n > 0) received_.append(buf, std::size_t(n));
    }
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
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

std::string raw_header(std::uint8_t version, wire::FrameType type, std::uint32_t stream,
                       std::uint32_t length) {
  std::uint8_t h[wire::kHeaderSize];
  wire::encode_header({version, type, 0, stream, length}, h);
  h[0] = version;
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

// The deterministic form of TenThousandMessagesArriveInOrderAtTwoSubscribers. A publisher's
// 10,000 small messages (~22 bytes a frame, ~220 KB) are already waiting in the server's socket
// when it starts reading (HELLO, OPEN and the DATA frames pipelined in one write, as allowed:
// the server handles them in order). Two subscribers are idle and keep up; their windows (4 MiB)
// dwarf the burst. docs/protocol.md: messages wait in a subscription's queue "while the stream's
// window or the socket cannot take them" — neither is the case, so nothing may be dropped.
TEST_F(RelayTest, PipelinedBurstIsNotDroppedForSubscribersThatKeepUp) {
  constexpr std::size_t kCount = 10'000;
  Inbox inbox;
  auto a = connect(), b = connect();
  ASSERT_TRUE(a && b);
  Stream sub = subscribe(*a, "burst.feed");
  auto cb = b->subscribe("burst.feed", inbox.handler());
  ASSERT_TRUE(cb);
  sync(*a);
  sync(*b);

  std::string burst = hello_frame(1);
  burst += wire::encode_frame(wire::FrameType::kOpen, 0, 1,
                              R"({"channel":"burst.feed","role":"publish","advertise":false})");
  for (std::size_t i = 0; i < kCount; ++i)
    burst += wire::encode_frame(wire::FrameType::kData, 0, 1, "order-" + std::to_string(i));
  RawSocket raw(daemon_.wire_port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send(burst));
  ASSERT_TRUE(raw.read_frame(wire::FrameType::kWelcome));

  auto got = receive_all(sub, kCount);
  EXPECT_EQ(got.size(), kCount) << "receive() subscriber: " << describe(got, kCount);
  EXPECT_TRUE(inbox.wait_for_sequence(kCount, 5s));
  auto also = inbox.messages();
  EXPECT_EQ(also.size(), kCount) << "callback subscriber: " << describe(also, kCount);
  EXPECT_FALSE(raw.find_frame(wire::FrameType::kGoAway)) << "the pipelined publisher was refused";
}

class RelayBadInput : public RelayTest {
 protected:
  void SetUp() override {
    // A healthy session, established before the hostile ones and checked after each.
    good_ = connect();
    ASSERT_TRUE(good_);
    sub_ = subscribe(*good_, "health.check");
    pub_ = publish(*good_, "health.check");
    sync(*good_);
  }
  void expect_good_session_still_works() {
    const std::string text = "ok " + std::to_string(++round_);
    EXPECT_EQ(acked(pub_, text), 1u);
    auto m = sub_.receive(3s);
    ASSERT_TRUE(m) << "the healthy session stopped receiving";
    EXPECT_EQ(m->data, text);
    auto fresh = connect();  // and the server still accepts sessions
    ASSERT_TRUE(fresh);
    sync(*fresh);
  }
  SessionPtr good_;
  Stream sub_, pub_;
  int round_ = 0;
};

TEST_F(RelayBadInput, GarbageClosesThatConnectionWithGoaway) {
  RawSocket raw(daemon_.wire_port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_TRUE(raw.read_until_eof()) << "the server kept a connection that sent garbage open";
  ASSERT_GE(raw.received().size(), wire::kHeaderSize) << "closed without GOAWAY";
  EXPECT_EQ(std::uint8_t(raw.received()[1]), std::uint8_t(wire::FrameType::kGoAway));
  expect_good_session_still_works();

  RawSocket binary(daemon_.wire_port());
  ASSERT_TRUE(binary.connected());
  ASSERT_TRUE(binary.send(std::string("\x01\xee\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04junk", 16)));
  EXPECT_TRUE(binary.read_until_eof());
  auto goaway = binary.find_frame(wire::FrameType::kGoAway);
  ASSERT_TRUE(goaway) << "no GOAWAY for an unknown frame type";
  EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kProtocol));
  expect_good_session_still_works();
}

TEST_F(RelayBadInput, OversizedFrameHeaderGetsGoawayFrameSize) {
  {
    RawSocket raw(daemon_.wire_port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.send(raw_header(1, wire::FrameType::kHello, 0, 0xFFFFFFFFu)));
    EXPECT_TRUE(raw.read_until_eof());
    auto goaway = raw.find_frame(wire::FrameType::kGoAway);
    ASSERT_TRUE(goaway) << "no GOAWAY for a 4 GiB HELLO";
    EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kFrameSize));
  }
  expect_good_session_still_works();
  {
    // After a proper handshake, a DATA frame announcing 4 GiB.
    RawSocket raw(daemon_.wire_port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.send(hello_frame(1)));
    ASSERT_TRUE(raw.read_frame(wire::FrameType::kWelcome)) << "no WELCOME for a valid HELLO";
    ASSERT_TRUE(raw.send(raw_header(1, wire::FrameType::kData, 1, 0xFFFFFFFFu)));
    EXPECT_TRUE(raw.read_until_eof());
    auto goaway = raw.find_frame(wire::FrameType::kGoAway);
    ASSERT_TRUE(goaway) << "no GOAWAY for a 4 GiB DATA frame";
    EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kFrameSize));
  }
  expect_good_session_still_works();
}

TEST_F(RelayBadInput, HelloWithVersion2IsRefusedAsUnsupported) {
  {
    RawSocket raw(daemon_.wire_port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.send(hello_frame(2)));
    EXPECT_TRUE(raw.read_until_eof());
    auto goaway = raw.find_frame(wire::FrameType::kGoAway);
    ASSERT_TRUE(goaway) << "no GOAWAY for HELLO version 2";
    EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kUnsupportedVersion));
    EXPECT_NE(goaway->find("version"), std::string::npos) << goaway->substr(4);
    EXPECT_FALSE(raw.find_frame(wire::FrameType::kWelcome));
  }
  {
    // Version 2 in the frame header itself.
    RawSocket raw(daemon_.wire_port());
    ASSERT_TRUE(raw.connected());
    std::string frame = hello_frame(1);
    frame[0] = 2;
    ASSERT_TRUE(raw.send(frame));
    EXPECT_TRUE(raw.read_until_eof());
    auto goaway = raw.find_frame(wire::FrameType::kGoAway);
    ASSERT_TRUE(goaway) << "no GOAWAY for a version-2 frame header";
    EXPECT_EQ(goaway_code(*goaway), std::uint32_t(wire::ErrorCode::kUnsupportedVersion));
  }
  expect_good_session_still_works();
}

TEST_F(RelayBadInput, PeerVanishingMidFrameIsHarmless) {
  for (int i = 0; i < 20; ++i) {
    RawSocket raw(daemon_.wire_port());
    ASSERT_TRUE(raw.connected());
    ASSERT_TRUE(raw.send(hello_frame(1).substr(0, 7 + i)));  // half a HELLO, then gone
  }
  expect_good_session_still_works();
}

// ------------------------------------------------------------------------- ownership

// The channel's owner leaves (its session ends) while a second publisher stays on the channel;
// a new subscriber then makes the relay tell the owner about the subscription. The relay must
// not touch the departed owner's connection.
TEST_F(RelayTest, OwnerSessionLeavingWhileAnotherPublisherStays) {
  auto owner = connect(), second = connect();
  ASSERT_TRUE(owner && second);
  Stream op = publish(*owner, "shared.feed");
  ASSERT_TRUE(eventually([&] { return channel_info("shared.feed").has_value(); }));
  Stream sp = publish(*second, "shared.feed");
  ASSERT_TRUE(eventually([&] {
    auto c = channel_info("shared.feed");
    return c && c->at("publishers").to_number<int>() == 2;
  }));
  owner->close();  // the owner's connection is destroyed without closing its stream first
  ASSERT_TRUE(eventually([&] {
    auto c = channel_info("shared.feed");
    return c && c->at("publishers").to_number<int>() == 1;
  }));
  // Subscribing notifies the channel's owner (EVENT on its publish stream).
  for (int i = 0; i < 20; ++i) {
    auto late = connect();
    ASSERT_TRUE(late);
    Stream s = subscribe(*late, "shared.feed");
    sync(*late);
    EXPECT_EQ(acked(sp, "tick " + std::to_string(i)), 1u);
    auto m = s.receive(3s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data, "tick " + std::to_string(i));
  }
}

// ------------------------------------------------------------------------- 9. reconnect

TEST(RelayReconnect, SubscriberSessionReconnectsToARestartedServer) {
  std::uint16_t port = 0;
  std::unique_ptr<testing::InProcessDaemon> server;
  // An ephemeral port, then that port named explicitly (a fresh server must bind it again).
  server = std::make_unique<testing::InProcessDaemon>(30s, 5000ms, 0);
  port = server->wire_port();
  server.reset();
  server = std::make_unique<testing::InProcessDaemon>(30s, 5000ms, port);
  ASSERT_EQ(server->wire_port(), port);

  client::WireOptions o;
  o.port = port;
  o.reconnect = true;
  o.reconnect_initial = 50ms;
  o.reconnect_max = 200ms;
  auto sub_session = Session::connect(o);
  ASSERT_TRUE(sub_session);
  SessionPtr session = *sub_session;
  auto sub = session->subscribe("re.connect");
  ASSERT_TRUE(sub);

  auto publish_once = [&](const std::string& text) -> std::size_t {
    client::WireOptions po;
    po.port = port;
    po.reconnect = false;
    auto pub = Session::connect(po);
    if (!pub) return 0;
    auto p = (*pub)->publish("re.connect");
    if (!p) return 0;
    auto took = p->send_acked(text, 2s);
    return took ? *took : 0;
  };
  ASSERT_TRUE(eventually([&] { return publish_once("before") == 1; }));
  auto m = sub->receive(3s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->data, "before");

  // A publisher with reconnect on, too: what it sends during the outage waits for the new server.
  auto pub_session = Session::connect(o);
  ASSERT_TRUE(pub_session);
  auto held = (*pub_session)->publish("re.held");
  ASSERT_TRUE(held);

  server.reset();  // GOAWAY going-away, listener closed
  EXPECT_TRUE(eventually([&] { return !session->connected(); }, 3s));
  EXPECT_TRUE(eventually([&] { return !(*pub_session)->connected(); }, 3s));
  for (int i = 1; i <= 3; ++i)
    EXPECT_TRUE(held->send("held-" + std::to_string(i)));
  server = std::make_unique<testing::InProcessDaemon>(30s, 5000ms, port);
  ASSERT_EQ(server->wire_port(), port);

  EXPECT_TRUE(eventually([&] { return session->connected(); }, 5s)) << "never reconnected";
  EXPECT_GE(session->reconnects(), 1u);
  EXPECT_TRUE(sub->active());
  // The subscription is re-established on the new server.
  ASSERT_TRUE(eventually([&] { return publish_once("after") == 1; }, 5s))
      << "the subscription was not re-established after reconnecting";
  std::optional<Message> after;
  const auto deadline = Clock::now() + 3s;
  while (Clock::now() < deadline && !(after && after->data == "after"))
    after = sub->receive(500ms);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->data, "after");
  EXPECT_EQ(after->channel, "re.connect");

  // The held messages reached the new server once the publisher was back.
  EXPECT_TRUE(eventually([&] { return (*pub_session)->connected(); }, 5s));
  EXPECT_GE((*pub_session)->reconnects(), 1u);
  client::Client http(server->url());
  EXPECT_TRUE(eventually([&] {
    auto c = http.request_json("GET", "/channels/re.held");
    return c && c->at("message_count").to_number<int>() == 3;
  })) << "messages sent while disconnected were not delivered after reconnecting";
  (*pub_session)->close();
  session->close();
}

}  // namespace
}  // namespace sluice
