// Trust on a shared network (issue 12): each attack from the issue's "Why", replayed against a
// real sluiced by devices on different source addresses (127.0.0.2 is the victim, 127.0.0.3 the
// attacker, 127.0.0.4 a consumer), fails — and the victim keeps working. Also every mode, the
// /auth routes, CORS and Origin, and what survives `kill -9`.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon_fixture.hpp"
#include "device_client.hpp"
#include "eventually.hpp"
#include "wire/scram.hpp"

namespace sluice::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kAdmin = "security-test-admin-token-0123";

std::string advert(const std::string& address, int port = 5000, const std::string& name = "cam",
                   const std::string& publisher = "stage-pi") {
  return json::serialize(json::object{{"name", name},
                                      {"stream_type", "video"},
                                      {"publisher_id", publisher},
                                      {"protocol", "srt"},
                                      {"address", address},
                                      {"port", port}});
}

std::string text(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  auto* f = v.as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

class Trust : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--loopback-admin", "false", "--admin-token", kAdmin};
    args.insert(args.end(), extra.begin(), extra.end());
    daemon_ = std::make_unique<DaemonProcess>(args);
    ASSERT_TRUE(daemon_->start());
    victim_ = std::make_unique<Device>("127.0.0.2", daemon_->port());
    attacker_ = std::make_unique<Device>("127.0.0.3", daemon_->port());
    consumer_ = std::make_unique<Device>("127.0.0.4", daemon_->port());
    admin_ = std::make_unique<Device>("127.0.0.1", daemon_->port());
    admin_->set_header("Authorization", std::string("Bearer ") + kAdmin);
  }
  void SetUp() override { start(); }

  // The victim's stream; returns its id.
  std::string advertise_victim() {
    auto r = victim_->call("POST", "/streams/advertise", advert("127.0.0.2"));
    EXPECT_EQ(r.status, 201) << r.body;
    return text(r.json(), "id");
  }

  // The consumer requests stream `id`; the victim (its owner) answers over /ws with `answer`.
  // Returns the consumer's reply.
  DeviceReply request_answered_by_owner(const std::string& id,
                                        json::object answer = {{"accepted", true}}) {
    DeviceSocket owner("127.0.0.2", daemon_->port());
    EXPECT_EQ(owner.status, 101);
    owner.send(R"({"op":"sub","sid":"r","subject":"maestra.stream.request.)" + id + R"("})");
    EXPECT_TRUE(owner.next_containing("\"ok\""));
    std::thread answering([&] {
      auto req = owner.next_containing("\"reply\"", 5s);
      if (!req) return;
      auto v = json::parse(*req);
      owner.send(json::serialize(
          json::object{{"op", "pub"}, {"subject", v.as_object().at("reply")}, {"data", answer}}));
    });
    auto offer = consumer_->call("POST", "/streams/" + id + "/request",
                                 R"({"consumer_id":"tv","consumer_address":"127.0.0.4"})");
    answering.join();
    return offer;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Device> victim_, attacker_, consumer_, admin_;
};

TEST_F(Trust, AnotherDeviceCannotWithdrawHeartbeatOrHijackAStream) {
  const std::string id = advertise_victim();
  auto withdraw = attacker_->call("DELETE", "/streams/" + id);
  EXPECT_EQ(withdraw.status, 403) << withdraw.body;
  auto beat = attacker_->call("POST", "/streams/" + id + "/heartbeat");
  EXPECT_EQ(beat.status, 403) << beat.body;
  // Re-advertising the victim's publisher_id + name with the attacker's own address.
  auto hijack = attacker_->call("POST", "/streams/advertise", advert("127.0.0.3", 6666));
  EXPECT_EQ(hijack.status, 403) << hijack.body;
  auto shown = consumer_->call("GET", "/streams/" + id);
  EXPECT_EQ(text(shown.json(), "address"), "127.0.0.2");
  // The victim keeps working.
  EXPECT_EQ(victim_->call("POST", "/streams/" + id + "/heartbeat").status, 200);
  EXPECT_EQ(victim_->call("POST", "/streams/advertise", advert("127.0.0.2", 5001)).status, 201);
  EXPECT_EQ(victim_->call("DELETE", "/streams/" + id).status, 200);
  // Once the owner withdrew it, the name is free.
  EXPECT_EQ(attacker_->call("POST", "/streams/advertise", advert("127.0.0.3")).status, 201);
}

TEST_F(Trust, OwnershipSurvivesATtlGap) {
  start({"--stream-ttl", "1"});
  const std::string id = advertise_victim();
  ASSERT_TRUE(
      eventually([&] { return consumer_->call("GET", "/streams/" + id).status == 404; }, 5s));
  EXPECT_EQ(attacker_->call("POST", "/streams/advertise", advert("127.0.0.3")).status, 403);
  EXPECT_EQ(victim_->call("POST", "/streams/advertise", advert("127.0.0.2")).status, 201);
}

TEST_F(Trust, ForgedEventsAndHeartbeatsOverWsAreRefused) {
  const std::string id = advertise_victim();
  DeviceSocket audit("127.0.0.1", daemon_->port(), "/ws",
                     {{"Authorization", std::string("Bearer ") + kAdmin}});
  audit.send(R"({"op":"sub","sid":"a","subject":"sluice.audit"})");
  ASSERT_TRUE(audit.next_containing("\"ok\""));
  DeviceSocket ws("127.0.0.3", daemon_->port());
  ASSERT_EQ(ws.status, 101) << ws.response;
  ASSERT_TRUE(ws.next());  // hello
  ws.send(R"({"op":"pub","subject":"maestra.stream.advertise","data":{"id":"x"}})");
  auto err = ws.next_containing("\"err\"");
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("reserved"), std::string::npos) << *err;
  // The refusal is in the audit trail: who, from where, what.
  auto entry = audit.next_containing("maestra.stream.advertise");
  ASSERT_TRUE(entry);
  EXPECT_NE(entry->find("addr:127.0.0.3"), std::string::npos) << *entry;
  EXPECT_NE(entry->find("refused"), std::string::npos) << *entry;
  ws.send(R"({"op":"pub","subject":"maestra.stream.heartbeat.)" + id + R"(","data":{}})");
  err = ws.next_containing("\"err\"");
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("another client"), std::string::npos) << *err;
  // The owner heartbeats over /ws.
  DeviceSocket owner("127.0.0.2", daemon_->port());
  ASSERT_EQ(owner.status, 101);
  owner.send(R"({"op":"pub","subject":"maestra.stream.heartbeat.)" + id + R"(","data":{}})");
  EXPECT_FALSE(owner.next_containing("\"err\"", 500ms));
}

TEST_F(Trust, OnlyTheOwnerHearsAndAnswersRequests) {
  const std::string id = advertise_victim();
  DeviceSocket spy("127.0.0.3", daemon_->port());
  ASSERT_EQ(spy.status, 101);
  spy.send(R"({"op":"sub","sid":"1","subject":"maestra.stream.request.)" + id + R"("})");
  auto refused = spy.next_containing("\"err\"");
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("owner"), std::string::npos) << *refused;
  spy.send(R"({"op":"sub","sid":"2","subject":"maestra.stream.>"})");
  ASSERT_TRUE(spy.next_containing("\"ok\""));
  auto offer = request_answered_by_owner(id, {{"accepted", true}, {"port", 7000}});
  EXPECT_EQ(offer.status, 200) << offer.body;
  EXPECT_EQ(offer.json().as_object().at("publisher_port").as_int64(), 7000);
  // The spy saw the session start (sessions_r) but never the request with its reply subject.
  for (auto f = spy.next(300ms); f; f = spy.next(300ms)) {
    EXPECT_EQ(f->find("maestra.stream.request"), std::string::npos) << *f;
  }
  // A reply subject is only for whom the request was sent to.
  spy.send(R"({"op":"pub","subject":"_INBOX.guess.1","data":{"accepted":true}})");
  EXPECT_TRUE(spy.next_containing("not the reply subject"));
}

TEST_F(Trust, SessionsAndSubscribersBelongToTheirConsumerAndTheStreamOwner) {
  const std::string id = advertise_victim();
  auto offer = request_answered_by_owner(id);
  ASSERT_EQ(offer.status, 200) << offer.body;
  const std::string session = text(offer.json(), "session_id");
  EXPECT_EQ(attacker_->call("POST", "/streams/sessions/" + session + "/heartbeat").status, 403);
  EXPECT_EQ(attacker_->call("DELETE", "/streams/sessions/" + session).status, 403);
  EXPECT_EQ(consumer_->call("POST", "/streams/sessions/" + session + "/heartbeat").status, 200);
  EXPECT_EQ(victim_->call("DELETE", "/streams/sessions/" + session).status, 200);
}

TEST_F(Trust, CustomTypesBelongToTheirCreator) {
  auto made = victim_->call("POST", "/streams/types", R"({"name":"lidar","display_name":"Lidar"})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(attacker_->call("DELETE", "/streams/types/lidar").status, 403);
  EXPECT_EQ(
      attacker_->call("PUT", "/streams/types/lidar", R"({"name":"lidar","display_name":"Mine"})")
          .status,
      403);
  EXPECT_EQ(admin_->call("DELETE", "/streams/types/lidar").status, 200);
}

TEST_F(Trust, LoopbackIsNotAdminAndCrossSitePagesCannotMintKeys) {
  Device local("127.0.0.1", daemon_->port());
  auto keys = local.call("POST", "/keys", R"({"stream":"cam"})");
  EXPECT_EQ(keys.status, 401) << keys.body;
  EXPECT_TRUE(keys.header("www-authenticate"));
  // No wildcard CORS anywhere.
  auto listed = local.call("GET", "/streams", {}, {{"Origin", "http://evil.example"}});
  EXPECT_EQ(listed.status, 200);
  EXPECT_FALSE(listed.header("access-control-allow-origin"));
  // Even with credentials a browser would attach, a cross-site write is refused.
  auto minted =
      admin_->call("POST", "/keys", R"({"stream":"cam"})", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(minted.status, 403) << minted.body;
  DeviceSocket ws("127.0.0.1", daemon_->port(), "/ws", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(ws.status, 403) << ws.response;
  DeviceSocket wire("127.0.0.1", daemon_->port(), "/wire", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(wire.status, 403) << wire.response;
  // The server's own pages (same host:port) are fine.
  DeviceSocket same("127.0.0.1", daemon_->port(), "/ws",
                    {{"Origin", "http://127.0.0.1:" + std::to_string(daemon_->port())}});
  EXPECT_EQ(same.status, 101) << same.response;
}

TEST_F(Trust, ListedOriginsGetCors) {
  start({"--cors-origins", "https://console.example"});
  Device page("127.0.0.2", daemon_->port());
  auto r = page.call("GET", "/streams", {}, {{"Origin", "https://console.example"}});
  EXPECT_EQ(r.header("access-control-allow-origin").value_or(""), "https://console.example");
  auto pre =
      page.call("OPTIONS", "/streams/advertise", {},
                {{"Origin", "https://console.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin").value_or(""), "https://console.example");
  EXPECT_EQ(page.call("POST", "/streams/advertise", advert("127.0.0.2"),
                      {{"Origin", "https://console.example"}})
                .status,
            201);
}

TEST_F(Trust, RelayCredentialsCannotBeBypassedThroughHttp) {
  const std::string users = ::testing::TempDir() + "/security-wire-users";
  std::ofstream(users) << "show:"
                       << wire::scram::to_string(wire::scram::make_credentials("a long password"))
                       << "\n";
  start({"--wire-users", users});
  DeviceSocket ws("127.0.0.3", daemon_->port());
  ASSERT_EQ(ws.status, 101);
  ws.send(R"({"op":"sub","sid":"1","subject":"show.>"})");
  auto err = ws.next_containing("\"err\"");
  ASSERT_TRUE(err) << "an anonymous /ws client subscribed to relay channels";
  ws.send(R"({"op":"pub","subject":"show.cue","data":1})");
  EXPECT_TRUE(ws.next_containing("\"err\""));
  auto sse = attacker_->call("GET", "/streams/events?subject=show.%3E");
  EXPECT_EQ(sse.status, 401) << sse.body;
}

TEST_F(Trust, RequiredModeNeedsAnIdentityWithThePermission) {
  start({"--auth", "required"});
  auto anon = consumer_->call("GET", "/streams");
  EXPECT_EQ(anon.status, 401);
  EXPECT_NE(anon.header("www-authenticate").value_or("").find("Bearer"), std::string::npos);
  EXPECT_EQ(consumer_->call("GET", "/health").status, 200);
  auto token = admin_->call("POST", "/auth/tokens", R"({"name":"tv","role":"viewer"})");
  ASSERT_EQ(token.status, 201) << token.body;
  const std::string secret = text(token.json(), "token");
  ASSERT_TRUE(secret.starts_with("st_"));
  Device tv("127.0.0.4", daemon_->port());
  tv.set_header("Authorization", "Bearer " + secret);
  EXPECT_EQ(tv.call("GET", "/streams").status, 200);
  auto write = tv.call("POST", "/streams/advertise", advert("127.0.0.4"));
  EXPECT_EQ(write.status, 403);
  EXPECT_NE(write.body.find("streams_rw"), std::string::npos) << write.body;
  // ?token= for clients that cannot set headers.
  EXPECT_EQ(consumer_->call("GET", "/streams?token=" + secret).status, 200);
  // Listing never shows the secret; deleting it ends it.
  auto list = admin_->call("GET", "/auth/tokens");
  EXPECT_EQ(list.body.find(secret.substr(19)), std::string::npos);
  EXPECT_NE(list.body.find("\"tv\""), std::string::npos);
  EXPECT_EQ(admin_->call("DELETE", "/auth/tokens/tv").status, 200);
  EXPECT_EQ(tv.call("GET", "/streams").status, 401);
  // Anonymous /ws is refused at the door.
  DeviceSocket ws("127.0.0.4", daemon_->port());
  EXPECT_EQ(ws.status, 401);
}

// A pipeline reads and publishes only what its maker may: a stage-crew token (media_rw on
// stage*) cannot make one that publishes another path, reads a relay channel it may not read, or
// decodes a path outside its grant — and can make one within it. Pipeline health on the hub
// needs media_r, like the media events.
TEST_F(Trust, APipelineMayOnlyTouchWhatItsMakerMay) {
  ASSERT_EQ(admin_
                ->call("PUT", "/auth/roles/stagecrew",
                       R"({"permissions": ["media_rw:stage*", "media_r:stage*"], "scope": "any"})")
                .status,
            200);
  auto token = admin_->call("POST", "/auth/tokens", R"({"name":"crew","role":"stagecrew"})");
  ASSERT_EQ(token.status, 201) << token.body;
  Device crew("127.0.0.4", daemon_->port());
  crew.set_header("Authorization", "Bearer " + text(token.json(), "token"));
  auto other_path = crew.call("POST", "/pipelines",
                              R"({"name": "stage-a", "source": {"type": "testsrc"},
                                  "renditions": [{"path": "lobby"}]})");
  EXPECT_EQ(other_path.status, 403) << other_path.body;
  auto channel =
      crew.call("POST", "/pipelines",
                R"({"name": "stage-b", "source": {"type": "relay", "channel": "secret.frames"}})");
  EXPECT_EQ(channel.status, 403) << channel.body;
  EXPECT_NE(channel.body.find("channels_r"), std::string::npos) << channel.body;
  auto path = crew.call("POST", "/pipelines",
                        R"({"name": "stage-c", "source": {"type": "path", "path": "lobby"}})");
  EXPECT_EQ(path.status, 403) << path.body;
  auto mine = crew.call("POST", "/pipelines",
                        R"({"name": "stage-d", "source": {"type": "testsrc", "width": 160,
                            "height": 120, "fps": 10}, "encoder": {"preset": "ultrafast"}})");
  EXPECT_EQ(mine.status, 201) << mine.body;
  EXPECT_EQ(admin_->call("GET", "/pipelines").body.find("stage-a"), std::string::npos);
}

TEST_F(Trust, UsersSignInWithBasicAndWrongPasswordsAreThrottled) {
  auto made = admin_->call("POST", "/auth/users",
                           R"({"name":"ana","password":"a long password","role":"operator"})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.body.find("password"), std::string::npos);
  const std::string good =
      "Basic " + std::string("YW5hOmEgbG9uZyBwYXNzd29yZA==");      // ana:a long password
  const std::string bad = "Basic " + std::string("YW5hOm5vcGU=");  // ana:nope
  Device ana("127.0.0.5", daemon_->port());
  auto who = ana.call("GET", "/auth/whoami", {}, {{"Authorization", good}});
  EXPECT_EQ(text(who.json(), "owner"), "user:ana");
  EXPECT_EQ(ana.call("GET", "/keys", {}, {{"Authorization", good}}).status, 200);
  auto wrong = ana.call("GET", "/keys", {}, {{"Authorization", bad}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body.find("password"), std::string::npos);
  // Right after a failure even the right password waits out the backoff.
  EXPECT_EQ(ana.call("GET", "/keys", {}, {{"Authorization", good}}).status, 401);
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(ana.call("GET", "/keys", {}, {{"Authorization", good}}).status, 200);
  // An operator manages everyone's streams.
  const std::string id = advertise_victim();
  EXPECT_EQ(ana.call("DELETE", "/streams/" + id, {}, {{"Authorization", good}}).status, 200);
}

TEST_F(Trust, OpenModeIsTheOldBehaviour) {
  start({"--auth", "open"});
  const std::string id = advertise_victim();
  EXPECT_EQ(attacker_->call("DELETE", "/streams/" + id).status, 200);
}

TEST_F(Trust, KeysTypesTokensAndOwnersSurviveKillNine) {
  const std::string dir = ::testing::TempDir() + "/security-kill9-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  start({"--data-dir", dir, "--history", dir + "/history.db"});
  auto key = admin_->call("POST", "/keys", R"({"stream":"cam","alias":"obs"})");
  ASSERT_EQ(key.status, 201) << key.body;
  ASSERT_EQ(
      victim_->call("POST", "/streams/types", R"({"name":"lidar","display_name":"L"})").status,
      201);
  auto token = admin_->call("POST", "/auth/tokens", R"({"name":"pi","role":"publisher"})");
  ASSERT_EQ(token.status, 201);
  advertise_victim();
  daemon_->process().signal_and_wait(SIGKILL, 5s);

  ASSERT_TRUE(daemon_->restart_on_same_port());
  auto keys = admin_->call("GET", "/keys/obs");
  EXPECT_EQ(keys.status, 200) << keys.body;
  auto types = consumer_->call("GET", "/streams/types");
  EXPECT_NE(types.body.find("\"lidar\""), std::string::npos);
  Device pi("127.0.0.6", daemon_->port());
  pi.set_header("Authorization", "Bearer " + text(token.json(), "token"));
  EXPECT_EQ(text(pi.call("GET", "/auth/whoami").json(), "owner"), "token:pi");
  // The victim's stream is gone (soft state) but its name is still the victim's.
  EXPECT_EQ(attacker_->call("POST", "/streams/advertise", advert("127.0.0.3")).status, 403);
  EXPECT_EQ(victim_->call("POST", "/streams/advertise", advert("127.0.0.2")).status, 201);
  std::filesystem::remove_all(dir);
}

TEST_F(Trust, SettingsAreTypedPermissionedPersistedAndLive) {
  const std::string dir = ::testing::TempDir() + "/security-settings-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  start({"--data-dir", dir, "--stream-ttl", "30"});
  auto list = admin_->call("GET", "/settings");
  ASSERT_EQ(list.status, 200) << list.body;
  bool found = false;
  const auto listed = list.json();
  for (const auto& item : listed.as_array()) {
    if (text(item, "name") == "stream_ttl") {
      found = true;
      EXPECT_EQ(item.as_object().at("value").as_int64(), 30);
      EXPECT_EQ(text(item, "type"), "integer");
    }
  }
  EXPECT_TRUE(found) << list.body;
  // Anonymous clients may not change settings; a bad value names the rule and changes nothing.
  EXPECT_EQ(attacker_->call("PUT", "/settings/stream_ttl", R"({"value": 1})").status, 401);
  auto bad = admin_->call("PUT", "/settings/stream_ttl", R"({"value": 0})");
  EXPECT_EQ(bad.status, 422);
  EXPECT_NE(bad.body.find("at least 1"), std::string::npos) << bad.body;
  EXPECT_EQ(admin_->call("PUT", "/settings/stream_ttl", R"({"value": "soon"})").status, 422);
  // A change is announced on the hub and applies at once: a 1 s TTL expires the stream.
  DeviceSocket watch("127.0.0.1", daemon_->port(), "/ws",
                     {{"Authorization", std::string("Bearer ") + kAdmin}});
  watch.send(R"({"op":"sub","sid":"s","subject":"sluice.settings.>"})");
  ASSERT_TRUE(watch.next_containing("\"ok\""));
  auto ok = admin_->call("PUT", "/settings/stream_ttl", R"({"value": 1})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json().as_object().at("value").as_int64(), 1);
  EXPECT_TRUE(watch.next_containing("sluice.settings.stream_ttl"));
  const std::string id = advertise_victim();
  EXPECT_TRUE(
      eventually([&] { return consumer_->call("GET", "/streams/" + id).status == 404; }, 5s));
  // auto_offer: every stream's unanswered requests get the advertised values.
  EXPECT_EQ(admin_->call("PUT", "/settings/auto_offer", R"({"value": "yes"})").status, 422);
  ASSERT_EQ(admin_->call("PUT", "/settings/stream_ttl", R"({"value": 30})").status, 200);
  ASSERT_EQ(admin_->call("PUT", "/settings/auto_offer", R"({"value": true})").status, 200);
  const std::string lonely = advertise_victim();
  auto offered = consumer_->call("POST", "/streams/" + lonely + "/request",
                                 R"({"consumer_id":"c","consumer_address":"10.0.0.9"})");
  EXPECT_EQ(offered.status, 200) << offered.body;
  EXPECT_NE(offered.body.find("\"auto_offer\":true"), std::string::npos) << offered.body;
  ASSERT_EQ(admin_->call("PUT", "/settings/stream_ttl", R"({"value": 1})").status, 200);
  // Kept across a restart, over the configuration's 30.
  ASSERT_TRUE(daemon_->restart_on_same_port());
  auto again = admin_->call("GET", "/settings/stream_ttl");
  EXPECT_EQ(again.json().as_object().at("value").as_int64(), 1) << again.body;
  std::filesystem::remove_all(dir);
}

TEST_F(Trust, OneClientCannotFillTheRegistry) {
  ASSERT_EQ(admin_->call("PUT", "/settings/max_streams_per_owner", R"({"value": 2})").status, 200);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(attacker_
                  ->call("POST", "/streams/advertise",
                         advert("127.0.0.3", 5000, "s" + std::to_string(i), "flood"))
                  .status,
              201);
  }
  auto over =
      attacker_->call("POST", "/streams/advertise", advert("127.0.0.3", 5000, "s2", "flood"));
  EXPECT_EQ(over.status, 429) << over.body;
  // Another device is not affected; re-advertising what one owns is not a new stream.
  EXPECT_EQ(victim_->call("POST", "/streams/advertise", advert("127.0.0.2")).status, 201);
  EXPECT_EQ(attacker_->call("POST", "/streams/advertise", advert("127.0.0.3", 5001, "s1", "flood"))
                .status,
            201);
}

TEST_F(Trust, RegistryLimitsAreLiveSettings) {
  ASSERT_EQ(admin_->call("PUT", "/settings/max_streams", R"({"value": 1})").status, 200);
  EXPECT_EQ(victim_->call("POST", "/streams/advertise", advert("127.0.0.2")).status, 201);
  auto full = attacker_->call("POST", "/streams/advertise", advert("127.0.0.3", 1, "other", "x"));
  EXPECT_EQ(full.status, 507) << full.body;
  EXPECT_EQ(admin_->call("PUT", "/settings/max_stream_config_bytes", R"({"value": 0})").status,
            422);
}

TEST_F(Trust, SessionsOpenAtACrashAreClosedAsInterrupted) {
  const std::string dir = ::testing::TempDir() + "/security-history-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  start({"--data-dir", dir, "--history", dir + "/history.db"});
  const std::string id = advertise_victim();
  auto offer = request_answered_by_owner(id);
  ASSERT_EQ(offer.status, 200) << offer.body;
  daemon_->process().signal_and_wait(SIGKILL, 5s);
  ASSERT_TRUE(daemon_->restart_on_same_port());
  auto rows = consumer_->call("GET", "/streams/sessions/history?stream_id=" + id);
  ASSERT_EQ(rows.status, 200) << rows.body;
  const auto history = rows.json();
  ASSERT_EQ(history.as_array().size(), 1u) << rows.body;
  const auto& row = history.as_array()[0];
  EXPECT_EQ(text(row, "status"), "interrupted") << rows.body;
  EXPECT_FALSE(row.as_object().at("ended_at").is_null());
  std::filesystem::remove_all(dir);
}

TEST_F(Trust, MaestraSdkFlowsStillWorkAnonymouslyFromOneAddressPerDevice) {
  const std::string id = advertise_victim();
  EXPECT_EQ(victim_->call("POST", "/streams/" + id + "/heartbeat").status, 200);
  auto mc = victim_->call("POST", "/streams/advertise",
                          R"({"name":"audio","stream_type":"audio","publisher_id":"stage-pi",)"
                          R"("protocol":"udp","address":"127.0.0.2","port":5004,)"
                          R"("multicast_group":"239.1.1.1","multicast_port":5004})");
  ASSERT_EQ(mc.status, 201) << mc.body;
  const std::string mid = text(mc.json(), "id");
  auto joined = consumer_->call("POST", "/streams/" + mid + "/join",
                                R"({"consumer_id":"tv","consumer_address":"127.0.0.4"})");
  ASSERT_EQ(joined.status, 201) << joined.body;
  const std::string sub = text(joined.json(), "subscriber_id");
  EXPECT_EQ(consumer_->call("POST", "/streams/subscribers/" + sub + "/heartbeat").status, 200);
  EXPECT_EQ(attacker_->call("DELETE", "/streams/" + mid + "/leave/" + sub).status, 403);
  EXPECT_EQ(consumer_->call("DELETE", "/streams/" + mid + "/leave/" + sub).status, 200);
  EXPECT_EQ(consumer_->call("GET", "/streams").status, 200);
  EXPECT_EQ(consumer_->call("GET", "/streams/state").status, 200);
  EXPECT_EQ(victim_->call("DELETE", "/streams/" + mid).status, 200);
  EXPECT_EQ(victim_->call("DELETE", "/streams/" + id).status, 200);
}

}  // namespace
}  // namespace sluice::testing
