// RedisStore against a real redis-server: Maestra's keys and fields, index sets kept exact by
// every removal path (withdraw, stop, expiry with cascades), atomic child inserts, two stores
// ("two nodes") racing for the same expired records — each taken exactly once —, stream types
// and keys (aliases, the key limit, compare-and-set updates under contention), and a server
// that goes away and comes back.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "core/clock.hpp"
#include "core/ids.hpp"
#include "redis/redis_store.hpp"
#include "redis_fixture.hpp"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using namespace registry;

redis::RedisStoreOptions fast() {
  redis::RedisStoreOptions o;
  o.client.connect_timeout = 500ms;
  o.client.command_timeout = 1000ms;
  o.client.backoff_min = 50ms;
  o.client.backoff_max = 200ms;
  return o;
}

redis::Endpoint local(int port) {
  redis::Endpoint e;
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

StreamRecord stream(const std::string& name, const std::string& type = "video") {
  StreamRecord s;
  s.id = new_uuid4();
  s.name = name;
  s.stream_type = type;
  s.publisher_id = "pub-" + name;
  s.protocol = "ndi";
  s.address = "10.0.0.7";
  s.port = 5960;
  s.config = {{"fps", 30}};
  s.advertised_at = s.last_heartbeat = SystemClock().wall_now();
  return s;
}

SessionRecord session_of(const StreamRecord& s) {
  SessionRecord r;
  r.session_id = new_uuid4();
  r.stream_id = s.id;
  r.stream_name = s.name;
  r.stream_type = s.stream_type;
  r.publisher_id = s.publisher_id;
  r.publisher_address = s.address;
  r.publisher_port = s.port;
  r.consumer_id = "viewer";
  r.consumer_address = "10.0.0.9";
  r.protocol = s.protocol;
  r.started_at = r.last_heartbeat = SystemClock().wall_now();
  return r;
}

SubscriberRecord subscriber_of(const StreamRecord& s) {
  SubscriberRecord r;
  r.subscriber_id = new_uuid4();
  r.stream_id = s.id;
  r.stream_name = s.name;
  r.stream_type = s.stream_type;
  r.publisher_id = s.publisher_id;
  r.consumer_id = "wall";
  r.consumer_address = "10.0.0.11";
  r.multicast_group = "239.0.0.1";
  r.multicast_port = 5000;
  r.joined_at = r.last_heartbeat = SystemClock().wall_now();
  return r;
}

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server.start());
    a = std::make_unique<redis::RedisStore>(local(server.port()), clock, fast());
    b = std::make_unique<redis::RedisStore>(local(server.port()), clock, fast());
    raw = std::make_unique<redis::RedisClient>(local(server.port()));
  }

  MonoTime in(std::chrono::milliseconds d) const { return clock.mono_now() + d; }

  std::set<std::string> members(const std::string& set) {
    auto r = raw->command({"SMEMBERS", set});
    std::set<std::string> out;
    if (r) {
      for (const auto& e : r->elements)
        out.insert(e.str);
    }
    return out;
  }
  bool exists(const std::string& key) {
    auto r = raw->command({"EXISTS", key});
    return r && r->integer == 1;
  }
  std::map<std::string, std::string> hash(const std::string& key) {
    auto r = raw->command({"HGETALL", key});
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; r && i + 1 < r->elements.size(); i += 2)
      out[r->elements[i].str] = r->elements[i + 1].str;
    return out;
  }

  RedisServer server;
  SystemClock clock;
  std::unique_ptr<redis::RedisStore> a, b;
  std::unique_ptr<redis::RedisClient> raw;
};

TEST_F(RedisStoreTest, StreamsUseMaestrasKeysAndFieldsAndBothNodesSeeThem) {
  auto s = stream("cam");
  ASSERT_TRUE(a->put_stream(s, in(30s)));
  auto h = hash("stream:" + s.id);
  EXPECT_EQ(h["id"], s.id);
  EXPECT_EQ(h["name"], "cam");
  EXPECT_EQ(h["port"], "5960");
  EXPECT_EQ(h["entity_id"], "");
  EXPECT_EQ(h["delivery_mode"], "unicast");
  EXPECT_EQ(members("streams:all"), std::set<std::string>{s.id});
  EXPECT_EQ(members("streams:by_type:video"), std::set<std::string>{s.id});
  auto ttl = raw->command({"PTTL", "stream:" + s.id});
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl->integer, 30'000);  // deadline + grace: a safety net, not the expiry mechanism

  auto seen = b->get_stream(s.id);
  ASSERT_TRUE(seen && *seen);
  EXPECT_EQ((*seen)->stream.name, "cam");
  EXPECT_EQ((*seen)->stream.config.at("fps").as_int64(), 30);
  auto listed = b->list_streams(std::string("video"));
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(b->list_streams(std::string("audio"))->empty());

  // Re-advertising under another type moves the id between the type sets.
  s.stream_type = "audio";
  ASSERT_TRUE(b->put_stream(s, in(30s)));
  EXPECT_TRUE(members("streams:by_type:video").empty());
  EXPECT_EQ(members("streams:by_type:audio"), std::set<std::string>{s.id});
  EXPECT_EQ(members("streams:all").size(), 1u);
}

TEST_F(RedisStoreTest, WithdrawTakesChildrenAndLeavesNoIndexEntry) {
  auto s = stream("cam");
  ASSERT_TRUE(a->put_stream(s, in(30s)));
  auto sess = session_of(s);
  auto sub = subscriber_of(s);
  ASSERT_TRUE(a->put_session(sess, in(30s)));
  ASSERT_TRUE(b->put_subscriber(sub, in(30s)));
  auto view = b->get_stream(s.id);
  ASSERT_TRUE(view && *view);
  EXPECT_EQ((*view)->active_sessions, 1u);
  EXPECT_EQ((*view)->active_subscribers, 1u);

  auto removed = b->remove_stream(s.id);
  ASSERT_TRUE(removed && *removed);
  EXPECT_EQ((*removed)->stream.id, s.id);
  ASSERT_EQ((*removed)->sessions.size(), 1u);
  EXPECT_EQ((*removed)->sessions[0].session_id, sess.session_id);
  ASSERT_EQ((*removed)->subscribers.size(), 1u);
  for (const auto& set :
       {"streams:all", "streams:by_type:video", "sessions:all", "subscribers:all"}) {
    EXPECT_TRUE(members(set).empty()) << set;
  }
  EXPECT_FALSE(exists("sessions:by_stream:" + s.id));
  EXPECT_FALSE(exists("session:" + sess.session_id));
  EXPECT_FALSE(exists("subscriber:" + sub.subscriber_id));
  EXPECT_TRUE(members("sluice:expiry").empty());
  // Gone is gone, for both nodes.
  EXPECT_FALSE(*a->remove_stream(s.id));
  EXPECT_FALSE(*a->touch_stream(s.id, clock.wall_now(), in(30s)));
}

TEST_F(RedisStoreTest, ChildrenNeedALiveStreamAtTheMomentOfInsert) {
  auto s = stream("cam");
  auto refused = a->put_session(session_of(s), in(30s));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 404);
  EXPECT_EQ(a->put_subscriber(subscriber_of(s), in(30s)).error().status, 400);
  EXPECT_TRUE(members("sessions:all").empty());
  EXPECT_FALSE(exists("sessions:by_stream:" + s.id));
}

TEST_F(RedisStoreTest, HeartbeatsMoveDeadlinesAndUpdateFields) {
  auto s = stream("cam");
  ASSERT_TRUE(a->put_stream(s, in(400ms)));
  auto sess = session_of(s);
  ASSERT_TRUE(a->put_session(sess, in(400ms)));
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(200ms);
    auto stream_touched = b->touch_stream(s.id, clock.wall_now(), in(400ms));
    ASSERT_TRUE(stream_touched && *stream_touched);
    EXPECT_EQ((*stream_touched)->stream_type, "video");
    ASSERT_TRUE((*stream_touched)->record);  // the advert's fields, in the same round trip
    EXPECT_EQ((*stream_touched)->record->name, "cam");
    auto touched = b->touch_session(sess.session_id, clock.wall_now(), in(400ms), 4096);
    ASSERT_TRUE(touched && *touched);
    EXPECT_EQ((*touched)->bytes_transferred, 4096);
    auto taken = a->take_expired(clock.mono_now());
    ASSERT_TRUE(taken);
    EXPECT_TRUE(taken->empty()) << "expired despite heartbeats at round " << i;
  }
  EXPECT_EQ(hash("session:" + sess.session_id)["bytes_transferred"], "4096");
  ASSERT_TRUE(eventually([&] { return !a->take_expired(clock.mono_now())->empty(); }, 3s));
}

TEST_F(RedisStoreTest, ExpiryCascadesAndEachRecordGoesToExactlyOneNode) {
  constexpr int kStreams = 200;
  std::set<std::string> streams, sessions;
  for (int i = 0; i < kStreams; ++i) {
    auto s = stream("s" + std::to_string(i), i % 2 ? "video" : "audio");
    ASSERT_TRUE((i % 2 ? a : b)->put_stream(s, in(300ms)));
    auto sess = session_of(s);
    ASSERT_TRUE(a->put_session(sess, in(30s)));  // outlives nothing: goes with its stream
    streams.insert(s.id);
    sessions.insert(sess.session_id);
  }
  // A lone session whose own deadline passes first, on a stream that lives on.
  auto keeper = stream("keeper");
  ASSERT_TRUE(a->put_stream(keeper, in(30s)));
  auto lone = session_of(keeper);
  ASSERT_TRUE(b->put_session(lone, in(100ms)));

  // Both nodes sweep concurrently, as every node does.
  std::multiset<std::string> taken_streams, taken_sessions;
  std::mutex m;
  std::atomic<bool> stop{false};
  auto sweep = [&](redis::RedisStore& store) {
    while (!stop) {
      auto batch = store.take_expired(clock.mono_now());
      ASSERT_TRUE(batch) << batch.error().detail;
      std::lock_guard lock(m);
      for (const auto& r : batch->streams) {
        taken_streams.insert(r.stream.id);
        for (const auto& s : r.sessions)
          taken_sessions.insert(s.session_id);
      }
      for (const auto& s : batch->sessions)
        taken_sessions.insert(s.session_id);
      std::this_thread::sleep_for(5ms);
    }
  };
  std::thread ta(sweep, std::ref(*a)), tb(sweep, std::ref(*b));
  bool all = eventually(
      [&] {
        std::lock_guard lock(m);
        return taken_streams.size() >= kStreams && taken_sessions.size() >= kStreams + 1;
      },
      5s);
  std::this_thread::sleep_for(200ms);  // any duplicate would show up now
  stop = true;
  ta.join();
  tb.join();
  ASSERT_TRUE(all) << taken_streams.size() << " streams, " << taken_sessions.size()
                   << " sessions taken";
  EXPECT_EQ(taken_streams.size(), static_cast<std::size_t>(kStreams));  // no duplicates
  EXPECT_EQ(std::set<std::string>(taken_streams.begin(), taken_streams.end()), streams);
  sessions.insert(lone.session_id);
  EXPECT_EQ(taken_sessions.size(), sessions.size());
  EXPECT_EQ(std::set<std::string>(taken_sessions.begin(), taken_sessions.end()), sessions);

  // The index sets are exact right away: only the keeper is left.
  EXPECT_EQ(members("streams:all"), std::set<std::string>{keeper.id});
  EXPECT_TRUE(members("streams:by_type:audio").empty());
  EXPECT_EQ(members("streams:by_type:video"), std::set<std::string>{keeper.id});
  EXPECT_TRUE(members("sessions:all").empty());
  EXPECT_FALSE(exists("sessions:by_stream:" + keeper.id));
  auto keys = raw->command({"KEYS", "session:*"});
  ASSERT_TRUE(keys);
  EXPECT_TRUE(keys->elements.empty());
  auto counts = b->counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->streams["video"], 1u);
  EXPECT_EQ(counts->streams.count("audio"), 0u);
  EXPECT_TRUE(counts->sessions.empty());
}

TEST_F(RedisStoreTest, TypesAreSharedAndGuarded) {
  StreamTypeRecord t;
  t.id = new_uuid4();
  t.name = "lidar";
  t.display_name = "LiDAR";
  t.config_schema = {{"points", {{"type", "integer"}, {"minimum", 0}}}};
  t.created_at = t.updated_at = clock.wall_now();
  ASSERT_TRUE(a->insert_type(t));
  EXPECT_EQ(b->insert_type(t).error().status, 409);
  auto got = b->get_type("lidar");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->display_name, "LiDAR");
  EXPECT_EQ((*got)->schema_fields.size(), 1u);
  auto s = stream("scan", "lidar");
  ASSERT_TRUE(a->put_stream(s, in(30s)));
  auto busy = b->remove_type("lidar");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().status, 409);
  ASSERT_TRUE(a->remove_stream(s.id));
  EXPECT_TRUE(b->remove_type("lidar"));
  EXPECT_EQ(a->remove_type("lidar").error().status, 404);
  EXPECT_TRUE(members("sluice:types").empty());
}

KeyRecord key(const std::string& id, const std::string& stream, std::optional<std::string> alias) {
  KeyRecord k;
  k.id = id;
  k.stream = stream;
  k.hmac = std::string(32, '\x5a');
  k.created_at = SystemClock().wall_now();
  k.alias = std::move(alias);
  k.allowed_ips = {"10.0.0.0/8"};
  return k;
}

TEST_F(RedisStoreTest, KeysAliasesLimitsAndPurge) {
  ASSERT_TRUE(a->put_key(key("00000000000000a1", "stage", "main"), 3));
  EXPECT_EQ(b->put_key(key("00000000000000a1", "stage", std::nullopt), 3).error().status, 409);
  EXPECT_EQ(b->put_key(key("00000000000000a2", "stage", "main"), 3).error().status, 409);
  ASSERT_TRUE(b->put_key(key("00000000000000a2", "stage", std::nullopt), 3));
  ASSERT_TRUE(b->put_key(key("00000000000000a3", "lobby", std::nullopt), 3));
  EXPECT_EQ(a->put_key(key("00000000000000a4", "lobby", std::nullopt), 3).error().status, 507);

  EXPECT_EQ(*b->find_key_id_by_alias("main"), "00000000000000a1");
  EXPECT_EQ(b->keys_of_stream("stage")->size(), 2u);
  auto listed = a->list_keys();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].allowed_ips, std::vector<std::string>{"10.0.0.0/8"});
  std::string hex;
  for (int i = 0; i < 32; ++i)
    hex += "5a";
  EXPECT_EQ(hash("sluice:key:00000000000000a1")["hmac"], hex);  // never the key, only its HMAC

  // Revoke one and purge: its alias and index entries go with it.
  auto revoked = a->update_key("00000000000000a1", [&](KeyRecord& k) -> Status {
    k.revoked_at = clock.wall_now() - 48h;
    return {};
  });
  ASSERT_TRUE(revoked);
  auto purged = b->purge_keys(clock.wall_now() - 24h);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  EXPECT_FALSE(*a->find_key_id_by_alias("main"));
  EXPECT_EQ(members("sluice:keys_by_stream:stage"), std::set<std::string>{"00000000000000a2"});
  EXPECT_EQ(members("sluice:keys").size(), 2u);
  EXPECT_EQ(a->update_key("00000000000000a1", [](KeyRecord&) { return Status{}; }).error().status,
            404);
}

TEST_F(RedisStoreTest, KeyUpdatesFromTwoNodesAreNeverLost) {
  ASSERT_TRUE(a->put_key(key("00000000000000b1", "stage", std::nullopt), 10));
  constexpr int kPerNode = 100;
  auto bump = [&](redis::RedisStore& store) {
    for (int i = 0; i < kPerNode; ++i) {
      auto r = store.update_key("00000000000000b1", [](KeyRecord& k) -> Status {
        ++k.uses;
        return {};
      });
      ASSERT_TRUE(r) << r.error().detail;
    }
  };
  std::thread ta(bump, std::ref(*a)), tb(bump, std::ref(*b));
  ta.join();
  tb.join();
  auto k = a->get_key("00000000000000b1");
  ASSERT_TRUE(k && *k);
  EXPECT_EQ((*k)->uses, 2u * kPerNode);
  // A refusal stores nothing.
  auto refused = b->update_key("00000000000000b1", [](KeyRecord& k) -> Status {
    k.uses = 0;
    return fail(Error::forbidden("no"));
  });
  EXPECT_EQ(refused.error().status, 403);
  EXPECT_EQ((*a->get_key("00000000000000b1"))->uses, 2u * kPerNode);
}

TEST_F(RedisStoreTest, UnreachableServerIs503NamingItAndRecoveryNeedsNoRestart) {
  auto s = stream("cam");
  ASSERT_TRUE(a->put_stream(s, in(30s)));
  server.kill();
  auto down = a->list_streams(std::nullopt);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().status, 503);
  EXPECT_NE(down.error().detail.find("127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << down.error().detail;
  ASSERT_TRUE(eventually([&] {
    (void)a->counts();
    return !a->problem().empty();
  }));
  EXPECT_NE(a->problem().find("Redis"), std::string::npos) << a->problem();
  EXPECT_EQ(a->take_expired(clock.mono_now()).error().status, 503);

  ASSERT_TRUE(server.restart());  // empty: nothing was persisted
  ASSERT_TRUE(eventually([&] { return a->list_streams(std::nullopt).has_value(); }, 5s));
  EXPECT_TRUE(a->list_streams(std::nullopt)->empty());
  ASSERT_TRUE(a->put_stream(s, in(30s)));
  EXPECT_TRUE(eventually([&] {
    (void)a->counts();
    return a->problem().empty();
  }));
  EXPECT_EQ(b->list_streams(std::nullopt)->size(), 1u);
}

TEST_F(RedisStoreTest, HungServerCostsAtMostTheTimeoutsThenRecovers) {
  auto s = stream("cam");
  ASSERT_TRUE(a->put_stream(s, in(30s)));
  server.pause();
  const auto started = std::chrono::steady_clock::now();
  auto hung = a->get_stream(s.id);
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(hung);
  EXPECT_EQ(hung.error().status, 503);
  EXPECT_LT(waited, 2500ms);  // the 1 s command timeout, not a hang
  // Later calls fail within the timeouts too (the connection was dropped; reconnecting to a
  // stopped server is bounded by the connect and command timeouts).
  for (int i = 0; i < 3; ++i) {
    const auto t = std::chrono::steady_clock::now();
    EXPECT_FALSE(a->list_streams(std::nullopt));
    EXPECT_LT(std::chrono::steady_clock::now() - t, 2500ms);
  }
  server.resume();
  ASSERT_TRUE(eventually([&] { return a->get_stream(s.id).has_value(); }, 5s));
  auto back = a->get_stream(s.id);
  ASSERT_TRUE(back && *back);  // nothing was lost
  EXPECT_EQ((*back)->stream.name, "cam");
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// Issue 12: stream owners are shared by every node; the first claim wins everywhere.
TEST_F(RedisStoreTest, OwnerBindingsAreSharedAndTheFirstClaimWins) {
  auto s = stream("cam");
  s.owner = "addr:10.0.0.2";
  EXPECT_EQ(a->bind_owner(s.id, "addr:10.0.0.2").value(), "addr:10.0.0.2");
  EXPECT_EQ(b->bind_owner(s.id, "addr:10.0.0.3").value(), "addr:10.0.0.2");
  EXPECT_EQ(b->get_owner(s.id).value(), std::optional<std::string>("addr:10.0.0.2"));
  EXPECT_EQ(hash("sluice:owners")[s.id], "addr:10.0.0.2");
  ASSERT_TRUE(a->put_stream(s, in(30s)));
  auto back = b->get_stream(s.id).value();
  ASSERT_TRUE(back);
  EXPECT_EQ(back->stream.owner, "addr:10.0.0.2");  // the record carries it too
  ASSERT_TRUE(a->release_owner(s.id));
  EXPECT_FALSE(b->get_owner(s.id).value());
  EXPECT_EQ(b->bind_owner(s.id, "addr:10.0.0.3").value(), "addr:10.0.0.3");
}

// The per-owner cap counts across nodes: every node sees how many live streams an owner has,
// re-advertising does not count twice, and withdrawn or expired streams stop counting.
TEST_F(RedisStoreTest, OwnedStreamsAreCountedAcrossNodes) {
  auto one = stream("cam1");
  auto two = stream("cam2");
  one.owner = two.owner = "addr:10.0.0.2";
  ASSERT_TRUE(a->put_stream(one, in(30s)));
  ASSERT_TRUE(b->put_stream(two, in(30s)));
  ASSERT_TRUE(b->put_stream(two, in(30s)));  // a re-advertise
  EXPECT_EQ(a->count_owned_streams("addr:10.0.0.2").value(), 2u);
  EXPECT_EQ(b->count_owned_streams("addr:10.0.0.3").value(), 0u);
  ASSERT_TRUE(a->remove_stream(one.id));
  EXPECT_EQ(b->count_owned_streams("addr:10.0.0.2").value(), 1u);
  // Redis dropped the record by itself (past its grace): no longer counted, and pruned.
  ASSERT_TRUE(raw->command({"DEL", "stream:" + two.id}));
  EXPECT_EQ(a->count_owned_streams("addr:10.0.0.2").value(), 0u);
  EXPECT_TRUE(members("streams:by_owner:addr:10.0.0.2").empty());
}

}  // namespace
}  // namespace sluice::testing
