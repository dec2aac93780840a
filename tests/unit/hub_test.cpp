#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "hub/client_session.hpp"
#include "hub/hub.hpp"
#include "hub/subject.hpp"

namespace sluice::hub {
namespace {

struct Collector final : Subscriber {
  std::vector<MessagePtr> got;
  void deliver(const MessagePtr& m) override { got.push_back(m); }
};

TEST(Subject, WildcardsFollowNatsRules) {
  EXPECT_TRUE(subject_matches("maestra.stream.>", "maestra.stream.advertise.video"));
  EXPECT_FALSE(subject_matches("maestra.stream.>", "maestra.stream"));
  EXPECT_TRUE(subject_matches("maestra.*.advertise", "maestra.stream.advertise"));
  EXPECT_FALSE(subject_matches("maestra.*.advertise", "maestra.stream.advertise.video"));
  EXPECT_TRUE(subject_matches("a.b", "a.b"));
  EXPECT_FALSE(subject_matches("a.b", "a.b.c"));
  EXPECT_TRUE(is_valid_pattern("a.*.>"));
  EXPECT_FALSE(is_valid_pattern("a.>.b"));
  EXPECT_FALSE(is_valid_pattern("a..b"));
  EXPECT_FALSE(is_valid_subject("a.*"));
  EXPECT_FALSE(is_valid_subject("has space"));
}

TEST(Hub, DeliversToMatchingSubscriptionsOnlyAndCounts) {
  Hub hub;
  auto all = std::make_shared<Collector>();
  auto video = std::make_shared<Collector>();
  auto s1 = hub.subscribe("maestra.stream.>", all);
  auto s2 = hub.subscribe("maestra.stream.advertise.video", video);
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(hub.publish("maestra.stream.advertise.video", "{}"), 2u);
  EXPECT_EQ(hub.publish("maestra.stream.advertise.audio", "{}"), 1u);
  EXPECT_EQ(hub.publish("other.subject", "{}"), 0u);
  EXPECT_EQ(all->got.size(), 2u);
  EXPECT_EQ(video->got.size(), 1u);
  s2->reset();
  EXPECT_EQ(hub.publish("maestra.stream.advertise.video", "{}"), 1u);
  EXPECT_EQ(hub.stats().subscriptions, 1u);
}

TEST(Hub, InvalidPatternIsAnError) {
  Hub hub;
  auto sub = hub.subscribe("a.>.b", std::make_shared<Collector>());
  ASSERT_FALSE(sub);
  EXPECT_EQ(sub.error().status, 422);
}

TEST(Hub, RequestWithoutResponderFailsAtOnceEvenWithObservers) {
  Hub hub;
  auto watcher = hub.subscribe(">", std::make_shared<Collector>(), Interest::kObserver);
  bool called = false;
  auto r = hub.request("maestra.stream.request.x", "{}", [&](const MessagePtr&) { called = true; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 504);
  EXPECT_FALSE(called);
}

// A responder that answers every request on its reply subject.
struct Echo final : Subscriber {
  Hub& hub;
  explicit Echo(Hub& h) : hub(h) {}
  void deliver(const MessagePtr& m) override {
    if (!m->reply.empty()) hub.publish(m->reply, R"({"accepted":true})");
  }
};

TEST(Hub, RequestReachesResponderAndReplyComesBackOnce) {
  Hub hub;
  auto sub = hub.subscribe("svc.*", std::make_shared<Echo>(hub));
  std::string reply;
  auto pending = hub.request("svc.a", "{}", [&](const MessagePtr& m) { reply = m->data; });
  ASSERT_TRUE(pending);
  EXPECT_EQ(reply, R"({"accepted":true})");
  EXPECT_EQ(hub.stats().pending_requests, 0u);
}

TEST(Hub, CancelledRequestDropsLateReply) {
  Hub hub;
  auto silent = hub.subscribe("svc.slow", std::make_shared<Collector>());
  int calls = 0;
  auto pending = hub.request("svc.slow", "{}", [&](const MessagePtr&) { ++calls; });
  ASSERT_TRUE(pending);
  std::string inbox = pending->inbox();
  pending->cancel();
  EXPECT_EQ(hub.publish(inbox, "{}"), 0u);
  EXPECT_EQ(calls, 0);
}

TEST(Hub, ResponderPatternsListsOnlyRespondersUnderThePrefix) {
  Hub hub;
  auto c = std::make_shared<Collector>();
  auto r1 = hub.subscribe("maestra.stream.request.b", c);
  auto r2 = hub.subscribe("maestra.stream.request.a", c);
  auto r3 = hub.subscribe("maestra.stream.request.a", c);  // same pattern twice: listed once
  auto r4 = hub.subscribe("maestra.stream.request.*", c);
  auto o1 = hub.subscribe("maestra.stream.request.c", c, Interest::kObserver);
  auto o2 = hub.subscribe("maestra.>", c);  // a responder, but not under the prefix
  auto r5 = hub.subscribe("other.request.x", c);
  ASSERT_TRUE(r1 && r2 && r3 && r4 && o1 && o2 && r5);
  using V = std::vector<std::string>;
  EXPECT_EQ(
      hub.responder_patterns("maestra.stream.request."),
      (V{"maestra.stream.request.*", "maestra.stream.request.a", "maestra.stream.request.b"}));
  EXPECT_EQ(hub.responder_patterns("maestra.stream.request.a"), (V{"maestra.stream.request.a"}));
  EXPECT_EQ(
      hub.responder_patterns("maestra.stream.req"),
      (V{"maestra.stream.request.*", "maestra.stream.request.a", "maestra.stream.request.b"}));
  EXPECT_EQ(hub.responder_patterns("nothing."), V{});
  EXPECT_EQ(hub.responder_patterns("").size(), 5u);  // every responder pattern
  r2->reset();
  EXPECT_EQ(hub.responder_patterns("maestra.stream.request.a"), (V{"maestra.stream.request.a"}));
  r3->reset();
  r4->reset();
  EXPECT_EQ(hub.responder_patterns("maestra.stream.request."), (V{"maestra.stream.request.b"}));
}

TEST(ClientSession, SubscribePublishAndReplyOverJsonOps) {
  Hub hub;
  std::vector<std::string> out;
  ClientSession client(hub, [&](std::string f) { out.push_back(std::move(f)); });
  client.on_frame(R"({"op":"sub","sid":"1","subject":"maestra.stream.request.*"})");
  ASSERT_EQ(out.back(), R"({"op":"ok","sid":"1"})");
  std::string answer;
  auto pending = hub.request("maestra.stream.request.abc", R"({"consumer_id":"c"})",
                             [&](const MessagePtr& m) { answer = m->data; });
  ASSERT_TRUE(pending);
  ASSERT_NE(out.back().find(R"("op":"msg")"), std::string::npos);
  ASSERT_NE(out.back().find(R"("data":{"consumer_id":"c"})"), std::string::npos);
  auto reply_at = out.back().find(R"("reply":")");
  ASSERT_NE(reply_at, std::string::npos);
  std::string inbox = out.back().substr(reply_at + 9);
  inbox = inbox.substr(0, inbox.find('"'));
  client.on_frame(R"({"op":"pub","subject":")" + inbox + R"(","data":{"accepted":true}})");
  EXPECT_EQ(answer, R"({"accepted":true})");
}

// Only whom a request was sent to may publish to its reply subject, once.
TEST(ClientSession, ReplySubjectsAreOnlyForTheirAddressee) {
  Hub hub;
  std::vector<std::string> out, spy_out;
  ClientSession client(hub, [&](std::string f) { out.push_back(std::move(f)); });
  ClientSession spy(hub, [&](std::string f) { spy_out.push_back(std::move(f)); });
  client.on_frame(R"({"op":"sub","sid":"1","subject":"q"})");
  std::string answer;
  auto pending = hub.request("q", "1", [&](const MessagePtr& m) { answer = m->data; });
  ASSERT_TRUE(pending);
  auto reply_at = out.back().find(R"("reply":")");
  ASSERT_NE(reply_at, std::string::npos);
  std::string inbox = out.back().substr(reply_at + 9);
  inbox = inbox.substr(0, inbox.find('"'));
  spy.on_frame(R"({"op":"pub","subject":")" + inbox + R"(","data":"forged"})");
  EXPECT_NE(spy_out.back().find("not the reply subject"), std::string::npos) << spy_out.back();
  EXPECT_TRUE(answer.empty());
  client.on_frame(R"({"op":"pub","subject":")" + inbox + R"(","data":"real"})");
  EXPECT_EQ(answer, R"("real")");
  client.on_frame(R"({"op":"pub","subject":")" + inbox + R"(","data":"again"})");
  EXPECT_NE(out.back().find("not the reply subject"), std::string::npos);
}

// The server's ClientPolicy decides subscriptions, deliveries and publishes.
TEST(ClientSession, APolicyGuardsEveryOp) {
  struct Policy final : ClientPolicy {
    Status subscribe(std::string_view p) override {
      return p == "secret.>" ? Status(fail(Error::forbidden("no secrets"))) : Status{};
    }
    bool deliver(std::string_view subject) override { return subject != "open.hidden"; }
    Status publish(std::string_view s) override {
      return s.starts_with("maestra.") ? Status(fail(Error::forbidden("reserved"))) : Status{};
    }
  };
  Hub hub;
  std::vector<std::string> out;
  ClientSession client(
      hub, [&](std::string f) { out.push_back(std::move(f)); }, std::make_shared<Policy>());
  client.on_frame(R"({"op":"sub","sid":"1","subject":"secret.>"})");
  EXPECT_NE(out.back().find("no secrets"), std::string::npos);
  client.on_frame(R"({"op":"sub","sid":"2","subject":"open.>"})");
  ASSERT_EQ(out.back(), R"({"op":"ok","sid":"2"})");
  const auto before = out.size();
  hub.publish("open.hidden", "1");
  EXPECT_EQ(out.size(), before);
  hub.publish("open.seen", "1");
  EXPECT_EQ(out.size(), before + 1);
  auto seen = hub.subscribe("maestra.x", std::make_shared<Collector>());
  client.on_frame(R"({"op":"pub","subject":"maestra.x","data":1})");
  EXPECT_NE(out.back().find("reserved"), std::string::npos);
}

TEST(ClientSession, NonJsonPayloadsStillMakeValidJsonFrames) {
  // Relay publishers send arbitrary bytes, and error replies are "<status> <reason>" text.
  Hub hub;
  std::vector<std::string> out;
  ClientSession client(hub, [&](std::string f) { out.push_back(std::move(f)); });
  client.on_frame(R"({"op":"sub","sid":"1","subject":"relay.>"})");
  hub.publish("relay.text", "21.5 degrees");
  hub.publish("relay.binary", std::string("\xff\x00\xc3(", 4));
  hub.publish("relay.json", R"({"t":21.5})");
  hub.reply("relay.reply", "404 no such sensor", true);
  ASSERT_EQ(out.size(), 5u);
  for (std::size_t i = 1; i < out.size(); ++i) {
    boost::system::error_code ec;
    auto v = boost::json::parse(out[i], ec);
    ASSERT_FALSE(ec) << out[i];
    ASSERT_TRUE(v.is_object());
  }
  EXPECT_EQ(boost::json::parse(out[1]).at("data").as_string(), "21.5 degrees");
  EXPECT_EQ(std::string(boost::json::parse(out[2]).at("data").as_string()),
            std::string("\xEF\xBF\xBD\0\xEF\xBF\xBD(", 8));
  EXPECT_EQ(boost::json::parse(out[3]).at("data").at("t").as_double(), 21.5);
  auto error = boost::json::parse(out[4]);
  EXPECT_EQ(error.at("data").as_string(), "404 no such sensor");
  EXPECT_TRUE(error.at("error").as_bool());
}

TEST(ClientSession, BadFramesGetErrorsAndNothingBreaks) {
  Hub hub;
  std::vector<std::string> out;
  ClientSession client(hub, [&](std::string f) { out.push_back(std::move(f)); });
  client.on_frame("not json");
  EXPECT_NE(out.back().find(R"("op":"err")"), std::string::npos);
  client.on_frame(R"({"op":"sub","sid":"x","subject":"a..b"})");
  EXPECT_NE(out.back().find(R"("op":"err")"), std::string::npos);
  client.on_frame(R"({"op":"pub","subject":"a.*","data":1})");
  EXPECT_NE(out.back().find("invalid subject"), std::string::npos);
  client.on_frame(R"({"op":"dance"})");
  EXPECT_NE(out.back().find("unknown op"), std::string::npos);
  client.on_frame(R"({"op":"ping"})");
  EXPECT_EQ(out.back(), R"({"op":"pong"})");
  EXPECT_EQ(hub.stats().subscriptions, 0u);
}

TEST(ClientSession, CloseDropsSubscriptions) {
  Hub hub;
  ClientSession client(hub, [](std::string) {});
  client.on_frame(R"({"op":"sub","sid":"1","subject":">"})");
  EXPECT_EQ(hub.stats().subscriptions, 1u);
  client.close();
  EXPECT_EQ(hub.stats().subscriptions, 0u);
}

}  // namespace
}  // namespace sluice::hub
