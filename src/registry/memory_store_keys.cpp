// MemoryStore: the stream-key half (issue 4). Same rule as the rest of the store: one mutex,
// held for one operation.
#include <algorithm>

#include "registry/memory_store.hpp"

namespace sluice::registry {

Status MemoryStore::put_key(const KeyRecord& key, std::size_t max_keys) {
  std::lock_guard lock(mutex_);
  if (keys_.size() >= max_keys) {
    return fail(Error{507,
                      "too many stream keys (limit " + std::to_string(max_keys) +
                          "); revoke unused keys, they are purged 24 h later",
                      {}});
  }
  if (keys_.contains(key.id)) return fail(Error::conflict("key id " + key.id + " is taken"));
  if (key.alias && key_aliases_.contains(*key.alias)) {
    return fail(Error::conflict("alias '" + *key.alias + "' is already used by another key"));
  }
  if (auto ok = journal([&](StoreJournal& j) { return j.save_key(key); }); !ok) return ok;
  keys_.emplace(key.id, key);
  if (key.alias) key_aliases_.emplace(*key.alias, key.id);
  keys_by_stream_.emplace(key.stream, key.id);
  return {};
}

Result<std::optional<KeyRecord>> MemoryStore::get_key(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = keys_.find(id);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

Result<std::optional<std::string>> MemoryStore::find_key_id_by_alias(
    const std::string& alias) const {
  std::lock_guard lock(mutex_);
  auto it = key_aliases_.find(alias);
  if (it == key_aliases_.end()) return std::nullopt;
  return it->second;
}

Result<std::vector<KeyRecord>> MemoryStore::list_keys() const {
  std::vector<KeyRecord> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(keys_.size());
    for (const auto& [id, k] : keys_)
      out.push_back(k);
  }
  sort_for_listing(out);
  return out;
}

Result<std::vector<KeyRecord>> MemoryStore::keys_of_stream(const std::string& stream) const {
  std::vector<KeyRecord> out;
  std::lock_guard lock(mutex_);
  auto [first, last] = keys_by_stream_.equal_range(stream);
  for (auto it = first; it != last; ++it) {
    if (auto k = keys_.find(it->second); k != keys_.end()) out.push_back(k->second);
  }
  return out;
}

Result<KeyRecord> MemoryStore::update_key(const std::string& id,
                                          const std::function<Status(KeyRecord&)>& change) {
  std::lock_guard lock(mutex_);
  auto it = keys_.find(id);
  if (it == keys_.end()) return fail(Error::not_found("no stream key with id " + id));
  KeyRecord copy = it->second;
  if (auto ok = change(copy); !ok) return fail(ok.error());
  // The indexes are keyed by these; a change must not move them.
  copy.id = it->second.id;
  copy.alias = it->second.alias;
  copy.stream = it->second.stream;
  if (auto ok = journal([&](StoreJournal& j) { return j.save_key(copy); }); !ok) {
    return fail(ok.error());
  }
  it->second = copy;
  return copy;
}

Result<std::size_t> MemoryStore::purge_keys(WallTime cutoff) {
  std::lock_guard lock(mutex_);
  std::size_t removed = 0;
  for (auto it = keys_.begin(); it != keys_.end();) {
    const KeyRecord& k = it->second;
    bool dead =
        (k.revoked_at && *k.revoked_at < cutoff) || (k.expires_at && *k.expires_at < cutoff);
    if (!dead || !journal([&](StoreJournal& j) { return j.drop_key(k.id); })) {
      ++it;
      continue;
    }
    if (k.alias) key_aliases_.erase(*k.alias);
    auto [first, last] = keys_by_stream_.equal_range(k.stream);
    for (auto s = first; s != last; ++s) {
      if (s->second == k.id) {
        keys_by_stream_.erase(s);
        break;
      }
    }
    it = keys_.erase(it);
    ++removed;
  }
  return removed;
}

}  // namespace sluice::registry
