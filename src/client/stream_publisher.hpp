#pragma once
// StreamPublisher — keeps one advertised stream alive and answers consumers' requests for it.
//
// start() advertises the stream, opens the hub WebSocket (/ws) and subscribes to
// `maestra.stream.request.{stream_id}`; each request the daemon forwards there is passed to
// Options::on_request and its Decision is published on the request's reply inbox as
// {"accepted": true, address?, port?, protocol?, transport_config} or
// {"accepted": false, "reason": ...}.
//
// A background thread heartbeats the stream every heartbeat_interval. When the heartbeat
// answers 404 (the stream expired, or the daemon restarted) it advertises again — the daemon
// gives the same id for the same (publisher_id, name), so stream_id() stays stable. When the
// daemon is unreachable it retries with capped exponential backoff (100 ms … 2 s), then
// re-advertises and re-subscribes once the daemon is back.
//
// Threads: start(), stop() and the destructor must be called from the owning thread (not from
// a callback). stream_id(), is_active(), state() may be called from any thread. on_request
// runs on the hub connection's I/O thread; keep it short (the daemon waits at most
// /health.request_timeout_seconds, 5 s by default). on_state runs on the heartbeat thread or on
// the thread calling start()/stop().
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "client/client.hpp"
#include "client/hub_connection.hpp"
#include "client/stop_signal.hpp"

namespace sluice::client {

// The payload the daemon publishes on maestra.stream.request.{stream_id}.
struct IncomingStreamRequest {
  std::string stream_id;
  std::string consumer_id;
  std::string consumer_address;
  std::optional<int> consumer_port;
  boost::json::object config;
  std::string timestamp;  // ISO-8601 as sent
};

struct AcceptRequest {
  std::optional<std::string> address;  // unset: the advertised address
  std::optional<int> port;             // unset: the advertised port
  std::optional<std::string> protocol;
  boost::json::object transport_config;
};
struct RejectRequest {
  std::string reason;
};
using Decision = std::variant<AcceptRequest, RejectRequest>;

// The reply object for `decision`, as the daemon expects it on the inbox.
boost::json::object decision_to_json(const Decision& decision);
IncomingStreamRequest incoming_request_from_json(const boost::json::value& data);

enum class PublisherState {
  kStopped,       // not started, or stopped
  kActive,        // advertised, subscribed, heartbeating
  kReconnecting,  // daemon unreachable or hub lost; retrying
};
const char* to_string(PublisherState state);

class StreamPublisher {
 public:
  struct Options {
    // Unset: /health stream_ttl_seconds / 3, or 10 s when the daemon does not say.
    std::optional<std::chrono::milliseconds> heartbeat_interval;
    // Unset: accept every request with the advertised endpoint.
    std::function<Decision(const IncomingStreamRequest&)> on_request;
    std::function<void(PublisherState, const std::string& detail)> on_state;
  };

  // Borrows `client`, which must outlive the publisher.
  StreamPublisher(Client& client, AdvertiseRequest advert, Options options = {});
  // Owns a Client for `base_url`.
  StreamPublisher(std::string base_url, AdvertiseRequest advert, Options options = {});
  ~StreamPublisher();  // stop()
  StreamPublisher(const StreamPublisher&) = delete;
  StreamPublisher& operator=(const StreamPublisher&) = delete;

  // Advertises, connects to the hub and subscribes, then starts the heartbeat thread. On error
  // nothing keeps running (a stream already advertised is withdrawn). Calling start() on a
  // started publisher returns the current view.
  Result<StreamView> start();
  // Stops the heartbeat thread, closes the hub connection and withdraws the stream (errors
  // ignored). Idempotent.
  void stop();

  std::string stream_id() const;
  bool is_active() const { return state() == PublisherState::kActive; }
  PublisherState state() const;
  std::chrono::milliseconds heartbeat_interval() const { return interval_; }

 private:
  Status connect_hub();
  void on_hub_message(const HubMessage& message);
  void run_heartbeats();
  void set_state(PublisherState state, const std::string& detail);
  std::string request_subject() const;

  std::unique_ptr<Client> owned_client_;
  Client& client_;
  AdvertiseRequest advert_;
  Options options_;
  std::chrono::milliseconds interval_{10'000};

  mutable std::mutex mutex_;  // guards stream_id_, view_, state_
  std::string stream_id_;
  std::optional<StreamView> view_;
  PublisherState state_ = PublisherState::kStopped;

  std::unique_ptr<HubConnection> hub_;  // heartbeat thread (or start/stop) only
  std::atomic<bool> hub_lost_{false};
  StopSignal stop_;
  std::thread worker_;
};

}  // namespace sluice::client
