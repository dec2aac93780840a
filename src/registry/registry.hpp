#pragma once
// Registry: the rules of the stream registry — advertise (idempotent per publisher and name),
// heartbeat, TTL expiry with cascades, withdraw, request negotiation with the publisher, sessions,
// multicast subscribers and the type catalog. It owns no state itself: records live in the
// RegistryStore, history in History, and every change is announced on the Bus exactly once.
// Thread-safe: any thread may call any method.
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "hub/bus.hpp"
#include "registry/history.hpp"
#include "registry/model.hpp"
#include "registry/store.hpp"

namespace sluice::registry {

struct RegistryOptions {
  std::chrono::seconds ttl{30};
  std::chrono::milliseconds request_timeout{5000};
};

enum class Kind : std::size_t { kStream = 0, kSession = 1, kSubscriber = 2 };
inline constexpr std::array<const char*, 3> kKindNames = {"stream", "session", "subscriber"};

enum class Negotiation : std::size_t {
  kAccepted = 0,
  kRejected,
  kNoResponder,
  kTimeout,
  kBusError,
  kInvalidReply,
  kStreamGone,
};
inline constexpr std::array<const char*, 7> kNegotiationNames = {
    "accepted", "rejected", "no_responder", "timeout", "bus_error", "invalid_reply", "stream_gone"};

// Counters for /metrics. Relaxed atomics: read as a snapshot, never used for decisions.
struct RegistryStats {
  std::array<std::atomic<std::uint64_t>, 3> heartbeats{};        // accepted, by Kind
  std::array<std::atomic<std::uint64_t>, 3> heartbeat_misses{};  // for unknown ids, by Kind
  std::array<std::atomic<std::uint64_t>, 3> expiries{};          // by Kind
  std::array<std::atomic<std::uint64_t>, 7> negotiations{};      // by Negotiation
  std::atomic<std::uint64_t> advertisements{0};
  std::atomic<std::uint64_t> withdrawals{0};
};

struct RegistrySnapshot {
  std::vector<StreamView> streams;
  std::vector<SessionRecord> sessions;
  std::vector<StreamTypeRecord> types;
  std::vector<SubscriberRecord> subscribers;
};

class Registry {
 public:
  // All references must outlive the Registry.
  Registry(RegistryOptions options, RegistryStore& store, History& history, hub::Bus& bus,
           const Clock& clock);

  // Puts the 11 built-in types into the store (existing entries are refreshed).
  Status seed_builtin_types();
  // Seeds them again when the store lost them (a Redis restarted without persistence, or
  // unreachable at start). Cheap: one read while they are there. Called by the periodic sweep.
  Status ensure_builtin_types();

  Result<std::vector<StreamTypeRecord>> list_types() const;
  Result<StreamTypeRecord> create_type(const StreamTypeSpec& spec);
  Result<StreamTypeRecord> update_type(const std::string& name, const StreamTypeSpec& spec);
  Status delete_type(const std::string& name);

  // The stream id is derived from (publisher_id, name): advertising again refreshes the same
  // stream (same id, children kept) instead of creating a duplicate, even across restarts.
  Result<StreamView> advertise(const AdvertiseRequest& request);
  Result<std::vector<StreamView>> list_streams(const std::optional<std::string>& type) const;
  Result<StreamView> get_stream(const std::string& id) const;
  Status withdraw(const std::string& id);
  Status heartbeat_stream(const std::string& id);
  // For streams this node advertises itself (relay channels, live media paths): heartbeats and
  // answers false only when the registry no longer has the stream (advertise it again). A store
  // that cannot be reached says nothing about it: true, keep the id.
  bool keep_alive(const std::string& id);

  // Asks the publisher over the bus; `done` runs exactly once, on any thread.
  using OfferCallback = std::function<void(Result<StreamOffer>)>;
  void request_stream(const std::string& stream_id, const StreamRequest& request,
                      OfferCallback done);

  Result<std::vector<SessionRecord>> list_sessions(
      const std::optional<std::string>& stream_id) const;
  Status stop_session(const std::string& id);
  Status heartbeat_session(const std::string& id, std::optional<std::int64_t> bytes);
  Result<std::vector<SessionHistoryRow>> session_history(const HistoryQuery& query) const;

  Result<JoinResult> join(const std::string& stream_id, const JoinRequest& request);
  Status leave(const std::string& stream_id, const std::string& subscriber_id);
  Status heartbeat_subscriber(const std::string& id);
  Result<std::vector<SubscriberRecord>> list_subscribers(
      const std::optional<std::string>& stream_id) const;

  Result<RegistrySnapshot> snapshot() const;

  // Removes everything past its TTL, announcing each expiry like the explicit action and closing
  // history rows as "expired". Returns how many records expired. Called by a periodic timer (on
  // every node: the store hands each expired record to one caller only).
  Result<std::size_t> expire_due();

  const RegistryStats& stats() const { return stats_; }
  Result<TypeCounts> counts() const { return store_.counts(); }
  const RegistryOptions& options() const { return options_; }

 private:
  MonoTime deadline() const { return clock_.mono_now() + options_.ttl; }
  void publish(const std::string& subject, const boost::json::object& payload);
  void announce_stream_removed(const RemovedStream& removed, const std::string& reason,
                               const std::string& child_reason, const std::string& history_status);
  void announce_session_ended(const SessionRecord& s, const std::string& reason,
                              const std::string& history_status);
  void announce_subscriber_left(const SubscriberRecord& s, const std::string& reason,
                                const std::string& history_status);
  void finish_negotiation(const StreamView& stream, const StreamRequest& request,
                          std::expected<hub::MessagePtr, hub::BusFailure> reply,
                          const OfferCallback& done);
  void count(Negotiation n) { stats_.negotiations[static_cast<std::size_t>(n)].fetch_add(1); }

  RegistryOptions options_;
  RegistryStore& store_;
  History& history_;
  hub::Bus& bus_;
  const Clock& clock_;
  RegistryStats stats_;
};

}  // namespace sluice::registry
