#pragma once
// StreamConsumer — requests a unicast stream and keeps the resulting session alive.
//
// connect() sends POST /streams/{id}/request and returns the offer; a background thread then
// heartbeats the session every heartbeat_interval. When the session heartbeat answers 404
// (expired, or the daemon restarted) the consumer requests the stream again and reports
// kReconnected with the new offer (offer() / Options::on_offer). If the stream itself is gone
// it reports kStreamLost and keeps retrying every heartbeat_interval until it is back or
// disconnect() is called. While the daemon is unreachable it reports kReconnecting and retries
// with capped backoff.
//
// Threads: connect(), disconnect() and the destructor belong to the owning thread (never call
// them from a callback). offer(), session_id(), state() may be called from any thread.
// Callbacks run on the heartbeat thread (or on the thread calling connect()/disconnect()).
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "client/client.hpp"
#include "client/stop_signal.hpp"

namespace sluice::client {

enum class ConsumerState {
  kConnecting,    // first request in flight
  kActive,        // session alive
  kReconnecting,  // daemon unreachable, or re-requesting after the session expired
  kReconnected,   // a new session replaced the expired one (new offer available); alive
  kStreamLost,    // the stream is not in the registry; retrying periodically
  kStopped,       // disconnected (or never connected)
};
const char* to_string(ConsumerState state);

class StreamConsumer {
 public:
  struct Options {
    // Unset: /health stream_ttl_seconds / 3, or 10 s when the daemon does not say.
    std::optional<std::chrono::milliseconds> heartbeat_interval;
    std::function<void(ConsumerState, const std::string& detail)> on_state;
    // Every offer after the first (i.e. on kReconnected).
    std::function<void(const StreamOffer&)> on_offer;
  };

  StreamConsumer(Client& client, std::string stream_id, StreamRequest request,
                 Options options = {});
  StreamConsumer(std::string base_url, std::string stream_id, StreamRequest request,
                 Options options = {});
  ~StreamConsumer();  // disconnect()
  StreamConsumer(const StreamConsumer&) = delete;
  StreamConsumer& operator=(const StreamConsumer&) = delete;

  // Requests the stream; on success starts the heartbeat thread. On error nothing runs.
  Result<StreamOffer> connect();
  // Stops the heartbeat thread and the session (DELETE, errors ignored). Idempotent.
  void disconnect();

  std::optional<StreamOffer> offer() const;
  std::string session_id() const;
  ConsumerState state() const;
  bool is_active() const;
  std::chrono::milliseconds heartbeat_interval() const { return interval_; }

 private:
  void run_heartbeats();
  // Re-requests after the session vanished; returns false when stopping.
  bool rerequest(Backoff& backoff);
  bool stream_is_gone();
  void set_state(ConsumerState state, const std::string& detail);

  std::unique_ptr<Client> owned_client_;
  Client& client_;
  std::string stream_id_;
  StreamRequest request_;
  Options options_;
  std::chrono::milliseconds interval_{10'000};

  mutable std::mutex mutex_;  // guards offer_, state_
  std::optional<StreamOffer> offer_;
  ConsumerState state_ = ConsumerState::kStopped;

  StopSignal stop_;
  std::thread worker_;
};

}  // namespace sluice::client
