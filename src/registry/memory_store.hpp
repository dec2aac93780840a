#pragma once
// The embedded RegistryStore: everything in one process's memory under one mutex, held only for
// the duration of one operation. Deadlines are kept in an ordered index so take_expired() costs
// O(expired · log n), not a scan. Streams are kept in listing order too, each with its JSON text
// cached from the last listing until the stream (or its session or subscriber count) changes.
// What must survive a restart (stream keys, custom types, owner bindings) is written to a
// StoreJournal, when one is set, before the change is applied.
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>

#include "registry/store.hpp"

namespace sluice::registry {

// Where the embedded store writes what must not be lost on restart. Each call happens under the
// store's mutex before the change is applied; an error refuses the change (the caller sees it).
class StoreJournal {
 public:
  virtual ~StoreJournal() = default;
  virtual Status save_key(const KeyRecord& key) = 0;
  virtual Status drop_key(const std::string& id) = 0;
  virtual Status save_type(const StreamTypeRecord& type) = 0;
  virtual Status drop_type(const std::string& name) = 0;
  virtual Status save_owner(const std::string& stream_id, const std::string& owner) = 0;
  virtual Status drop_owner(const std::string& stream_id) = 0;
};

// What a journal held at start, handed back to the store.
struct JournalContents {
  std::vector<KeyRecord> keys;
  std::vector<StreamTypeRecord> types;
  std::vector<std::pair<std::string, std::string>> owners;  // stream id, owner
};

class MemoryStore final : public RegistryStore {
 public:
  MemoryStore() = default;
  // `journal` must outlive the store; `contents` is what it held (restored without re-writing).
  MemoryStore(StoreJournal* journal, JournalContents contents);

  Status put_stream(const StreamRecord& stream, MonoTime deadline) override;
  Result<std::optional<StreamView>> get_stream(const std::string& id) const override;
  Result<std::vector<StreamView>> list_streams(
      const std::optional<std::string>& type) const override;
  Result<StreamJsonPage> list_stream_json(const std::optional<std::string>& type,
                                          std::size_t offset,
                                          std::optional<std::size_t> limit) const override;
  Result<std::size_t> stream_count() const override;
  Result<std::optional<TouchedStream>> touch_stream(const std::string& id, WallTime now,
                                                    MonoTime deadline) override;
  Result<std::optional<RemovedStream>> remove_stream(const std::string& id) override;

  Status put_session(const SessionRecord& session, MonoTime deadline) override;
  Result<std::optional<SessionRecord>> get_session(const std::string& id) const override;
  Result<std::vector<SessionRecord>> list_sessions(
      const std::optional<std::string>& stream_id) const override;
  Result<std::optional<SessionRecord>> touch_session(const std::string& id, WallTime now,
                                                     MonoTime deadline,
                                                     std::optional<std::int64_t> bytes) override;
  Result<std::optional<SessionRecord>> remove_session(const std::string& id) override;

  Status put_subscriber(const SubscriberRecord& subscriber, MonoTime deadline) override;
  Result<std::vector<SubscriberRecord>> list_subscribers(
      const std::optional<std::string>& stream_id) const override;
  Result<std::optional<SubscriberRecord>> get_subscriber(const std::string& id) const override;
  Result<bool> touch_subscriber(const std::string& id, WallTime now, MonoTime deadline) override;
  Result<std::string> bind_owner(const std::string& stream_id, const std::string& owner) override;
  Result<std::optional<std::string>> get_owner(const std::string& stream_id) const override;
  Status release_owner(const std::string& stream_id) override;
  Result<std::size_t> count_owned_streams(const std::string& owner) const override;
  Result<std::optional<SubscriberRecord>> remove_subscriber(const std::string& id) override;

  Result<std::vector<StreamTypeRecord>> list_types() const override;
  Result<std::optional<StreamTypeRecord>> get_type(const std::string& name) const override;
  Status insert_type(const StreamTypeRecord& type) override;
  Status replace_type(const StreamTypeRecord& type) override;
  Status remove_type(const std::string& name) override;

  Result<ExpiredBatch> take_expired(MonoTime now) override;
  Result<TypeCounts> counts() const override;

  Status put_key(const KeyRecord& key, std::size_t max_keys) override;
  Result<std::optional<KeyRecord>> get_key(const std::string& id) const override;
  Result<std::optional<std::string>> find_key_id_by_alias(const std::string& alias) const override;
  Result<std::vector<KeyRecord>> list_keys() const override;
  Result<std::vector<KeyRecord>> keys_of_stream(const std::string& stream) const override;
  Result<KeyRecord> update_key(const std::string& id,
                               const std::function<Status(KeyRecord&)>& change) override;
  Result<std::size_t> purge_keys(WallTime cutoff) override;

 private:
  enum class Kind { kStream, kSession, kSubscriber };
  using DeadlineKey = std::tuple<MonoTime, Kind, std::string>;

  struct StreamEntry {
    StreamRecord record;
    MonoTime deadline;
    std::set<std::string> sessions;
    std::set<std::string> subscribers;
    // The listing's JSON text of view_of(*this), filled by list_stream_json() and dropped by
    // every change (changed()); `version` tells a text serialized outside the lock from a stale
    // one.
    mutable std::shared_ptr<const std::string> json;
    std::uint64_t version = 0;
    void changed() {
      json.reset();
      ++version;
    }
  };
  using ListingKey = std::pair<WallTime, std::string>;  // sort_for_listing's order
  struct SessionEntry {
    SessionRecord record;
    MonoTime deadline;
  };
  struct SubscriberEntry {
    SubscriberRecord record;
    MonoTime deadline;
  };

  StreamView view_of(const StreamEntry& e) const;
  void set_deadline(Kind kind, const std::string& id, MonoTime& slot, MonoTime deadline);
  // Inserts or replaces `id`'s record in `map` (streams_, sessions_ or subscribers_) and moves
  // its deadline; the caller holds mutex_. Other fields of an existing entry are kept.
  template <class Map, class Record>
  void upsert(Map& map, Kind kind, const std::string& id, const Record& record, MonoTime deadline) {
    auto [it, inserted] = map.try_emplace(id);
    it->second.record = record;
    if (!inserted) deadlines_.erase(DeadlineKey{it->second.deadline, kind, id});
    it->second.deadline = deadline;
    deadlines_.insert(DeadlineKey{deadline, kind, id});
  }
  RemovedStream remove_stream_locked(std::unordered_map<std::string, StreamEntry>::iterator it);
  SessionRecord remove_session_locked(std::unordered_map<std::string, SessionEntry>::iterator it);
  SubscriberRecord remove_subscriber_locked(
      std::unordered_map<std::string, SubscriberEntry>::iterator it);

  Status journal(const std::function<Status(StoreJournal&)>& write) const {
    return journal_ ? write(*journal_) : Status{};
  }

  StoreJournal* journal_ = nullptr;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, StreamEntry> streams_;
  // streams_ in listing order (element pointers of an unordered_map stay valid until erased).
  std::map<ListingKey, const StreamEntry*> listing_;
  std::unordered_map<std::string, SessionEntry> sessions_;
  std::unordered_map<std::string, SubscriberEntry> subscribers_;
  std::map<std::string, StreamTypeRecord> types_;
  std::unordered_map<std::string, std::string> owners_;  // stream id -> owner
  static constexpr std::size_t kMaxOwners = 200'000;
  std::set<DeadlineKey> deadlines_;
  // Stream keys: by id, with the alias and stream indexes kept in step under mutex_.
  std::unordered_map<std::string, KeyRecord> keys_;
  std::unordered_map<std::string, std::string> key_aliases_;  // alias -> id
  std::multimap<std::string, std::string> keys_by_stream_;    // stream -> id
};

}  // namespace sluice::registry
