// sluice::Server hosted in-process (the embeddable library, src/sluice/server.hpp) with real
// wire clients over TCP: server-owned channels and push counts, client streams handed to
// handlers, RPC methods, subscription notifications, channel info and close, relay access
// (users, tokens, anonymous) from files, and the relay series in /metrics.
#include "sluice/server.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "client/http_transport.hpp"
#include "client/wire_session.hpp"
#include "wire/scram.hpp"
#include "wire_test_helpers.hpp"

namespace sluice {
namespace {

using namespace std::chrono_literals;
using testing::eventually;

Config local_config() {
  Config c;
  c.onvif_enabled = false;  // no WS-Discovery multicast
  c.mdns_enabled = false;   // nor mDNS
  c.osc_enabled = false;
  c.mqtt_enabled = false;
  c.http = HostPort{"127.0.0.1", 0};
  c.wire = HostPort{"127.0.0.1", 0};
  c.rtmp = HostPort{"127.0.0.1", 0};
  c.rtsp = HostPort{"127.0.0.1", 0};
  c.rtsp_udp_ports = {0, 0};
  c.srt = HostPort{"127.0.0.1", 0};
  c.history = ":memory:";
  c.threads = 2;
  return c;
}

client::WireOptions wire_to(const Server& server) {
  client::WireOptions o;
  o.port = server.wire_port();
  o.reconnect = false;
  o.connect_timeout = 2s;
  return o;
}

std::shared_ptr<client::Session> connect(const Server& server) {
  auto s = client::Session::connect(wire_to(server));
  EXPECT_TRUE(s) << (s ? "" : s.error().detail);
  return s ? *s : nullptr;
}

TEST(EmbeddedServer, PushReachesSubscribersAndCountsThem) {
  Server server(local_config());
  server.start();
  ASSERT_TRUE(server.create_channel("sensors.temp"));
  auto zero = server.push("sensors.temp", "nobody listens");
  ASSERT_TRUE(zero);
  EXPECT_EQ(*zero, 0u);

  auto a = connect(server);
  auto b = connect(server);
  auto sa = a->subscribe("sensors.*");
  auto sb = b->subscribe("sensors.temp");
  ASSERT_TRUE(sa && sb);
  ASSERT_TRUE(eventually([&] { return server.channel("sensors.temp")->subscribers == 2; }));

  auto took = server.push("sensors.temp", "21.5");
  ASSERT_TRUE(took);
  EXPECT_EQ(*took, 2u);
  for (auto* s : {&*sa, &*sb}) {
    auto m = s->receive(2s);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->data, "21.5");
    EXPECT_EQ(m->channel, "sensors.temp");
  }
  auto info = server.channel("sensors.temp");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->owner, "server");
  EXPECT_EQ(info->message_count, 2u);
  EXPECT_FALSE(info->registry_id.empty());  // advertised as a registry stream

  EXPECT_FALSE(server.push("bad..name", "x"));
  EXPECT_FALSE(server.create_channel("bad..name"));
}

TEST(EmbeddedServer, ClientStreamsAndRpcMethodsReachHandlers) {
  Server server(local_config());
  std::mutex mutex;
  std::vector<std::string> frames;
  // Registered before start(): handlers are kept and served once running.
  ASSERT_TRUE(server.on_client_stream("camera.>", [&](const ClientMessage& m) {
    std::lock_guard lock(mutex);
    frames.push_back(std::string(m.channel) + "=" + std::string(m.data));
  }));
  server.start();
  ASSERT_TRUE(server.handle("math.add", [](const ClientMessage& m) {
    auto plus = m.data.find('+');
    int a = std::stoi(std::string(m.data.substr(0, plus)));
    int b = std::stoi(std::string(m.data.substr(plus + 1)));
    return std::to_string(a + b);
  }));

  auto client = connect(server);
  auto cam = client->publish("camera.front");
  ASSERT_TRUE(cam);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(cam->send("frame" + std::to_string(i)));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return frames.size() == 3;
  }));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(frames[0], "camera.front=frame0");
    EXPECT_EQ(frames[2], "camera.front=frame2");
  }
  auto sum = client->request("math.add", "20+22", 2s);
  ASSERT_TRUE(sum) << sum.error().detail;
  EXPECT_EQ(*sum, "42");
  auto nobody = client->request("math.sub", "1-1", 2s);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().status, 503);
}

TEST(EmbeddedServer, OwnerHearsSubscriptionsAndCloseEndsTheChannel) {
  Server server(local_config());
  server.start();
  std::mutex mutex;
  std::vector<std::string> events;
  server.on_subscription("game.state", [&](std::string_view who, bool subscribed) {
    std::lock_guard lock(mutex);
    events.push_back(std::string(subscribed ? "+" : "-") + std::string(who));
  });
  ChannelOptions keep_last;
  keep_last.keep_last_value = true;
  ASSERT_TRUE(server.create_channel("game.state", keep_last));
  ASSERT_TRUE(server.push("game.state", "round 1"));

  auto client = connect(server);
  std::mutex closed_mutex;
  std::vector<std::string> closed;
  client::SubscribeOptions late;
  late.last_value = true;
  late.on_channel_closed = [&](const std::string& channel) {
    std::lock_guard lock(closed_mutex);
    closed.push_back(channel);
  };
  auto sub = client->subscribe("game.state", late);
  ASSERT_TRUE(sub);
  auto first = sub->receive(2s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->data, "round 1");  // the late joiner got the last value
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return events.size() == 1;
  }));
  // A second subscriber, told when the server closes the channel.
  auto watcher = client->subscribe("game.*", late);
  ASSERT_TRUE(watcher);
  sub->close();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mutex);
    return events.size() == 3 && events[2].starts_with("-");
  }));

  auto names = server.channels();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].name, "game.state");
  ASSERT_TRUE(server.close_channel("game.state"));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(closed_mutex);
    return closed.size() == 1;
  }));
  EXPECT_EQ(closed[0], "game.state");
  EXPECT_EQ(server.close_channel("game.state").error().status, 404);
  EXPECT_FALSE(server.channel("game.state"));
}

TEST(EmbeddedServer, SubscriptionHandlerLearnsAboutExistingSubscribersFirst) {
  Server server(local_config());
  server.start();
  // Declared before the clients: the handler runs again when they disconnect at the end.
  std::mutex mutex;
  std::vector<std::string> seen;
  auto a = connect(server);
  auto b = connect(server);
  auto sa = a->subscribe("lights.>");
  auto sb = b->subscribe("lights.stage");
  auto other = b->subscribe("audio.>");
  ASSERT_TRUE(sa && sb && other);
  ASSERT_TRUE(eventually([&] { return server.push("lights.stage", "probe").value_or(0) == 2; }));
  // Both subscriptions existed before the handler; the audio one does not match.
  server.on_subscription("lights.stage", [&](std::string_view who, bool subscribed) {
    std::lock_guard lock(mutex);
    seen.push_back(std::string(subscribed ? "+" : "-") + std::string(who));
  });
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen.size(), 2u);
  for (const auto& s : seen)
    EXPECT_TRUE(s.starts_with("+")) << s;
}

TEST(EmbeddedServer, HandlerErrorsReachTheRequesterWithTheirStatus) {
  Server server(local_config());
  server.start();
  ASSERT_TRUE(server.handle("sensors.read", [](const ClientMessage& m) -> Result<std::string> {
    if (m.data == "t1") return std::string("21.5");
    return std::unexpected(Error::not_found("no sensor '" + std::string(m.data) + "'"));
  }));
  auto client = connect(server);
  auto ok = client->request("sensors.read", "t1", 2s);
  ASSERT_TRUE(ok) << ok.error().detail;
  EXPECT_EQ(*ok, "21.5");
  auto missing = client->request("sensors.read", "t9", 2s);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().status, 404);
  EXPECT_EQ(missing.error().detail, "no sensor 't9'");
}

TEST(EmbeddedServer, ClientResponderErrorsKeepTheirStatus) {
  Server server(local_config());
  server.start();
  auto responder = connect(server);
  auto requester = connect(server);
  auto svc = responder->respond("kv.get", [](const client::Message& m) -> Result<std::string> {
    if (m.data == "a") return std::string("1");
    if (m.data == "boom") return std::unexpected(Error::internal("store offline"));
    return std::unexpected(Error::not_found("no key '" + m.data + "'"));
  });
  ASSERT_TRUE(svc);
  ASSERT_TRUE(eventually([&] { return requester->request("kv.get", "a", 1s).has_value(); }));
  auto missing = requester->request("kv.get", "zz", 2s);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().status, 404);
  EXPECT_EQ(missing.error().detail, "no key 'zz'");
  auto broken = requester->request("kv.get", "boom", 2s);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().status, 500);
  // The relay's own errors keep theirs too.
  auto nobody = requester->request("kv.put", "x", 2s);
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().status, 503);
  EXPECT_EQ(nobody.error().detail, "no responders on 'kv.put'");
}

TEST(EmbeddedServer, EachRequestGetsItsOwnTimeout) {
  Server server(local_config());
  server.start();
  auto responder = connect(server);
  auto requester = connect(server);
  auto slow = responder->respond("slow.op", [](const client::Message& m) -> Result<std::string> {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(m.data)));
    return std::string("done");
  });
  ASSERT_TRUE(slow);
  ASSERT_TRUE(eventually([&] { return requester->request("slow.op", "0", 1s).has_value(); }));
  auto quick = requester->request("slow.op", "600", 200ms);
  ASSERT_FALSE(quick);
  EXPECT_EQ(quick.error().status, 504);
  // The same channel with a longer timeout must not inherit the 200 ms one.
  auto patient = requester->request("slow.op", "600", 3s);
  ASSERT_TRUE(patient) << patient.error().status << " " << patient.error().detail;
  EXPECT_EQ(*patient, "done");
  // Callers computing a remaining deadline pass a new timeout each time: the session must not
  // open a stream per value (past the server's 4,096 streams per session it would fail).
  for (int ms = 1000; ms < 5200; ++ms)
    ASSERT_TRUE(requester->request("slow.op", "0", std::chrono::milliseconds(ms))) << ms;
  EXPECT_TRUE(requester->subscribe("probe.x"));  // still able to open streams
}

TEST(EmbeddedServer, ChannelOwnerHearsEarlierAndLaterSubscribers) {
  Server server(local_config());
  server.start();
  auto early = connect(server);
  auto early_sub = early->subscribe("robot.*.pose");
  ASSERT_TRUE(early_sub);
  ASSERT_TRUE(eventually([&] { return server.push("robot.arm.pose", "").value_or(0) == 1; }));

  std::mutex mutex;
  std::vector<client::SubscriptionEvent> events;
  auto owner = connect(server);
  client::PublishOptions po;
  po.on_subscription = [&](const client::SubscriptionEvent& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
  };
  auto pose = owner->publish("robot.arm.pose", po);
  ASSERT_TRUE(pose);
  auto count = [&] {
    std::lock_guard lock(mutex);
    return events.size();
  };
  ASSERT_TRUE(eventually([&] { return count() == 1; })) << "the existing subscriber was not told";
  auto late = connect(server);
  auto late_sub = late->subscribe("robot.arm.pose");
  ASSERT_TRUE(late_sub);
  ASSERT_TRUE(eventually([&] { return count() == 2; }));
  late_sub->close();
  ASSERT_TRUE(eventually([&] { return count() == 3; }));
  std::lock_guard lock(mutex);
  EXPECT_TRUE(events[0].subscribed);
  EXPECT_EQ(events[0].pattern, "robot.*.pose");
  EXPECT_TRUE(events[1].subscribed);
  EXPECT_EQ(events[1].pattern, "robot.arm.pose");
  EXPECT_FALSE(events[2].subscribed);
  EXPECT_EQ(events[2].subscriber, events[1].subscriber);
  EXPECT_NE(events[0].subscriber, events[1].subscriber);
}

// "block" can stall wire publishers only; server pushes (and HTTP or /ws publishers) cannot
// wait, so a full block-policy subscriber loses the oldest messages instead of growing forever.
TEST(EmbeddedServer, BlockPolicyStaysBoundedForPublishersThatCannotWait) {
  Server server(local_config());
  server.start();
  auto client = connect(server);
  client::SubscribeOptions o;
  o.buffer.policy = wire::OverflowPolicy::kBlock;
  o.buffer.max_messages = 16;
  o.buffer.max_bytes = 1 << 20;
  auto sub = client->subscribe("bulk.frames", o);
  ASSERT_TRUE(sub);
  ASSERT_TRUE(eventually([&] { return *server.push("bulk.frames", "") == 1; }));
  (void)sub->receive(2s);
  const std::string frame(64 * 1024, 'f');
  constexpr int kFrames = 400;  // 25 MiB: far past the 4 MiB window plus a 1 MiB buffer
  for (int i = 0; i < kFrames; ++i)
    ASSERT_TRUE(server.push("bulk.frames", frame));
  std::uint64_t received = 0, gaps = 0;
  while (auto m = sub->receive(1s)) {
    ++received;
    gaps += m->gap;
  }
  EXPECT_GT(gaps, 0u) << "every frame was kept: the buffer grew without bound";
  EXPECT_EQ(received + gaps, std::uint64_t(kFrames));
}

TEST(EmbeddedServer, StopIsIdempotentAndCallsAfterItFailCleanly) {
  Server server(local_config());
  server.start();
  std::thread waiter([&] { server.wait(); });
  server.stop();
  waiter.join();
  server.stop();
  auto r = server.push("x.y", "z");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 503);
}

TEST(EmbeddedServer, WaitReturnsOnlyOnceStopFromAnotherThreadHasFinished) {
  for (int round = 0; round < 5; ++round) {
    auto server = std::make_unique<Server>(local_config());
    server->start();
    std::thread stopper([&] { server->stop(); });
    server->wait();
    server.reset();  // must not race the stopper, which may still be inside stop()
    stopper.join();
  }
}

TEST(EmbeddedServer, HandlersMayCloseChannelsAndPushWhileBeingNotified) {
  Server server(local_config());
  server.start();
  ASSERT_TRUE(server.create_channel("cam.1"));
  ASSERT_TRUE(server.create_channel("cam.2"));
  std::atomic<int> calls{0};
  // The last viewer leaving closes the channel from inside the notification.
  server.on_subscription("cam.1", [&](std::string_view, bool subscribed) {
    ++calls;
    if (!subscribed) {
      (void)server.close_channel("cam.1");
      (void)server.push("cam.2", "cam.1 closed");
    }
  });
  auto viewer = connect(server);
  auto watch = viewer->subscribe("cam.*");
  ASSERT_TRUE(watch);
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
  watch->close();
  ASSERT_TRUE(eventually([&] { return calls == 2; }));
  EXPECT_FALSE(server.channel("cam.1"));
  EXPECT_TRUE(server.channel("cam.2"));
}

TEST(EmbeddedServer, RegistryRequestAnsweredWithAnErrorReplyIsARejection) {
  Server server(local_config());
  server.start();
  client::HttpTransport http("http://127.0.0.1:" + std::to_string(server.http_port()));
  auto advertised = http.send("POST", "/streams/advertise",
                              R"({"name":"cam","stream_type":"video","publisher_id":"p1",
                                  "protocol":"sluice","address":"127.0.0.1","port":1})",
                              "application/json");
  ASSERT_TRUE(advertised && advertised->status < 300) << (advertised ? advertised->body : "");
  auto id_at = advertised->body.find("\"id\":\"");
  ASSERT_NE(id_at, std::string::npos);
  std::string id = advertised->body.substr(id_at + 6, 36);
  // The publisher answers over the wire protocol and refuses.
  auto publisher = connect(server);
  auto responder = publisher->respond("maestra.stream.request." + id,
                                      [](const client::Message&) -> Result<std::string> {
                                        return std::unexpected(Error{409, "camera is busy", {}});
                                      });
  ASSERT_TRUE(responder);
  std::optional<client::RawHttpResponse> answer;
  ASSERT_TRUE(eventually([&] {
    auto r = http.send("POST", "/streams/" + id + "/request",
                       R"({"consumer_id":"c","consumer_address":"a"})", "application/json");
    if (r && r->status != 504) answer = *r;  // 504: the responder is not subscribed yet
    return answer.has_value();
  }));
  EXPECT_EQ(answer->status, 404);
  EXPECT_NE(answer->body.find("camera is busy"), std::string::npos) << answer->body;
}

// ------------------------------------------------------------------------- relay access

class AccessFiles {
 public:
  AccessFiles() {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-embedded-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    std::filesystem::create_directories(dir_);
  }
  ~AccessFiles() { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
};

TEST(EmbeddedServer, UsersFileTurnsAnonymousOffAndScramUsersIn) {
  AccessFiles files;
  Config c = local_config();
  c.wire_users = files.write(
      "users", "alice:" + wire::scram::to_string(wire::scram::make_credentials("s3cret")) + "\n");
  Server server(c);
  server.start();

  auto anonymous = client::Session::connect(wire_to(server));
  ASSERT_FALSE(anonymous);
  EXPECT_NE(anonymous.error().detail.find("anonymous"), std::string::npos);

  auto wrong = wire_to(server);
  wrong.user = "alice";
  wrong.password = "guess";
  EXPECT_FALSE(client::Session::connect(wrong));

  auto right = wire_to(server);
  right.user = "alice";
  right.password = "s3cret";
  auto session = client::Session::connect(right);
  ASSERT_TRUE(session) << session.error().detail;
  auto pub = (*session)->publish("private.data");
  EXPECT_TRUE(pub);
}

TEST(EmbeddedServer, TokensAreRefusedOverPlainTcpUnlessAllowed) {
  AccessFiles files;
  const std::string token = "tok-0123456789abcdef";
  Config c = local_config();
  c.wire_tokens = files.write("tokens", token + "\n");
  {
    Server server(c);
    server.start();
    auto o = wire_to(server);
    o.token = token;
    o.allow_token_without_tls = true;
    auto refused = client::Session::connect(o);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().detail.find("TLS"), std::string::npos);
  }
  c.wire_tokens_without_tls = true;
  Server server(c);
  server.start();
  auto o = wire_to(server);
  o.token = token;
  o.allow_token_without_tls = true;
  EXPECT_TRUE(client::Session::connect(o));
  o.token = "tok-not-the-right-one";
  EXPECT_FALSE(client::Session::connect(o));
}

TEST(EmbeddedServer, BadAccessFileStopsStartWithTheFileNamed) {
  AccessFiles files;
  Config c = local_config();
  c.wire_users = files.write("users", "alice:not-a-scram-string\n");
  try {
    Server server(c);
    server.start();
    FAIL() << "start() accepted a broken users file";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("users"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
  }
}

TEST(EmbeddedServer, RelaySeriesAppearInMetrics) {
  AccessFiles files;
  Config c = local_config();
  c.wire_tokens = files.write("tokens", "tok-0123456789abcdef\n");
  Server server(c);
  server.start();
  (void)client::Session::connect(wire_to(server));  // anonymous: refused, counted
  c.wire_anonymous = true;
  Server open_server(c);
  open_server.start();
  auto session = connect(open_server);
  auto pub = session->publish("metrics.demo");
  ASSERT_TRUE(pub);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(pub->send("12345"));

  auto scrape = [](const Server& s, const std::string& series) -> double {
    client::HttpTransport http("http://127.0.0.1:" + std::to_string(s.http_port()));
    auto r = http.send("GET", "/metrics", "", "");
    if (!r || r->status != 200) return -1;
    auto at = r->body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(r->body.substr(at + series.size() + 2));
  };
  EXPECT_TRUE(eventually([&] { return scrape(server, "sluice_relay_auth_failures_total") == 1; }));
  EXPECT_TRUE(
      eventually([&] { return scrape(open_server, "sluice_relay_messages_in_total") == 5; }));
  EXPECT_TRUE(eventually([&] { return scrape(open_server, "sluice_relay_bytes_in_total") == 25; }));
  EXPECT_EQ(scrape(open_server, "sluice_relay_connections_open"), 1);
}

}  // namespace
}  // namespace sluice
