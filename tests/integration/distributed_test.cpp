// Several sluiced nodes acting as one (docs/operations.md, "Several nodes"): two real daemons, A
// and B, sharing a real redis-server (--store) and a real nats-server (--bus), driven the way users
// drive them — HTTP, SSE, /ws and the C++ SDK — with plain libnats clients standing in for Maestra
// devices and services, and redis-cli looking at Maestra's key layout. Every test starts its own
// servers and nodes on free ports (cluster_fixture.hpp); outages are real (SIGKILL, restart on the
// same port).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"
#include "client/event_stream.hpp"
#include "client/hub_connection.hpp"
#include "client/stream_publisher.hpp"
#include "client/wire_session.hpp"
#include "cluster_fixture.hpp"
#include "postgres_fixture.hpp"

namespace sluice::testing {
namespace {

// 1. The registry is one: what A advertises B lists, heartbeats and withdraws; Redis holds it in
// Maestra's layout with exact index sets (no lazy pruning on withdraw or expiry).
TEST_F(Distributed, RegistryIsSharedAndStoredInMaestrasLayout) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  auto view = a().advertise(advert("cam-shared"));
  ASSERT_TRUE(view) << view.error().detail;
  const std::string id = view->stream.id;
  const auto advertised = std::chrono::steady_clock::now();

  auto on_b = b().list_streams();
  ASSERT_TRUE(on_b) << on_b.error().detail;
  ASSERT_EQ(on_b->size(), 1u);
  EXPECT_EQ(on_b->front().stream.id, id);
  EXPECT_EQ(on_b->front().stream.name, "cam-shared");
  EXPECT_EQ(on_b->front().stream.port, 9000);

  auto hash = redis_hash(redis_port(), "stream:" + id);
  for (const char* field :
       {"id", "name", "stream_type", "publisher_id", "protocol", "address", "port", "entity_id",
        "device_id", "config", "metadata", "multicast_group", "multicast_port", "delivery_mode",
        "advertised_at", "last_heartbeat"}) {
    EXPECT_TRUE(hash.contains(field)) << "stream:" << id << " has no field " << field;
  }
  EXPECT_EQ(hash["id"], id);
  EXPECT_EQ(hash["name"], "cam-shared");
  EXPECT_EQ(hash["stream_type"], "data");
  EXPECT_EQ(hash["publisher_id"], "dist-publisher");
  EXPECT_EQ(hash["protocol"], "udp");
  EXPECT_EQ(hash["address"], "10.0.0.5");
  EXPECT_EQ(hash["port"], "9000");
  EXPECT_EQ(hash["entity_id"], "");
  EXPECT_EQ(hash["multicast_group"], "");
  EXPECT_EQ(hash["delivery_mode"], "unicast");
  EXPECT_EQ(json::parse(hash["config"]), (json::object{{"format", "json"}}));
  EXPECT_EQ(json::parse(hash["metadata"]), (json::object{{"room", "A"}}));
  EXPECT_EQ(redis_int(redis_port(), {"SISMEMBER", "streams:all", id}), 1);
  EXPECT_EQ(redis_int(redis_port(), {"SISMEMBER", "streams:by_type:data", id}), 1);

  // Heartbeats on B alone keep A's stream alive well past its TTL.
  while (std::chrono::steady_clock::now() < advertised + kTtl + 1500ms) {
    auto beat = b().heartbeat(id);
    ASSERT_TRUE(beat) << beat.error().detail;
    std::this_thread::sleep_for(400ms);  // a publisher's heartbeat period, well under the TTL
  }
  EXPECT_TRUE(lists(a(), id));
  EXPECT_NE(redis_hash(redis_port(), "stream:" + id)["last_heartbeat"], hash["last_heartbeat"]);

  // Withdrawn on B: gone on A at once, and from the hash and both index sets.
  ASSERT_TRUE(b().withdraw(id));
  EXPECT_TRUE(is_gone(a(), id));
  EXPECT_FALSE(lists(a(), id));
  EXPECT_EQ(redis_int(redis_port(), {"EXISTS", "stream:" + id}), 0);
  EXPECT_EQ(redis_int(redis_port(), {"SISMEMBER", "streams:all", id}), 0);
  EXPECT_EQ(redis_int(redis_port(), {"SISMEMBER", "streams:by_type:data", id}), 0);

  // Expired (nobody heartbeats): the index sets lose it without anyone listing.
  auto expiring = a().advertise(advert("cam-expiring", "video"));
  ASSERT_TRUE(expiring) << expiring.error().detail;
  const std::string id2 = expiring->stream.id;
  EXPECT_EQ(redis_int(redis_port(), {"SISMEMBER", "streams:by_type:video", id2}), 1);
  ASSERT_TRUE(eventually(
      [&] {
        return redis_int(redis_port(), {"SISMEMBER", "streams:all", id2}) == 0;
      },
      kTtl + 5s));
  EXPECT_EQ(redis_int(redis_port(), {"SISMEMBER", "streams:by_type:video", id2}), 0);
  EXPECT_EQ(redis_int(redis_port(), {"EXISTS", "stream:" + id2}), 0);
  EXPECT_TRUE(is_gone(a(), id2));
  EXPECT_TRUE(is_gone(b(), id2));
}

// 2. A consumer asks B for a stream whose publisher (the SDK) is attached to A.
TEST_F(Distributed, RequestOnOneNodeReachesSdkPublisherOnTheOther) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  PlainNats nats(nats_.url());
  SseWatcher watch_a(a_->url()), watch_b(b_->url());
  ASSERT_TRUE(hears_nats(nats, watch_a));
  ASSERT_TRUE(hears_nats(nats, watch_b));

  std::atomic<int> requests_seen{0};
  client::StreamPublisher::Options options;
  options.heartbeat_interval = kPublisherHeartbeat;
  options.on_request = [&](const client::IncomingStreamRequest& r) -> client::Decision {
    requests_seen++;
    if (r.consumer_id != kConsumer.consumer_id) return client::RejectRequest{"unknown consumer"};
    return client::AcceptRequest{"10.9.8.7", 7001, {}, json::object{{"ndi_name", "STAGE (A)"}}};
  };
  client::StreamPublisher publisher(a(), advert("stage-cam", "ndi"), options);
  auto started = publisher.start();
  ASSERT_TRUE(started) << started.error().detail;
  const std::string id = started->stream.id;

  auto offer = request_until_answered(b(), id);
  ASSERT_TRUE(offer) << offer.error().status << " " << offer.error().detail;
  EXPECT_EQ(offer->stream_id, id);
  EXPECT_EQ(offer->stream_name, "stage-cam");
  EXPECT_EQ(offer->publisher_address, "10.9.8.7");
  EXPECT_EQ(offer->publisher_port, 7001);
  EXPECT_EQ(str(offer->transport_config, "ndi_name"), "STAGE (A)");
  EXPECT_EQ(requests_seen.load(), 1);
  const std::string sid = offer->session_id;
  EXPECT_TRUE(lists_session(a(), sid));
  EXPECT_TRUE(lists_session(b(), sid));

  // session.started once on each node's SSE; the stop that B publishes after it marks the end.
  ASSERT_TRUE(b().stop_session(sid));
  for (auto* w : {&watch_b, &watch_a}) {
    ASSERT_TRUE(eventually([&] {
      return w->log().count("maestra.stream.session.stopped", "session_id", sid) > 0;
    })) << w->log().dump();
    EXPECT_EQ(w->log().count("maestra.stream.session.started", "session_id", sid), 1u)
        << w->log().dump();
    EXPECT_EQ(w->log().count("maestra.stream.session.stopped", "session_id", sid), 1u);
  }
  EXPECT_FALSE(lists_session(a(), sid));
}

// 3. A publisher that is not a sluice client at all: a plain NATS responder.
TEST_F(Distributed, PlainNatsResponderNoResponderAndRefusal) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  PlainNats publisher(nats_.url());

  auto view = b().advertise(advert("plain-nats", "ndi"));
  ASSERT_TRUE(view) << view.error().detail;
  const std::string id = view->stream.id;
  EventLog requests;
  publisher.respond(
      "maestra.stream.request." + id,
      R"json({"accepted":true,"address":"10.7.7.7","port":7777,"transport_config":{"ndi_name":"PLAIN (1)"}})json",
      &requests);
  auto offer = a().request_stream(id, kConsumer);
  ASSERT_TRUE(offer) << offer.error().status << " " << offer.error().detail;
  EXPECT_EQ(offer->stream_id, id);
  EXPECT_EQ(offer->publisher_address, "10.7.7.7");
  EXPECT_EQ(offer->publisher_port, 7777);
  EXPECT_EQ(str(offer->transport_config, "ndi_name"), "PLAIN (1)");
  // The responder got Maestra's request payload.
  EXPECT_EQ(requests.count("maestra.stream.request." + id, "consumer_id", "consumer-1"), 1u)
      << requests.dump();
  EXPECT_EQ(requests.count("maestra.stream.request." + id, "stream_id", id), 1u);
  EXPECT_TRUE(lists_session(b(), offer->session_id));

  // Nobody answers anywhere: the no-responder error, at once rather than after request-timeout.
  auto lonely = b().advertise(advert("nobody-home"));
  ASSERT_TRUE(lonely);
  const auto asked = std::chrono::steady_clock::now();
  auto none = a().request_stream(lonely->stream.id, kConsumer);
  const auto elapsed = std::chrono::steady_clock::now() - asked;
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().status, 504) << none.error().detail;
  EXPECT_TRUE(contains(none.error().detail, "No responder")) << none.error().detail;
  EXPECT_LT(elapsed, 1500ms);  // --request-timeout is 5 s

  // A refusal becomes a 404 with the publisher's reason.
  auto busy = a().advertise(advert("busy-cam"));
  ASSERT_TRUE(busy);
  publisher.respond("maestra.stream.request." + busy->stream.id,
                    R"({"accepted":false,"reason":"busy"})");
  auto refused = b().request_stream(busy->stream.id, kConsumer);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 404);
  EXPECT_EQ(refused.error().detail, "busy");
}

// 4. Devices heartbeat over NATS (Maestra's subjects), no HTTP at all.
TEST_F(Distributed, NatsHeartbeatsKeepStreamsAndSessionsAlive) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  PlainNats device(nats_.url());
  device.respond("maestra.stream.request.*", R"({"accepted":true})");
  auto view = a().advertise(advert("nats-heartbeats"));
  ASSERT_TRUE(view) << view.error().detail;
  const std::string id = view->stream.id;
  auto offer = b().request_stream(id, kConsumer);
  ASSERT_TRUE(offer) << offer.error().detail;
  const std::string sid = offer->session_id;
  // A multicast stream with one subscriber, heartbeated over NATS as well.
  auto group = advert("nats-multicast");
  group.multicast_group = "239.1.2.3";
  group.multicast_port = 5004;
  auto mc = b().advertise(group);
  ASSERT_TRUE(mc) << mc.error().detail;
  auto joined = a().join(mc->stream.id, registry::JoinRequest{"wall", "10.0.0.12", {}});
  ASSERT_TRUE(joined) << joined.error().detail;
  const std::string subscriber = joined->subscriber_id;
  auto subscribed = [&](Client& node) {
    auto all = node.list_subscribers(mc->stream.id);
    return all && all->size() == 1 && (*all)[0].subscriber_id == subscriber;
  };

  const auto until = std::chrono::steady_clock::now() + kTtl + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    device.publish("maestra.stream.heartbeat." + id, "{}");
    device.publish("maestra.stream.session.heartbeat." + sid, "{}");
    device.publish("maestra.stream.heartbeat." + mc->stream.id, "{}");
    device.publish("maestra.stream.subscriber.heartbeat." + subscriber, "{}");
    std::this_thread::sleep_for(300ms);  // the device's heartbeat period
  }
  EXPECT_TRUE(lists(a(), id));
  EXPECT_TRUE(lists(b(), id));
  EXPECT_TRUE(lists_session(a(), sid));
  EXPECT_TRUE(subscribed(a()));
  EXPECT_TRUE(subscribed(b()));

  // The device stops: both expire.
  EXPECT_TRUE(eventually([&] { return is_gone(a(), id) && is_gone(b(), id); }, kTtl + 5s));
  EXPECT_TRUE(eventually([&] { return !lists_session(b(), sid); }, 5s));
}

// 5. Two nodes sweep the same Redis: every expiry is announced exactly once cluster-wide.
TEST_F(Distributed, ExpiryIsAnnouncedExactlyOnceAcrossNodes) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  PlainNats nats(nats_.url());
  EventLog on_nats;
  nats.watch("maestra.stream.withdraw.>", on_nats);
  nats.watch("maestra.stream.session.stopped", on_nats);
  nats.respond("maestra.stream.request.*", R"({"accepted":true})");
  SseWatcher watch_a(a_->url()), watch_b(b_->url());
  ASSERT_TRUE(hears_nats(nats, watch_a));
  ASSERT_TRUE(hears_nats(nats, watch_b));

  constexpr int kStreams = 20;
  std::vector<std::string> streams, sessions;
  for (int i = 0; i < kStreams; ++i) {
    Client& owner = i % 2 ? a() : b();
    Client& consumer = i % 2 ? b() : a();
    auto view = owner.advertise(advert("expiring-" + std::to_string(i)));
    ASSERT_TRUE(view) << view.error().detail;
    auto offer = consumer.request_stream(view->stream.id, kConsumer);
    ASSERT_TRUE(offer) << offer.error().detail;
    streams.push_back(view->stream.id);
    sessions.push_back(offer->session_id);
    // Pacing, not an assertion: deadlines spread over a few sweep periods (250 ms) of both
    // nodes, so both race to take them.
    std::this_thread::sleep_for(40ms);
  }
  EXPECT_GT(redis_int(redis_port(), {"ZCARD", "sluice:expiry"}), 0);  // deadlines on Redis' clock

  auto announced = [&](const EventLog& log) {
    for (const auto& id : streams) {
      if (log.count("maestra.stream.withdraw." + id) == 0) return false;
    }
    for (const auto& sid : sessions) {
      if (log.count("maestra.stream.session.stopped", "session_id", sid) == 0) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually([&] { return announced(on_nats); }, kTtl + 10s)) << on_nats.dump();
  // A marker that expires a full TTL later: by then a second node announcing any of the above
  // again would long have done so.
  auto marker = a().advertise(advert("marker"));
  ASSERT_TRUE(marker);
  const std::string marker_subject = "maestra.stream.withdraw." + marker->stream.id;
  ASSERT_TRUE(eventually(
      [&] {
        return on_nats.count(marker_subject) > 0 && watch_a.log().count(marker_subject) > 0 &&
               watch_b.log().count(marker_subject) > 0;
      },
      kTtl + 10s));

  for (const EventLog* log :
       {static_cast<const EventLog*>(&on_nats), &watch_a.log(), &watch_b.log()}) {
    const char* who = log == &on_nats ? "NATS" : log == &watch_a.log() ? "SSE on A" : "SSE on B";
    for (const auto& id : streams) {
      EXPECT_EQ(log->count("maestra.stream.withdraw." + id), 1u) << who << ": withdraw of " << id;
      EXPECT_EQ(log->count("maestra.stream.withdraw." + id, "reason", "expired"), 1u) << who;
    }
    for (const auto& sid : sessions) {
      EXPECT_EQ(log->count("maestra.stream.session.stopped", "session_id", sid), 1u)
          << who << ": session.stopped of " << sid;
    }
    EXPECT_EQ(log->count_prefix("maestra.stream.withdraw."), kStreams + 1u) << who;
  }

  // Redis first (before any listing could prune lazily): nothing left behind.
  EXPECT_EQ(redis_int(redis_port(), {"SCARD", "streams:all"}), 0);
  EXPECT_EQ(redis_int(redis_port(), {"SCARD", "streams:by_type:data"}), 0);
  EXPECT_EQ(redis_int(redis_port(), {"SCARD", "sessions:all"}), 0);
  EXPECT_EQ(redis_keys(redis_port(), "sessions:by_stream:*"), std::vector<std::string>{});
  EXPECT_EQ(redis_keys(redis_port(), "stream:*"), std::vector<std::string>{});
  EXPECT_EQ(redis_keys(redis_port(), "session:*"), std::vector<std::string>{});
  EXPECT_EQ(redis_int(redis_port(), {"ZCARD", "sluice:expiry"}), 0);

  // Each record was taken by one node (which one is a race between their sweeps).
  const std::string expired_streams = R"(sluice_expiries_total{kind="stream"})";
  const double by_a = metric(a(), expired_streams), by_b = metric(b(), expired_streams);
  EXPECT_EQ(by_a + by_b, kStreams + 1.0) << "A " << by_a << ", B " << by_b;
  std::cerr << "[          ] streams expired by A: " << by_a << ", by B: " << by_b << "\n";

  for (Client* node : {&a(), &b()}) {
    auto listed = node->list_streams();
    ASSERT_TRUE(listed) << listed.error().detail;
    EXPECT_TRUE(listed->empty());
    auto live = node->list_sessions();
    ASSERT_TRUE(live) << live.error().detail;
    EXPECT_TRUE(live->empty());
  }
}

// 6. Redis dies under a running cluster and comes back empty.
TEST_F(Distributed, RedisOutageIsReportedAndHealsByItself) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  client::StreamPublisher::Options options;
  options.heartbeat_interval = kPublisherHeartbeat;
  client::StreamPublisher publisher(a(), advert("survivor"), options);
  auto started = publisher.start();
  ASSERT_TRUE(started) << started.error().detail;
  const std::string id = started->stream.id;
  ASSERT_TRUE(lists(b(), id));
  // A relay channel with a publisher on A is a `sluice` stream in the shared registry too.
  client::WireOptions wire;
  wire.port = static_cast<std::uint16_t>(a_->wire_port());
  auto session = client::Session::connect(wire);
  ASSERT_TRUE(session) << session.error().detail;
  auto channel = (*session)->publish("rooms.stage.telemetry");
  ASSERT_TRUE(channel) << channel.error().detail;
  auto channel_listed = [&](Client& node) {
    auto all = node.list_streams();
    return all && std::any_of(all->begin(), all->end(), [](const auto& v) {
             return v.stream.name == "rooms.stage.telemetry" && v.stream.protocol == "sluice";
           });
  };
  ASSERT_TRUE(eventually([&] { return channel_listed(b()); }));

  redis_.kill();
  const std::string where = "127.0.0.1:" + std::to_string(redis_port());
  for (Client* node : {&a(), &b()}) {
    json::object h;
    ASSERT_TRUE(eventually([&] {
      h = health_of(*node);
      return str(h, "status") == "degraded";
    })) << json::serialize(h);
    const std::string error = component_error(h, "registry");
    EXPECT_TRUE(contains_nocase(error, "redis")) << error;
    EXPECT_TRUE(contains(error, where)) << error;
    EXPECT_EQ(component_error(h, "hub"), "");

    auto listed = node->list_streams();
    ASSERT_FALSE(listed);
    EXPECT_EQ(listed.error().status, 503);
    EXPECT_TRUE(contains_nocase(listed.error().detail, "redis")) << listed.error().detail;
    EXPECT_TRUE(contains(listed.error().detail, where)) << listed.error().detail;
    auto advertised = node->advertise(advert("while-redis-is-down"));
    ASSERT_FALSE(advertised);
    EXPECT_EQ(advertised.error().status, 503);
  }

  // Long enough for the relay to heartbeat its channel (every TTL / 3) against the dead store.
  std::this_thread::sleep_for(std::chrono::seconds(kTtlSeconds));
  ASSERT_TRUE(redis_.restart());  // same port, empty
  ASSERT_TRUE(eventually([&] { return healthy(a()) && healthy(b()); }, 15s))
      << json::serialize(health_of(a())) << "\n"
      << json::serialize(health_of(b()));
  // The publisher's next heartbeat gets 404 and it advertises again, with the same id. Its
  // retry backoff (at most 2 s) may still be running from the outage.
  const auto healed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return lists(b(), id); }, kPublisherHeartbeat + 2s + 1500ms))
      << "publisher " << client::to_string(publisher.state());
  std::cerr << "[          ] publisher listed again "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - healed)
                   .count()
            << " ms after both nodes were healthy\n";
  EXPECT_EQ(publisher.stream_id(), id);
  EXPECT_TRUE(lists(a(), id));
  // The relay kept the channel's id through the outage (a 503 is not an expiry) and advertises
  // it again once the empty Redis answers its heartbeat with 404.
  EXPECT_TRUE(eventually([&] { return channel_listed(b()); }, 5s));

  auto types = b().list_types();
  ASSERT_TRUE(types) << types.error().detail;
  for (const char* name : {"ndi", "audio", "video", "data", "sensor"}) {
    EXPECT_TRUE(std::any_of(types->begin(), types->end(), [&](const auto& t) {
      return t.name == name && t.builtin;
    })) << name;
  }
}

// 7. NATS dies under a running cluster: the registry keeps working, what needs NATS says so.
TEST_F(Distributed, NatsOutageIsReportedAndHealsByItself) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  {
    PlainNats nats(nats_.url());
    SseWatcher probe(b_->url());
    ASSERT_TRUE(hears_nats(nats, probe));
  }
  client::StreamPublisher::Options options;
  options.heartbeat_interval = kPublisherHeartbeat;
  client::StreamPublisher publisher(a(), advert("stage-feed", "ndi"), options);
  auto started = publisher.start();
  ASSERT_TRUE(started) << started.error().detail;
  const std::string id = started->stream.id;
  auto before = request_until_answered(b(), id);
  ASSERT_TRUE(before) << before.error().status << " " << before.error().detail;

  SseWatcher watch_b(b_->url());
  nats_.kill();
  for (Client* node : {&a(), &b()}) {
    json::object h;
    ASSERT_TRUE(eventually([&] {
      h = health_of(*node);
      return str(h, "status") == "degraded";
    })) << json::serialize(h);
    const std::string error = component_error(h, "hub");
    EXPECT_TRUE(contains(error, "NATS")) << error;
    EXPECT_TRUE(contains(error, nats_.url())) << error;
    EXPECT_EQ(component_error(h, "registry"), "");
  }

  // The registry is in Redis: advertise, list and heartbeat still work on both nodes.
  auto on_a = a().advertise(advert("during-outage-a"));
  auto on_b = b().advertise(advert("during-outage-b"));
  ASSERT_TRUE(on_a) << on_a.error().detail;
  ASSERT_TRUE(on_b) << on_b.error().detail;
  for (Client* node : {&a(), &b()}) {
    EXPECT_TRUE(lists(*node, on_a->stream.id));
    EXPECT_TRUE(lists(*node, on_b->stream.id));
    EXPECT_TRUE(lists(*node, id));
  }
  EXPECT_TRUE(b().heartbeat(on_a->stream.id));

  // B cannot reach the publisher attached to A without NATS, and says why.
  auto cut_off = b().request_stream(id, kConsumer);
  ASSERT_FALSE(cut_off);
  EXPECT_GE(cut_off.error().status, 500);
  EXPECT_TRUE(contains(cut_off.error().detail, "NATS")) << cut_off.error().detail;
  // On A itself the publisher answers without NATS.
  auto local = a().request_stream(id, kConsumer);
  EXPECT_TRUE(local) << local.error().detail;

  ASSERT_TRUE(nats_.restart());  // same port
  ASSERT_TRUE(eventually([&] { return healthy(a()) && healthy(b()); }, 15s))
      << json::serialize(health_of(a())) << "\n"
      << json::serialize(health_of(b()));
  // A's events reach B's SSE again.
  int n = 0;
  EXPECT_TRUE(eventually(
      [&] {
        auto probe = a().advertise(advert("after-restart-" + std::to_string(n++)));
        if (!probe) return false;
        return eventually(
            [&] {
              return watch_b.log().count("maestra.stream.advertise", "stream_id",
                                         probe->stream.id) == 1;
            },
            300ms);
      },
      10s))
      << watch_b.log().dump();
  auto after = request_until_answered(b(), id);
  EXPECT_TRUE(after) << after.error().status << " " << after.error().detail;
}

// 8. Nodes started before their Redis and NATS: they serve, say what is missing, and heal.
TEST_F(Distributed, NodesStartBeforeRedisAndNats) {
  ASSERT_TRUE(redis_.start());  // picks the port ...
  redis_.kill();                // ... and leaves nothing listening on it
  ASSERT_NO_FATAL_FAILURE(start_nodes());
  for (Client* node : {&a(), &b()}) {
    json::object h = health_of(*node);
    EXPECT_EQ(str(h, "status"), "degraded") << json::serialize(h);
    EXPECT_TRUE(contains_nocase(component_error(h, "registry"), "redis")) << json::serialize(h);
    EXPECT_TRUE(contains(component_error(h, "hub"), "NATS")) << json::serialize(h);
    auto listed = node->list_streams();
    ASSERT_FALSE(listed);
    EXPECT_EQ(listed.error().status, 503);
  }

  ASSERT_TRUE(redis_.start());
  ASSERT_TRUE(nats_.start());
  const auto servers_up = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return healthy(a()) && healthy(b()); }, 15s))
      << json::serialize(health_of(a())) << "\n"
      << json::serialize(health_of(b()));
  std::cerr << "[          ] both nodes healthy "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - servers_up)
                   .count()
            << " ms after Redis and NATS started\n";

  PlainNats nats(nats_.url());
  SseWatcher watch_b(b_->url());
  ASSERT_TRUE(hears_nats(nats, watch_b));
  // The built-in types are seeded by the first sweep that reaches Redis (every 250 ms), not
  // seconds after the nodes report "ok": until then every advert of a built-in type fails.
  ASSERT_TRUE(eventually(
      [&] {
        auto types = b().list_types();
        return types && std::any_of(types->begin(), types->end(),
                                    [](const auto& t) { return t.name == "ndi" && t.builtin; });
      },
      1500ms));
  // A's advert is listed and announced on B, and B reaches A's publisher.
  client::StreamPublisher::Options options;
  options.heartbeat_interval = kPublisherHeartbeat;
  client::StreamPublisher publisher(a(), advert("late-start", "ndi"), options);
  Result<registry::StreamView> started = fail(Error{0, "not tried", {}});
  // Retried: a pooled Redis connection may still wait out its reconnect backoff (503).
  ASSERT_TRUE(eventually([&] { return (started = publisher.start()).has_value(); }, 5s))
      << started.error().detail;
  const std::string id = started->stream.id;
  EXPECT_TRUE(lists(b(), id));
  EXPECT_TRUE(eventually([&] {
    return watch_b.log().count("maestra.stream.advertise", "stream_id", id) == 1;
  })) << watch_b.log().dump();
  auto offer = request_until_answered(b(), id);
  EXPECT_TRUE(offer) << offer.error().status << " " << offer.error().detail;
}

// 9. --global-channels: a /ws publisher on A reaches a subscriber on B once; others stay local.
TEST_F(Distributed, GlobalChannelsCrossNodesOnce) {
  ASSERT_NO_FATAL_FAILURE(start_cluster({"--global-channels", "global.>"}));
  EventLog on_a, on_b;
  auto connect = [](const std::string& url, EventLog& log) {
    client::HubConnection::Callbacks callbacks;
    callbacks.on_message = [&log](client::HubConnection&, const client::HubMessage& m) {
      log.add(m.subject, json::serialize(m.data));
    };
    return client::HubConnection::open(url, std::move(callbacks));
  };
  auto hub_a = connect(a_->url(), on_a);
  auto hub_b = connect(b_->url(), on_b);
  ASSERT_TRUE(hub_a) << hub_a.error().detail;
  ASSERT_TRUE(hub_b) << hub_b.error().detail;
  ASSERT_TRUE((*hub_a)->subscribe("a", "global.x"));
  ASSERT_TRUE((*hub_b)->subscribe("b", "global.x"));
  ASSERT_TRUE((*hub_b)->subscribe("b-local", "local.x"));

  // Until B's node has its NATS subscription in place, probes may be lost.
  int n = 0;
  ASSERT_TRUE(eventually([&] {
    const std::string token = "probe-" + std::to_string(n++);
    EXPECT_TRUE((*hub_a)->publish("global.x", json::object{{"probe", token}}));
    return eventually([&] { return on_b.count("global.x", "probe", token) == 1; }, 200ms);
  }));

  ASSERT_TRUE((*hub_a)->publish("global.x", json::object{{"probe", "final"}}));
  ASSERT_TRUE((*hub_a)->publish("local.x", json::object{{"probe", "local"}}));
  ASSERT_TRUE((*hub_a)->publish("global.x", json::object{{"probe", "marker"}}));
  ASSERT_TRUE(eventually([&] {
    return on_b.count("global.x", "probe", "marker") == 1 &&
           on_a.count("global.x", "probe", "marker") == 1;
  }));
  EXPECT_EQ(on_b.count("global.x", "probe", "final"), 1u) << on_b.dump();
  EXPECT_EQ(on_a.count("global.x", "probe", "final"), 1u) << on_a.dump();  // no echo from NATS
  EXPECT_EQ(on_b.count("local.x"), 0u) << on_b.dump();
}

// One PostgreSQL history for the cluster: a session opened through B for A's publisher and
// stopped through A is one row, seen (ended, status stopped) from either node.
TEST_F(Distributed, SessionHistoryIsSharedThroughPostgres) {
  PostgresServer postgres;
  ASSERT_TRUE(postgres.start());
  ASSERT_NO_FATAL_FAILURE(start_cluster({"--history", postgres.url()}));
  for (auto* node : {&a(), &b()}) {
    EXPECT_NE(json::serialize(health_of(*node)).find("postgres://sluice@127.0.0.1"),
              std::string::npos);
  }
  client::StreamPublisher::Options options;
  options.heartbeat_interval = kPublisherHeartbeat;
  options.on_request = [](const client::IncomingStreamRequest&) -> client::Decision {
    return client::AcceptRequest{"10.9.8.7", 7001, {}, {}};
  };
  client::StreamPublisher publisher(a(), advert("history-cam", "ndi"), options);
  auto started = publisher.start();
  ASSERT_TRUE(started) << started.error().detail;
  auto offer = request_until_answered(b(), started->stream.id);
  ASSERT_TRUE(offer) << offer.error().detail;
  ASSERT_TRUE(a().stop_session(offer->session_id));

  for (auto* node : {&a(), &b()}) {
    auto rows = node->session_history(client::HistoryFilter{started->stream.id});
    ASSERT_TRUE(rows) << rows.error().detail;
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].session_id, offer->session_id);
    EXPECT_EQ((*rows)[0].status, "stopped");
    EXPECT_TRUE((*rows)[0].ended_at.has_value());
  }
}

// Stream keys live in Redis: a key created through A is accepted by B's RTMP server (both nodes
// hash with the same key secret), B's use of it is visible on A, the live path is in the shared
// registry, and a revoke through A refuses the next publish on B.
TEST_F(Distributed, StreamKeyCreatedOnOneNodePublishesOnTheOther) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  auto created = a().request_json("POST", "/keys", json::object{{"stream", "stage"}});
  ASSERT_TRUE(created) << created.error().detail;
  const std::string key = str(*created, "key");
  const std::string id = str(*created, "id");
  ASSERT_FALSE(key.empty());
  auto listed = b().request_json("GET", "/keys/" + id);
  ASSERT_TRUE(listed) << listed.error().detail;

  auto publish_argv = [&](const std::string& url) {
    return std::vector<std::string>{program_path("ffmpeg"),
                                    "-hide_banner",
                                    "-nostdin",
                                    "-loglevel",
                                    "error",
                                    "-re",
                                    "-f",
                                    "lavfi",
                                    "-i",
                                    "testsrc2=size=160x120:rate=25",
                                    "-c:v",
                                    "libx264",
                                    "-preset",
                                    "ultrafast",
                                    "-g",
                                    "25",
                                    "-pix_fmt",
                                    "yuv420p",
                                    "-f",
                                    "flv",
                                    url};
  };
  const std::string url_b = "rtmp://127.0.0.1:" + std::to_string(b_->rtmp_port()) + "/live/" + key;
  ChildProcess ffmpeg;
  ASSERT_TRUE(ffmpeg.spawn(publish_argv(url_b), true));
  auto live_on_a = [&] {
    auto streams = a().list_streams();
    if (!streams) return false;
    for (const auto& v : *streams) {
      if (v.stream.name == "stage" && v.stream.protocol == "rtmp") return true;
    }
    return false;
  };
  ASSERT_TRUE(eventually(live_on_a, 20s)) << ffmpeg.stdout_text() << "\n" << b_->output();
  auto used = a().request_json("GET", "/keys/" + id);
  ASSERT_TRUE(used);
  EXPECT_GE(used->as_object().at("uses").to_number<double>(), 1.0) << json::serialize(*used);
  ffmpeg.kill_and_reap();

  ASSERT_TRUE(a().request("DELETE", "/keys/" + id));
  ChildProcess refused;
  ASSERT_TRUE(refused.spawn(publish_argv(url_b), true));
  auto code = refused.wait(20s);
  ASSERT_TRUE(code.has_value()) << "the revoked key was accepted by B";
  EXPECT_NE(*code, 0);
}

// Identities and settings are the cluster's, not a node's: a token made on A works on B (and stops
// working there when A revokes it), a user made on B is listed on A, and a setting changed on A
// applies on B — each within a couple of seconds, kept in Redis (sluice:records:*).
TEST_F(Distributed, IdentitiesAndSettingsAreSharedByEveryNode) {
  ASSERT_NO_FATAL_FAILURE(start_cluster());
  auto created = a().request_json("POST", "/auth/tokens",
                                  json::object{{"name", "lighting-desk"}, {"role", "operator"}});
  ASSERT_TRUE(created) << created.error().detail;
  const std::string token = str(*created, "token");
  const std::string token_id = str(*created, "id");
  Client desk_on_b(b_->url());
  desk_on_b.set_bearer_token(token);
  auto whoami = [&]() -> std::string {
    auto who = desk_on_b.request_json("GET", "/auth/whoami");
    return who ? str(*who, "owner") : "error " + std::to_string(who.error().status);
  };
  EXPECT_TRUE(eventually([&] { return whoami() == "token:lighting-desk"; }, 5s)) << whoami();

  auto user = b().request_json(
      "POST", "/auth/users",
      json::object{
          {"name", "stage-manager"}, {"password", "a long passphrase"}, {"role", "viewer"}});
  ASSERT_TRUE(user) << user.error().detail;
  EXPECT_TRUE(eventually(
      [&] {
        auto users = a().request_json("GET", "/auth/users");
        return users && json::serialize(*users).find("stage-manager") != std::string::npos;
      },
      5s));

  auto set = a().request_json("PUT", "/settings/request_timeout", json::object{{"value", 7}});
  ASSERT_TRUE(set) << set.error().detail;
  EXPECT_TRUE(eventually(
      [&] {
        auto on_b = b().request_json("GET", "/settings/request_timeout");
        return on_b && on_b->as_object().at("value").to_number<double>() == 7;
      },
      5s));

  ASSERT_TRUE(a().request("DELETE", "/auth/tokens/" + token_id));
  EXPECT_TRUE(eventually([&] { return whoami() == "error 401"; }, 5s)) << whoami();
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// MQTT across nodes (issue 16): a device publishing to node A reaches an MQTT subscriber of node
// B once, and so does node A's registry advert of an MQTT-advertised stream.
TEST_F(Distributed, MqttDevicesOnDifferentNodesSeeEachOther) {
  if (::access("/usr/bin/mosquitto_sub", X_OK) != 0) {
    GTEST_SKIP() << "mosquitto-clients is not installed";
  }
  ASSERT_NO_FATAL_FAILURE(start_cluster({"--mqtt", "127.0.0.1:0"}));
  ASSERT_GT(a_->mqtt_port(), 0);
  ASSERT_GT(b_->mqtt_port(), 0);
  ChildProcess sub;
  ASSERT_TRUE(
      sub.spawn({"/usr/bin/mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(b_->mqtt_port()),
                 "-v", "-W", "8", "-t", "sensors/#", "-t", "maestra/stream/advertise/#"}));
  std::this_thread::sleep_for(500ms);
  auto pub = [&](const std::string& topic, const std::string& message) {
    return run_command(
        {"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", std::to_string(a_->mqtt_port()), "-i",
         "node-a-device", "-t", topic, "-m", message},
        10s);
  };
  ASSERT_EQ(pub("sensors/a/temp", "21").exit_code, 0);
  ASSERT_EQ(pub("maestra/stream/advertise",
                R"({"name":"far","stream_type":"sensor","protocol":"udp","port":9000})")
                .exit_code,
            0);
  EXPECT_TRUE(sub.wait_for_text("sensors/a/temp 21", 5s)) << sub.stdout_text();
  auto advert = sub.wait_for_text("maestra/stream/advertise/sensor {", 5s);
  ASSERT_TRUE(advert) << sub.stdout_text() << a_->output();
  EXPECT_TRUE(contains(*advert, "\"id\":\"")) << *advert;
  sub.wait(12s);
  const std::string seen = sub.stdout_text();
  std::size_t count = 0;
  for (std::size_t at = seen.find("sensors/a/temp"); at != std::string::npos;
       at = seen.find("sensors/a/temp", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u) << seen;
}

}  // namespace
}  // namespace sluice::testing
