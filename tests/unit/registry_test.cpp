// Registry rules with a fake clock, a fake bus and in-memory SQLite: every TTL rule without sleeps.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <set>

#include "core/clock.hpp"
#include "registry/memory_store.hpp"
#include "registry/registry.hpp"
#include "registry/requests.hpp"
#include "registry/sqlite_history.hpp"
#include "support/fake_bus.hpp"

namespace sluice::registry {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest()
      : history(":memory:"), reg(RegistryOptions{30s, 5000ms}, store, history, bus, clock) {
    reg.seed_builtin_types();
  }

  AdvertiseRequest camera(std::string name = "Stage Camera A", std::string publisher = "td-01") {
    auto body = json::parse(R"({"name":")" + name + R"(","stream_type":"ndi","publisher_id":")" +
                            publisher +
                            R"(","protocol":"ndi","address":"192.168.1.50","port":5960,
                               "config":{"fps":60}})")
                    .as_object();
    return *parse_advertise(body);
  }

  AdvertiseRequest multicast() {
    auto a = camera("Lidar", "pi-7");
    a.multicast_group = "239.1.2.3";
    a.multicast_port = 5000;
    return a;
  }

  StreamOffer open_session(const std::string& stream_id,
                           const char* reply = R"({"accepted":true})") {
    bus.reply = reply;
    std::optional<Result<StreamOffer>> result;
    reg.request_stream(stream_id, StreamRequest{"consumer-1", "10.0.0.9", 7000, {}},
                       [&](Result<StreamOffer> r) { result = std::move(r); });
    EXPECT_TRUE(result && *result);
    return **result;
  }

  Result<StreamOffer> request(const std::string& stream_id) {
    std::optional<Result<StreamOffer>> result;
    reg.request_stream(stream_id, StreamRequest{"consumer-1", "10.0.0.9", std::nullopt, {}},
                       [&](Result<StreamOffer> r) { result = std::move(r); });
    EXPECT_TRUE(result.has_value()) << "callback must run exactly once";
    return *result;
  }

  FakeClock clock;
  testing::FakeBus bus;
  MemoryStore store;
  SqliteHistory history;
  Registry reg;
};

TEST_F(RegistryTest, AdvertiseMergesDefaultConfigAndPublishesMaestraEvents) {
  auto v = reg.advertise(camera());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->stream.config.at("fps").as_int64(), 60);         // advertised wins
  EXPECT_EQ(v->stream.config.at("codec").as_string(), "h264");  // default fills in
  EXPECT_EQ(v->stream.delivery_mode(), "unicast");
  auto events = bus.on("maestra.stream.advertise");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].payload.at("type").as_string(), "stream_advertised");
  EXPECT_EQ(events[0].payload.at("stream_id").as_string(), v->stream.id);
  EXPECT_EQ(bus.on("maestra.stream.advertise.ndi").size(), 1u);
}

TEST_F(RegistryTest, AdvertiseIsIdempotentPerPublisherAndName) {
  auto first = reg.advertise(camera());
  ASSERT_TRUE(first);
  open_session(first->stream.id);
  clock.advance(5s);
  auto again = camera();
  again.port = 6000;
  auto second = reg.advertise(again);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->stream.id, first->stream.id);
  EXPECT_EQ(second->stream.port, 6000);
  EXPECT_EQ(second->stream.advertised_at, first->stream.advertised_at);
  EXPECT_GT(second->stream.last_heartbeat, first->stream.last_heartbeat);
  EXPECT_EQ(second->active_sessions, 1u);  // children kept
  EXPECT_EQ(reg.list_streams(std::nullopt).value().size(), 1u);
  auto other = reg.advertise(camera("Stage Camera A", "another-publisher"));
  EXPECT_NE(other->stream.id, first->stream.id);
}

TEST_F(RegistryTest, UnknownTypeIs422UntilCreated) {
  auto lidar = camera();
  lidar.stream_type = "lidar";
  auto refused = reg.advertise(lidar);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 422);
  EXPECT_EQ(refused.error().fields.at(0).loc.back(), "stream_type");

  StreamTypeSpec spec{
      "lidar", "LiDAR", "Point clouds", "radar", json::object{{"points_per_second", 300000}},
      {},      {}};
  ASSERT_TRUE(reg.create_type(spec));
  auto ok = reg.advertise(lidar);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->stream.config.at("points_per_second").as_int64(), 300000);
  EXPECT_EQ(reg.create_type(spec).error().status, 409);
}

TEST_F(RegistryTest, ConfigSchemaViolationsNameTheField) {
  auto schema = json::parse(R"({"fps":{"type":"integer","required":true,"min":1,"max":240},
                                "codec":{"type":"string","enum":["h264","hevc"]}})")
                    .as_object();
  ASSERT_TRUE(reg.create_type(StreamTypeSpec{"cam", "Camera", {}, {}, {}, {}, schema}));
  auto a = camera();
  a.stream_type = "cam";
  a.config = json::parse(R"({"fps":500,"codec":"mjpeg"})").as_object();
  auto r = reg.advertise(a);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 422);
  ASSERT_EQ(r.error().fields.size(), 2u);
  EXPECT_EQ(r.error().fields[0].loc, (std::vector<std::string>{"body", "config", "fps"}));
  EXPECT_NE(r.error().fields[0].msg.find("fps"), std::string::npos);
  a.config = {};
  r = reg.advertise(a);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fields[0].type, "missing");
  a.config = json::parse(R"({"fps":25,"codec":"hevc"})").as_object();
  EXPECT_TRUE(reg.advertise(a));
}

TEST_F(RegistryTest, BuiltInTypesAreProtectedAndInUseTypesCannotBeDeleted) {
  EXPECT_EQ(reg.list_types().value().size(), 11u);
  EXPECT_EQ(reg.delete_type("ndi").error().status, 403);
  EXPECT_EQ(reg.update_type("ndi", StreamTypeSpec{"ndi", "x", {}, {}, {}, {}, {}}).error().status,
            403);
  ASSERT_TRUE(reg.create_type(StreamTypeSpec{"lidar", "LiDAR", {}, {}, {}, {}, {}}));
  auto updated =
      reg.update_type("lidar", StreamTypeSpec{"lidar", "Laser scanner", {}, {}, {}, {}, {}});
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->display_name, "Laser scanner");
  auto a = camera();
  a.stream_type = "lidar";
  ASSERT_TRUE(reg.advertise(a));
  EXPECT_EQ(reg.delete_type("lidar").error().status, 409);
  ASSERT_TRUE(reg.withdraw(reg.list_streams(std::nullopt).value()[0].stream.id));
  EXPECT_TRUE(reg.delete_type("lidar"));
  EXPECT_EQ(reg.delete_type("lidar").error().status, 404);
}

TEST_F(RegistryTest, HeartbeatKeepsAStreamAliveAndSilenceExpiresIt) {
  auto v = reg.advertise(camera());
  clock.advance(25s);
  EXPECT_EQ(reg.expire_due().value(), 0u);
  ASSERT_TRUE(reg.heartbeat_stream(v->stream.id));
  clock.advance(25s);
  EXPECT_EQ(reg.expire_due().value(), 0u);
  EXPECT_TRUE(reg.get_stream(v->stream.id));
  clock.advance(6s);
  EXPECT_EQ(reg.expire_due().value(), 1u);
  EXPECT_EQ(reg.get_stream(v->stream.id).error().status, 404);
  EXPECT_EQ(reg.heartbeat_stream(v->stream.id).error().status, 404);
  auto withdrawn = bus.on("maestra.stream.withdraw." + v->stream.id);
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0].payload.at("type").as_string(), "stream_withdrawn");
  EXPECT_EQ(withdrawn[0].payload.at("reason").as_string(), "expired");
  EXPECT_EQ(reg.stats().expiries[0].load(), 1u);
  EXPECT_EQ(reg.expire_due().value(), 0u);  // announced exactly once
}

TEST_F(RegistryTest, StreamExpiryTakesItsSessionsAndSubscribersWithEventsAndHistory) {
  auto unicast = reg.advertise(camera());
  auto offer = open_session(unicast->stream.id);
  auto mc = reg.advertise(multicast());
  auto joined = reg.join(mc->stream.id, JoinRequest{"viewer", "10.0.0.5", {}});
  ASSERT_TRUE(joined);
  clock.advance(10s);
  // Children heartbeat, parents do not: the parents' expiry still takes the children.
  ASSERT_TRUE(reg.heartbeat_session(offer.session_id, std::nullopt));
  ASSERT_TRUE(reg.heartbeat_subscriber(joined->subscriber_id));
  clock.advance(21s);
  EXPECT_EQ(reg.expire_due().value(), 4u);
  EXPECT_TRUE(reg.list_sessions(std::nullopt).value().empty());
  EXPECT_TRUE(reg.list_subscribers(std::nullopt).value().empty());
  auto stopped = bus.on("maestra.stream.session.stopped");
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].payload.at("reason").as_string(), "stream_expired");
  auto left = bus.on("maestra.stream.subscriber.left");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].payload.at("subscriber_id").as_string(), joined->subscriber_id);
  auto rows = reg.session_history(HistoryQuery{});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].status, "expired");
  EXPECT_TRUE((*rows)[0].ended_at);
  EXPECT_NEAR(*(*rows)[0].duration_seconds, 31.0, 0.01);
}

TEST_F(RegistryTest, SessionExpiresOnItsOwnAndCountsStayExact) {
  auto v = reg.advertise(camera());
  auto s1 = open_session(v->stream.id);
  auto s2 = open_session(v->stream.id);
  EXPECT_EQ(reg.get_stream(v->stream.id)->active_sessions, 2u);
  clock.advance(20s);
  ASSERT_TRUE(reg.heartbeat_stream(v->stream.id));
  ASSERT_TRUE(reg.heartbeat_session(s2.session_id, 4096));
  clock.advance(11s);
  EXPECT_EQ(reg.expire_due().value(), 1u);
  EXPECT_EQ(reg.get_stream(v->stream.id)->active_sessions, 1u);
  auto stopped = bus.on("maestra.stream.session.stopped");
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].payload.at("session_id").as_string(), s1.session_id);
  EXPECT_EQ(stopped[0].payload.at("reason").as_string(), "expired");
  ASSERT_TRUE(reg.stop_session(s2.session_id));
  EXPECT_EQ(reg.get_stream(v->stream.id)->active_sessions, 0u);
  auto rows = reg.session_history(HistoryQuery{});
  ASSERT_EQ(rows->size(), 2u);
  for (const auto& r : *rows) {
    if (r.session_id == s2.session_id) {
      EXPECT_EQ(r.status, "stopped");
      EXPECT_EQ(r.bytes_transferred, 4096);
    } else {
      EXPECT_EQ(r.status, "expired");
    }
  }
}

TEST_F(RegistryTest, WithdrawStopsSessionsWithEventsAndClosesHistory) {
  auto v = reg.advertise(camera());
  auto s = open_session(v->stream.id);
  ASSERT_TRUE(reg.withdraw(v->stream.id));
  EXPECT_EQ(reg.withdraw(v->stream.id).error().status, 404);
  EXPECT_FALSE(store.get_session(s.session_id).value());
  auto stopped = bus.on("maestra.stream.session.stopped");
  ASSERT_EQ(stopped.size(), 1u);
  EXPECT_EQ(stopped[0].payload.at("reason").as_string(), "stream_withdrawn");
  EXPECT_EQ(bus.on("maestra.stream.withdraw." + v->stream.id)[0].payload.at("reason").as_string(),
            "withdrawn");
  EXPECT_EQ((*reg.session_history(HistoryQuery{}))[0].status, "stopped");
}

TEST_F(RegistryTest, NegotiationUsesReplyOverridesAndFallsBackToTheAdvert) {
  auto v = reg.advertise(camera());
  auto offer = open_session(
      v->stream.id,
      R"({"accepted":true,"address":"10.1.1.1","port":"7001","transport_config":{"ndi_name":"CAM A"}})");
  EXPECT_EQ(offer.publisher_address, "10.1.1.1");
  EXPECT_EQ(offer.publisher_port, 7001);
  EXPECT_EQ(offer.protocol, "ndi");
  EXPECT_EQ(offer.transport_config.at("ndi_name").as_string(), "CAM A");
  auto plain = open_session(v->stream.id);
  EXPECT_EQ(plain.publisher_address, "192.168.1.50");
  EXPECT_EQ(plain.publisher_port, 5960);
  ASSERT_EQ(bus.requests.size(), 2u);
  EXPECT_EQ(bus.requests[0].subject, "maestra.stream.request." + v->stream.id);
  EXPECT_EQ(bus.requests[0].payload.at("consumer_port").as_int64(), 7000);
  auto started = bus.on("maestra.stream.session.started");
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started[0].payload.at("publisher_port").as_string(), "7001");  // Maestra sends a string
}

TEST_F(RegistryTest, NegotiationFailuresMapToMaestraStatuses) {
  auto v = reg.advertise(camera());
  bus.reply = R"({"accepted":false,"reason":"camera busy"})";
  auto r = request(v->stream.id);
  EXPECT_EQ(r.error().status, 404);
  EXPECT_EQ(r.error().detail, "camera busy");
  bus.reply = R"({"accepted":false})";
  EXPECT_EQ(request(v->stream.id).error().detail, "Publisher rejected the request");
  bus.reply = "[1,2]";
  EXPECT_EQ(request(v->stream.id).error().status, 502);
  bus.reply.reset();
  r = request(v->stream.id);
  EXPECT_EQ(r.error().status, 504);
  EXPECT_NE(r.error().detail.find("No responder"), std::string::npos);
  bus.time_out = true;
  r = request(v->stream.id);
  EXPECT_EQ(r.error().status, 504);
  EXPECT_EQ(r.error().detail, "Publisher did not respond within 5 seconds");
  EXPECT_EQ(request("00000000-0000-4000-8000-000000000000").error().status, 404);
  auto mc = reg.advertise(multicast());
  EXPECT_EQ(request(mc->stream.id).error().status, 400);
  EXPECT_TRUE(reg.list_sessions(std::nullopt).value().empty());
  EXPECT_EQ(reg.stats().negotiations[static_cast<std::size_t>(Negotiation::kRejected)].load(), 2u);
}

// Offers for publishers that cannot answer: a stream whose config, or its type's
// default_config, or the auto_offer setting says so gets the advertised values when no
// responder answers (none listening, or the request times out), marked in offer and session;
// an explicit refusal still stands, and other streams still get 504.
TEST_F(RegistryTest, AutoOfferAnswersFromTheAdvertWhenNoResponderDoes) {
  auto plain = reg.advertise(camera("Plain"));
  auto body = json::parse(R"({"name":"Sensor","stream_type":"sensor","publisher_id":"esp32-1",
      "protocol":"udp","address":"10.0.0.77","port":9000,
      "config":{"auto_offer":true,"transport_config":{"format":"json"}}})")
                  .as_object();
  auto sensor = reg.advertise(*parse_advertise(body));
  ASSERT_TRUE(sensor);
  bus.reply.reset();  // nobody answers
  EXPECT_EQ(request(plain->stream.id).error().status, 504);
  auto offer = request(sensor->stream.id);
  ASSERT_TRUE(offer) << offer.error().detail;
  EXPECT_TRUE(offer->auto_offered);
  EXPECT_EQ(offer->publisher_address, "10.0.0.77");
  EXPECT_EQ(offer->publisher_port, 9000);
  EXPECT_EQ(offer->protocol, "udp");
  EXPECT_EQ(offer->transport_config.at("format").as_string(), "json");
  EXPECT_EQ(to_json(*offer).at("auto_offer").as_bool(), true);
  auto sessions = reg.list_sessions(sensor->stream.id).value();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_TRUE(sessions[0].auto_offered);
  EXPECT_EQ(to_json(sessions[0]).at("auto_offer").as_bool(), true);
  EXPECT_FALSE(to_json(sessions[0]).contains("owner"));
  bus.time_out = true;  // a responder that never answers: the same
  EXPECT_TRUE(request(sensor->stream.id));
  bus.time_out = false;
  bus.reply = R"({"accepted":false,"reason":"busy"})";  // one that answers is obeyed
  EXPECT_EQ(request(sensor->stream.id).error().status, 404);
  bus.reply = R"({"accepted":true})";
  EXPECT_FALSE(open_session(sensor->stream.id).auto_offered);

  bus.reply.reset();
  reg.set_auto_offer(true);  // the setting: every stream
  EXPECT_TRUE(request(plain->stream.id));
  EXPECT_EQ(reg.stats().negotiations[static_cast<std::size_t>(Negotiation::kAutoOffered)].load(),
            3u);
}

TEST_F(RegistryTest, MulticastJoinLeaveAndSubscriberExpiry) {
  auto mc = reg.advertise(multicast());
  auto uni = reg.advertise(camera());
  EXPECT_EQ(reg.join(uni->stream.id, JoinRequest{"v", "1.1.1.1", {}}).error().status, 400);
  EXPECT_EQ(reg.join("00000000-0000-4000-8000-000000000000", JoinRequest{"v", "1.1.1.1", {}})
                .error()
                .status,
            400);
  auto a = reg.join(mc->stream.id, JoinRequest{"a", "10.0.0.1", {}});
  auto b = reg.join(mc->stream.id, JoinRequest{"b", "10.0.0.2", {}});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->multicast_group, "239.1.2.3");
  EXPECT_EQ(reg.get_stream(mc->stream.id)->active_subscribers, 2u);
  ASSERT_TRUE(reg.leave(mc->stream.id, a->subscriber_id));
  EXPECT_EQ(reg.leave(mc->stream.id, a->subscriber_id).error().status, 404);
  clock.advance(20s);
  ASSERT_TRUE(reg.heartbeat_stream(mc->stream.id));
  clock.advance(11s);
  EXPECT_EQ(reg.expire_due().value(), 2u);  // subscriber b and the silent unicast stream
  EXPECT_EQ(reg.get_stream(mc->stream.id)->active_subscribers, 0u);
  auto left = bus.on("maestra.stream.subscriber.left");
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[1].payload.at("reason").as_string(), "expired");
}

TEST_F(RegistryTest, HistoryFiltersByTimeAndPages) {
  auto v = reg.advertise(camera());
  auto t0 = clock.wall_now();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(open_session(v->stream.id).session_id);
    clock.advance(10s);
    ASSERT_TRUE(reg.heartbeat_stream(v->stream.id));
  }
  HistoryQuery q;
  q.since = t0 + 10s;
  q.until = t0 + 40s;
  auto rows = reg.session_history(q);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].session_id, ids[3]);  // newest first
  q.offset = 1;
  q.limit = 1;
  rows = reg.session_history(q);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].session_id, ids[2]);
  HistoryQuery by_consumer;
  by_consumer.consumer_id = "nobody";
  EXPECT_TRUE(reg.session_history(by_consumer)->empty());
}

TEST(Requests, AdvertiseValidationReportsEveryProblem) {
  auto body = json::parse(R"({"name":"","stream_type":"ndi","protocol":"carrier-pigeon",
      "address":"x","port":70000,"multicast_group":"10.0.0.1","multicast_port":5000})")
                  .as_object();
  auto r = parse_advertise(body);
  ASSERT_FALSE(r);
  std::set<std::string> fields;
  for (const auto& f : r.error().fields)
    fields.insert(f.loc.back());
  EXPECT_EQ(fields,
            (std::set<std::string>{"name", "publisher_id", "port", "protocol", "multicast_group"}));
  body = json::parse(R"({"name":"a","stream_type":"ndi","publisher_id":"p","protocol":"udp",
      "address":"x","port":1,"multicast_group":"239.0.0.1"})")
             .as_object();
  r = parse_advertise(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().fields[0].msg,
            "multicast_group and multicast_port must both be set or both be None");
}

}  // namespace
}  // namespace sluice::registry

namespace sluice::registry {
namespace {

// Ownership (issue 12): the registry's own rule, whatever door the call came through.
class OwnershipTest : public RegistryTest {
 protected:
  const Actor alice{"addr:10.0.0.2", false};
  const Actor mallory{"addr:10.0.0.3", false};
  const Actor operator_{"user:ana", true};
};

TEST_F(OwnershipTest, OnlyTheOwnerWithdrawsHeartbeatsOrChangesAStream) {
  auto v = reg.advertise(camera(), alice);
  ASSERT_TRUE(v);
  const std::string id = v->stream.id;
  EXPECT_EQ(reg.withdraw(id, mallory).error().status, 403);
  EXPECT_EQ(reg.heartbeat_stream(id, mallory).error().status, 403);
  auto hijack = camera();
  hijack.address = "10.0.0.3";
  EXPECT_EQ(reg.advertise(hijack, mallory).error().status, 403);
  // The same advert from someone else changes nothing and refreshes nothing.
  clock.advance(20s);
  auto same = reg.advertise(camera(), mallory);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->stream.address, "192.168.1.50");
  clock.advance(11s);
  ASSERT_TRUE(reg.expire_due());
  EXPECT_EQ(reg.get_stream(id).error().status, 404) << "mallory's advert kept it alive";
  // The binding outlives the stream: after the TTL gap mallory still cannot take the name.
  EXPECT_EQ(reg.advertise(hijack, mallory).error().status, 403);
  ASSERT_TRUE(reg.advertise(camera(), alice));
  EXPECT_TRUE(reg.heartbeat_stream(id, alice));
  // An operator manages everything; withdrawing by the owner frees the name.
  EXPECT_TRUE(reg.heartbeat_stream(id, operator_));
  EXPECT_TRUE(reg.withdraw(id, alice));
  EXPECT_TRUE(reg.advertise(hijack, mallory));
}

TEST_F(OwnershipTest, SessionsAndSubscribersBelongToConsumerAndStreamOwner) {
  auto v = reg.advertise(camera(), alice);
  ASSERT_TRUE(v);
  bus.reply = R"({"accepted":true})";
  std::optional<Result<StreamOffer>> offer;
  const Actor consumer{"addr:10.0.0.4", false};
  reg.request_stream(
      v->stream.id, StreamRequest{"tv", "10.0.0.4", std::nullopt, {}},
      [&](Result<StreamOffer> r) { offer = std::move(r); }, consumer);
  ASSERT_TRUE(offer && *offer);
  const std::string session = (*offer)->session_id;
  EXPECT_EQ(reg.heartbeat_session(session, std::nullopt, mallory).error().status, 403);
  EXPECT_EQ(reg.may_heartbeat(Kind::kSession, session, mallory).error().status, 403);
  EXPECT_TRUE(reg.heartbeat_session(session, std::nullopt, consumer));
  EXPECT_EQ(reg.stop_session(session, mallory).error().status, 403);
  EXPECT_TRUE(reg.stop_session(session, alice));  // the stream's owner

  auto mc = reg.advertise(multicast(), alice);
  ASSERT_TRUE(mc);
  auto joined = reg.join(mc->stream.id, JoinRequest{"tv", "10.0.0.4", {}}, consumer);
  ASSERT_TRUE(joined);
  EXPECT_EQ(reg.heartbeat_subscriber(joined->subscriber_id, mallory).error().status, 403);
  EXPECT_EQ(reg.leave(mc->stream.id, joined->subscriber_id, mallory).error().status, 403);
  EXPECT_TRUE(reg.leave(mc->stream.id, joined->subscriber_id, consumer));
  EXPECT_TRUE(reg.may_answer(mc->stream.id, alice));
  EXPECT_FALSE(reg.may_answer(mc->stream.id, mallory));
}

TEST_F(OwnershipTest, PerOwnerCapCountsNewStreamsOnly) {
  reg.set_max_streams_per_owner(2);
  ASSERT_TRUE(reg.advertise(camera("a"), mallory));
  ASSERT_TRUE(reg.advertise(camera("b"), mallory));
  EXPECT_EQ(reg.advertise(camera("c"), mallory).error().status, 429);
  EXPECT_TRUE(reg.advertise(camera("b"), mallory));  // a re-advertise is not a new stream
  EXPECT_TRUE(reg.advertise(camera("c"), alice));    // others are not affected
  EXPECT_TRUE(reg.advertise(camera("d"), operator_));
}

}  // namespace
}  // namespace sluice::registry
