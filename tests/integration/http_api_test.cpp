// The HTTP API over real sockets: Maestra's endpoints, status codes and error shapes, sluice's
// extensions, bad input, events over SSE and WebSocket, /health, /metrics and /openapi.json.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "app_fixture.hpp"
#include "client/client.hpp"
#include "client/event_stream.hpp"
#include "client/http_transport.hpp"
#include "client/hub_connection.hpp"

namespace sluice {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using client::Client;

const char* kCamera =
    R"({"name":"Stage Camera A","stream_type":"ndi","publisher_id":"td-workstation-01",
  "protocol":"ndi","address":"192.168.1.50","port":5960,"config":{"resolution":"1920x1080","fps":30}})";

struct Answer {
  int status;
  json::value body;
};

class HttpApi : public ::testing::Test {
 protected:
  Answer call(std::string_view method, std::string_view target, std::string_view body = {}) {
    auto r = raw.send(method, target, body, "application/json");
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    if (!r) return {0, nullptr};
    boost::system::error_code ec;
    auto v = json::parse(r->body, ec);
    return {r->status, ec ? json::value(r->body) : v};
  }
  std::string advertise_camera() {
    auto a = call("POST", "/streams/advertise", kCamera);
    EXPECT_EQ(a.status, 201);
    return std::string(a.body.at("id").as_string());
  }

  testing::InProcessDaemon daemon{30s, 400ms};
  client::HttpTransport raw{daemon.url()};
  Client http{daemon.url()};
};

// Answers every request for `stream_id` over /ws, like a publisher's SDK would.
std::unique_ptr<client::HubConnection> attach_responder(const std::string& url,
                                                        const std::string& stream_id,
                                                        json::value answer) {
  client::HubConnection::Callbacks cb;
  cb.on_message = [answer](client::HubConnection& self, const client::HubMessage& m) {
    if (m.reply) (void)self.publish(*m.reply, answer);
  };
  auto conn = client::HubConnection::open(url, cb);
  EXPECT_TRUE(conn);
  EXPECT_TRUE((*conn)->subscribe("r", "maestra.stream.request." + stream_id));
  return std::move(*conn);
}

TEST_F(HttpApi, MaestraGuideFlowWorksEndToEnd) {
  auto id = advertise_camera();
  auto list = call("GET", "/streams");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body.as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/streams?stream_type=ndi").body.as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/streams?stream_type=audio").body.as_array().size(), 0u);
  auto one = call("GET", "/streams/" + id);
  EXPECT_EQ(one.body.at("name").as_string(), "Stage Camera A");
  EXPECT_EQ(one.body.at("delivery_mode").as_string(), "unicast");
  auto hb = call("POST", "/streams/" + id + "/heartbeat");
  EXPECT_EQ(hb.status, 200);
  EXPECT_EQ(hb.body, json::parse(R"({"status":"ok","stream_id":")" + id + "\"}"));

  auto responder = attach_responder(
      daemon.url(), id,
      json::parse(R"j({"accepted":true,"transport_config":{"ndi_name":"STAGE (Camera A)"}})j"));
  auto offer = call("POST", "/streams/" + id + "/request",
                    R"({"consumer_id":"max-workstation-02","consumer_address":"192.168.1.60"})");
  ASSERT_EQ(offer.status, 200) << json::serialize(offer.body);
  EXPECT_EQ(offer.body.at("publisher_address").as_string(), "192.168.1.50");
  EXPECT_EQ(offer.body.at("publisher_port").as_int64(), 5960);
  EXPECT_EQ(offer.body.at("transport_config").at("ndi_name").as_string(), "STAGE (Camera A)");
  std::string sid(offer.body.at("session_id").as_string());

  auto sessions = call("GET", "/streams/sessions?stream_id=" + id);
  ASSERT_EQ(sessions.body.as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/streams/" + id).body.at("active_sessions").as_int64(), 1);
  EXPECT_EQ(call("POST", "/streams/sessions/" + sid + "/heartbeat", R"({"bytes_transferred":1234})")
                .status,
            200);
  EXPECT_EQ(call("DELETE", "/streams/sessions/" + sid).body.at("status").as_string(), "stopped");
  auto history = call("GET", "/streams/sessions/history?stream_id=" + id);
  ASSERT_EQ(history.body.as_array().size(), 1u);
  EXPECT_EQ(history.body.at(0).at("status").as_string(), "stopped");
  EXPECT_EQ(history.body.at(0).at("bytes_transferred").as_int64(), 1234);

  EXPECT_EQ(call("DELETE", "/streams/" + id).body.at("status").as_string(), "withdrawn");
  auto gone = call("GET", "/streams/" + id);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body.at("detail").as_string(), "Stream not found or expired");
}

// Offers for publishers that cannot answer (an Arduino, Maestra's own SDKs): "auto_offer": true
// in the stream's config or its type's default_config, or the auto_offer setting, and a request
// no responder answers gets 200 with the advertised address, port and transport config, marked
// "auto_offer" in the offer and the session.
TEST_F(HttpApi, AutoOfferAnswersForPublishersThatCannot) {
  auto sensor = call("POST", "/streams/advertise",
                     R"({"name":"Glove","stream_type":"sensor","publisher_id":"esp32-7",
      "protocol":"udp","address":"10.0.0.77","port":9000,
      "config":{"auto_offer":true,"transport_config":{"format":"json"}}})");
  ASSERT_EQ(sensor.status, 201) << sensor.body;
  const std::string id(sensor.body.at("id").as_string());
  auto offer = call("POST", "/streams/" + id + "/request",
                    R"({"consumer_id":"td","consumer_address":"10.0.0.5"})");
  ASSERT_EQ(offer.status, 200) << offer.body;
  EXPECT_EQ(offer.body.at("publisher_address").as_string(), "10.0.0.77");
  EXPECT_EQ(offer.body.at("publisher_port").as_int64(), 9000);
  EXPECT_EQ(offer.body.at("transport_config").at("format").as_string(), "json");
  EXPECT_EQ(offer.body.at("auto_offer").as_bool(), true);
  auto sessions = call("GET", "/streams/sessions").body.as_array();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].at("auto_offer").as_bool(), true);

  // A type whose default_config says so.
  ASSERT_EQ(call("POST", "/streams/types",
                 R"({"name":"glove","display_name":"Glove","default_config":{"auto_offer":true}})")
                .status,
            201);
  auto glove = call("POST", "/streams/advertise",
                    R"({"name":"Glove 2","stream_type":"glove","publisher_id":"esp32-8",
      "protocol":"udp","address":"10.0.0.78","port":9001})");
  ASSERT_EQ(glove.status, 201) << glove.body;
  auto typed = call("POST", "/streams/" + std::string(glove.body.at("id").as_string()) + "/request",
                    R"({"consumer_id":"td","consumer_address":"10.0.0.5"})");
  EXPECT_EQ(typed.status, 200) << typed.body;
  EXPECT_EQ(typed.body.at("publisher_address").as_string(), "10.0.0.78");

  // Without it a plain stream is still 504 (the auto_offer setting, for every stream, is in
  // Trust.SettingsAreTypedPermissionedPersistedAndLive).
  const std::string camera = advertise_camera();
  EXPECT_EQ(call("POST", "/streams/" + camera + "/request",
                 R"({"consumer_id":"c","consumer_address":"a"})")
                .status,
            504);
}

TEST_F(HttpApi, RequestOutcomes) {
  auto id = advertise_camera();
  auto t0 = std::chrono::steady_clock::now();
  auto none =
      call("POST", "/streams/" + id + "/request", R"({"consumer_id":"c","consumer_address":"a"})");
  EXPECT_EQ(none.status, 504);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);  // at once, not after the timeout
  EXPECT_NE(std::string(none.body.at("detail").as_string()).find("No responder"),
            std::string::npos);
  {
    auto rejecting =
        attach_responder(daemon.url(), id, json::parse(R"({"accepted":false,"reason":"busy"})"));
    auto rejected = call("POST", "/streams/" + id + "/request",
                         R"({"consumer_id":"c","consumer_address":"a"})");
    EXPECT_EQ(rejected.status, 404);
    EXPECT_EQ(rejected.body.at("detail").as_string(), "busy");
  }
  // A responder that never answers: 504 after --request-timeout (0.4 s here).
  client::HubConnection::Callbacks silent;
  auto mute = client::HubConnection::open(daemon.url(), silent);
  ASSERT_TRUE(mute && (*mute)->subscribe("r", "maestra.stream.request." + id));
  t0 = std::chrono::steady_clock::now();
  auto late =
      call("POST", "/streams/" + id + "/request", R"({"consumer_id":"c","consumer_address":"a"})");
  EXPECT_EQ(late.status, 504);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 350ms);
  EXPECT_EQ(late.body.at("detail").as_string(), "Publisher did not respond within 0.4 seconds");
  EXPECT_TRUE(call("GET", "/streams/sessions").body.as_array().empty());
}

TEST_F(HttpApi, TypesMulticastAndState) {
  auto created = call("POST", "/streams/types",
                      R"({"name":"lidar","display_name":"LiDAR","default_config":{"rate_hz":10},
                          "config_schema":{"rate_hz":{"type":"integer","min":1,"max":100}}})");
  ASSERT_EQ(created.status, 201) << json::serialize(created.body);
  EXPECT_EQ(call("POST", "/streams/types", R"({"name":"lidar","display_name":"x"})").status, 409);
  EXPECT_EQ(call("GET", "/streams/types").body.as_array().size(), 12u);
  EXPECT_EQ(call("PUT", "/streams/types/ndi", R"({"display_name":"x"})").status, 403);
  EXPECT_EQ(call("DELETE", "/streams/types/ndi").status, 403);
  // PUT replaces the definition: what it leaves out is reset.
  auto put = call("PUT", "/streams/types/lidar",
                  R"({"display_name":"Laser","default_config":{"rate_hz":10},
                      "config_schema":{"rate_hz":{"type":"integer","min":1,"max":100}}})");
  EXPECT_EQ(put.body.at("display_name").as_string(), "Laser");

  auto bad = call(
      "POST", "/streams/advertise",
      R"({"name":"L","stream_type":"lidar","publisher_id":"pi","protocol":"udp","address":"a","port":1,"config":{"rate_hz":1000}})");
  ASSERT_EQ(bad.status, 422);
  EXPECT_EQ(bad.body.at("detail").at(0).at("loc"), json::parse(R"(["body","config","rate_hz"])"));
  auto mc = call(
      "POST", "/streams/advertise",
      R"({"name":"L","stream_type":"lidar","publisher_id":"pi","protocol":"udp","address":"a","port":1,
                     "multicast_group":"239.0.0.9","multicast_port":6000})");
  ASSERT_EQ(mc.status, 201);
  std::string id(mc.body.at("id").as_string());
  EXPECT_EQ(mc.body.at("config").at("rate_hz").as_int64(), 10);
  EXPECT_EQ(
      call("POST", "/streams/" + id + "/request", R"({"consumer_id":"c","consumer_address":"a"})")
          .status,
      400);
  auto joined = call("POST", "/streams/" + id + "/join",
                     R"({"consumer_id":"viewer","consumer_address":"10.0.0.7"})");
  ASSERT_EQ(joined.status, 201);
  EXPECT_EQ(joined.body.at("multicast_port").as_int64(), 6000);
  std::string sub(joined.body.at("subscriber_id").as_string());
  EXPECT_EQ(call("POST", "/streams/subscribers/" + sub + "/heartbeat").status, 200);
  EXPECT_EQ(call("GET", "/streams/" + id + "/subscribers").body.as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/streams/subscribers?stream_id=" + id).body.as_array().size(), 1u);
  auto state = call("GET", "/streams/state");
  EXPECT_EQ(state.body.at("streams").as_array().size(), 1u);
  EXPECT_EQ(state.body.at("subscribers").as_array().size(), 1u);
  EXPECT_EQ(state.body.at("stream_types").as_array().size(), 12u);
  EXPECT_EQ(call("DELETE", "/streams/" + id + "/leave/" + sub).body.at("status").as_string(),
            "left");
  EXPECT_EQ(call("DELETE", "/streams/" + id + "/leave/" + sub).status, 404);
  EXPECT_EQ(call("POST", "/streams/00000000-0000-4000-8000-000000000000/join",
                 R"({"consumer_id":"v","consumer_address":"a"})")
                .status,
            400);
}

TEST_F(HttpApi, BadInputGetsClearErrorsAndLosesNothing) {
  auto id = advertise_camera();
  auto before = call("GET", "/streams/" + id).body;

  auto malformed = call("POST", "/streams/advertise", "{\"name\": ");
  EXPECT_EQ(malformed.status, 422);
  EXPECT_NE(json::serialize(malformed.body).find("JSON"), std::string::npos);
  EXPECT_EQ(call("POST", "/streams/advertise", "[1,2]").status, 422);
  auto missing = call("POST", "/streams/advertise", R"({"name":"x"})");
  EXPECT_EQ(missing.status, 422);
  EXPECT_GE(missing.body.at("detail").as_array().size(), 4u);
  EXPECT_EQ(call("POST", "/streams/advertise", std::string(1100 * 1024, 'x')).status, 413);
  auto unknown = call("GET", "/no/such/route");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body.at("detail").as_string(), "Not Found");
  auto wrong = call("PATCH", "/streams");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_TRUE(wrong.body.at("detail").is_string());
  auto bad_id = call("GET", "/streams/12345");
  EXPECT_EQ(bad_id.status, 422);
  EXPECT_EQ(bad_id.body.at("detail").at(0).at("loc"), json::parse(R"(["path","stream_id"])"));
  EXPECT_EQ(call("GET", "/streams/sessions?stream_id=nope").status, 422);
  EXPECT_EQ(call("GET", "/streams/sessions/history?limit=0").status, 422);
  EXPECT_EQ(call("GET", "/streams/sessions/history?since=yesterday").status, 422);
  EXPECT_EQ(
      call("POST", "/streams/sessions/" + id + "/heartbeat", R"({"bytes_transferred":"many"})")
          .status,
      422);
  EXPECT_EQ(call("GET", "/streams/events?subject=a..b").status, 422);
  // A number beyond a double would be stored as infinity and echoed as invalid JSON.
  auto huge = call("POST", "/streams/advertise",
                   R"({"name":"h","stream_type":"video","publisher_id":"p","protocol":"srt",
                       "address":"10.0.0.1","port":1,"config":{"gain":1e999}})");
  EXPECT_EQ(huge.status, 422);
  EXPECT_NE(json::serialize(huge.body).find("too large"), std::string::npos);

  auto after = call("GET", "/streams/" + id).body;
  after.as_object().erase("last_heartbeat");
  before.as_object().erase("last_heartbeat");
  EXPECT_EQ(after, before);
  EXPECT_EQ(call("GET", "/streams").body.as_array().size(), 1u);
}

TEST_F(HttpApi, EventsStreamOverSseWithSubjectFilter) {
  client::EventStream events(daemon.url());
  std::promise<std::vector<std::string>> got;
  std::vector<std::string> subjects;
  std::thread reader([&] {
    (void)events.run(client::events_target("maestra.stream.withdraw.>"),
                     [&](const client::ServerSentEvent& e) {
                       auto v = json::parse(e.data);
                       subjects.emplace_back(v.at("subject").as_string());
                       events.stop();
                     });
  });
  std::this_thread::sleep_for(200ms);  // let the subscription land
  auto id = advertise_camera();        // filtered out
  call("DELETE", "/streams/" + id);    // matches
  reader.join();
  ASSERT_EQ(subjects.size(), 1u);
  EXPECT_EQ(subjects[0], "maestra.stream.withdraw." + id);
}

TEST_F(HttpApi, PreviewSendsConnectionInfoAndEndsOnWithdraw) {
  auto id = advertise_camera();
  EXPECT_EQ(call("GET", "/streams/00000000-0000-4000-8000-000000000000/preview").status, 404);
  client::EventStream preview(daemon.url());
  std::vector<std::string> names;
  std::thread reader([&] {
    (void)preview.run("/streams/" + id + "/preview", [&](const client::ServerSentEvent& e) {
      names.push_back(e.event);
      if (e.event == "info") {
        EXPECT_EQ(json::parse(e.data).at("address").as_string(), "192.168.1.50");
        std::thread([this, id] { call("DELETE", "/streams/" + id); }).detach();
      }
    });
  });
  reader.join();  // the server ends the stream after the withdrawal
  EXPECT_EQ(names, (std::vector<std::string>{"info", "error"}));
}

// A data stream whose publisher opted in ("preview": true): sluiced registers as a consumer the
// way Maestra's devices listen for ({address, port} on maestra.stream.{id}.subscribe), relays
// the publisher's UDP packets as `preview` events (decoded JSON with `_seq`), at most 20 a
// second (the rest counted in `_dropped`), ignores packets from anyone else, and unregisters
// when the viewer goes.
TEST_F(HttpApi, APreviewRelaysAnOptedInPublishersUdpPackets) {
  auto ad = call("POST", "/streams/advertise",
                 R"({"name":"Glove","stream_type":"data","publisher_id":"esp32-7",
      "protocol":"udp","address":"127.0.0.1","port":9000,"config":{"preview":true}})");
  ASSERT_EQ(ad.status, 201) << ad.body;
  const std::string id(ad.body.at("id").as_string());
  // The publisher: hears where to send over the hub, as a device would over MQTT.
  std::promise<json::value> registered, unregistered;
  client::HubConnection::Callbacks cb;
  cb.on_message = [&](client::HubConnection&, const client::HubMessage& m) {
    if (m.subject.ends_with(".subscribe")) registered.set_value(m.data);
    if (m.subject.ends_with(".unsubscribe")) unregistered.set_value(m.data);
  };
  auto device = client::HubConnection::open(daemon.url(), cb);
  ASSERT_TRUE(device && (*device)->subscribe("s", "maestra.stream." + id + ".*"));
  std::this_thread::sleep_for(100ms);

  client::EventStream preview(daemon.url());
  std::mutex mutex;
  std::vector<json::object> shown;
  std::thread reader([&] {
    (void)preview.run("/streams/" + id + "/preview", [&](const client::ServerSentEvent& e) {
      if (e.event != "preview") return;
      std::lock_guard lock(mutex);
      shown.push_back(json::parse(e.data).as_object());
    });
  });
  auto where = registered.get_future();
  ASSERT_EQ(where.wait_for(5s), std::future_status::ready) << "no consumer registration";
  const json::value to = where.get();
  const int port = static_cast<int>(to.at("port").as_int64());
  EXPECT_EQ(to.at("address").as_string(), "127.0.0.1");

  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(port));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 60; ++i) {  // 3 s at 20 a second
    const std::string packet = R"({"finger":)" + std::to_string(i) + "}";
    (void)::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&dst),
                   sizeof dst);
    if (i % 3 == 0) {  // and a flood twice as fast as it may show
      for (int k = 0; k < 2; ++k)
        (void)::sendto(fd, "{}", 2, 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
    }
    std::this_thread::sleep_for(50ms);
  }
  ::close(fd);
  std::this_thread::sleep_for(300ms);
  preview.stop();
  reader.join();
  std::lock_guard lock(mutex);
  ASSERT_GE(shown.size(), 20u);
  EXPECT_LE(shown.size(), 75u) << "bounded to 20 a second";
  EXPECT_EQ(shown.front().at("_seq").as_int64(), 1);
  std::uint64_t dropped = 0;
  bool finger = false;
  for (const auto& o : shown) {
    finger = finger || o.contains("finger");
    if (const auto* d = o.if_contains("_dropped")) dropped += d->as_int64();
  }
  EXPECT_TRUE(finger);
  EXPECT_GT(dropped, 0u) << "the flood beyond 20 a second is counted";
  auto gone = unregistered.get_future();
  EXPECT_EQ(gone.wait_for(5s), std::future_status::ready) << "no unsubscribe when the viewer left";
}

TEST_F(HttpApi, HeartbeatsOverWebSocketRefreshTheRegistry) {
  auto id = advertise_camera();
  auto before = call("GET", "/streams/" + id).body.at("last_heartbeat");
  std::this_thread::sleep_for(20ms);
  auto conn = client::HubConnection::open(daemon.url(), {});
  ASSERT_TRUE(conn);
  ASSERT_TRUE((*conn)->publish("maestra.stream.heartbeat." + id, json::object{}));
  std::this_thread::sleep_for(200ms);
  EXPECT_NE(call("GET", "/streams/" + id).body.at("last_heartbeat"), before);
}

TEST_F(HttpApi, HealthMetricsAndOpenApiDescribeTheService) {
  auto id = advertise_camera();
  call("POST", "/streams/" + id + "/heartbeat");
  auto health = call("GET", "/health");
  EXPECT_EQ(health.body.at("status").as_string(), "ok");
  EXPECT_EQ(health.body.at("stream_ttl_seconds").as_int64(), 30);
  for (auto c : {"http", "registry", "hub", "history"}) {
    EXPECT_EQ(health.body.at("components").at(c).at("status").as_string(), "ok") << c;
  }
  auto metrics = http.request("GET", "/metrics");
  ASSERT_TRUE(metrics);
  for (auto line : {"sluice_streams{type=\"ndi\"} 1",
                    "sluice_heartbeats_total{kind=\"stream\",result=\"ok\"} 1",
                    "sluice_http_requests_total{route=\"POST "
                    "/streams/advertise\",method=\"POST\",status=\"201\"} 1",
                    "sluice_http_request_duration_seconds_bucket",
                    "sluice_negotiations_total{outcome=\"no_responder\"} 0",
                    "sluice_expiries_total{kind=\"session\"} 0"}) {
    EXPECT_NE(metrics->body.find(line), std::string::npos) << line;
  }
  auto spec = call("GET", "/openapi.json");
  ASSERT_EQ(spec.status, 200);
  EXPECT_EQ(std::string(spec.body.at("openapi").as_string()).substr(0, 2), "3.");
  const auto& paths = spec.body.at("paths").as_object();
  for (const auto& route : daemon.app().routes()) {
    auto it = paths.find(route.pattern);
    ASSERT_NE(it, paths.end()) << route.pattern;
    std::string method = route.method;
    for (auto& ch : method)
      ch = static_cast<char>(std::tolower(ch));
    EXPECT_TRUE(it->value().as_object().contains(method)) << route.method << " " << route.pattern;
  }
}

TEST(HttpApiExpiry, ExpiryIsAnEventAndCascades) {
  testing::InProcessDaemon daemon{1s};
  Client http{daemon.url()};
  auto ad = http.request("POST", "/streams/advertise", kCamera);
  ASSERT_TRUE(ad && ad->status == 201);
  std::string id(json::parse(ad->body).at("id").as_string());
  client::EventStream events(daemon.url());
  std::string reason;
  std::thread reader([&] {
    (void)events.run(client::events_target("maestra.stream.withdraw.*"),
                     [&](const client::ServerSentEvent& e) {
                       reason = json::parse(e.data).at("data").at("reason").as_string();
                       events.stop();
                     });
  });
  reader.join();
  EXPECT_EQ(reason, "expired");
  EXPECT_EQ(http.request("GET", "/streams/" + id)->status, 404);
}

}  // namespace
}  // namespace sluice
