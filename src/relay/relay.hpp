#pragma once
// The relay: named pub/sub channels over wire sessions, on the one hub. Each wire connection is
// a RelayConnection (a wire::Session plus what its streams are bound to: publishers with
// cached hub routes, subscriptions, requests in flight). Channels have a directory entry
// (owner, counters, last value) and, when advertised, a registry stream.
//
// Threading: the relay is owned by one event-loop thread (the "relay thread"). Every method
// here is called on it, except where a comment says otherwise; hub deliveries from other
// threads (registry events, HTTP publishers) are posted to it through EventLoop.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/byte_budget.hpp"
#include "core/clock.hpp"
#include "core/event_loop.hpp"
#include "core/limits.hpp"
#include "core/refusals.hpp"
#include "hub/client_session.hpp"
#include "hub/hub.hpp"
#include "relay/channel_directory.hpp"
#include "wire/scram.hpp"
#include "wire/session.hpp"

namespace sluice::relay {

// Seam to the registry: channels with publishers appear there as streams.
class ChannelAdvertiser {
 public:
  virtual ~ChannelAdvertiser() = default;
  // Returns the registry stream id, or nullopt when advertising failed (logged by the callee).
  virtual std::optional<std::string> advertise(const ChannelInfo& channel,
                                               const std::string& stream_type,
                                               const boost::json::object& metadata) = 0;
  // False when the registry no longer knows the stream (it expired): the relay re-advertises.
  // True when it does, and when the registry cannot say (unreachable): the id is kept.
  virtual bool heartbeat(const std::string& stream_id) = 0;
  virtual void withdraw(const std::string& stream_id) = 0;
};

// How a connection's byte transport is driven (the net layer implements it).
class Transport {
 public:
  virtual ~Transport() = default;
  // There is output to write; called on the relay thread, possibly many times per batch.
  virtual void request_write() = 0;
  virtual std::string remote_address() const = 0;
  virtual bool secure() const = 0;  // TLS (tokens are accepted only then, unless configured)
};

struct AuthConfig {
  bool allow_anonymous = true;
  bool allow_tokens_without_tls = false;
  std::vector<std::string> tokens;  // accepted bearer tokens
  std::map<std::string, wire::scram::StoredCredentials, std::less<>> users;  // SCRAM users
  // sluiced's own users and API tokens (issue 12), consulted after the files; may be empty.
  std::function<std::optional<wire::scram::StoredCredentials>(std::string_view user)> find_user;
  std::function<std::optional<std::string>(std::string_view token)> token_name;
  // The hub policy of an authenticated session (null result or unset: everything allowed).
  // `kind` is "anonymous", "user" or "token"; `name` the user or token name.
  std::function<std::shared_ptr<hub::ClientPolicy>(std::string_view kind, std::string_view name,
                                                   std::string_view address)>
      policy_for;
};

struct RelayConfig {
  wire::SessionOptions session;
  AuthConfig auth;
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_address = 256;  // wire sessions from one client address
  std::size_t max_pending_requests = 10'000;      // per connection
  std::string advertise_host = "127.0.0.1";       // address put in registry entries
  std::uint16_t advertise_port = 7070;
  // How often advertised channels are heartbeated; must be well under the registry's TTL.
  std::chrono::milliseconds registry_heartbeat{10'000};
  // Limits (core/limits.hpp; docs/operations.md "Limits"), defaults as Limits' resolved ones.
  // A subscription asking for a larger buffer_bytes is reset with kLimit, naming the limit.
  std::size_t max_subscriber_buffer = 64 * kMiB;
  std::size_t buffer_budget = 128 * kMiB;  // all subscribers' send queues (SendQueue budget)
  std::size_t partial_budget = 64 * kMiB;  // all sessions' partial messages
  Refusals* refusals = nullptr;  // counts refusals; must outlive the relay (null: not counted)
};

struct RelayStats {
  std::uint64_t connections_total = 0;
  std::uint64_t connections_active = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t dropped = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t channels = 0;
  std::uint64_t buffered_bytes = 0;  // charged to the subscribers' buffer budget
  std::uint64_t partial_bytes = 0;   // charged to the partial-message budget
};

class RelayConnection;

// Server-side handlers (the embeddable Server API).
struct ClientMessage {
  std::string_view client;  // relay session id of the publisher
  std::string_view channel;
  std::string_view data;
};
using ClientStreamHandler = std::function<void(const ClientMessage&)>;
// Answers a request: the returned bytes are the reply; an Error is sent as an error reply (its
// detail is the reason the requester sees).
using RequestHandler = std::function<Result<std::string>(const ClientMessage&)>;
using SubscriptionHandler = std::function<void(std::string_view subscriber, bool subscribed)>;

class Relay {
 public:
  Relay(hub::Hub& hub, EventLoop& loop, const Clock& clock, RelayConfig config,
        ChannelAdvertiser* advertiser);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // A new transport connected; the relay owns the returned connection until it closes. Null
  // (counted and logged as a refusal) over max_connections or max_connections_per_address.
  RelayConnection* accept(Transport& transport);
  // The transport is closing (it is still alive); the connection is destroyed.
  void remove(RelayConnection* connection);
  // Periodic work (leases, pings, request timeouts, publisher stalls, registry heartbeats).
  // No wire connection is open (the loop may tick slowly).
  bool idle() const { return connections_.empty(); }
  // Call every few milliseconds (every 100 ms is enough while idle()).
  void tick();
  // Sends GOAWAY kGoingAway to every session.
  void shutdown();

  // ---- channels (server side)
  // Creates (or returns) a server-owned channel.
  Status create_channel(const std::string& name, ChannelOptions options);
  // Publishes into a channel on the relay thread; returns subscribers that took it.
  std::size_t push(std::string_view channel, std::string_view data);
  Status close_channel(std::string_view name);
  // `handler` is first called for every existing matching subscription, then on each change.
  void on_subscription(const std::string& channel, SubscriptionHandler handler);
  // Messages published by clients on channels matching `pattern`.
  Result<hub::Hub::Subscription> on_client_stream(std::string_view pattern,
                                                  ClientStreamHandler handler);
  // Requests on `channel` answered by `handler`.
  Result<hub::Hub::Subscription> handle_requests(std::string_view channel, RequestHandler handler);

  std::vector<ChannelInfo> channels() const;
  // The metadata the channel's publisher opened it with; null when there is no such channel.
  const boost::json::object* channel_metadata(std::string_view name) const;
  std::optional<ChannelInfo> channel(std::string_view name) const;
  RelayStats stats() const;
  // Any thread: the counters as of the last tick() (at most one tick old).
  RelayStats published_stats() const;
  std::size_t connection_count() const { return connections_.size(); }

  // ---- internal, for RelayConnection
  hub::Hub& hub() { return hub_; }
  EventLoop& loop() { return loop_; }
  const Clock& clock() const { return clock_; }
  const RelayConfig& config() const { return config_; }
  // Applies changed limits (the live settings of docs/operations.md "Limits"): the buffer_bytes
  // cap from the next subscription, the budgets from the next take. Any thread (posts).
  void set_limits(const Limits& limits);
  ChannelDirectory& directory() { return directory_; }
  RelayStats& mutable_stats() { return stats_; }
  std::uint64_t next_token() { return next_token_++; }
  // A publisher opened/closed a stream on `channel`.
  ChannelEntry* publisher_opened(const std::string& channel, const std::string& owner,
                                 const wire::OpenRequest& request);
  void publisher_closed(ChannelEntry* entry, const std::string& owner);
  // Tells a new channel owner about the subscriptions that already match its channel.
  void announce_subscribers(RelayConnection& owner, std::uint32_t stream, std::string_view channel);
  // A subscription matching channels was added/removed.
  void subscription_changed(std::string_view pattern, std::string_view subscriber, bool subscribed);
  // A block-policy subscriber drained: publishers waiting on it may go on.
  void release_all_stalls();
  // Counts a refusal (Refusals), when the relay has somewhere to count it.
  void count_refusal(Refusal kind, const std::string& what);

 private:
  void close_entry(ChannelEntry& entry);
  void report_budget_refusals();
  // Every wire subscription whose pattern matches `channel`.
  void for_each_subscription(
      std::string_view channel,
      const std::function<void(std::string_view pattern, std::string_view subscriber)>& fn) const;

  hub::Hub& hub_;
  EventLoop& loop_;
  const Clock& clock_;
  RelayConfig config_;
  ChannelAdvertiser* advertiser_;
  ChannelDirectory directory_;
  // Shared by every session (config_.session points at them): declared before connections_ so
  // they outlive the sessions that give bytes back when destroyed.
  ByteBudget buffer_budget_;
  ByteBudget partial_budget_;
  std::uint64_t buffer_refusals_reported_ = 0;
  std::uint64_t partial_refusals_reported_ = 0;
  std::unordered_map<RelayConnection*, std::unique_ptr<RelayConnection>> connections_;
  std::unordered_map<std::string, std::size_t> per_address_;  // client address -> connections
  std::multimap<std::string, SubscriptionHandler, std::less<>> subscription_handlers_;
  RelayStats stats_;
  std::uint64_t next_token_ = 1;
  std::uint64_t next_session_ = 1;
  MonoTime last_heartbeat_;
  mutable std::mutex published_mutex_;
  RelayStats published_;
};

}  // namespace sluice::relay
