// RedisStore: the stream-key half (issue 4's keys, shared by the nodes). Same rule as the rest:
// one script per write; update_key is an optimistic compare-and-set retried on contention.
#include <algorithm>
#include <random>
#include <thread>
#include <tuple>

#include "redis/record_codec.hpp"
#include "redis/redis_store.hpp"
#include "redis/redis_store_detail.hpp"
#include "redis/store_scripts.hpp"

namespace sluice::redis {

using namespace registry;
using detail::append_pairs;
using detail::hash_of;

namespace {

constexpr int kUpdateAttempts = 50;

// After a lost compare-and-set: a short random pause, growing with the attempts, so two nodes
// bumping the same key (every publish bumps its use count) do not collide again in lock step.
void back_off(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int most_us = 200 * std::min(attempt + 1, 10);
  std::this_thread::sleep_for(std::chrono::microseconds(random() % most_us));
}

Result<std::vector<KeyRecord>> parse_keys(const Reply& r) {
  std::vector<KeyRecord> out;
  for (const auto& h : r.elements) {
    auto k = key_from_hash(hash_of(h));
    if (!k) return fail(k.error());
    out.push_back(std::move(*k));
  }
  sort_for_listing(out);
  return out;
}

}  // namespace

Status RedisStore::put_key(const KeyRecord& key, std::size_t max_keys) {
  std::vector<std::string> args{key.id, key.alias.value_or(""), key.stream,
                                std::to_string(max_keys)};
  append_pairs(args, to_hash(key));
  auto r = run(scripts::put_key(), {stream_key_record_key(key.id)}, std::move(args));
  if (!r) return fail(r.error());
  switch (r->integer) {
    case 1:
      return {};
    case -1:
      return fail(Error::conflict("key id " + key.id + " is taken"));
    case -2:
      return fail(Error{507,
                        "too many stream keys (limit " + std::to_string(max_keys) +
                            "); revoke unused keys, they are purged 24 h later",
                        {}});
    default:
      return fail(
          Error::conflict("alias '" + key.alias.value_or("") + "' is already used by another key"));
  }
}

Result<std::optional<KeyRecord>> RedisStore::get_key(const std::string& id) const {
  auto r = call({"HGETALL", stream_key_record_key(id)});
  if (!r) return fail(r.error());
  if (r->elements.empty()) return std::nullopt;
  auto k = key_from_hash(hash_of(*r));
  if (!k) return fail(broken(k.error().detail));
  return std::optional<KeyRecord>(std::move(*k));
}

Result<std::optional<std::string>> RedisStore::find_key_id_by_alias(
    const std::string& alias) const {
  auto r = call({"GET", key_alias_key(alias)});
  if (!r) return fail(r.error());
  if (r->nil()) return std::nullopt;
  return std::optional<std::string>(r->str);
}

Result<std::vector<KeyRecord>> RedisStore::list_keys() const {
  auto r = run(scripts::list_hashes(), {}, {std::string(kAllKeys), "sluice:key:"});
  if (!r) return fail(r.error());
  auto keys = parse_keys(*r);
  if (!keys) return fail(broken(keys.error().detail));
  return keys;
}

Result<std::vector<KeyRecord>> RedisStore::keys_of_stream(const std::string& stream) const {
  auto r = run(scripts::list_hashes(), {}, {scripts::keys_by_stream_key(stream), "sluice:key:"});
  if (!r) return fail(r.error());
  auto keys = parse_keys(*r);
  if (!keys) return fail(broken(keys.error().detail));
  return keys;
}

Result<KeyRecord> RedisStore::update_key(const std::string& id,
                                         const std::function<Status(KeyRecord&)>& change) {
  const std::string key = stream_key_record_key(id);
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto r = call({"HGETALL", key});
    if (!r) return fail(r.error());
    if (r->elements.empty()) return fail(Error::not_found("no stream key with id " + id));
    Hash before = hash_of(*r);
    auto current = key_from_hash(before);
    if (!current) return fail(broken(current.error().detail));
    KeyRecord edited = *current;
    if (auto ok = change(edited); !ok) return fail(ok.error());
    // The indexes are keyed by these; a change must not move them.
    edited.id = current->id;
    edited.alias = current->alias;
    edited.stream = current->stream;
    std::vector<std::string> args{std::to_string(before.size() * 2)};
    append_pairs(args, before);
    append_pairs(args, to_hash(edited));
    auto set = run(scripts::compare_and_set_hash(), {key}, std::move(args));
    if (!set) return fail(set.error());
    if (set->integer == 1) return edited;
    back_off(attempt);
  }
  return fail(Error::unavailable("stream key " + id + " is being changed by other nodes; retry"));
}

Result<std::size_t> RedisStore::purge_keys(WallTime cutoff) {
  auto keys = list_keys();
  if (!keys) return fail(keys.error());
  std::size_t removed = 0;
  for (const auto& k : *keys) {
    bool dead =
        (k.revoked_at && *k.revoked_at < cutoff) || (k.expires_at && *k.expires_at < cutoff);
    if (!dead) continue;
    auto r = run(scripts::remove_key(), {stream_key_record_key(k.id)}, {k.id});
    if (!r) return fail(r.error());
    removed += static_cast<std::size_t>(r->integer);
  }
  return removed;
}

}  // namespace sluice::redis
