// Registry records as Maestra's Redis hashes: round trips, a hash written by Maestra itself, and
// hashes another writer left broken (each a 502 naming the field).
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <algorithm>

#include "core/time_format.hpp"
#include "redis/record_codec.hpp"

namespace sluice::redis {
namespace {

std::string field(const Hash& h, const std::string& name) {
  auto it = std::find_if(h.begin(), h.end(), [&](const auto& p) { return p.first == name; });
  return it == h.end() ? "<absent>" : it->second;
}

Hash without(Hash h, const std::string& name) {
  std::erase_if(h, [&](const auto& p) { return p.first == name; });
  return h;
}

Hash with(Hash h, const std::string& name, const std::string& value) {
  for (auto& [k, v] : h) {
    if (k == name) v = value;
  }
  return h;
}

registry::StreamRecord stream() {
  registry::StreamRecord r;
  r.id = "35f05eea-a117-5700-b1bf-118bd779d816";
  r.name = "Stage Camera A";
  r.stream_type = "ndi";
  r.publisher_id = "td-01";
  r.protocol = "ndi";
  r.address = "192.168.1.50";
  r.port = 5960;
  r.config = {{"fps", 30}};
  r.advertised_at = *parse_timestamp("2026-03-22T10:30:00.123456Z");
  r.last_heartbeat = *parse_timestamp("2026-03-22T10:30:10.5Z");
  return r;
}

TEST(RedisCodec, StreamRoundTripsInMaestrasFieldFormat) {
  auto r = stream();
  const Hash h = to_hash(r);
  EXPECT_EQ(field(h, "port"), "5960");
  EXPECT_EQ(field(h, "entity_id"), "");
  EXPECT_EQ(field(h, "multicast_port"), "");
  EXPECT_EQ(field(h, "config"), R"({"fps":30})");
  EXPECT_EQ(field(h, "delivery_mode"), "unicast");
  EXPECT_EQ(field(h, "advertised_at"), "2026-03-22T10:30:00.123456Z");
  auto back = stream_from_hash(h);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->port, 5960);
  EXPECT_FALSE(back->entity_id);
  EXPECT_FALSE(back->multicast_port);
  EXPECT_EQ(back->config, r.config);
  EXPECT_EQ(back->advertised_at, r.advertised_at);
  EXPECT_EQ(back->last_heartbeat, r.last_heartbeat);

  r.multicast_group = "239.1.1.1";
  r.multicast_port = 5000;
  r.entity_id = "stage";
  auto multicast = stream_from_hash(to_hash(r));
  ASSERT_TRUE(multicast);
  EXPECT_EQ(multicast->multicast_port, 5000);
  EXPECT_EQ(multicast->entity_id, "stage");
}

TEST(RedisCodec, SessionAndSubscriberRoundTrip) {
  registry::SessionRecord s;
  s.session_id = "s1";
  s.stream_id = "st";
  s.stream_name = "n";
  s.stream_type = "ndi";
  s.publisher_id = "p";
  s.publisher_address = "10.0.0.1";
  s.publisher_port = 7000;
  s.consumer_id = "c";
  s.consumer_address = "10.0.0.2";
  s.consumer_port = 9000;
  s.protocol = "ndi";
  s.transport_config = {{"mtu", 1400}};
  s.started_at = *parse_timestamp("2026-03-22T10:30:00Z");
  s.bytes_transferred = 123456789012;
  auto back = session_from_hash(to_hash(s));
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->consumer_port, 9000);
  EXPECT_EQ(back->bytes_transferred, 123456789012);
  EXPECT_EQ(back->transport_config, s.transport_config);
  EXPECT_EQ(back->status, "active");

  registry::SubscriberRecord m;
  m.subscriber_id = "m1";
  m.stream_id = "st";
  m.stream_name = "n";
  m.stream_type = "audio";
  m.publisher_id = "p";
  m.consumer_id = "c";
  m.consumer_address = "10.0.0.3";
  m.multicast_group = "239.0.0.1";
  m.multicast_port = 6000;
  m.joined_at = *parse_timestamp("2026-03-22T10:31:00Z");
  auto sub = subscriber_from_hash(to_hash(m));
  ASSERT_TRUE(sub) << sub.error().detail;
  EXPECT_EQ(sub->multicast_port, 6000);
  EXPECT_EQ(sub->last_heartbeat, m.joined_at) << "no last_heartbeat written yet: joined_at";
}

TEST(RedisCodec, ReadsASessionMaestraWrote) {
  // Maestra's fields only: no consumer_port, last_heartbeat or bytes_transferred.
  const Hash maestra{{"session_id", "s"},
                     {"stream_id", "st"},
                     {"stream_name", "n"},
                     {"stream_type", "ndi"},
                     {"publisher_id", "p"},
                     {"publisher_address", "10.0.0.1"},
                     {"publisher_port", "5960"},
                     {"consumer_id", "c"},
                     {"consumer_address", "10.0.0.2"},
                     {"protocol", "ndi"},
                     {"transport_config", "{}"},
                     {"started_at", "2026-03-22T10:30:00.123456"},
                     {"status", "active"}};
  auto r = session_from_hash(maestra);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_FALSE(r->consumer_port);
  EXPECT_EQ(r->bytes_transferred, 0);
  EXPECT_EQ(r->last_heartbeat, r->started_at);
}

TEST(RedisCodec, BrokenHashesAre502NamingTheField) {
  const Hash good = to_hash(stream());
  struct Case {
    Hash hash;
    const char* field;
  };
  const std::vector<Case> cases = {
      {without(good, "id"), "'id' is missing"},
      {Hash{{"last_heartbeat", "2026-03-22T10:30:10Z"}}, "is missing"},  // a half-expired key
      {with(good, "port", "70000"), "'port'"},
      {with(good, "port", "12x"), "'port'"},
      {with(good, "multicast_port", "-1"), "'multicast_port'"},
      {with(good, "config", "[1,2]"), "'config' is not a JSON object"},
      {with(good, "metadata", "{broken"), "'metadata'"},
      {with(good, "config", R"({"fps":1e999})"), "'config' holds a number out of range"},
      {with(good, "advertised_at", "yesterday"), "'advertised_at'"},
  };
  for (const auto& c : cases) {
    auto r = stream_from_hash(c.hash);
    ASSERT_FALSE(r) << c.field;
    EXPECT_EQ(r.error().status, 502);
    EXPECT_NE(r.error().detail.find(c.field), std::string::npos) << r.error().detail;
  }
}

TEST(RedisCodec, StreamKeyRecordsKeepOnlyTheHmacAndRoundTrip) {
  registry::KeyRecord k;
  k.id = "25a87c018a94ab5c";
  k.stream = "studio";
  k.kind = registry::KeyKind::kRead;
  k.hmac = std::string(32, '\x01');
  k.hmac[31] = '\xff';
  k.created_at = *parse_timestamp("2026-11-21T12:00:00Z");
  k.expires_at = *parse_timestamp("2026-11-22T12:00:00Z");
  k.allowed_ips = {"10.0.0.0/8", "::1/128"};
  k.alias = "studio-obs";
  k.uses = 7;
  const Hash h = to_hash(k);
  std::string hex;
  for (int i = 0; i < 31; ++i)
    hex += "01";
  EXPECT_EQ(field(h, "hmac"), hex + "ff") << "the HMAC, as hex; never a key";
  EXPECT_EQ(field(h, "allowed_ips"), R"(["10.0.0.0/8","::1/128"])");
  EXPECT_EQ(field(h, "revoked_at"), "");
  auto back = key_from_hash(h);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->hmac, k.hmac);
  EXPECT_EQ(back->kind, registry::KeyKind::kRead);
  EXPECT_EQ(back->expires_at, k.expires_at);
  EXPECT_FALSE(back->revoked_at);
  EXPECT_EQ(back->allowed_ips, k.allowed_ips);
  EXPECT_EQ(back->alias, "studio-obs");
  EXPECT_EQ(back->uses, 7u);
  EXPECT_EQ(stream_key_record_key(k.id), "sluice:key:25a87c018a94ab5c");
  EXPECT_EQ(key_alias_key("studio-obs"), "sluice:key_alias:studio-obs");

  for (auto [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"hmac", "zz"},
                                                        {"hmac", "0102"},
                                                        {"kind", "admin"},
                                                        {"allowed_ips", R"([1])"},
                                                        {"uses", "-3"},
                                                        {"expires_at", "soon"}}) {
    auto bad = key_from_hash(with(h, name, value));
    ASSERT_FALSE(bad) << name << "=" << value;
    EXPECT_NE(bad.error().detail.find("'" + name + "'"), std::string::npos) << bad.error().detail;
  }
}

TEST(RedisCodec, StreamTypesRoundTripWithTheirSchema) {
  registry::StreamTypeRecord t;
  t.id = "b3c3b2a1-0000-5000-8000-000000000001";
  t.name = "lidar";
  t.display_name = "Lidar";
  t.icon = "radar";
  t.default_config = {{"rate_hz", 10}};
  t.config_schema = boost::json::parse(R"({"rate_hz":{"type":"integer","minimum":1}})").as_object();
  t.created_at = *parse_timestamp("2026-11-21T12:00:00Z");
  t.updated_at = t.created_at;
  const Hash h = to_hash(t);
  EXPECT_EQ(field(h, "description"), "");
  EXPECT_EQ(field(h, "builtin"), "0");
  auto back = type_from_hash(h);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->name, "lidar");
  EXPECT_FALSE(back->description);
  EXPECT_EQ(back->icon, "radar");
  EXPECT_EQ(back->default_config, t.default_config);
  ASSERT_EQ(back->schema_fields.size(), 1u);
  EXPECT_EQ(back->schema_fields[0].name, "rate_hz");
  EXPECT_EQ(type_key("lidar"), "sluice:type:lidar");

  auto bad_schema = type_from_hash(with(h, "config_schema", R"({"rate_hz":{"type":"colour"}})"));
  ASSERT_FALSE(bad_schema);
  EXPECT_EQ(bad_schema.error().status, 502);
  EXPECT_NE(bad_schema.error().detail.find("'config_schema'"), std::string::npos);
  EXPECT_FALSE(type_from_hash(with(h, "builtin", "yes")));
}

TEST(RedisCodec, KeysUseMaestrasNames) {
  EXPECT_EQ(stream_key("x"), "stream:x");
  EXPECT_EQ(session_key("x"), "session:x");
  EXPECT_EQ(subscriber_key("x"), "subscriber:x");
  EXPECT_EQ(streams_by_type_key("ndi"), "streams:by_type:ndi");
  EXPECT_EQ(sessions_by_stream_key("x"), "sessions:by_stream:x");
  EXPECT_EQ(subscribers_by_stream_key("x"), "subscribers:by_stream:x");
  EXPECT_EQ(kAllStreams, "streams:all");
}

}  // namespace
}  // namespace sluice::redis
