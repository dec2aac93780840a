#pragma once
// RegistryStore: where registry records live and expire. The embedded MemoryStore and the shared
// redis::RedisStore implement it. Each method is atomic on its own: callers never hold a store lock
// and never see a half-applied change. Deadlines are monotonic; the store removes nothing by
// itself — take_expired() hands over everything past its deadline, children included, so the
// Registry can announce each expiry exactly once.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "registry/key_record.hpp"
#include "registry/model.hpp"

namespace sluice::registry {

// A stream taken out of the store together with the children that went with it.
struct RemovedStream {
  StreamRecord stream;
  std::vector<SessionRecord> sessions;
  std::vector<SubscriberRecord> subscribers;
};

struct ExpiredBatch {
  std::vector<RemovedStream> streams;         // expired streams, with their children
  std::vector<SessionRecord> sessions;        // sessions that expired on their own
  std::vector<SubscriberRecord> subscribers;  // subscribers that expired on their own
  bool empty() const { return streams.empty() && sessions.empty() && subscribers.empty(); }
};

// What a heartbeat found: the stream's type, and the whole record when the store had it at no
// extra cost (a remote store returns it in the same round trip; the embedded one does not copy it).
struct TouchedStream {
  std::string stream_type;
  std::optional<StreamRecord> record;
};

// One page of the stream listing, in listing order: each stream as the JSON text of
// to_json(StreamView), shared (a store may cache the texts, so that a record is serialized once
// per change rather than once per listing), and how many streams the whole listing has.
struct StreamJsonPage {
  std::vector<std::shared_ptr<const std::string>> items;
  std::size_t total = 0;
};

struct TypeCounts {
  std::map<std::string, std::size_t> streams;      // by stream_type
  std::map<std::string, std::size_t> sessions;     // by stream_type
  std::map<std::string, std::size_t> subscribers;  // by stream_type
};

// The order every store lists in — oldest first, ties by id (types by name) — so a listing
// looks the same whichever store a node runs on.
inline void sort_for_listing(std::vector<StreamView>& v) {
  std::sort(v.begin(), v.end(), [](const StreamView& a, const StreamView& b) {
    return std::tie(a.stream.advertised_at, a.stream.id) <
           std::tie(b.stream.advertised_at, b.stream.id);
  });
}
inline void sort_for_listing(std::vector<SessionRecord>& v) {
  std::sort(v.begin(), v.end(), [](const SessionRecord& a, const SessionRecord& b) {
    return std::tie(a.started_at, a.session_id) < std::tie(b.started_at, b.session_id);
  });
}
inline void sort_for_listing(std::vector<SubscriberRecord>& v) {
  std::sort(v.begin(), v.end(), [](const SubscriberRecord& a, const SubscriberRecord& b) {
    return std::tie(a.joined_at, a.subscriber_id) < std::tie(b.joined_at, b.subscriber_id);
  });
}
inline void sort_for_listing(std::vector<StreamTypeRecord>& v) {
  std::sort(v.begin(), v.end(),
            [](const StreamTypeRecord& a, const StreamTypeRecord& b) { return a.name < b.name; });
}
inline void sort_for_listing(std::vector<KeyRecord>& v) {
  std::sort(v.begin(), v.end(), [](const KeyRecord& a, const KeyRecord& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
}

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  // Every method may fail with the store's own error (503 naming the service when a remote store
  // is unreachable, 502 when it holds something unusable); the embedded store never fails that
  // way. Other failures are listed per method.

  // Inserts or replaces a stream (children are kept on replace).
  virtual Status put_stream(const StreamRecord& stream, MonoTime deadline) = 0;
  virtual Result<std::optional<StreamView>> get_stream(const std::string& id) const = 0;
  virtual Result<std::vector<StreamView>> list_streams(
      const std::optional<std::string>& type) const = 0;
  // The listing of list_streams(type) from its `offset`th stream, at most `limit` of them (all
  // without a limit), as JSON texts. This default serializes list_streams(); MemoryStore caches.
  virtual Result<StreamJsonPage> list_stream_json(const std::optional<std::string>& type,
                                                  std::size_t offset,
                                                  std::optional<std::size_t> limit) const;
  // Streams in the store (for max-streams). This default counts through counts().
  virtual Result<std::size_t> stream_count() const;
  // Sets last_heartbeat and a new deadline; nullopt when the stream is gone.
  virtual Result<std::optional<TouchedStream>> touch_stream(const std::string& id, WallTime now,
                                                            MonoTime deadline) = 0;
  virtual Result<std::optional<RemovedStream>> remove_stream(const std::string& id) = 0;

  // Fails with 404 when the session's stream is gone (checked atomically with the insert).
  virtual Status put_session(const SessionRecord& session, MonoTime deadline) = 0;
  virtual Result<std::optional<SessionRecord>> get_session(const std::string& id) const = 0;
  virtual Result<std::vector<SessionRecord>> list_sessions(
      const std::optional<std::string>& stream_id) const = 0;
  virtual Result<std::optional<SessionRecord>> touch_session(const std::string& id, WallTime now,
                                                             MonoTime deadline,
                                                             std::optional<std::int64_t> bytes) = 0;
  virtual Result<std::optional<SessionRecord>> remove_session(const std::string& id) = 0;

  // --- Owner bindings: which identity owns a stream id (publisher_id + name) ---
  // They outlive the stream (a TTL gap or a restart must not hand a stream to the first
  // re-advertiser) until the owner withdraws it or `forget_owners` drops them.
  // Binds `owner` when the id has no owner yet; returns the owner bound after the call.
  virtual Result<std::string> bind_owner(const std::string& stream_id,
                                         const std::string& owner) = 0;
  virtual Result<std::optional<std::string>> get_owner(const std::string& stream_id) const = 0;
  virtual Status release_owner(const std::string& stream_id) = 0;
  // How many live streams `owner` owns (for the per-owner cap). A store that cannot count
  // cheaply answers 0 and the cap is not enforced there (the memory and Redis stores count).
  virtual Result<std::size_t> count_owned_streams(const std::string& owner) const {
    (void)owner;
    return std::size_t{0};
  }

  // Fails with 400 when the subscriber's stream is gone (checked atomically with the insert).
  virtual Status put_subscriber(const SubscriberRecord& subscriber, MonoTime deadline) = 0;
  virtual Result<std::vector<SubscriberRecord>> list_subscribers(
      const std::optional<std::string>& stream_id) const = 0;
  virtual Result<std::optional<SubscriberRecord>> get_subscriber(const std::string& id) const = 0;
  virtual Result<bool> touch_subscriber(const std::string& id, WallTime now, MonoTime deadline) = 0;
  virtual Result<std::optional<SubscriberRecord>> remove_subscriber(const std::string& id) = 0;

  virtual Result<std::vector<StreamTypeRecord>> list_types() const = 0;
  virtual Result<std::optional<StreamTypeRecord>> get_type(const std::string& name) const = 0;
  // Fails with 409 when the name exists.
  virtual Status insert_type(const StreamTypeRecord& type) = 0;
  virtual Status replace_type(const StreamTypeRecord& type) = 0;
  // Fails with 404 when missing, 409 when streams of the type are live.
  virtual Status remove_type(const std::string& name) = 0;

  // Takes everything whose deadline is at or before `now`. With several nodes on one store, each
  // record is handed to exactly one caller.
  virtual Result<ExpiredBatch> take_expired(MonoTime now) = 0;
  virtual Result<TypeCounts> counts() const = 0;

  // --- Stream keys (keys::KeyService owns the rules; records never hold a plaintext key) ---
  // Inserts a new key. 409 when the id or the alias is taken (checked atomically with the
  // insert), 507 when `max_keys` records are stored already.
  virtual Status put_key(const KeyRecord& key, std::size_t max_keys) = 0;
  virtual Result<std::optional<KeyRecord>> get_key(const std::string& id) const = 0;
  virtual Result<std::optional<std::string>> find_key_id_by_alias(
      const std::string& alias) const = 0;
  // Every key, ordered by created_at then id.
  virtual Result<std::vector<KeyRecord>> list_keys() const = 0;
  // The keys granting `stream` (any kind or state).
  virtual Result<std::vector<KeyRecord>> keys_of_stream(const std::string& stream) const = 0;
  // Atomic read-modify-write of one key: `change` sees the current record and either edits it
  // (returning ok: the edit is stored and returned) or refuses (its error is returned, nothing
  // is stored). 404 when the id is unknown. `change` must be short, must not call the store and
  // may run more than once (a remote store retries when another node changed the key meanwhile).
  // It may not change id, alias or stream.
  virtual Result<KeyRecord> update_key(const std::string& id,
                                       const std::function<Status(KeyRecord&)>& change) = 0;
  // Removes keys revoked or expired before `cutoff`; returns how many.
  virtual Result<std::size_t> purge_keys(WallTime cutoff) = 0;

  // For /health: empty when the store works, otherwise what is wrong, naming the service.
  virtual std::string problem() const { return {}; }
};

}  // namespace sluice::registry
