// The MQTT broker core (sans I/O) driven by test clients that speak the codec: CONNECT and
// CONNACK in both versions, QoS 0/1/2 routing, retained messages, wills, keep-alive, session
// expiry and resumption with queued QoS 1, takeover, shared subscriptions, no_local, '$' topics,
// refusals by the hooks, and bounded queues.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mqtt/mqtt_broker.hpp"
#include "mqtt/mqtt_reader.hpp"

namespace sluice::mqtt {
namespace {

using namespace std::chrono_literals;

struct TestSink : ConnectionSink {
  std::string bytes;
  bool closed = false;
  std::size_t held = 0;  // pretend backlog
  void send(std::string_view b) override { bytes.append(b); }
  std::size_t backlog() const override { return held; }
  void close() override { closed = true; }
};

struct TestHooks : BrokerHooks {
  std::set<std::string> refused_users;
  std::set<std::string> no_publish;    // topics
  std::set<std::string> no_subscribe;  // filters
  bool answer_later = false;
  std::vector<AuthRequest> pending;
  std::vector<std::string> consumed_topics;  // on_publish returns false for these
  std::vector<std::string> seen;             // topics given to on_publish
  std::map<std::string, int> filters;
  Broker* broker = nullptr;
  MonoTime now{};

  void authenticate(const AuthRequest& r) override {
    if (answer_later) return pending.push_back(r);
    AuthResult result;
    if (r.username && refused_users.contains(*r.username)) {
      result.reason = ReasonCode::bad_user_name_or_password;
    }
    broker->authenticated(r.connection, result, now);
  }
  bool may_publish(const ClientInfo&, std::string_view topic) override {
    return !no_publish.contains(std::string(topic));
  }
  SubscribeVerdict may_subscribe(const ClientInfo&, std::string_view filter) override {
    return no_subscribe.contains(std::string(filter)) ? SubscribeVerdict::refused
                                                      : SubscribeVerdict::allowed;
  }
  bool may_read(const ClientInfo&, std::string_view) override { return true; }
  bool on_publish(const ClientInfo&, const MessagePtr& m) override {
    seen.push_back(m->topic);
    for (const auto& t : consumed_topics)
      if (t == m->topic) return false;
    return true;
  }
  void on_filter(std::string_view filter, bool added) override {
    filters[std::string(filter)] += added ? 1 : -1;
  }
};

class BrokerTest : public ::testing::Test {
 protected:
  BrokerTest() : broker(hooks, options()) { hooks.broker = &broker; }
  static BrokerOptions options() {
    BrokerOptions o;
    o.max_queued_messages = 5;
    return o;
  }

  struct Client {
    BrokerTest* t;
    ConnectionId id = 0;
    TestSink sink;
    int version = kMqtt5;
    MqttReader reader = MqttReader::for_client(kMqtt5);

    void send(const Packet& p) {
      auto bytes = encode(p, version);
      ASSERT_TRUE(bytes) << bytes.error().detail;
      t->broker.receive(id, *bytes, t->hooks.now);
    }
    // Every packet the broker sent since the last call.
    std::vector<Packet> take() {
      std::vector<Packet> out;
      std::string_view rest = sink.bytes;
      while (!rest.empty()) {
        rest.remove_prefix(reader.feed(rest));
        for (auto r = reader.next(); !r.needs_more(); r = reader.next()) {
          EXPECT_FALSE(r.has_error()) << r.error().detail;
          if (r.has_error()) return out;
          out.push_back(r.packet());
        }
      }
      sink.bytes.clear();
      return out;
    }
    std::vector<Publish> publishes() {
      std::vector<Publish> out;
      for (auto& p : take())
        if (auto* pub = std::get_if<Publish>(&p)) out.push_back(*pub);
      return out;
    }
  };

  std::unique_ptr<Client> connect(std::string client_id, int version = kMqtt5, bool clean = true,
                                  std::optional<Will> will = {}, std::uint32_t expiry = 0,
                                  std::string user = {}) {
    auto c = std::make_unique<Client>();
    c->t = this;
    c->version = version;
    c->reader = MqttReader::for_client(version);
    c->id = broker.open("10.0.0.1", c->sink, hooks.now);
    Connect con;
    con.protocol_version = version;
    con.client_id = std::move(client_id);
    con.clean_start = clean;
    con.will = std::move(will);
    con.keep_alive = 10;
    if (!user.empty()) {
      con.username = user;
      con.password = "pw";
    }
    if (version == kMqtt5 && expiry) con.properties.session_expiry_interval = expiry;
    c->send(con);
    return c;
  }

  static Connack connack(Client& c) {
    auto packets = c.take();
    EXPECT_FALSE(packets.empty());
    if (packets.empty()) return {};
    auto* ack = std::get_if<Connack>(&packets.front());
    EXPECT_NE(ack, nullptr);
    return ack ? *ack : Connack{};
  }

  static Subscribe sub(std::string filter, std::uint8_t qos = 0, std::uint16_t id = 1) {
    Subscribe s;
    s.packet_id = id;
    Subscription one;
    one.filter = std::move(filter);
    one.qos = qos;
    s.subscriptions.push_back(one);
    return s;
  }
  static Publish pub(std::string topic, std::string payload, std::uint8_t qos = 0,
                     bool retain = false, std::uint16_t id = 0) {
    Publish p;
    p.topic = std::move(topic);
    p.payload = std::move(payload);
    p.qos = qos;
    p.retain = retain;
    p.packet_id = qos ? (id ? id : 7) : 0;
    return p;
  }

  TestHooks hooks;
  Broker broker;
};

TEST_F(BrokerTest, ConnectsBothVersionsAndAssignsAnIdToAnEmptyOne) {
  auto a = connect("a", kMqtt311);
  EXPECT_EQ(connack(*a).reason_code, ReasonCode::success);
  auto b = connect("");
  auto ack = connack(*b);
  EXPECT_EQ(ack.reason_code, ReasonCode::success);
  ASSERT_TRUE(ack.properties.assigned_client_identifier);
  EXPECT_FALSE(ack.properties.assigned_client_identifier->empty());
  EXPECT_EQ(broker.stats().connections, 2u);
  // 3.1.1 without a client id must ask for a clean session.
  auto c = connect("", kMqtt311, false);
  EXPECT_EQ(connack(*c).reason_code, ReasonCode::client_identifier_not_valid);
  EXPECT_TRUE(c->sink.closed);
}

TEST_F(BrokerTest, RefusedCredentialsGetAConnackAndAClose) {
  hooks.refused_users = {"mallory"};
  auto c = connect("m", kMqtt5, true, {}, 0, "mallory");
  EXPECT_EQ(connack(*c).reason_code, ReasonCode::bad_user_name_or_password);
  EXPECT_TRUE(c->sink.closed);
  auto old = connect("m3", kMqtt311, true, {}, 0, "mallory");
  EXPECT_EQ(connack(*old).reason_code, ReasonCode::bad_user_name_or_password);
}

TEST_F(BrokerTest, RoutesQos0AndQos1ToMatchingSubscribersOnce) {
  auto s = connect("s");
  connack(*s);
  s->send(sub("sensors/+/temp", 1, 1));
  s->send(sub("sensors/#", 0, 2));
  s->take();
  auto p = connect("p", kMqtt311);
  connack(*p);
  p->send(pub("sensors/a/temp", "21.5", 1, false, 9));
  auto acks = p->take();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(std::get<Puback>(acks[0]).packet_id, 9);
  auto got = s->publishes();
  ASSERT_EQ(got.size(), 1u);  // two matching filters, one message
  EXPECT_EQ(got[0].payload, "21.5");
  EXPECT_EQ(got[0].qos, 1);  // the larger grant
  // Until acknowledged, it stays in flight; acknowledged, nothing is resent.
  s->send(Puback{got[0].packet_id, ReasonCode::success, {}});
  p->send(pub("other/topic", "x"));
  EXPECT_TRUE(s->publishes().empty());
  EXPECT_EQ(hooks.filters["sensors/#"], 1);
}

TEST_F(BrokerTest, Qos2FromAPublisherIsDeliveredOnceAndCompleted) {
  auto s = connect("s");
  connack(*s);
  s->send(sub("t", 1));
  s->take();
  auto p = connect("p");
  connack(*p);
  p->send(pub("t", "once", 2, false, 5));
  auto rec = p->take();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Pubrec>(rec[0]));
  auto again = pub("t", "once", 2, false, 5);
  again.dup = true;
  p->send(again);  // resent before PUBREL: not delivered twice
  p->take();
  p->send(Pubrel{5, ReasonCode::success, {}});
  auto comp = p->take();
  ASSERT_EQ(comp.size(), 1u);
  EXPECT_EQ(std::get<Pubcomp>(comp[0]).reason_code, ReasonCode::success);
  auto got = s->publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].qos, 1);
}

TEST_F(BrokerTest, RetainedMessagesGoToLaterSubscribersAndAnEmptyOneClearsThem) {
  auto p = connect("p");
  connack(*p);
  p->send(pub("stage/light/1", "on", 0, true));
  p->send(pub("stage/light/2", "off", 1, true, 3));
  auto s = connect("s");
  connack(*s);
  s->send(sub("stage/light/+", 1));
  auto got = s->publishes();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].retain);
  EXPECT_TRUE(got[1].retain);
  p->send(pub("stage/light/1", "", 0, true));  // clears it
  auto live = s->publishes();
  ASSERT_EQ(live.size(), 1u);  // the clearing message itself is delivered, not as retained
  EXPECT_FALSE(live[0].retain);
  auto late = connect("late");
  connack(*late);
  late->send(sub("stage/light/+"));
  auto left = late->publishes();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].topic, "stage/light/2");
}

TEST_F(BrokerTest, AWillIsPublishedWhenTheConnectionDropsButNotAfterDisconnect) {
  auto s = connect("s");
  connack(*s);
  s->send(sub("devices/+/status"));
  s->take();
  Will will;
  will.topic = "devices/esp32/status";
  will.payload = "offline";
  auto d = connect("esp32", kMqtt311, true, will);
  connack(*d);
  broker.closed(d->id, hooks.now);  // cable pulled
  auto got = s->publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "offline");
  auto e =
      connect("esp32b", kMqtt311, true, Will{"devices/esp32b/status", "offline", 0, false, {}});
  connack(*e);
  e->send(Disconnect{});
  EXPECT_TRUE(e->sink.closed);
  EXPECT_TRUE(s->publishes().empty());
}

TEST_F(BrokerTest, KeepAliveTimeoutClosesTheConnectionAndPublishesTheWill) {
  auto s = connect("s");
  connack(*s);
  s->send(sub("w"));
  s->take();
  auto d = connect("d", kMqtt5, true, Will{"w", "gone", 0, false, {}});
  connack(*d);
  hooks.now += 14s;    // keep-alive 10 s: within 1.5x
  s->send(Pingreq{});  // s stays alive
  broker.tick(hooks.now);
  EXPECT_FALSE(d->sink.closed);
  hooks.now += 2s;
  broker.tick(hooks.now);
  EXPECT_TRUE(d->sink.closed);
  auto packets = d->take();
  ASSERT_FALSE(packets.empty());
  EXPECT_EQ(std::get<Disconnect>(packets.back()).reason_code, ReasonCode::keep_alive_timeout);
  auto got = s->publishes();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "gone");
  EXPECT_EQ(broker.stats().keep_alive_timeouts, 1u);
}

TEST_F(BrokerTest, APersistentSessionKeepsItsSubscriptionsAndQueuedQos1) {
  auto s = connect("keeper", kMqtt311, false);
  EXPECT_FALSE(connack(*s).session_present);
  s->send(sub("q/#", 1));
  s->take();
  broker.closed(s->id, hooks.now);
  auto p = connect("p");
  connack(*p);
  for (int i = 0; i < 8; ++i)
    p->send(pub("q/" + std::to_string(i), "m" + std::to_string(i), 1, false, 10 + i));
  p->send(pub("q/zero", "qos0", 0));  // QoS 0 is not kept for absent clients
  auto back = connect("keeper", kMqtt311, false);
  auto packets = back->take();
  ASSERT_FALSE(packets.empty());
  EXPECT_TRUE(std::get<Connack>(packets[0]).session_present);
  std::vector<std::string> payloads;
  for (auto& packet : packets)
    if (auto* pub = std::get_if<Publish>(&packet)) payloads.push_back(pub->payload);
  // max_queued_messages 5: the first five kept, the rest dropped (drop-newest).
  EXPECT_EQ(payloads, (std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"}));
  EXPECT_EQ(broker.stats().dropped_queue, 3u);
}

TEST_F(BrokerTest, AV5SessionExpires) {
  auto s = connect("v5", kMqtt5, false, {}, 30);
  connack(*s);
  s->send(sub("x"));
  broker.closed(s->id, hooks.now);
  EXPECT_EQ(broker.stats().sessions, 1u);
  hooks.now += 31s;
  broker.tick(hooks.now);
  EXPECT_EQ(broker.stats().sessions, 0u);
  EXPECT_EQ(hooks.filters["x"], 0);
}

TEST_F(BrokerTest, ASecondConnectionTakesTheSessionOver) {
  auto first = connect("same");
  connack(*first);
  auto second = connect("same");
  EXPECT_EQ(connack(*second).reason_code, ReasonCode::success);
  EXPECT_TRUE(first->sink.closed);
  auto packets = first->take();
  ASSERT_FALSE(packets.empty());
  EXPECT_EQ(std::get<Disconnect>(packets.back()).reason_code, ReasonCode::session_taken_over);
  EXPECT_EQ(broker.connected_clients(), std::vector<std::string>{"same"});
}

TEST_F(BrokerTest, SharedSubscriptionsTakeTurnsAndNoLocalSkipsThePublisher) {
  auto a = connect("a");
  auto b = connect("b");
  connack(*a);
  connack(*b);
  a->send(sub("$share/workers/jobs/#"));
  b->send(sub("$share/workers/jobs/#"));
  a->take();
  b->take();
  auto p = connect("p");
  connack(*p);
  Subscribe own = sub("jobs/#");
  own.subscriptions[0].no_local = true;
  p->send(own);
  p->take();
  for (int i = 0; i < 4; ++i)
    p->send(pub("jobs/" + std::to_string(i), "j"));
  EXPECT_EQ(a->publishes().size(), 2u);
  EXPECT_EQ(b->publishes().size(), 2u);
  EXPECT_TRUE(p->publishes().empty());
}

TEST_F(BrokerTest, DollarTopicsAreNotMatchedByLeadingWildcards) {
  auto s = connect("s");
  connack(*s);
  s->send(sub("#"));
  s->send(sub("$SYS/#", 0, 2));
  s->take();
  broker.inject(std::make_shared<Message>(Message{"$SYS/load", "1", 0, false, {}, {}}), hooks.now);
  auto got = s->publishes();
  ASSERT_EQ(got.size(), 1u);  // by "$SYS/#" only
}

TEST_F(BrokerTest, HooksRefusePublishesAndSubscriptionsAndConsumeCommands) {
  hooks.no_publish = {"secret"};
  hooks.no_subscribe = {"private/#"};
  hooks.consumed_topics = {"maestra/stream/advertise"};
  auto s = connect("s");
  connack(*s);
  Subscribe two = sub("private/#");
  two.subscriptions.push_back(
      Subscription{"#", 0, false, false, RetainHandling::send_on_subscribe});
  s->send(two);
  auto ack = s->take();
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(std::get<Suback>(ack[0]).reason_codes,
            (std::vector<ReasonCode>{ReasonCode::not_authorized, ReasonCode::granted_qos_0}));
  auto p = connect("p");
  connack(*p);
  p->send(pub("secret", "x", 1));
  auto refused = p->take();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(std::get<Puback>(refused[0]).reason_code, ReasonCode::not_authorized);
  p->send(pub("maestra/stream/advertise", "{}"));
  EXPECT_TRUE(s->publishes().empty());
  EXPECT_EQ(hooks.seen, std::vector<std::string>{"maestra/stream/advertise"});
}

TEST_F(BrokerTest, PacketsSentWithTheConnectWaitForALateAuthentication) {
  hooks.answer_later = true;
  auto c = std::make_unique<Client>();
  c->t = this;
  c->id = broker.open("10.0.0.2", c->sink, hooks.now);
  Connect con;
  con.client_id = "eager";
  auto bytes = *encode(con, kMqtt5) + *encode(sub("late/#"), kMqtt5);
  broker.receive(c->id, bytes, hooks.now);
  broker.receive(c->id, *encode(Pingreq{}, kMqtt5), hooks.now);
  EXPECT_TRUE(c->sink.bytes.empty());
  ASSERT_EQ(hooks.pending.size(), 1u);
  broker.authenticated(hooks.pending[0].connection, AuthResult{}, hooks.now);
  auto packets = c->take();
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Connack>(packets[0]));
  EXPECT_TRUE(std::holds_alternative<Suback>(packets[1]));
  EXPECT_TRUE(std::holds_alternative<Pingresp>(packets[2]));
}

TEST_F(BrokerTest, AFullSinkDropsQos0AndCountsIt) {
  auto s = connect("s");
  connack(*s);
  s->send(sub("t"));
  s->take();
  s->sink.held = 64 << 20;
  auto p = connect("p");
  connack(*p);
  p->send(pub("t", "x"));
  EXPECT_TRUE(s->publishes().empty());
  EXPECT_EQ(broker.stats().dropped_backlog, 1u);
}

TEST_F(BrokerTest, GarbageClosesTheConnection) {
  TestSink sink;
  auto id = broker.open("10.0.0.3", sink, hooks.now);
  broker.receive(id, std::string("\x10\x05garbage", 9), hooks.now);
  EXPECT_TRUE(sink.closed);
  EXPECT_EQ(broker.stats().connections, 0u);
  TestSink silent;
  broker.open("10.0.0.4", silent, hooks.now);
  hooks.now += 11s;
  broker.tick(hooks.now);
  EXPECT_TRUE(silent.closed);  // no CONNECT within connect_timeout
}

}  // namespace
}  // namespace sluice::mqtt
