// StreamPublisher, StreamConsumer and MulticastConsumer against a real sluiced: negotiation
// through the publisher's callback, session endpoints, keep-alive past the TTL, and recovery
// from a daemon restart.
#include <atomic>
#include <mutex>

#include "client/client.hpp"
#include "client/multicast_consumer.hpp"
#include "client/stream_consumer.hpp"
#include "client/stream_publisher.hpp"
#include "daemon_fixture.hpp"

namespace sluice::testing {
namespace {

namespace json = boost::json;
using client::Client;
using std::chrono::milliseconds;

constexpr milliseconds kBeat{1000};

registry::AdvertiseRequest camera(std::string name = "camera") {
  registry::AdvertiseRequest a;
  a.name = std::move(name);
  a.stream_type = "ndi";
  a.publisher_id = "studio-pc";
  a.protocol = "ndi";
  a.address = "10.0.0.5";
  a.port = 5960;
  return a;
}

registry::StreamRequest consumer_request(std::string id = "consumer-1") {
  return {std::move(id), "10.0.0.7", 7000, json::object{{"quality", "high"}}};
}

// Records states reported by a helper's on_state callback.
template <class State>
class StateLog {
 public:
  auto callback() {
    return [this](State s, const std::string&) {
      std::lock_guard lock(mutex_);
      states_.push_back(s);
    };
  }
  bool saw(State s) const {
    std::lock_guard lock(mutex_);
    return std::find(states_.begin(), states_.end(), s) != states_.end();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<State> states_;
};

class HelpersTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    client_ = std::make_unique<Client>(daemon_.url());
  }
  std::unique_ptr<Client> client_;
};

TEST_F(HelpersTest, PublisherCallbackOverridesOfferAndSessionEndpointsWork) {
  std::mutex mutex;
  std::optional<client::IncomingStreamRequest> seen;
  client::StreamPublisher::Options options;
  options.heartbeat_interval = kBeat;
  options.on_request = [&](const client::IncomingStreamRequest& r) -> client::Decision {
    std::lock_guard lock(mutex);
    seen = r;
    return client::AcceptRequest{"192.168.1.50", 6000, std::nullopt,
                                 json::object{{"ndi_name", "STUDIO (Cam 1)"}}};
  };
  client::StreamPublisher publisher(daemon_.url(), camera(), options);
  auto view = publisher.start();
  ASSERT_TRUE(view) << view.error().detail;
  const std::string stream_id = publisher.stream_id();
  EXPECT_EQ(view->stream.id, stream_id);
  EXPECT_TRUE(publisher.is_active());

  auto offer = client_->request_stream(stream_id, consumer_request());
  ASSERT_TRUE(offer) << offer.error().status << " " << offer.error().detail;
  EXPECT_EQ(offer->publisher_address, "192.168.1.50");
  EXPECT_EQ(offer->publisher_port, 6000);
  EXPECT_EQ(offer->protocol, "ndi");
  EXPECT_EQ(std::string((offer->transport_config.at("ndi_name")).as_string()), "STUDIO (Cam 1)");
  {
    std::lock_guard lock(mutex);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->stream_id, stream_id);
    EXPECT_EQ(seen->consumer_id, "consumer-1");
    EXPECT_EQ(seen->consumer_address, "10.0.0.7");
    EXPECT_EQ(seen->consumer_port, 7000);
    EXPECT_EQ(std::string((seen->config.at("quality")).as_string()), "high");
  }

  auto sessions = client_->list_sessions(stream_id);
  ASSERT_TRUE(sessions) << sessions.error().detail;
  ASSERT_EQ(sessions->size(), 1u);
  EXPECT_EQ(sessions->front().session_id, offer->session_id);
  EXPECT_EQ(sessions->front().consumer_id, "consumer-1");
  ASSERT_TRUE(client_->list_sessions());
  EXPECT_EQ(client_->get_stream(stream_id)->active_sessions, 1u);

  EXPECT_TRUE(client_->session_heartbeat(offer->session_id));
  EXPECT_TRUE(client_->session_heartbeat(offer->session_id, 123456));
  EXPECT_TRUE(client_->stop_session(offer->session_id));
  EXPECT_EQ(client_->stop_session(offer->session_id).error().status, 404);
  EXPECT_EQ(client_->session_heartbeat(offer->session_id).error().status, 404);

  client::HistoryFilter filter;
  filter.stream_id = stream_id;
  filter.consumer_id = "consumer-1";
  filter.since = std::chrono::system_clock::now() - std::chrono::hours(1);
  filter.until = std::chrono::system_clock::now() + std::chrono::hours(1);
  filter.limit = 10;
  auto history = client_->session_history(filter);
  ASSERT_TRUE(history) << history.error().detail;
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ(history->front().session_id, offer->session_id);
  EXPECT_EQ(history->front().status, "stopped");
  EXPECT_EQ(history->front().bytes_transferred, 123456);
  EXPECT_TRUE(history->front().duration_seconds.has_value());

  filter.offset = 1;
  auto skipped = client_->session_history(filter);
  ASSERT_TRUE(skipped);
  EXPECT_TRUE(skipped->empty());
  filter = {};
  filter.until = std::chrono::system_clock::now() - std::chrono::hours(1);
  auto before = client_->session_history(filter);
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->empty());

  publisher.stop();
  EXPECT_FALSE(publisher.is_active());
  EXPECT_EQ(client_->get_stream(stream_id).error().status, 404);  // stop() withdraws
}

TEST_F(HelpersTest, RejectingPublisherGives404WithItsReason) {
  client::StreamPublisher::Options options;
  options.heartbeat_interval = kBeat;
  options.on_request = [](const client::IncomingStreamRequest&) -> client::Decision {
    return client::RejectRequest{"camera is busy"};
  };
  client::StreamPublisher publisher(*client_, camera(), options);
  ASSERT_TRUE(publisher.start());
  auto offer = client_->request_stream(publisher.stream_id(), consumer_request());
  ASSERT_FALSE(offer);
  EXPECT_EQ(offer.error().status, 404);
  EXPECT_EQ(offer.error().detail, "camera is busy");
}

TEST_F(HelpersTest, PublisherAndConsumerOutliveTheTtl) {
  client::StreamPublisher publisher(daemon_.url(), camera(), {kBeat, nullptr, nullptr});
  ASSERT_TRUE(publisher.start());
  client::StreamConsumer consumer(daemon_.url(), publisher.stream_id(), consumer_request(),
                                  {kBeat, nullptr, nullptr});
  auto offer = consumer.connect();
  ASSERT_TRUE(offer) << offer.error().detail;
  EXPECT_EQ(offer->publisher_address, "10.0.0.5");  // default decision: the advertised endpoint
  EXPECT_EQ(offer->publisher_port, 5960);
  EXPECT_TRUE(consumer.is_active());

  std::this_thread::sleep_for(std::chrono::seconds(kStreamTtlSeconds + 2));
  auto stream = client_->get_stream(publisher.stream_id());
  ASSERT_TRUE(stream) << "stream expired despite heartbeats";
  auto sessions = client_->list_sessions(publisher.stream_id());
  ASSERT_TRUE(sessions);
  ASSERT_EQ(sessions->size(), 1u) << "session expired despite heartbeats";
  EXPECT_EQ(sessions->front().session_id, offer->session_id);
  EXPECT_EQ(consumer.session_id(), offer->session_id);  // never needed a new one

  consumer.disconnect();
  EXPECT_EQ(consumer.state(), client::ConsumerState::kStopped);
  EXPECT_TRUE(client_->list_sessions(publisher.stream_id())->empty());
}

TEST_F(HelpersTest, ConsumerReportsStreamLostWhenWithdrawn) {
  client::StreamPublisher publisher(daemon_.url(), camera(), {kBeat, nullptr, nullptr});
  ASSERT_TRUE(publisher.start());
  StateLog<client::ConsumerState> log;
  client::StreamConsumer consumer(daemon_.url(), publisher.stream_id(), consumer_request(),
                                  {kBeat, log.callback(), nullptr});
  ASSERT_TRUE(consumer.connect());
  publisher.stop();  // withdraws: the daemon drops the stream's sessions
  EXPECT_TRUE(eventually([&] { return log.saw(client::ConsumerState::kStreamLost); }));
  consumer.disconnect();
}

TEST_F(HelpersTest, DaemonRestartPublisherKeepsIdConsumerGetsNewSession) {
  StateLog<client::PublisherState> publisher_log;
  client::StreamPublisher publisher(daemon_.url(), camera(),
                                    {kBeat, nullptr, publisher_log.callback()});
  ASSERT_TRUE(publisher.start());
  const std::string stream_id = publisher.stream_id();

  std::atomic<int> new_offers{0};
  StateLog<client::ConsumerState> consumer_log;
  client::StreamConsumer consumer(
      daemon_.url(), stream_id, consumer_request(),
      {kBeat, consumer_log.callback(), [&](const registry::StreamOffer&) { ++new_offers; }});
  auto first = consumer.connect();
  ASSERT_TRUE(first) << first.error().detail;

  ASSERT_TRUE(daemon_.restart_on_same_port());
  const auto restarted = std::chrono::steady_clock::now();

  // Within a few heartbeat periods: the stream is back under the same id and the consumer
  // holds a new session on the new daemon.
  ASSERT_TRUE(eventually([&] { return new_offers.load() > 0; }, std::chrono::seconds(10)))
      << "consumer never re-requested; daemon output:\n"
      << daemon_.output();
  EXPECT_LT(std::chrono::steady_clock::now() - restarted, std::chrono::seconds(8));
  EXPECT_EQ(publisher.stream_id(), stream_id);
  EXPECT_TRUE(publisher_log.saw(client::PublisherState::kReconnecting));
  EXPECT_TRUE(eventually([&] { return publisher.is_active(); }));
  auto stream = client_->get_stream(stream_id);
  ASSERT_TRUE(stream) << stream.error().detail;
  EXPECT_TRUE(consumer_log.saw(client::ConsumerState::kReconnected));
  EXPECT_TRUE(consumer.is_active());
  EXPECT_NE(consumer.session_id(), first->session_id);
  auto sessions = client_->list_sessions(stream_id);
  ASSERT_TRUE(sessions);
  ASSERT_EQ(sessions->size(), 1u);
  EXPECT_EQ(sessions->front().session_id, consumer.session_id());

  // And negotiation still works through the re-subscribed hub connection.
  auto another = client_->request_stream(stream_id, consumer_request("consumer-2"));
  EXPECT_TRUE(another) << another.error().status << " " << another.error().detail;
}

TEST_F(HelpersTest, MulticastConsumerJoinsKeepsAliveAndLeaves) {
  auto a = camera("mcast");
  a.multicast_group = "239.0.0.10";
  a.multicast_port = 5004;
  client::StreamPublisher publisher(daemon_.url(), a, {kBeat, nullptr, nullptr});
  ASSERT_TRUE(publisher.start());

  client::MulticastConsumer consumer(daemon_.url(), publisher.stream_id(),
                                     {"display-3", "10.0.0.8", json::object{{"wall", "north"}}},
                                     {kBeat, nullptr});
  auto joined = consumer.join();
  ASSERT_TRUE(joined) << joined.error().detail;
  EXPECT_EQ(joined->multicast_group, "239.0.0.10");
  EXPECT_EQ(joined->multicast_port, 5004);
  EXPECT_TRUE(consumer.is_joined());

  std::this_thread::sleep_for(std::chrono::seconds(kStreamTtlSeconds + 2));
  auto subscribers = client_->stream_subscribers(publisher.stream_id());
  ASSERT_TRUE(subscribers);
  ASSERT_EQ(subscribers->size(), 1u) << "subscriber expired despite heartbeats";
  EXPECT_EQ(subscribers->front().subscriber_id, consumer.subscriber_id());

  consumer.leave();
  EXPECT_FALSE(consumer.is_joined());
  EXPECT_TRUE(client_->stream_subscribers(publisher.stream_id())->empty());
}

TEST_F(HelpersTest, MulticastConsumerRejoinsAfterRestart) {
  auto a = camera("mcast");
  a.multicast_group = "239.0.0.11";
  a.multicast_port = 5004;
  client::StreamPublisher publisher(daemon_.url(), a, {kBeat, nullptr, nullptr});
  ASSERT_TRUE(publisher.start());
  StateLog<client::ConsumerState> log;
  client::MulticastConsumer consumer(daemon_.url(), publisher.stream_id(),
                                     {"display-4", "10.0.0.8", {}}, {kBeat, log.callback()});
  auto joined = consumer.join();
  ASSERT_TRUE(joined);
  ASSERT_TRUE(daemon_.restart_on_same_port());
  EXPECT_TRUE(eventually([&] { return log.saw(client::ConsumerState::kReconnected); },
                         std::chrono::seconds(10)));
  EXPECT_NE(consumer.subscriber_id(), joined->subscriber_id);
  auto subscribers = client_->stream_subscribers(publisher.stream_id());
  ASSERT_TRUE(subscribers);
  EXPECT_EQ(subscribers->size(), 1u);
}

}  // namespace
}  // namespace sluice::testing
