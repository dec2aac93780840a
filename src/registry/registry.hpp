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
#include "core/limits.hpp"
#include "hub/bus.hpp"
#include "registry/history.hpp"
#include "registry/model.hpp"
#include "registry/store.hpp"

namespace sluice {
class Refusals;
}

namespace sluice::registry {

struct RegistryOptions {
  std::chrono::seconds ttl{30};
  std::chrono::milliseconds request_timeout{5000};
  // Limits (core/limits.hpp; docs/operations.md "Limits"). Refusals are 422 (config too large)
  // or 507 (no room), naming the limit.
  std::size_t max_config_bytes = 64 * kKiB;  // JSON of a stream's config, and of its metadata;
                                             // of a type's default_config, metadata and schema
  std::size_t max_custom_types = 1'000;
  std::size_t max_streams = 100'000;
  Refusals* refusals = nullptr;  // counts refusals; must outlive the registry (null: not counted)
  // The auto_offer setting: every stream's requests that no responder answers are answered by
  // sluiced from the advertised values (as a stream whose config, or its type's default_config,
  // says "auto_offer": true).
  bool auto_offer = false;
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
  kAutoOffered,  // no responder answered; sluiced offered the advertised values
};
inline constexpr std::array<const char*, 8> kNegotiationNames = {
    "accepted",  "rejected",      "no_responder", "timeout",
    "bus_error", "invalid_reply", "stream_gone",  "auto_offered"};

// Counters for /metrics. Relaxed atomics: read as a snapshot, never used for decisions.
struct RegistryStats {
  std::array<std::atomic<std::uint64_t>, 3> heartbeats{};        // accepted, by Kind
  std::array<std::atomic<std::uint64_t>, 3> heartbeat_misses{};  // for unknown ids, by Kind
  std::array<std::atomic<std::uint64_t>, 3> expiries{};          // by Kind
  std::array<std::atomic<std::uint64_t>, kNegotiationNames.size()>
      negotiations{};  // by Negotiation
  std::atomic<std::uint64_t> advertisements{0};
  std::atomic<std::uint64_t> withdrawals{0};
};

// Who acts on the registry: the owner key of the caller's identity (auth::Identity::owner(),
// e.g. "addr:10.0.0.7" or "token:stage-left") and whether it may act on what others own. The
// default is sluiced itself, which may do everything.
struct Actor {
  std::string owner = "sluiced";
  bool manages_all = true;
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
  Result<StreamTypeRecord> create_type(const StreamTypeSpec& spec, const Actor& actor = {});
  Result<StreamTypeRecord> update_type(const std::string& name, const StreamTypeSpec& spec,
                                       const Actor& actor = {});
  Status delete_type(const std::string& name, const Actor& actor = {});

  // The stream id is derived from (publisher_id, name): advertising again refreshes the same
  // stream (same id, children kept) instead of creating a duplicate, even across restarts.
  // The first advertiser owns the id (the binding outlives TTL gaps and restarts); another
  // actor gets 403 for a change, and the current record without a refresh for an identical
  // re-advertise.
  Result<StreamView> advertise(const AdvertiseRequest& request, const Actor& actor = {});
  Result<std::vector<StreamView>> list_streams(const std::optional<std::string>& type) const;
  // GET /streams: the listing as JSON texts, from `offset`, at most `limit` (all without one).
  Result<StreamJsonPage> list_stream_json(const std::optional<std::string>& type,
                                          std::size_t offset,
                                          std::optional<std::size_t> limit) const;
  Result<StreamView> get_stream(const std::string& id) const;
  // Owner only (403 otherwise); releases the owner binding.
  Status withdraw(const std::string& id, const Actor& actor = {});
  Status heartbeat_stream(const std::string& id, const Actor& actor = {});
  // For streams this node advertises itself (relay channels, live media paths): heartbeats and
  // answers false only when the registry no longer has the stream (advertise it again). A store
  // that cannot be reached says nothing about it: true, keep the id.
  bool keep_alive(const std::string& id);

  // Asks the publisher over the bus; `done` runs exactly once, on any thread.
  using OfferCallback = std::function<void(Result<StreamOffer>)>;
  // The session it opens is owned by `actor`.
  void request_stream(const std::string& stream_id, const StreamRequest& request,
                      OfferCallback done, const Actor& actor = {});

  Result<std::vector<SessionRecord>> list_sessions(
      const std::optional<std::string>& stream_id) const;
  // Sessions and subscribers may be stopped and heartbeated by their owner or the stream's.
  Status stop_session(const std::string& id, const Actor& actor = {});
  Status heartbeat_session(const std::string& id, std::optional<std::int64_t> bytes,
                           const Actor& actor = {});
  Result<std::vector<SessionHistoryRow>> session_history(const HistoryQuery& query) const;

  Result<JoinResult> join(const std::string& stream_id, const JoinRequest& request,
                          const Actor& actor = {});
  Status leave(const std::string& stream_id, const std::string& subscriber_id,
               const Actor& actor = {});
  Status heartbeat_subscriber(const std::string& id, const Actor& actor = {});
  Result<std::vector<SubscriberRecord>> list_subscribers(
      const std::optional<std::string>& stream_id) const;

  Result<RegistrySnapshot> snapshot() const;

  // For doors that heartbeat over the hub (/ws, the relay): 403 when another client owns the
  // record the heartbeat names; ok when `actor` may, or when there is no such record.
  Status may_heartbeat(Kind kind, const std::string& id, const Actor& actor);
  // Whether `actor` may answer requests for stream `id`: it owns it (or manages all).
  bool may_answer(const std::string& stream_id, const Actor& actor);

  // Removes everything past its TTL, announcing each expiry like the explicit action and closing
  // history rows as "expired". Returns how many records expired. Called by a periodic timer (on
  // every node: the store hands each expired record to one caller only).
  Result<std::size_t> expire_due();

  const RegistryStats& stats() const { return stats_; }
  Result<TypeCounts> counts() const { return store_.counts(); }
  // A snapshot; the TTL and the request timeout may change while running (settings), taking
  // effect from the next heartbeat or request.
  RegistryOptions options() const {
    return {std::chrono::seconds(ttl_s_.load()),
            std::chrono::milliseconds(timeout_ms_.load()),
            max_config_bytes_.load(),
            max_custom_types_.load(),
            max_streams_.load(),
            refusals_,
            auto_offer_.load()};
  }
  void set_auto_offer(bool on) { auto_offer_.store(on); }
  void set_ttl(std::chrono::seconds ttl) { ttl_s_.store(ttl.count()); }
  void set_request_timeout(std::chrono::milliseconds t) { timeout_ms_.store(t.count()); }
  // The max_streams_per_owner setting: live streams one client without an `any`-scope role may
  // own (a new advertise over it is 429). 0: no cap.
  void set_max_streams_per_owner(std::size_t n) { max_per_owner_.store(n); }
  // The limits may change while running too, taking effect from the next call that checks them.
  void set_max_config_bytes(std::size_t n) { max_config_bytes_.store(n); }
  void set_max_custom_types(std::size_t n) { max_custom_types_.store(n); }
  void set_max_streams(std::size_t n) { max_streams_.store(n); }

 private:
  MonoTime deadline() const { return clock_.mono_now() + std::chrono::seconds(ttl_s_.load()); }
  // 403 unless `actor` may act on what `owner` owns (or one of `owners`).
  static Status check_owner(const Actor& actor, std::initializer_list<std::string_view> owners,
                            std::string_view what);
  Status check_stream_owner(const std::string& stream_id, const Actor& actor,
                            std::string_view what);
  Status check_child_owner(const std::string& stream_id, const std::string& child_owner,
                           const Actor& actor, std::string_view what);
  void publish(const std::string& subject, const boost::json::object& payload);
  void announce_stream_removed(const RemovedStream& removed, const std::string& reason,
                               const std::string& child_reason, const std::string& history_status);
  void announce_session_ended(const SessionRecord& s, const std::string& reason,
                              const std::string& history_status);
  void announce_subscriber_left(const SubscriberRecord& s, const std::string& reason,
                                const std::string& history_status);
  void finish_negotiation(const StreamView& stream, const StreamRequest& request,
                          const std::string& owner,
                          std::expected<hub::MessagePtr, hub::BusFailure> reply,
                          const OfferCallback& done);
  // Whether requests of `stream` nobody answers get an offer from its advertised values: its
  // config's "auto_offer", else its type's default_config's, else the auto_offer setting.
  bool auto_offers(const StreamRecord& stream) const;
  // That offer (a session marked auto_offered), when it applies; false: the failure stands.
  bool offer_advertised(const StreamView& view, const StreamRequest& request,
                        const std::string& owner, const OfferCallback& done);
  // A new session of `request` on `stream` with the advertised address, port and protocol.
  static SessionRecord advertised_session(const StreamRecord& stream, const StreamRequest& request,
                                          const std::string& owner);
  // The session of an accepted request, stored and announced; `done` gets its offer.
  void open_session(SessionRecord s, const OfferCallback& done);
  static constexpr const char* kStreamGone = "Stream not found or expired";
  void count(Negotiation n) { stats_.negotiations[static_cast<std::size_t>(n)].fetch_add(1); }
  // Fails with 422 at `loc` when `value` serializes to more than max_config_bytes.
  Status check_size(const boost::json::object& value, std::vector<std::string> loc,
                    const std::string& who) const;
  // Fails with 507 when no custom type may be added.
  Status check_type_room() const;

  std::atomic<std::int64_t> ttl_s_;
  std::atomic<std::int64_t> timeout_ms_;
  std::atomic<bool> auto_offer_{false};
  std::atomic<std::size_t> max_per_owner_{1000};
  std::atomic<std::size_t> max_config_bytes_;
  std::atomic<std::size_t> max_custom_types_;
  std::atomic<std::size_t> max_streams_;
  Refusals* const refusals_;
  RegistryStore& store_;
  History& history_;
  hub::Bus& bus_;
  const Clock& clock_;
  RegistryStats stats_;
};

}  // namespace sluice::registry
