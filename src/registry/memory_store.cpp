#include "registry/memory_store.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

namespace sluice::registry {

StreamView MemoryStore::view_of(const StreamEntry& e) const {
  return StreamView{e.record, e.sessions.size(), e.subscribers.size()};
}

void MemoryStore::set_deadline(Kind kind, const std::string& id, MonoTime& slot,
                               MonoTime deadline) {
  deadlines_.erase(DeadlineKey{slot, kind, id});
  slot = deadline;
  deadlines_.insert(DeadlineKey{deadline, kind, id});
}

Status MemoryStore::put_stream(const StreamRecord& stream, MonoTime deadline) {
  std::lock_guard lock(mutex_);
  if (auto it = streams_.find(stream.id); it != streams_.end()) {
    listing_.erase(ListingKey{it->second.record.advertised_at, stream.id});
  }
  upsert(streams_, Kind::kStream, stream.id, stream, deadline);
  auto& entry = streams_.at(stream.id);
  entry.changed();
  listing_[ListingKey{stream.advertised_at, stream.id}] = &entry;
  return {};
}

Result<std::optional<StreamView>> MemoryStore::get_stream(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(id);
  if (it == streams_.end()) return std::nullopt;
  return view_of(it->second);
}

Result<std::vector<StreamView>> MemoryStore::list_streams(
    const std::optional<std::string>& type) const {
  std::vector<StreamView> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(streams_.size());
    for (const auto& [id, e] : streams_) {
      if (!type || e.record.stream_type == *type) out.push_back(view_of(e));
    }
  }
  sort_for_listing(out);
  return out;
}

Result<StreamJsonPage> MemoryStore::list_stream_json(const std::optional<std::string>& type,
                                                     std::size_t offset,
                                                     std::optional<std::size_t> limit) const {
  // Texts missing from the cache are serialized outside the lock, then cached if the stream did
  // not change meanwhile.
  struct Missing {
    std::size_t slot;
    std::string id;
    std::uint64_t version;
    StreamView view;
  };
  StreamJsonPage page;
  std::vector<Missing> missing;
  {
    std::lock_guard lock(mutex_);
    std::size_t skipped = 0;
    for (const auto& [key, entry] : listing_) {
      if (type && entry->record.stream_type != *type) continue;
      ++page.total;
      if (skipped < offset) {
        ++skipped;
        continue;
      }
      if (limit && page.items.size() >= *limit) {
        if (!type) break;  // the total is streams_.size()
        continue;
      }
      if (!entry->json)
        missing.push_back({page.items.size(), key.second, entry->version, view_of(*entry)});
      page.items.push_back(entry->json);
    }
    if (!type) page.total = streams_.size();
  }
  if (missing.empty()) return page;
  for (auto& m : missing) {
    page.items[m.slot] =
        std::make_shared<const std::string>(boost::json::serialize(to_json(m.view)));
  }
  std::lock_guard lock(mutex_);
  for (const auto& m : missing) {
    auto it = streams_.find(m.id);
    if (it != streams_.end() && it->second.version == m.version)
      it->second.json = page.items[m.slot];
  }
  return page;
}

Result<std::size_t> MemoryStore::stream_count() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

Result<std::optional<TouchedStream>> MemoryStore::touch_stream(const std::string& id, WallTime now,
                                                               MonoTime deadline) {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(id);
  if (it == streams_.end()) return std::nullopt;
  it->second.record.last_heartbeat = now;
  it->second.changed();
  set_deadline(Kind::kStream, id, it->second.deadline, deadline);
  return TouchedStream{it->second.record.stream_type, std::nullopt};
}

RemovedStream MemoryStore::remove_stream_locked(
    std::unordered_map<std::string, StreamEntry>::iterator it) {
  RemovedStream removed;
  for (const auto& sid : it->second.sessions) {
    if (auto s = sessions_.find(sid); s != sessions_.end()) {
      deadlines_.erase(DeadlineKey{s->second.deadline, Kind::kSession, sid});
      removed.sessions.push_back(std::move(s->second.record));
      sessions_.erase(s);
    }
  }
  for (const auto& sid : it->second.subscribers) {
    if (auto s = subscribers_.find(sid); s != subscribers_.end()) {
      deadlines_.erase(DeadlineKey{s->second.deadline, Kind::kSubscriber, sid});
      removed.subscribers.push_back(std::move(s->second.record));
      subscribers_.erase(s);
    }
  }
  deadlines_.erase(DeadlineKey{it->second.deadline, Kind::kStream, it->first});
  listing_.erase(ListingKey{it->second.record.advertised_at, it->first});
  removed.stream = std::move(it->second.record);
  streams_.erase(it);
  return removed;
}

Result<std::optional<RemovedStream>> MemoryStore::remove_stream(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = streams_.find(id);
  if (it == streams_.end()) return std::nullopt;
  return remove_stream_locked(it);
}

Status MemoryStore::put_session(const SessionRecord& session, MonoTime deadline) {
  std::lock_guard lock(mutex_);
  auto stream = streams_.find(session.stream_id);
  if (stream == streams_.end()) return fail(Error::not_found("Stream not found or expired"));
  if (stream->second.sessions.insert(session.session_id).second) stream->second.changed();
  upsert(sessions_, Kind::kSession, session.session_id, session, deadline);
  return {};
}

Result<std::optional<SessionRecord>> MemoryStore::get_session(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second.record;
}

Result<std::vector<SessionRecord>> MemoryStore::list_sessions(
    const std::optional<std::string>& stream_id) const {
  std::vector<SessionRecord> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, e] : sessions_) {
      if (!stream_id || e.record.stream_id == *stream_id) out.push_back(e.record);
    }
  }
  sort_for_listing(out);
  return out;
}

Result<std::optional<SessionRecord>> MemoryStore::touch_session(const std::string& id, WallTime now,
                                                                MonoTime deadline,
                                                                std::optional<std::int64_t> bytes) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  it->second.record.last_heartbeat = now;
  if (bytes) it->second.record.bytes_transferred = *bytes;
  set_deadline(Kind::kSession, id, it->second.deadline, deadline);
  return it->second.record;
}

SessionRecord MemoryStore::remove_session_locked(
    std::unordered_map<std::string, SessionEntry>::iterator it) {
  if (auto stream = streams_.find(it->second.record.stream_id); stream != streams_.end()) {
    if (stream->second.sessions.erase(it->first) > 0) stream->second.changed();
  }
  deadlines_.erase(DeadlineKey{it->second.deadline, Kind::kSession, it->first});
  SessionRecord record = std::move(it->second.record);
  sessions_.erase(it);
  return record;
}

Result<std::optional<SessionRecord>> MemoryStore::remove_session(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return remove_session_locked(it);
}

Status MemoryStore::put_subscriber(const SubscriberRecord& subscriber, MonoTime deadline) {
  std::lock_guard lock(mutex_);
  auto stream = streams_.find(subscriber.stream_id);
  if (stream == streams_.end()) return fail(Error::bad_request("Stream not found or expired"));
  if (stream->second.subscribers.insert(subscriber.subscriber_id).second) {
    stream->second.changed();
  }
  upsert(subscribers_, Kind::kSubscriber, subscriber.subscriber_id, subscriber, deadline);
  return {};
}

Result<std::vector<SubscriberRecord>> MemoryStore::list_subscribers(
    const std::optional<std::string>& stream_id) const {
  std::vector<SubscriberRecord> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, e] : subscribers_) {
      if (!stream_id || e.record.stream_id == *stream_id) out.push_back(e.record);
    }
  }
  sort_for_listing(out);
  return out;
}

Result<bool> MemoryStore::touch_subscriber(const std::string& id, WallTime now, MonoTime deadline) {
  std::lock_guard lock(mutex_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return false;
  it->second.record.last_heartbeat = now;
  set_deadline(Kind::kSubscriber, id, it->second.deadline, deadline);
  return true;
}

SubscriberRecord MemoryStore::remove_subscriber_locked(
    std::unordered_map<std::string, SubscriberEntry>::iterator it) {
  if (auto stream = streams_.find(it->second.record.stream_id); stream != streams_.end()) {
    if (stream->second.subscribers.erase(it->first) > 0) stream->second.changed();
  }
  deadlines_.erase(DeadlineKey{it->second.deadline, Kind::kSubscriber, it->first});
  SubscriberRecord record = std::move(it->second.record);
  subscribers_.erase(it);
  return record;
}

Result<std::optional<SubscriberRecord>> MemoryStore::remove_subscriber(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return std::nullopt;
  return remove_subscriber_locked(it);
}

Result<std::vector<StreamTypeRecord>> MemoryStore::list_types() const {
  std::lock_guard lock(mutex_);
  std::vector<StreamTypeRecord> out;
  for (const auto& [name, t] : types_)
    out.push_back(t);
  return out;
}

Result<std::optional<StreamTypeRecord>> MemoryStore::get_type(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = types_.find(name);
  if (it == types_.end()) return std::nullopt;
  return it->second;
}

Status MemoryStore::insert_type(const StreamTypeRecord& type) {
  std::lock_guard lock(mutex_);
  if (types_.contains(type.name)) {
    return fail(Error::conflict("Stream type '" + type.name + "' already exists"));
  }
  if (auto ok = journal([&](StoreJournal& j) { return j.save_type(type); }); !ok) return ok;
  types_.emplace(type.name, type);
  return {};
}

Status MemoryStore::replace_type(const StreamTypeRecord& type) {
  std::lock_guard lock(mutex_);
  if (auto ok = journal([&](StoreJournal& j) { return j.save_type(type); }); !ok) return ok;
  types_[type.name] = type;
  return {};
}

Status MemoryStore::remove_type(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = types_.find(name);
  if (it == types_.end()) return fail(Error::not_found("Stream type '" + name + "' not found"));
  auto live = std::count_if(streams_.begin(), streams_.end(),
                            [&](const auto& s) { return s.second.record.stream_type == name; });
  if (live > 0) {
    return fail(Error::conflict("Stream type '" + name + "' is used by " + std::to_string(live) +
                                " live stream(s)"));
  }
  if (auto ok = journal([&](StoreJournal& j) { return j.drop_type(name); }); !ok) return ok;
  types_.erase(it);
  return {};
}

Result<ExpiredBatch> MemoryStore::take_expired(MonoTime now) {
  ExpiredBatch batch;
  std::lock_guard lock(mutex_);
  while (!deadlines_.empty()) {
    auto first = deadlines_.begin();
    auto [deadline, kind, id] = *first;
    if (deadline > now) break;
    switch (kind) {
      case Kind::kStream:
        batch.streams.push_back(remove_stream_locked(streams_.find(id)));
        break;
      case Kind::kSession:
        batch.sessions.push_back(remove_session_locked(sessions_.find(id)));
        break;
      case Kind::kSubscriber:
        batch.subscribers.push_back(remove_subscriber_locked(subscribers_.find(id)));
        break;
    }
  }
  return batch;
}

Result<TypeCounts> MemoryStore::counts() const {
  TypeCounts c;
  std::lock_guard lock(mutex_);
  for (const auto& [id, e] : streams_)
    ++c.streams[e.record.stream_type];
  for (const auto& [id, e] : sessions_)
    ++c.sessions[e.record.stream_type];
  for (const auto& [id, e] : subscribers_)
    ++c.subscribers[e.record.stream_type];
  return c;
}

}  // namespace sluice::registry

namespace sluice::registry {

MemoryStore::MemoryStore(StoreJournal* journal, JournalContents contents) : journal_(journal) {
  for (auto& k : contents.keys) {
    if (k.alias) key_aliases_.emplace(*k.alias, k.id);
    keys_by_stream_.emplace(k.stream, k.id);
    keys_.emplace(k.id, std::move(k));
  }
  for (auto& t : contents.types)
    types_[t.name] = std::move(t);
  for (auto& [id, owner] : contents.owners)
    owners_.emplace(std::move(id), std::move(owner));
}

Result<std::optional<SubscriberRecord>> MemoryStore::get_subscriber(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return std::nullopt;
  return it->second.record;
}

Result<std::string> MemoryStore::bind_owner(const std::string& stream_id,
                                            const std::string& owner) {
  std::lock_guard lock(mutex_);
  if (auto it = owners_.find(stream_id); it != owners_.end()) return it->second;
  if (owners_.size() >= kMaxOwners) {
    // Bounded: forget the bindings of streams that are not live (their owners may lose a name
    // they have not used for a while, never a live stream's).
    for (auto it = owners_.begin(); it != owners_.end();) {
      if (streams_.contains(it->first) ||
          !journal([&](StoreJournal& j) { return j.drop_owner(it->first); })) {
        ++it;
      } else {
        it = owners_.erase(it);
      }
    }
    if (owners_.size() >= kMaxOwners) {
      return fail(
          Error{507, "too many stream owners stored (" + std::to_string(kMaxOwners) + ")", {}});
    }
  }
  if (auto ok = journal([&](StoreJournal& j) { return j.save_owner(stream_id, owner); }); !ok) {
    return fail(ok.error());
  }
  return owners_.emplace(stream_id, owner).first->second;
}

Result<std::optional<std::string>> MemoryStore::get_owner(const std::string& stream_id) const {
  std::lock_guard lock(mutex_);
  auto it = owners_.find(stream_id);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

Result<std::size_t> MemoryStore::count_owned_streams(const std::string& owner) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(streams_.begin(), streams_.end(),
                    [&](const auto& kv) { return kv.second.record.owner == owner; }));
}

Status MemoryStore::release_owner(const std::string& stream_id) {
  std::lock_guard lock(mutex_);
  if (!owners_.contains(stream_id)) return {};
  if (auto ok = journal([&](StoreJournal& j) { return j.drop_owner(stream_id); }); !ok) return ok;
  owners_.erase(stream_id);
  return {};
}

}  // namespace sluice::registry
