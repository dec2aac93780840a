// keys::KeyService over a MemoryStore and a FakeClock: the key format, what is stored, every
// refusal reason, expiry, revoke, rotate, aliases, IP rules (v4, v6, v4-mapped), read keys,
// bounds, and malformed input of every shape.
#include <gtest/gtest.h>

#include <thread>

#include "keys/ip_rules.hpp"
#include "keys/key_format.hpp"
#include "keys/key_service.hpp"
#include "registry/memory_store.hpp"

namespace sluice::keys {
namespace {

using namespace std::chrono_literals;

const std::string kSecret(32, 's');

class KeyServiceTest : public ::testing::Test {
 protected:
  CreatedKey make(std::string stream, std::vector<std::string> ips = {},
                  std::optional<std::string> alias = {}, KeyKind kind = KeyKind::kPublish,
                  std::optional<std::int64_t> expires_in = {}) {
    CreateKeyRequest r;
    r.stream = std::move(stream);
    r.allowed_ips = std::move(ips);
    r.alias = std::move(alias);
    r.kind = kind;
    r.expires_in = expires_in;
    auto c = keys.create(r);
    EXPECT_TRUE(c) << c.error().detail;
    return c.value_or(CreatedKey{});
  }
  RefusalReason refusal(std::string_view key, std::string_view peer = "10.0.0.1") {
    auto g = keys.check_publish(key, peer);
    EXPECT_FALSE(g);
    return g ? RefusalReason::kMissing : g.error().reason;
  }

  registry::MemoryStore store;
  FakeClock clock;
  KeyService keys{store, clock, kSecret, KeyServiceOptions{5, 24h, 60s}};
};

TEST_F(KeyServiceTest, KeyFormatIsUrlSafeAndCarriesTheId) {
  auto c = make("cam1");
  EXPECT_EQ(c.key.size(), 62u);
  EXPECT_TRUE(c.key.starts_with("sk_" + c.record.id));
  EXPECT_EQ(c.record.id.size(), 16u);
  EXPECT_EQ(
      c.key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
      std::string::npos);
  ASSERT_TRUE(parse_key_id(c.key));
  EXPECT_EQ(*parse_key_id(c.key), c.record.id);
  EXPECT_NE(make("cam1").key, c.key);  // fresh randomness each time
}

TEST_F(KeyServiceTest, OnlyTheHmacIsStored) {
  auto c = make("cam1");
  auto stored = store.get_key(c.record.id).value();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->hmac.size(), 32u);
  EXPECT_EQ(stored->hmac, hmac_sha256(kSecret, c.key));
  EXPECT_EQ(stored->hmac.find(c.key.substr(19)), std::string::npos);
  for (const auto& r : keys.list().value()) {
    EXPECT_EQ(r.hmac.find(c.key), std::string::npos);
    EXPECT_EQ(r.note.find(c.key), std::string::npos);
  }
  // Another server secret does not accept the key.
  KeyService other(store, clock, std::string(32, 'x'));
  EXPECT_EQ(other.check_publish(c.key, "1.2.3.4").error().reason, RefusalReason::kWrong);
}

TEST_F(KeyServiceTest, AcceptsTheKeyAndCountsUses) {
  auto c = make("cam1");
  auto g = keys.check_publish(c.key, "192.0.2.1");
  ASSERT_TRUE(g) << g.error().detail;
  EXPECT_EQ(g->stream, "cam1");
  EXPECT_EQ(g->key_id, c.record.id);
  clock.advance(5s);
  ASSERT_TRUE(keys.check_publish(c.key, "192.0.2.1"));
  auto r = keys.get(c.record.id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->uses, 2u);
  EXPECT_EQ(r->last_used_at, clock.wall_now());
  EXPECT_EQ(keys.stats().accepted, 2u);
}

TEST_F(KeyServiceTest, WrongSecretSameIdIsWrongAndNeverEchoed) {
  auto c = make("cam1");
  std::string tampered = c.key;
  tampered[30] = tampered[30] == 'A' ? 'B' : 'A';
  auto g = keys.check_publish(tampered, "1.2.3.4");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, RefusalReason::kWrong);
  EXPECT_EQ(g.error().key_id, c.record.id);
  EXPECT_EQ(g.error().detail.find(tampered.substr(19)), std::string::npos);
  EXPECT_EQ(g.error().to_error().status, 403);  // a key was presented: 401 is for none
  EXPECT_EQ(keys.stats().refused[static_cast<int>(RefusalReason::kWrong)], 1u);
  EXPECT_EQ(keys.get(c.record.id)->uses, 0u);
}

TEST_F(KeyServiceTest, UnknownIdIsUnknown) {
  auto c = make("cam1");
  std::string other = c.key;
  other[3] = other[3] == 'a' ? 'b' : 'a';
  EXPECT_EQ(refusal(other), RefusalReason::kUnknown);
}

TEST_F(KeyServiceTest, MalformedKeysOfEveryShapeAreRefusedCleanly) {
  auto c = make("cam1");
  std::vector<std::string> bad = {"sk_",
                                  c.key.substr(0, 61),
                                  c.key + "A",
                                  "SK_" + c.key.substr(3),
                                  "sk_" + std::string(16, 'G') + c.key.substr(19),
                                  "sk_" + std::string(16, 'A') + c.key.substr(19),  // upper hex
                                  c.key.substr(0, 40) + "/" + c.key.substr(41),
                                  c.key.substr(0, 40) + "=" + c.key.substr(41),
                                  c.key.substr(0, 61) + "B",  // padding bits set
                                  std::string(62, '\0'),
                                  std::string(100000, 'a'),
                                  "rtmp://host/live/" + c.key};
  for (const auto& k : bad) {
    auto g = keys.check_publish(k, "1.2.3.4");
    ASSERT_FALSE(g) << k;
    EXPECT_EQ(g.error().reason, RefusalReason::kMalformed) << k;
    EXPECT_TRUE(g.error().key_id.empty());
  }
  EXPECT_EQ(refusal(""), RefusalReason::kMissing);
  // Every single-character corruption is refused, never accepted, never a crash.
  for (std::size_t i = 0; i < c.key.size(); ++i) {
    for (char ch : {'\0', 'A', 'z', '0', '-', '_', '/', '\xff'}) {
      std::string k = c.key;
      if (k[i] == ch) continue;
      k[i] = ch;
      EXPECT_FALSE(keys.check_publish(k, "1.2.3.4")) << i;
    }
  }
  EXPECT_TRUE(keys.check_publish(c.key, "1.2.3.4"));
}

TEST_F(KeyServiceTest, ExpiryFollowsTheClock) {
  auto c = make("cam1", {}, {}, KeyKind::kPublish, 60);
  ASSERT_TRUE(c.record.expires_at);
  EXPECT_TRUE(keys.check_publish(c.key, "1.2.3.4"));
  clock.advance(59s);
  EXPECT_TRUE(keys.check_publish(c.key, "1.2.3.4"));
  clock.advance(1s);
  EXPECT_EQ(refusal(c.key), RefusalReason::kExpired);
  EXPECT_EQ(keys.state_of(*keys.get(c.record.id)), KeyState::kExpired);
  EXPECT_EQ(keys.rotate(c.record.id).error().status, 409);
  // Listed as expired until purged 24 h later.
  EXPECT_EQ(keys.list().value().size(), 1u);
  clock.advance(23h);
  EXPECT_EQ(keys.purge_due(), 0u);
  clock.advance(2h);
  EXPECT_EQ(keys.purge_due(), 1u);
  EXPECT_TRUE(keys.list().value().empty());
  EXPECT_EQ(refusal(c.key), RefusalReason::kUnknown);
}

TEST_F(KeyServiceTest, RevokeStopsTheKeyAtOnceAndIsIdempotent) {
  auto c = make("cam1", {}, std::string("studio"));
  auto r = keys.revoke("studio");
  ASSERT_TRUE(r);
  EXPECT_EQ(keys.state_of(*r), KeyState::kRevoked);
  auto first = r->revoked_at;
  clock.advance(10s);
  EXPECT_EQ(keys.revoke(c.record.id)->revoked_at, first);
  EXPECT_EQ(refusal(c.key), RefusalReason::kRevoked);
  EXPECT_EQ(keys.rotate("studio").error().status, 409);
  EXPECT_EQ(keys.revoke("nope").error().status, 404);
  EXPECT_EQ(keys.revoke("0123456789abcdef").error().status, 404);
}

TEST_F(KeyServiceTest, RotateInvalidatesTheOldSecretKeepsIdAndMetadata) {
  auto c = make("cam1", {"10.0.0.0/8"}, std::string("studio"));
  auto rotated = keys.rotate("studio");
  ASSERT_TRUE(rotated) << rotated.error().detail;
  EXPECT_EQ(rotated->record.id, c.record.id);
  EXPECT_EQ(rotated->record.allowed_ips, c.record.allowed_ips);
  EXPECT_EQ(rotated->record.alias, c.record.alias);
  EXPECT_NE(rotated->key, c.key);
  EXPECT_TRUE(rotated->key.starts_with("sk_" + c.record.id));
  EXPECT_EQ(refusal(c.key, "10.1.1.1"), RefusalReason::kWrong);
  EXPECT_TRUE(keys.check_publish(rotated->key, "10.1.1.1"));
}

TEST_F(KeyServiceTest, AliasesPointAtIdsAndAreUnique) {
  auto c = make("cam1", {}, std::string("main-cam"));
  EXPECT_EQ(store.find_key_id_by_alias("main-cam").value(), c.record.id);
  EXPECT_EQ(keys.get("main-cam")->id, c.record.id);
  CreateKeyRequest dup;
  dup.stream = "cam2";
  dup.alias = "main-cam";
  auto clash = keys.create(dup);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().status, 409);
  EXPECT_EQ(keys.list().value().size(), 1u);
  dup.alias = "0123456789abcdef";  // looks like an id
  EXPECT_EQ(keys.create(dup).error().status, 422);
}

TEST_F(KeyServiceTest, ValidationListsEveryBadField) {
  CreateKeyRequest r;
  r.stream = "bad name/with slash";
  r.expires_in = 0;
  r.allowed_ips = {"10.0.0.0/8", "not-an-ip", "10.1.2.3/8", "1.2.3.4/33", "::1/129"};
  r.alias = "";
  r.note = std::string(1025, 'n');
  auto c = keys.create(r);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().status, 422);
  std::vector<std::string> where;
  for (const auto& f : c.error().fields) {
    std::string loc;
    for (const auto& l : f.loc)
      loc += "/" + l;
    where.push_back(loc);
  }
  EXPECT_EQ(where,
            (std::vector<std::string>{"/body/stream", "/body/expires_in", "/body/allowed_ips/1",
                                      "/body/allowed_ips/2", "/body/allowed_ips/3",
                                      "/body/allowed_ips/4", "/body/alias", "/body/note"}));
  EXPECT_NE(c.error().fields[2].msg.find("not-an-ip"), std::string::npos);
  EXPECT_NE(c.error().fields[3].msg.find("10.0.0.0/8"), std::string::npos);  // the suggestion
  EXPECT_TRUE(keys.list().value().empty());
}

TEST_F(KeyServiceTest, IpRulesV4V6AndMapped) {
  auto c = make("cam1", {"192.0.2.0/24", "2001:db8::/32", "198.51.100.7"});
  EXPECT_EQ(c.record.allowed_ips,
            (std::vector<std::string>{"192.0.2.0/24", "2001:db8::/32", "198.51.100.7/32"}));
  EXPECT_TRUE(keys.check_publish(c.key, "192.0.2.200"));
  EXPECT_TRUE(keys.check_publish(c.key, "::ffff:192.0.2.9"));
  EXPECT_TRUE(keys.check_publish(c.key, "2001:db8:1::5"));
  EXPECT_TRUE(keys.check_publish(c.key, "198.51.100.7"));
  EXPECT_TRUE(keys.check_publish(c.key, "[2001:db8::1]"));
  EXPECT_EQ(refusal(c.key, "192.0.3.1"), RefusalReason::kIpForbidden);
  EXPECT_EQ(refusal(c.key, "::ffff:198.51.100.8"), RefusalReason::kIpForbidden);
  EXPECT_EQ(refusal(c.key, "2001:db9::1"), RefusalReason::kIpForbidden);
  EXPECT_EQ(refusal(c.key, "garbage"), RefusalReason::kIpForbidden);
  EXPECT_EQ(refusal(c.key, ""), RefusalReason::kIpForbidden);
  auto err = keys.check_publish(c.key, "192.0.3.1").error();
  EXPECT_EQ(err.to_error().status, 403);
  EXPECT_EQ(err.detail.find(c.key.substr(19)), std::string::npos);
}

TEST(IpRules, ParseAndContain) {
  auto any4 = parse_ip_rule("0.0.0.0/0");
  ASSERT_TRUE(any4);
  EXPECT_TRUE(any4->contains(*parse_ip("8.8.8.8")));
  EXPECT_TRUE(any4->contains(*parse_ip("::ffff:8.8.8.8")));
  EXPECT_FALSE(any4->contains(*parse_ip("::1")));
  auto mapped_rule = parse_ip_rule("::ffff:10.0.0.0/104");
  ASSERT_TRUE(mapped_rule);
  EXPECT_TRUE(mapped_rule->contains(*parse_ip("10.9.9.9")));
  EXPECT_TRUE(parse_ip("127.0.0.1")->is_loopback());
  EXPECT_TRUE(parse_ip("127.8.0.1")->is_loopback());
  EXPECT_TRUE(parse_ip("::1")->is_loopback());
  EXPECT_TRUE(parse_ip("::ffff:127.0.0.1")->is_loopback());
  EXPECT_FALSE(parse_ip("10.0.0.1")->is_loopback());
  EXPECT_FALSE(parse_ip("::2")->is_loopback());
  EXPECT_TRUE(parse_ip("fe80::1%eth0"));
  for (auto bad : {"", "1.2.3", "1.2.3.4.5", "1.2.3.4%eth0", "[1.2.3.4", "::g", "1.2.3.256"})
    EXPECT_FALSE(parse_ip(bad)) << bad;
  for (auto bad : {"1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/ 8", "1.2.3.4/0008",
                   "1.2.3.4/8/8", "fe80::%eth0/64", "/8"})
    EXPECT_FALSE(parse_ip_rule(bad)) << bad;
  EXPECT_EQ(parse_ip_rule("2001:DB8::/32")->to_string(), "2001:db8::/32");
}

TEST_F(KeyServiceTest, ReadKeysMakePlaybackPrivate) {
  auto pub = make("show");
  EXPECT_TRUE(keys.check_read("show", std::nullopt, "1.2.3.4"));  // public
  EXPECT_FALSE(*keys.check_read("show", std::nullopt, "1.2.3.4"));
  auto read = make("show", {}, {}, KeyKind::kRead);
  auto other = make("other", {}, {}, KeyKind::kRead);
  auto none = keys.check_read("show", std::nullopt, "1.2.3.4");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().reason, RefusalReason::kMissing);
  EXPECT_EQ(none.error().to_error().status, 401);  // no key: answered with kReadKeyChallenge
  auto ok = keys.check_read("show", read.key, "1.2.3.4");
  ASSERT_TRUE(ok);
  ASSERT_TRUE(*ok);
  EXPECT_EQ((*ok)->key_id, read.record.id);
  EXPECT_EQ(keys.check_read("show", other.key, "1.2.3.4").error().reason,
            RefusalReason::kWrongStream);
  EXPECT_EQ(keys.check_read("show", other.key, "1.2.3.4").error().to_error().status, 403);
  EXPECT_EQ(keys.check_read("show", "sk_nonsense", "1.2.3.4").error().to_error().status, 403);
  EXPECT_EQ(keys.check_read("show", pub.key, "1.2.3.4").error().reason, RefusalReason::kWrongKind);
  EXPECT_EQ(keys.check_publish(read.key, "1.2.3.4").error().reason, RefusalReason::kWrongKind);
  // Revoking the last read key makes the stream public again.
  ASSERT_TRUE(keys.revoke(read.record.id));
  EXPECT_TRUE(keys.check_read("show", std::nullopt, "1.2.3.4"));
}

// ffmpeg's rtmp://HOST/live/NAME?key=KEY: the key must be NAME's. A refusal like any other —
// counted and logged by the service, the key's uses untouched.
TEST_F(KeyServiceTest, PublishNamingAnotherStreamIsWrongStream) {
  auto c = make("cam1");
  auto g = keys.check_publish(c.key, "1.2.3.4", "cam2");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().reason, RefusalReason::kWrongStream);
  EXPECT_EQ(g.error().key_id, c.record.id);
  EXPECT_EQ(g.error().to_error().status, 403);
  EXPECT_EQ(keys.stats().refused[static_cast<int>(RefusalReason::kWrongStream)], 1u);
  EXPECT_EQ(keys.stats().accepted, 0u);
  EXPECT_EQ(keys.get(c.record.id)->uses, 0u);
  EXPECT_TRUE(keys.check_publish(c.key, "1.2.3.4", "cam1"));
  EXPECT_EQ(keys.check_publish("", "1.2.3.4").error().reason, RefusalReason::kMissing);
  EXPECT_EQ(keys.stats().refused[static_cast<int>(RefusalReason::kMissing)], 1u);
}

TEST_F(KeyServiceTest, StreamNamesMayNotLookLikeKeys) {
  CreateKeyRequest r;
  r.stream = "sk_cam";
  auto c = keys.create(r);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().status, 422);
  EXPECT_NE(c.error().fields.at(0).msg.find("sk_"), std::string::npos);
  r.stream = "desk_cam";
  EXPECT_TRUE(keys.create(r));
}

TEST(KeyFormat, RedactKeysHidesEveryKeyShapedWord) {
  const std::string key = "sk_3f9a0c1d2e4b5a69Q2x7m1Jf0pZcVYb3kqgT8oEwR6nHsLdA5uKiMjtyXvN4";
  EXPECT_EQ(redact_keys(key), "sk_***");
  EXPECT_EQ(redact_keys("no one is publishing '" + key + "'"), "no one is publishing 'sk_***'");
  EXPECT_EQ(redact_keys(key.substr(0, 40)), "sk_***");  // a truncated key is still most of one
  EXPECT_EQ(redact_keys("a " + key + " b " + key + ".flv"), "a sk_*** b sk_***.flv");
  EXPECT_EQ(redact_keys("desk_cam task_1 cam1 sk_"), "desk_cam task_1 cam1 sk_***");
  EXPECT_EQ(redact_keys(""), "");
}

TEST_F(KeyServiceTest, TheNumberOfKeysIsBounded) {
  for (int i = 0; i < 5; ++i)
    make("s" + std::to_string(i));
  CreateKeyRequest r;
  r.stream = "one-too-many";
  auto full = keys.create(r);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().status, 507);
  EXPECT_NE(full.error().detail.find("limit 5"), std::string::npos);
  // A revoked key frees its slot once purged.
  ASSERT_TRUE(keys.revoke(keys.list().value().front().id));
  clock.advance(25h);
  EXPECT_TRUE(keys.create(r));
}

TEST_F(KeyServiceTest, ConcurrentChecksCountEveryUse) {
  auto c = make("cam1");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i)
        (void)keys.check_publish(c.key, "1.2.3.4");
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(keys.get(c.record.id)->uses, 1000u);
}

TEST(KeyFormat, Base64UrlAndConstantTimeCompare) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url(std::string(32, '\0')).size(), 43u);
  EXPECT_TRUE(equal_constant_time("abc", "abc"));
  EXPECT_FALSE(equal_constant_time("abc", "abd"));
  EXPECT_FALSE(equal_constant_time("abc", "ab"));
  EXPECT_FALSE(equal_constant_time("", ""));
}

}  // namespace
}  // namespace sluice::keys
