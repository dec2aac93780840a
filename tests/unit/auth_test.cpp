// Identities, roles and permissions (src/auth) and the durable state under them (src/state):
// the rules a user of any door would notice, with a fake clock and an in-memory state file.
#include <gtest/gtest.h>

#include <filesystem>

#include "auth/access_policy.hpp"
#include "auth/authenticator.hpp"
#include "auth/directory.hpp"
#include "auth/password.hpp"
#include "auth/subjects.hpp"
#include "core/crypto.hpp"
#include "core/time_format.hpp"
#include "settings/settings.hpp"
#include "state/records_sync.hpp"
#include "state/state_db.hpp"
#include "state/state_journal.hpp"

namespace sluice::auth {
namespace {

// Cheap argon2 for tests that hash many times; the production cost is tested once below.
std::string basic(std::string_view user, std::string_view password) {
  return "Basic " + crypto::base64_encode(std::string(user) + ":" + std::string(password));
}

Need need(Resource r, Access a, std::string target = {}) {
  return Need{r, a, std::move(target)};
}

TEST(Permissions, ParseNamesPatternsAndRefusesUnknown) {
  auto g = parse_grant("media_rw:stage*,cam1");
  ASSERT_TRUE(g) << g.error().detail;
  EXPECT_EQ(g->resource, Resource::kMedia);
  EXPECT_EQ(g->access, Access::kWrite);
  EXPECT_EQ(to_string(*g), "media_rw:stage*,cam1");
  EXPECT_TRUE(parse_grant("channels_r:show.>"));
  EXPECT_FALSE(parse_grant("channels_r:show.>.x"));  // '>' only last
  EXPECT_FALSE(parse_grant("streams_rw:x"));         // no patterns for streams
  auto bad = parse_grant("stream_rw");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().status, 422);
  EXPECT_NE(bad.error().detail.find("streams_rw"), std::string::npos);  // lists known ones
  EXPECT_FALSE(parse_grant("types_r"));  // types are read with streams_r
}

TEST(Permissions, RolesCoverWhatTheirGrantsSay) {
  Role stage{"stage",
             "",
             {*parse_grant("media_r:stage*"), *parse_grant("channels_rw:show.>")},
             Scope::kOwn,
             false};
  EXPECT_TRUE(stage.allows(need(Resource::kMedia, Access::kRead, "stage-left")));
  EXPECT_FALSE(stage.allows(need(Resource::kMedia, Access::kRead, "backstage")));
  EXPECT_FALSE(stage.allows(need(Resource::kMedia, Access::kWrite, "stage-left")));
  EXPECT_TRUE(stage.allows(need(Resource::kChannels, Access::kRead, "show.cues")));
  EXPECT_TRUE(stage.allows(need(Resource::kChannels, Access::kWrite, "show.*.x")));
  EXPECT_FALSE(stage.allows(need(Resource::kChannels, Access::kRead, ">")));
  EXPECT_FALSE(stage.allows(need(Resource::kChannels, Access::kRead, "other.cues")));
  EXPECT_FALSE(stage.allows(need(Resource::kStreams, Access::kRead)));
  const Role* viewer = find_builtin_role("viewer");
  ASSERT_NE(viewer, nullptr);
  EXPECT_TRUE(viewer->allows(need(Resource::kStreams, Access::kRead)));
  EXPECT_FALSE(viewer->allows(need(Resource::kStreams, Access::kWrite)));
  const Role* admin = find_builtin_role("admin");
  for (const auto& name : all_permission_names()) {
    auto g = parse_grant(name);
    ASSERT_TRUE(g) << name;
    EXPECT_TRUE(admin->allows(need(g->resource, g->access))) << name;
  }
  EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(glob_match("a*b*c", "axxbyy"));
  EXPECT_TRUE(glob_match("*", ""));
}

TEST(Passwords, Argon2idVerifiesOnlyTheRightPassword) {
  const std::string phc = hash_password("correct horse battery");
  EXPECT_TRUE(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
  EXPECT_TRUE(verify_password("correct horse battery", phc));
  EXPECT_FALSE(verify_password("correct horse batterz", phc));
  EXPECT_FALSE(verify_password("correct horse battery", "$argon2i$garbage"));
  EXPECT_NE(hash_password("correct horse battery"), phc);  // salted
  EXPECT_FALSE(check_password_rules("short"));
}

class DirectoryTest : public ::testing::Test {
 protected:
  FakeClock clock;
  state::StateDb db{":memory:"};
};

TEST_F(DirectoryTest, TokensAreShownOnceStoredHashedAndExpire) {
  Directory dir(&db, clock);
  auto created = dir.create_token("stage-pi", "publisher", std::chrono::seconds(60));
  ASSERT_TRUE(created) << created.error().detail;
  const std::string token = created->token;
  EXPECT_TRUE(token.starts_with("st_"));
  EXPECT_EQ(token.size(), 3u + 16 + 43);
  // Stored: the hash, never the token.
  auto rows = db.load("token").value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].second.find(token.substr(19)), std::string::npos);
  auto match = dir.check_token(token);
  ASSERT_TRUE(match);
  EXPECT_EQ(match->name, "stage-pi");
  EXPECT_EQ(match->role->name, "publisher");
  std::string forged = token;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(dir.check_token(forged));
  EXPECT_FALSE(dir.create_token("stage-pi", "viewer", std::nullopt));  // names are unique
  EXPECT_EQ(dir.create_token("x", "nope", std::nullopt).error().status, 422);
  clock.advance(std::chrono::seconds(61));
  EXPECT_FALSE(dir.check_token(token));  // expired
  ASSERT_TRUE(dir.delete_token("stage-pi"));
  EXPECT_TRUE(dir.tokens().empty());
}

TEST_F(DirectoryTest, EverythingSurvivesARestartOfTheStateFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sluice-auth-test-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  std::string token;
  {
    state::StateDb file(path.string());
    Directory dir(&file, clock);
    ASSERT_TRUE(dir.create_user("ana", "a long password", "operator"));
    token = dir.create_token("cam", "publisher", std::nullopt).value().token;
    ASSERT_TRUE(dir.put_role(
        Role{"stage", "stage crew", {*parse_grant("media_r:stage*")}, Scope::kOwn, false}));
  }
  state::StateDb file(path.string());
  Directory dir(&file, clock);
  auto ana = dir.find_user("ana");
  ASSERT_TRUE(ana);
  EXPECT_EQ(ana->role, "operator");
  EXPECT_TRUE(verify_password("a long password", ana->password_hash));
  EXPECT_TRUE(ana->scram.starts_with("SCRAM-SHA-256$"));
  EXPECT_TRUE(dir.check_token(token));
  auto stage = dir.role("stage");
  ASSERT_TRUE(stage);
  EXPECT_TRUE(stage->allows(need(Resource::kMedia, Access::kRead, "stage-1")));
  // A role in use cannot go; built-in roles never.
  ASSERT_TRUE(dir.update_user("ana", std::nullopt, std::string("stage")));
  EXPECT_EQ(dir.delete_role("stage").error().status, 409);
  EXPECT_EQ(dir.delete_role("admin").error().status, 409);
  EXPECT_EQ(dir.put_role(Role{"viewer", "", {}, Scope::kAny, false}).error().status, 409);
  std::filesystem::remove(path);
}

TEST_F(DirectoryTest, AuthenticatorAcceptsTokensBasicAndAdminAndBacksOffAfterFailures) {
  Directory dir(&db, clock);
  ASSERT_TRUE(dir.create_user("ana", "a long password", "viewer"));
  const std::string token = dir.create_token("cam", "publisher", std::nullopt).value().token;
  Authenticator auth(dir, clock, AuthenticatorOptions{"admin-token-0123456789", false});

  auto anon = auth.authenticate({"", "", "10.0.0.5"});
  ASSERT_TRUE(anon);
  EXPECT_FALSE(anon->authenticated());
  EXPECT_EQ(anon->owner(), "addr:10.0.0.5");

  auto by_token = auth.authenticate({"Bearer " + token, "", "10.0.0.5"});
  ASSERT_TRUE(by_token);
  EXPECT_EQ(by_token->owner(), "token:cam");
  auto by_query = auth.authenticate({"", token, "10.0.0.5"});
  ASSERT_TRUE(by_query);
  EXPECT_EQ(by_query->owner(), "token:cam");
  auto by_basic = auth.authenticate({basic("ana", "a long password"), "", "10.0.0.5"});
  ASSERT_TRUE(by_basic);
  EXPECT_EQ(by_basic->owner(), "user:ana");
  EXPECT_EQ(by_basic->role->name, "viewer");
  auto admin = auth.authenticate({"bearer admin-token-0123456789", "", "10.0.0.6"});
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->kind, Identity::Kind::kAdmin);
  // A stream key is not an identity: anonymous (WHIP takes it by itself).
  EXPECT_FALSE(auth.authenticate({"Bearer sk_0123", "", "10.0.0.7"})->authenticated());

  // A wrong password: 401 that does not say which part was wrong...
  auto wrong = auth.authenticate({basic("ana", "a wrong password"), "", "10.0.0.9"});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().status, 401);
  auto unknown = auth.authenticate({basic("bob", "a long password"), "", "10.0.0.8"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().detail, wrong.error().detail);
  // ... and for 100 ms that address is refused without checking, even with the right one.
  EXPECT_FALSE(auth.authenticate({basic("ana", "a long password"), "", "10.0.0.9"}));
  EXPECT_TRUE(auth.authenticate({basic("ana", "a long password"), "", "10.0.0.5"}));
  clock.advance(std::chrono::milliseconds(101));
  EXPECT_TRUE(auth.authenticate({basic("ana", "a long password"), "", "10.0.0.9"}));
  EXPECT_EQ(auth.stats().failures.load(), 2u);
  EXPECT_EQ(auth.stats().throttled.load(), 1u);
}

TEST_F(DirectoryTest, RememberedCredentialsEndWithAnyChangeToTheDirectory) {
  Directory dir(&db, clock);
  ASSERT_TRUE(dir.create_user("ana", "a long password", "viewer"));
  const std::string token = dir.create_token("cam", "publisher", std::nullopt).value().token;
  Authenticator auth(dir, clock, AuthenticatorOptions{});
  const std::string ana = basic("ana", "a long password");
  ASSERT_TRUE(auth.authenticate({"Bearer " + token, "", "10.0.0.5"})->authenticated());
  ASSERT_TRUE(auth.authenticate({ana, "", "10.0.0.5"})->authenticated());
  // Revoking the token ends it at once, although it was remembered.
  ASSERT_TRUE(dir.delete_token("cam"));
  EXPECT_FALSE(auth.authenticate({"Bearer " + token, "", "10.0.0.5"}));
  // A new password ends the old one (its Basic header was remembered too).
  clock.advance(std::chrono::milliseconds(200));
  ASSERT_TRUE(dir.update_user("ana", std::string("another long password"), std::nullopt));
  EXPECT_FALSE(auth.authenticate({ana, "", "10.0.0.6"}));
  clock.advance(std::chrono::milliseconds(200));
  EXPECT_TRUE(auth.authenticate({basic("ana", "another long password"), "", "10.0.0.6"}));
  // A role change shows at once.
  ASSERT_TRUE(dir.update_user("ana", std::nullopt, std::string("operator")));
  EXPECT_EQ(auth.authenticate({basic("ana", "another long password"), "", "10.0.0.6"})->role->name,
            "operator");
}

TEST(AccessPolicy, ModesGiveAnonymousClientsWhatTheIssueSays) {
  auto anon = Identity::anonymous("10.0.0.5");
  auto local = Identity::anonymous("127.0.0.1");
  AccessPolicy owner({Mode::kOwner, true});
  EXPECT_TRUE(owner.allows(anon, need(Resource::kStreams, Access::kWrite)));
  EXPECT_TRUE(owner.allows(anon, need(Resource::kMedia, Access::kRead, "cam")));
  EXPECT_FALSE(owner.allows(anon, need(Resource::kMedia, Access::kWrite, "cam")));
  EXPECT_FALSE(owner.allows(anon, need(Resource::kKeys, Access::kWrite)));
  EXPECT_FALSE(owner.allows(anon, need(Resource::kMetrics, Access::kRead)));
  EXPECT_TRUE(owner.allows(local, need(Resource::kMetrics, Access::kRead)));
  EXPECT_FALSE(owner.manages_all(anon));
  auto refused = owner.authorize(anon, need(Resource::kKeys, Access::kWrite));
  EXPECT_EQ(refused.error().status, 401);
  EXPECT_NE(refused.error().detail.find("keys_rw"), std::string::npos);

  AccessPolicy closed_relay({Mode::kOwner, false});
  EXPECT_FALSE(closed_relay.allows(anon, need(Resource::kChannels, Access::kRead, "show.x")));

  AccessPolicy required({Mode::kRequired, true});
  EXPECT_EQ(required.authorize(anon, need(Resource::kStreams, Access::kRead)).error().status, 401);
  Identity viewer{Identity::Kind::kToken, "tv", "10.0.0.5",
                  std::make_shared<const Role>(*find_builtin_role("viewer"))};
  EXPECT_TRUE(required.allows(viewer, need(Resource::kStreams, Access::kRead)));
  auto forbidden = required.authorize(viewer, need(Resource::kStreams, Access::kWrite));
  EXPECT_EQ(forbidden.error().status, 403);
  EXPECT_NE(forbidden.error().detail.find("streams_rw"), std::string::npos);

  AccessPolicy open({Mode::kOpen, true});
  EXPECT_TRUE(open.manages_all(anon));
  EXPECT_FALSE(open.allows(anon, need(Resource::kUsers, Access::kWrite)));
}

TEST(Subjects, ReservedNamespacesAndWhatReadingNeeds) {
  EXPECT_EQ(classify_subject("maestra.stream.request.abc"), SubjectClass::kRequest);
  EXPECT_EQ(classify_subject("maestra.stream.heartbeat.abc"), SubjectClass::kHeartbeat);
  EXPECT_EQ(classify_subject("maestra.stream.session.heartbeat.abc"), SubjectClass::kHeartbeat);
  EXPECT_EQ(classify_subject("maestra.stream.advertise"), SubjectClass::kRegistry);
  EXPECT_EQ(classify_subject("sluice.media.publish"), SubjectClass::kSluice);
  EXPECT_EQ(classify_subject("show.cues"), SubjectClass::kChannel);
  EXPECT_FALSE(read_need("maestra.stream.request.x"));
  EXPECT_EQ(read_need("maestra.stream.session.started")->resource, Resource::kSessions);
  EXPECT_EQ(read_need("sluice.audit")->resource, Resource::kUsers);
  EXPECT_EQ(read_need("sluice.pipelines.health")->resource, Resource::kMedia);
  EXPECT_EQ(read_need("sluice.recordings.segment")->resource, Resource::kMedia);
  EXPECT_EQ(read_need("show.cues")->target, "show.cues");
  EXPECT_EQ(subscribe_need("show.>")->resource, Resource::kChannels);
  EXPECT_FALSE(subscribe_need(">"));  // filtered per message
  EXPECT_FALSE(subscribe_need("maestra.stream.>"));
}

TEST(StateJournal, KeysTypesAndOwnersRoundTrip) {
  state::StateDb db(":memory:");
  state::StateJournal journal(db);
  registry::KeyRecord k;
  k.id = "0123456789abcdef";
  k.stream = "cam";
  k.hmac = std::string(32, '\x7f');
  k.created_at = WallTime(std::chrono::seconds(1'790'000'000));
  k.alias = "studio";
  k.allowed_ips = {"10.0.0.0/8"};
  k.uses = 3;
  ASSERT_TRUE(journal.save_key(k));
  registry::StreamTypeRecord t;
  t.name = "lidar";
  t.display_name = "Lidar";
  t.owner = "addr:10.0.0.5";
  t.config_schema = {{"fps", {{"type", "integer"}}}};
  ASSERT_TRUE(journal.save_type(t));
  ASSERT_TRUE(journal.save_owner("stream-1", "token:cam"));
  auto back = state::load_journal(db);
  ASSERT_EQ(back.keys.size(), 1u);
  EXPECT_EQ(back.keys[0].hmac, k.hmac);
  EXPECT_EQ(back.keys[0].alias, k.alias);
  EXPECT_EQ(back.keys[0].uses, 3u);
  EXPECT_EQ(back.keys[0].allowed_ips, k.allowed_ips);
  ASSERT_EQ(back.types.size(), 1u);
  EXPECT_EQ(back.types[0].owner, "addr:10.0.0.5");
  EXPECT_EQ(back.types[0].schema_fields.size(), 1u);
  ASSERT_EQ(back.owners.size(), 1u);
  EXPECT_EQ(back.owners[0].second, "token:cam");
  ASSERT_TRUE(journal.drop_owner("stream-1"));
  EXPECT_TRUE(state::load_journal(db).owners.empty());
}

TEST(Crypto, SealOpensOnlyUnderTheSameKeyAndUntouched) {
  const std::string key(32, 'k');
  auto box = crypto::seal(key, "onvif password");
  EXPECT_EQ(box.find("onvif password"), std::string::npos);
  EXPECT_EQ(crypto::open(key, box).value(), "onvif password");
  EXPECT_FALSE(crypto::open(std::string(32, 'x'), box));
  box[15] ^= 1;
  EXPECT_FALSE(crypto::open(key, box));
  EXPECT_EQ(crypto::base64url("\xff\xfe"), "__4");
  EXPECT_EQ(crypto::base64_encode("\xff\xfe"), "//4=");
}

// Two nodes sharing one home (here one StateDb for both): what one changes, the other takes at
// its next reload — applied and announced — and RecordsSync reloads only when the version moved.
TEST(SharedRecords, SettingsAndIdentitiesFollowAnotherWriter) {
  state::StateDb db(":memory:");
  auto ttl_spec = [](std::vector<std::int64_t>* applied) {
    settings::Spec spec;
    spec.name = "stream_ttl";
    spec.type = settings::Type::kInteger;
    spec.minimum = 1;
    spec.apply = [applied](const boost::json::value& v) {
      if (applied) applied->push_back(v.as_int64());
      return Status{};
    };
    return spec;
  };
  settings::Settings node_a(&db), node_b(&db);
  std::vector<std::int64_t> applied_on_b;
  std::vector<std::string> announced_on_b;
  node_a.define(ttl_spec(nullptr), 30);
  node_b.define(ttl_spec(&applied_on_b), 30);
  node_b.set_announce([&](const settings::Setting&, const boost::json::value&,
                          const std::string& by) { announced_on_b.push_back(by); });
  FakeClock clock;
  Directory dir_a(&db, clock), dir_b(&db, clock);

  int reloads = 0;
  state::RecordsSync sync(db, {[&] {
                            ++reloads;
                            if (auto ok = dir_b.reload(); !ok) return ok;
                            return node_b.reload("another node");
                          }},
                          std::chrono::milliseconds(0));
  sync.poll();
  EXPECT_EQ(reloads, 1);  // the first poll loads
  sync.poll();
  EXPECT_EQ(reloads, 1);  // nothing changed since

  ASSERT_TRUE(node_a.put("stream_ttl", 5, "admin"));
  auto made = dir_a.create_token("desk", "operator", std::nullopt);
  ASSERT_TRUE(made) << made.error().detail;
  sync.poll();
  EXPECT_EQ(reloads, 2);
  EXPECT_EQ(node_b.get("stream_ttl")->value.as_int64(), 5);
  EXPECT_EQ(applied_on_b, std::vector<std::int64_t>{5});
  EXPECT_EQ(announced_on_b, std::vector<std::string>{"another node"});
  EXPECT_TRUE(dir_b.check_token(made->token));
  const auto generation = dir_b.generation();
  ASSERT_TRUE(dir_a.delete_token(made->record.id));
  sync.poll();
  EXPECT_FALSE(dir_b.check_token(made->token));
  EXPECT_GT(dir_b.generation(), generation);  // cached verifications are dropped
}

TEST(CryptoSha1, MatchesTheOasisUsernameTokenDigest) {
  // base64(SHA-1(nonce ‖ created ‖ password)), computed independently with Python's hashlib.
  const std::string nonce = crypto::base64_decode("LKqI6G/AikKCQrN0zqZFlg==").value();
  EXPECT_EQ(crypto::base64_encode(crypto::sha1(nonce + "2026-12-07T12:00:00.000Z" + "secret 1234")),
            "DJGAvWimUvWk+FIPRQrAbNQq6Qs=");
}

// ONVIF's WS-UsernameToken: checked against the password sealed when it was set; fresh and once.
TEST_F(DirectoryTest, OnvifUsernameTokensAreCheckedAgainstTheSealedPassword) {
  const std::string seal_key(32, 'k');
  Directory dir(&db, clock, seal_key);
  ASSERT_TRUE(dir.create_user("nvr", "correct horse 42", "viewer"));
  // Stored sealed, never in the clear; opened only with the key.
  auto rows = db.load("user").value();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].second.find("correct horse 42"), std::string::npos);
  EXPECT_EQ(dir.password_of("nvr"), "correct horse 42");
  EXPECT_FALSE(Directory(&db, clock, std::string(32, 'x')).password_of("nvr"));

  Authenticator auth(dir, clock, AuthenticatorOptions{});
  const std::string nonce_raw = crypto::random_bytes(16);
  auto token = [&](const std::string& password, WallTime created) {
    const std::string when = format_timestamp(created);
    return UsernameToken{"nvr", crypto::base64_encode(crypto::sha1(nonce_raw + when + password)),
                         true, crypto::base64_encode(nonce_raw), when};
  };
  auto good = auth.username_token(token("correct horse 42", clock.wall_now()), "10.0.0.9");
  ASSERT_TRUE(good) << good.error().detail;
  EXPECT_EQ(good->name, "nvr");
  EXPECT_EQ(good->role->name, "viewer");
  // The same digest again is a replay.
  clock.advance(std::chrono::seconds(1));  // past the failure backoff of other tests' addresses
  EXPECT_EQ(
      auth.username_token(token("correct horse 42", clock.wall_now() - std::chrono::seconds(1)),
                          "10.0.0.9")
          .error()
          .status,
      401);
  clock.advance(std::chrono::seconds(1));
  EXPECT_FALSE(auth.username_token(token("wrong", clock.wall_now()), "10.0.0.10"));
  clock.advance(std::chrono::seconds(1));
  // Made ten minutes ago: stale.
  EXPECT_FALSE(auth.username_token(
      token("correct horse 42", clock.wall_now() - std::chrono::minutes(10)), "10.0.0.11"));
  clock.advance(std::chrono::seconds(1));
  // PasswordText is the password itself.
  EXPECT_TRUE(
      auth.username_token(UsernameToken{"nvr", "correct horse 42", false, "", ""}, "10.0.0.12"));
  EXPECT_FALSE(auth.username_token(UsernameToken{"nobody", "x", false, "", ""}, "10.0.0.13"));
}

}  // namespace
}  // namespace sluice::auth
