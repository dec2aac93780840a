#pragma once
// MulticastConsumer — joins a multicast stream and keeps the subscriber entry alive.
//
// join() sends POST /streams/{id}/join and returns the group to listen on (IGMP membership is
// the caller's business). A background thread heartbeats the subscriber every
// heartbeat_interval; when that answers 404 it joins again (new subscriber id, reported via
// on_state(kReconnected) and result()), retrying every interval while the stream is gone.
// leave() ends it with DELETE /streams/{id}/leave/{subscriber_id}.
//
// Threads: join(), leave() and the destructor belong to the owning thread (never call them
// from a callback). result(), subscriber_id(), state() may be called from any thread.
// Callbacks run on the heartbeat thread.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "client/client.hpp"
#include "client/stop_signal.hpp"
#include "client/stream_consumer.hpp"

namespace sluice::client {

class MulticastConsumer {
 public:
  struct Options {
    std::optional<std::chrono::milliseconds> heartbeat_interval;  // unset: TTL / 3 or 10 s
    std::function<void(ConsumerState, const std::string& detail)> on_state;
  };

  MulticastConsumer(Client& client, std::string stream_id, JoinRequest request,
                    Options options = {});
  MulticastConsumer(std::string base_url, std::string stream_id, JoinRequest request,
                    Options options = {});
  ~MulticastConsumer();  // leave()
  MulticastConsumer(const MulticastConsumer&) = delete;
  MulticastConsumer& operator=(const MulticastConsumer&) = delete;

  Result<JoinResult> join();
  void leave();  // idempotent; errors ignored

  std::optional<JoinResult> result() const;
  std::string subscriber_id() const;
  ConsumerState state() const;
  bool is_joined() const;

 private:
  void run_heartbeats();
  void set_state(ConsumerState state, const std::string& detail);

  std::unique_ptr<Client> owned_client_;
  Client& client_;
  std::string stream_id_;
  JoinRequest request_;
  Options options_;
  std::chrono::milliseconds interval_{10'000};

  mutable std::mutex mutex_;  // guards result_, state_
  std::optional<JoinResult> result_;
  ConsumerState state_ = ConsumerState::kStopped;

  StopSignal stop_;
  std::thread worker_;
};

}  // namespace sluice::client
