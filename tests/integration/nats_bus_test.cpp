// NatsBus against a real nats-server: two "nodes" (Hub + io_context + NatsBus each) in one
// process, and plain libnats clients standing in for Maestra services and devices.
#include <gtest/gtest.h>

#include <nats/nats.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "eventually.hpp"
#include "hub/hub.hpp"
#include "nats/nats_bus.hpp"
#include "nats_fixture.hpp"

namespace sluice::nats {
namespace {

using namespace std::chrono_literals;
using sluice::testing::eventually;
using sluice::testing::NatsServer;
using Kind = hub::BusFailure::Kind;
using Outcome = std::expected<hub::MessagePtr, hub::BusFailure>;

// Records what a hub subscription received; thread-safe.
struct Collector final : hub::Subscriber {
  mutable std::mutex mutex;
  std::vector<std::string> data;
  void deliver(const hub::MessagePtr& m) override {
    std::lock_guard lock(mutex);
    data.push_back(m->data);
  }
  std::size_t count(const std::string& d) const {
    std::lock_guard lock(mutex);
    return std::count(data.begin(), data.end(), d);
  }
  std::size_t size() const {
    std::lock_guard lock(mutex);
    return data.size();
  }
};

// A publisher's request handler on a hub: answers each request with `answer` (or never).
struct Responder final : hub::Subscriber {
  Responder(hub::Hub& hub, std::optional<std::string> answer, bool error = false)
      : hub_(hub), answer_(std::move(answer)), error_(error) {}
  void deliver(const hub::MessagePtr& m) override {
    requests++;
    if (answer_ && !m->reply.empty()) hub_.reply(m->reply, *answer_, error_);
  }
  std::atomic<int> requests{0};

 private:
  hub::Hub& hub_;
  std::optional<std::string> answer_;
  bool error_;
};

// One sluiced node: its hub, an io thread and the bus.
struct Node {
  explicit Node(const std::string& url, std::vector<std::string> globals = {}) {
    NatsBusOptions o;
    o.url = url;
    o.global_channels = std::move(globals);
    bus = std::make_unique<NatsBus>(hub, io, o);
    thread = std::thread([this] { io.run(); });
  }
  ~Node() {
    bus.reset();  // while the io thread still runs: the bus must stop its handlers itself
    work.reset();
    io.stop();
    thread.join();
  }
  std::shared_ptr<Collector> watch(const std::string& pattern) {
    auto c = std::make_shared<Collector>();
    subs.push_back(std::move(*hub.subscribe(pattern, c, hub::Interest::kObserver)));
    return c;
  }
  std::shared_ptr<Responder> respond(const std::string& subject, std::optional<std::string> answer,
                                     bool error = false) {
    auto r = std::make_shared<Responder>(hub, std::move(answer), error);
    subs.push_back(std::move(*hub.subscribe(subject, r)));
    return r;
  }
  Outcome request(const std::string& subject, std::chrono::milliseconds timeout = 2s) {
    std::promise<Outcome> p;
    auto f = p.get_future();
    bus->request(subject, R"({"consumer_id":"c1"})", timeout,
                 [&p](Outcome o) { p.set_value(std::move(o)); });
    return f.get();
  }

  hub::Hub hub;
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
      io.get_executor()};
  std::vector<hub::Hub::Subscription> subs;
  std::unique_ptr<NatsBus> bus;
  std::thread thread;
};

// A plain NATS client (a Maestra service, a device).
struct PlainClient {
  explicit PlainClient(const std::string& url) {
    EXPECT_EQ(natsConnection_ConnectTo(&nc, url.c_str()), NATS_OK);
  }
  ~PlainClient() {
    if (sub) natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc);
  }
  void publish(const std::string& subject, const std::string& data) {
    EXPECT_EQ(natsConnection_PublishString(nc, subject.c_str(), data.c_str()), NATS_OK);
    natsConnection_Flush(nc);
  }
  // Synchronous request; returns the reply text, or the libnats status as "#<status>".
  std::string request(const std::string& subject, const std::string& data) {
    natsMsg* reply = nullptr;
    natsStatus s = natsConnection_RequestString(&reply, nc, subject.c_str(), data.c_str(), 2000);
    if (s != NATS_OK) return "#" + std::string(natsStatus_GetText(s));
    std::string text(natsMsg_GetData(reply), natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    return text;
  }
  // Answers every request on `subject` with `answer`.
  void respond(const std::string& subject, const std::string& answer) {
    answer_ = answer;
    auto cb = [](natsConnection* c, natsSubscription*, natsMsg* m, void* closure) {
      const auto* a = static_cast<std::string*>(closure);
      natsConnection_Publish(c, natsMsg_GetReply(m), a->data(), static_cast<int>(a->size()));
      natsMsg_Destroy(m);
    };
    ASSERT_EQ(natsConnection_Subscribe(&sub, nc, subject.c_str(), cb, &answer_), NATS_OK);
    natsConnection_Flush(nc);
  }

  natsConnection* nc = nullptr;
  natsSubscription* sub = nullptr;
  std::string answer_;
};

// Retries a request until it is answered: a responder on another node becomes visible on NATS
// only after that node mirrored it (≤ 100 ms plus a round trip).
Outcome request_until_answered(Node& node, const std::string& subject,
                               std::chrono::milliseconds timeout = 2s) {
  Outcome last = std::unexpected(hub::BusFailure{Kind::kUnavailable, "not tried"});
  eventually([&] {
    last = node.request(subject, timeout);
    return last.has_value() || last.error().kind != Kind::kNoResponders;
  });
  return last;
}

// Waits until each node hears the other on `subject`: NATS confirms a connection before the
// server has processed the subscriptions sent after it. A probe on the subject a node
// subscribed last proves the earlier ones are in place too.
::testing::AssertionResult hear_each_other(Node& a, Node& b, const std::string& subject) {
  for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    auto heard = to->watch(subject);
    bool ok = eventually([&] {
      from->bus->publish(subject, "probe");
      return eventually([&] { return heard->size() > 0; }, 200ms);
    });
    if (!ok) return ::testing::AssertionFailure() << "no probe on " << subject;
  }
  return ::testing::AssertionSuccess();
}
constexpr const char* kLastEventSubject = "maestra.stream.subscriber.left";

class NatsBusTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server.start()); }
  NatsServer server;
};

TEST_F(NatsBusTest, EventsReachOtherNodesAndTheLocalHubExactlyOnce) {
  Node a(server.url()), b(server.url());
  ASSERT_TRUE(hear_each_other(a, b, kLastEventSubject));
  auto on_a = a.watch("maestra.stream.advertise");
  auto on_b = b.watch("maestra.stream.advertise");
  auto typed_b = b.watch("maestra.stream.advertise.video");
  auto withdraw_b = b.watch("maestra.stream.withdraw.*");
  a.bus->publish("maestra.stream.advertise", R"({"n":1})");
  a.bus->publish("maestra.stream.advertise.video", R"({"n":1})");
  a.bus->publish("maestra.stream.withdraw.s1", R"({"n":1})");
  // A marker after the events: once it arrived, a duplicate would have arrived too.
  a.bus->publish("maestra.stream.advertise", "marker");
  ASSERT_TRUE(eventually([&] { return on_b->count("marker") == 1; }));
  EXPECT_EQ(on_b->count(R"({"n":1})"), 1u);
  EXPECT_EQ(on_a->count(R"({"n":1})"), 1u);  // no echo from NATS
  EXPECT_EQ(on_a->size(), 2u);
  ASSERT_TRUE(eventually([&] { return withdraw_b->size() == 1 && typed_b->size() == 1; }));
  EXPECT_GE(a.bus->stats().published, 4u);
  EXPECT_EQ(a.bus->problem(), "");
  EXPECT_EQ(a.bus->describe(), server.url());
}

TEST_F(NatsBusTest, NatsHeartbeatsReachExactlyOneNode) {
  Node a(server.url()), b(server.url());
  ASSERT_TRUE(hear_each_other(a, b, kLastEventSubject));  // heartbeat queues are in place too
  auto on_a = a.watch("maestra.stream.heartbeat.*");
  auto on_b = b.watch("maestra.stream.heartbeat.*");
  auto marker_a = a.watch("maestra.stream.session.stopped");
  auto marker_b = b.watch("maestra.stream.session.stopped");
  PlainClient device(server.url());
  constexpr int kBeats = 40;
  for (int i = 0; i < kBeats; ++i)
    device.publish("maestra.stream.heartbeat.s" + std::to_string(i), "{}");
  device.publish("maestra.stream.session.stopped", "marker");
  ASSERT_TRUE(eventually([&] { return marker_a->size() == 1 && marker_b->size() == 1; }));
  EXPECT_EQ(on_a->size() + on_b->size(), static_cast<std::size_t>(kBeats));
}

TEST_F(NatsBusTest, RequestsReachResponderOnAnotherNode) {
  Node a(server.url()), b(server.url());
  auto responder = a.respond("maestra.stream.request.s1", R"({"accepted":true,"port":5000})");
  auto reply = request_until_answered(b, "maestra.stream.request.s1");
  ASSERT_TRUE(reply) << reply.error().detail;
  EXPECT_EQ((*reply)->data, R"({"accepted":true,"port":5000})");
  EXPECT_GE(b.bus->stats().requests_ok, 1u);
  EXPECT_GE(a.bus->stats().requests_forwarded, 1u);
  // On node A itself the local responder answers without NATS.
  auto local = a.request("maestra.stream.request.s1");
  ASSERT_TRUE(local);
  EXPECT_EQ(a.bus->stats().requests_local, 1u);
}

TEST_F(NatsBusTest, NoResponderAnywhereFailsQuicklyAndSilentResponderTimesOut) {
  Node a(server.url()), b(server.url());
  ASSERT_TRUE(eventually([&] { return a.bus->connected() && b.bus->connected(); }));
  const auto start = std::chrono::steady_clock::now();
  auto none = b.request("maestra.stream.request.nobody", 5s);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, Kind::kNoResponders) << none.error().detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);

  auto silent = a.respond("maestra.stream.request.silent", std::nullopt);
  auto timed_out = request_until_answered(b, "maestra.stream.request.silent", 300ms);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error().kind, Kind::kTimeout) << timed_out.error().detail;
  EXPECT_GE(silent->requests.load(), 1);
  EXPECT_GE(b.bus->stats().requests_timeout, 1u);
  EXPECT_GE(b.bus->stats().requests_no_responders, 1u);
}

TEST_F(NatsBusTest, PlainNatsResponderAnswersBusRequests) {
  Node a(server.url());
  ASSERT_TRUE(eventually([&] { return a.bus->connected(); }));
  PlainClient publisher(server.url());
  publisher.respond("maestra.stream.request.x", R"({"accepted":true})");
  auto reply = a.request("maestra.stream.request.x");
  ASSERT_TRUE(reply) << reply.error().detail;
  EXPECT_EQ((*reply)->data, R"({"accepted":true})");
}

TEST_F(NatsBusTest, PlainNatsRequesterReachesHubResponders) {
  Node a(server.url());
  a.respond("maestra.stream.request.ok", R"({"accepted":true})");
  a.respond("maestra.stream.request.busy", "publisher busy", /*error=*/true);
  PlainClient fleet_manager(server.url());
  std::string answer;
  ASSERT_TRUE(eventually([&] {
    answer = fleet_manager.request("maestra.stream.request.ok", "{}");
    return answer.front() != '#';
  })) << answer;
  EXPECT_EQ(answer, R"({"accepted":true})");
  ASSERT_TRUE(eventually([&] { return a.bus->stats().mirrored_responders == 2; }));
  EXPECT_EQ(fleet_manager.request("maestra.stream.request.busy", "{}"),
            R"({"accepted":false,"reason":"publisher busy"})");
  // Only request subjects of local responders are mirrored; nothing covers other requests.
  EXPECT_EQ(fleet_manager.request("maestra.stream.request.other", "{}"),
            "#No responders available for request");
}

TEST_F(NatsBusTest, GlobalChannelsCrossNodesOnceWithoutEcho) {
  Node a(server.url(), {"telemetry.>"}), b(server.url(), {"telemetry.>"});
  ASSERT_TRUE(hear_each_other(a, b, "telemetry.probe"));
  const auto published_before = a.bus->stats().published;
  auto on_a = a.watch("telemetry.temp");
  auto on_b = b.watch("telemetry.temp");
  // A relay publisher delivers views with its session as origin.
  hub::Route route;
  a.hub.refresh("telemetry.temp", route);
  a.hub.publish(route, hub::MessageView{"telemetry.temp", {}, "21.5", "session-1"});
  a.hub.publish("telemetry.temp", "22.0");      // a /ws publisher
  a.bus->publish("telemetry.temp", "22.5");     // through the bus: still sent once
  b.hub.publish("telemetry.temp", "marker-b");  // and back the other way
  ASSERT_TRUE(eventually([&] { return on_a->count("marker-b") == 1; }));
  ASSERT_TRUE(eventually([&] { return on_b->count("22.5") == 1; }));
  a.hub.publish("telemetry.temp", "marker-a");
  ASSERT_TRUE(eventually([&] { return on_b->count("marker-a") == 1; }));
  for (auto* c : {on_a.get(), on_b.get()}) {
    EXPECT_EQ(c->count("21.5"), 1u);
    EXPECT_EQ(c->count("22.0"), 1u);
    EXPECT_EQ(c->count("22.5"), 1u);
    EXPECT_EQ(c->count("marker-b"), 1u);
  }
  EXPECT_EQ(on_a->size(), 5u);
  EXPECT_EQ(on_b->size(), 5u);
  // 21.5, 22.0, 22.5, marker-a: nothing echoed back out.
  EXPECT_EQ(a.bus->stats().published - published_before, 4u);
}

TEST(NatsBusConfig, RejectsBadUrlsAndPatterns) {
  hub::Hub hub;
  boost::asio::io_context io;
  auto options = [](std::string url, std::vector<std::string> globals = {}) {
    NatsBusOptions o;
    o.url = std::move(url);
    o.global_channels = std::move(globals);
    return o;
  };
  EXPECT_THROW(NatsBus(hub, io, options("nats://host:notaport")), std::runtime_error);
  EXPECT_THROW(NatsBus(hub, io, options("http://host:4222")), std::runtime_error);
  EXPECT_THROW(NatsBus(hub, io, options("nats://127.0.0.1:4222", {"a.>.b"})), std::runtime_error);
  try {
    NatsBus(hub, io, options("nats://user:secret@host:0"));
    ADD_FAILURE() << "port 0 accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
}

TEST(NatsBusResilience, StartsWithoutNatsAndRecoversFromRestarts) {
  NatsServer server;  // not started yet
  Node a(server.url()), b(server.url());
  const std::string name = "NATS " + server.url() + " unreachable";
  EXPECT_EQ(a.bus->problem().rfind(name, 0), 0u) << a.bus->problem();
  auto down = a.request("maestra.stream.request.s1");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().kind, Kind::kUnavailable);
  EXPECT_EQ(down.error().detail.rfind(name, 0), 0u) << down.error().detail;
  a.bus->publish("maestra.stream.advertise", "lost");
  EXPECT_EQ(a.bus->stats().dropped_while_down, 1u);
  auto responder = a.respond("maestra.stream.request.s1", R"({"accepted":true})");

  auto on_b = b.watch("maestra.stream.advertise");
  auto events_flow = [&](const std::string& marker) {
    return eventually([&] {
      a.bus->publish("maestra.stream.advertise", marker);
      return eventually([&] { return on_b->count(marker) > 0; }, 200ms);
    });
  };
  ASSERT_TRUE(server.start());
  ASSERT_TRUE(eventually([&] { return a.bus->problem().empty(); }, 5s)) << a.bus->problem();
  ASSERT_TRUE(events_flow("after-start"));  // subscriptions made before the connection work
  EXPECT_TRUE(request_until_answered(b, "maestra.stream.request.s1"));

  server.kill();
  ASSERT_TRUE(eventually([&] { return !a.bus->problem().empty(); }, 5s));
  EXPECT_EQ(a.bus->problem().rfind(name, 0), 0u) << a.bus->problem();
  ASSERT_TRUE(server.start());  // same port
  ASSERT_TRUE(eventually([&] { return a.bus->connected() && b.bus->connected(); }, 5s))
      << a.bus->problem();
  ASSERT_TRUE(events_flow("after-restart"));
  auto reply = request_until_answered(b, "maestra.stream.request.s1");
  EXPECT_TRUE(reply) << reply.error().detail;
}

TEST_F(NatsBusTest, DestroyingBusesUnderTrafficIsClean) {
  PlainClient device(server.url());
  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    while (!stop) {
      device.publish("maestra.stream.heartbeat.s1", "{}");
      device.publish("maestra.stream.advertise", "{}");
    }
  });
  for (int i = 0; i < 5; ++i) {
    Node a(server.url());
    auto on_a = a.watch("maestra.stream.>");
    a.respond("maestra.stream.request.s" + std::to_string(i), "{}");
    ASSERT_TRUE(eventually([&] { return on_a->size() > 10; }));
  }
  stop = true;
  traffic.join();
}

}  // namespace
}  // namespace sluice::nats
