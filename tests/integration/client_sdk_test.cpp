// Every sluice::client::Client method against a real sluiced, plus the hub WebSocket and the
// SSE event stream.
#include <boost/json/parse.hpp>

#include <atomic>
#include <thread>

#include "client/client.hpp"
#include "client/event_stream.hpp"
#include "client/hub_connection.hpp"
#include "daemon_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;
using client::Client;

registry::AdvertiseRequest advert(std::string name, std::string publisher = "test-publisher") {
  registry::AdvertiseRequest a;
  a.name = std::move(name);
  a.stream_type = "data";
  a.publisher_id = std::move(publisher);
  a.protocol = "udp";
  a.address = "10.0.0.5";
  a.port = 9000;
  a.config = json::object{{"format", "json"}};
  a.metadata = json::object{{"room", "A"}};
  return a;
}

class ClientTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    client_ = std::make_unique<Client>(daemon_.url());
  }
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, HealthReportsStatusVersionAndTtl) {
  auto health = client_->health();
  ASSERT_TRUE(health) << health.error().detail;
  EXPECT_EQ(std::string((health->at("status")).as_string()), "ok");
  EXPECT_TRUE(health->contains("version"));
  EXPECT_EQ(health->at("stream_ttl_seconds").to_number<int>(), kStreamTtlSeconds);
  EXPECT_EQ(client::default_heartbeat_interval(*client_), std::chrono::milliseconds(1000));
}

TEST_F(ClientTest, TypesCanBeListedCreatedUpdatedAndDeleted) {
  auto types = client_->list_types();
  ASSERT_TRUE(types) << types.error().detail;
  EXPECT_TRUE(std::any_of(types->begin(), types->end(),
                          [](const auto& t) { return t.name == "ndi" && t.builtin; }));

  registry::StreamTypeSpec spec;
  spec.name = "lidar";
  spec.display_name = "LiDAR";
  spec.description = "Point clouds";
  spec.default_config = json::object{{"rate_hz", 10}};
  auto created = client_->create_type(spec);
  ASSERT_TRUE(created) << created.error().detail;
  EXPECT_EQ(created->name, "lidar");
  EXPECT_EQ(created->display_name, "LiDAR");
  EXPECT_FALSE(created->builtin);

  auto duplicate = client_->create_type(spec);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().status, 409);
  EXPECT_NE(duplicate.error().detail.find("lidar"), std::string::npos) << duplicate.error().detail;

  spec.display_name = "LiDAR scanner";
  auto updated = client_->update_type("lidar", spec);
  ASSERT_TRUE(updated) << updated.error().detail;
  EXPECT_EQ(updated->display_name, "LiDAR scanner");

  EXPECT_TRUE(client_->delete_type("lidar"));
  auto again = client_->delete_type("lidar");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().status, 404);
}

TEST_F(ClientTest, StreamLifecycleAdvertiseListGetHeartbeatWithdraw) {
  auto view = client_->advertise(advert("cam-1"));
  ASSERT_TRUE(view) << view.error().detail;
  const std::string id = view->stream.id;
  EXPECT_EQ(view->stream.name, "cam-1");
  EXPECT_EQ(view->stream.port, 9000);
  EXPECT_EQ(view->stream.delivery_mode(), "unicast");
  EXPECT_EQ(view->active_sessions, 0u);

  // Same (publisher_id, name): same id.
  auto again = client_->advertise(advert("cam-1"));
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_EQ(again->stream.id, id);

  auto all = client_->list_streams();
  ASSERT_TRUE(all) << all.error().detail;
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().stream.id, id);
  auto data_streams = client_->list_streams("data");
  ASSERT_TRUE(data_streams);
  EXPECT_EQ(data_streams->size(), 1u);
  auto ndi_streams = client_->list_streams("ndi");
  ASSERT_TRUE(ndi_streams);
  EXPECT_TRUE(ndi_streams->empty());

  auto got = client_->get_stream(id);
  ASSERT_TRUE(got) << got.error().detail;
  EXPECT_EQ(std::string((got->stream.metadata.at("room")).as_string()), "A");

  EXPECT_TRUE(client_->heartbeat(id));
  EXPECT_TRUE(client_->withdraw(id));

  auto gone = client_->get_stream(id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().status, 404);
  EXPECT_EQ(client_->heartbeat(id).error().status, 404);
  EXPECT_EQ(client_->withdraw(id).error().status, 404);
}

TEST_F(ClientTest, StreamExpiresWithoutHeartbeat) {
  auto view = client_->advertise(advert("short-lived"));
  ASSERT_TRUE(view);
  EXPECT_TRUE(eventually(
      [&] {
        auto s = client_->get_stream(view->stream.id);
        return !s && s.error().status == 404;
      },
      std::chrono::seconds(kStreamTtlSeconds + 5)));
}

TEST_F(ClientTest, ErrorsCarryStatusAndDetail) {
  auto bad_id = client_->get_stream("not-a-uuid");
  ASSERT_FALSE(bad_id);
  EXPECT_EQ(bad_id.error().status, 422);
  EXPECT_FALSE(bad_id.error().detail.empty());

  auto bad = advert("bad-port");
  bad.port = 70000;
  auto invalid = client_->advertise(bad);
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().status, 422);
  EXPECT_FALSE(invalid.error().detail.empty());

  auto missing = client_->get_stream("00000000-0000-4000-8000-000000000000");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().status, 404);
  EXPECT_EQ(missing.error().detail, "Stream not found or expired");
}

TEST_F(ClientTest, ConnectionFailureIsStatusZero) {
  Client nowhere("http://127.0.0.1:" + std::to_string(unused_local_port()));
  auto r = nowhere.list_streams();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 0);
  EXPECT_NE(r.error().detail.find("connect"), std::string::npos) << r.error().detail;

  Client bad_url("not a url");
  EXPECT_EQ(bad_url.health().error().status, 0);
}

TEST_F(ClientTest, ReconnectsAfterDaemonRestart) {
  ASSERT_TRUE(client_->health());  // opens the kept-alive connection
  ASSERT_TRUE(daemon_.restart_on_same_port());
  auto health = client_->health();  // the old connection is dead; must reconnect transparently
  EXPECT_TRUE(health) << health.error().detail;
}

TEST_F(ClientTest, RequestWithoutResponderIs504Fast) {
  auto view = client_->advertise(advert("nobody-home"));
  ASSERT_TRUE(view);
  registry::StreamRequest req{"consumer-1", "10.0.0.9", 7000, {}};
  const auto started = std::chrono::steady_clock::now();
  auto offer = client_->request_stream(view->stream.id, req);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(offer);
  EXPECT_EQ(offer.error().status, 504) << offer.error().detail;
  EXPECT_LT(elapsed, std::chrono::milliseconds(2500));
}

TEST_F(ClientTest, MulticastJoinHeartbeatLeaveAndRouting) {
  auto a = advert("mcast");
  a.multicast_group = "239.1.2.3";
  a.multicast_port = 5004;
  auto view = client_->advertise(a);
  ASSERT_TRUE(view) << view.error().detail;
  const std::string id = view->stream.id;
  EXPECT_EQ(view->stream.delivery_mode(), "multicast");

  auto request = client_->request_stream(id, {"c", "10.0.0.9", {}, {}});
  ASSERT_FALSE(request);
  EXPECT_EQ(request.error().status, 400);

  auto joined = client_->join(id, {"consumer-1", "10.0.0.9", json::object{{"seat", 3}}});
  ASSERT_TRUE(joined) << joined.error().detail;
  EXPECT_EQ(joined->multicast_group, "239.1.2.3");
  EXPECT_EQ(joined->multicast_port, 5004);
  EXPECT_EQ(joined->stream_id, id);

  EXPECT_TRUE(client_->subscriber_heartbeat(joined->subscriber_id));
  auto all = client_->list_subscribers();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().consumer_id, "consumer-1");
  auto filtered = client_->list_subscribers(id);
  ASSERT_TRUE(filtered);
  EXPECT_EQ(filtered->size(), 1u);
  auto of_stream = client_->stream_subscribers(id);
  ASSERT_TRUE(of_stream);
  EXPECT_EQ(of_stream->size(), 1u);

  auto state = client_->get_state();
  ASSERT_TRUE(state) << state.error().detail;
  EXPECT_EQ(state->streams.size(), 1u);
  EXPECT_EQ(state->subscribers.size(), 1u);
  EXPECT_FALSE(state->stream_types.empty());

  EXPECT_TRUE(client_->leave(id, joined->subscriber_id));
  EXPECT_EQ(client_->leave(id, joined->subscriber_id).error().status, 404);
  EXPECT_EQ(client_->subscriber_heartbeat(joined->subscriber_id).error().status, 404);

  auto unicast = client_->advertise(advert("unicast"));
  ASSERT_TRUE(unicast);
  auto wrong = client_->join(unicast->stream.id, {"c", "10.0.0.9", {}});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().status, 400);
}

TEST_F(ClientTest, RawRequestsReachOtherEndpoints) {
  auto metrics = client_->request("GET", "/metrics");
  ASSERT_TRUE(metrics) << metrics.error().detail;
  EXPECT_FALSE(metrics->body.empty());

  auto openapi = client_->request_json("GET", "/openapi.json");
  ASSERT_TRUE(openapi) << openapi.error().detail;
  ASSERT_TRUE(openapi->is_object());
  EXPECT_TRUE(openapi->as_object().contains("paths"));

  auto missing = client_->request("GET", "/no/such/path");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().status, 404);
}

TEST_F(ClientTest, HubWebSocketPublishSubscribePing) {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<client::HubMessage> received;
  client::HubConnection::Callbacks callbacks;
  callbacks.on_message = [&](client::HubConnection&, const client::HubMessage& m) {
    std::lock_guard lock(mutex);
    received.push_back(m);
    cv.notify_all();
  };
  auto hub = client::HubConnection::open(daemon_.url(), callbacks);
  ASSERT_TRUE(hub) << hub.error().detail;
  EXPECT_FALSE((*hub)->server_version().empty());
  ASSERT_TRUE((*hub)->subscribe("s1", "test.*.value"));
  auto bad = (*hub)->subscribe("s2", "bad..pattern");
  EXPECT_FALSE(bad);
  EXPECT_TRUE((*hub)->ping());
  ASSERT_TRUE((*hub)->publish("test.a.value", json::object{{"x", 1}}, std::string("inbox.1")));

  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !received.empty(); }));
  EXPECT_EQ(received[0].sid, "s1");
  EXPECT_EQ(received[0].subject, "test.a.value");
  EXPECT_EQ(received[0].data.at("x").to_number<int>(), 1);
  ASSERT_TRUE(received[0].reply);
  EXPECT_EQ(*received[0].reply, "inbox.1");
  lock.unlock();
  (*hub)->close();
  EXPECT_FALSE((*hub)->is_open());
}

TEST_F(ClientTest, EventStreamDeliversAdvertiseEvents) {
  client::EventStream events(daemon_.url());
  std::mutex mutex;
  std::vector<client::ServerSentEvent> received;
  std::thread reader([&] {
    auto status = events.run(client::events_target("maestra.stream.advertise"),
                             [&](const client::ServerSentEvent& e) {
                               std::lock_guard lock(mutex);
                               received.push_back(e);
                             });
    EXPECT_TRUE(status) << status.error().detail;
  });
  // The subscription is in place only once the stream is open; advertise until an event shows.
  int n = 0;
  const bool seen = eventually([&] {
    (void)client_->advertise(advert("evt-" + std::to_string(n++)));
    std::lock_guard lock(mutex);
    return !received.empty();
  });
  events.stop();
  reader.join();
  ASSERT_TRUE(seen);
  auto v = json::parse(received.front().data);
  EXPECT_EQ(std::string((v.at("subject")).as_string()), "maestra.stream.advertise");
  EXPECT_EQ(std::string((v.at("data").at("type")).as_string()), "stream_advertised");
}

}  // namespace
}  // namespace sluice::testing
