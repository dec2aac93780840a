#pragma once
// RedisStore: the registry in Redis, shared by every node of a cluster (`--store redis://`). Keys
// and hashes follow Maestra's layout (record_codec.hpp), so a Maestra Fleet Manager and sluice
// nodes can read the same database. Every operation is one Lua script (store_scripts.hpp): index
// sets stay exact, and take_expired() hands each expired record to exactly one node.
//
// Deadlines: the Registry passes monotonic deadlines; the store keeps only their distance from
// now (the TTL) and lets the Redis server's clock decide when a record is due, so nodes need no
// synchronised clocks. take_expired(now) therefore ignores `now`.
//
// Failure: while Redis is unreachable every call fails at once with 503 naming the server (the
// client's backoff bounds the reconnect attempts); nothing is cached or queued, so a node never
// answers from stale state. Thread-safe: calls spread over a small pool of connections.
#include <atomic>
#include <memory>
#include <vector>

#include "core/clock.hpp"
#include "redis/redis_client.hpp"
#include "registry/store.hpp"

namespace sluice::redis {

struct RedisStoreOptions {
  std::size_t connections = 4;
  // Extra Redis TTL on each hash beyond its deadline: only matters when no node sweeps.
  std::chrono::milliseconds grace{60'000};
  std::size_t expiry_batch = 1000;  // records per take_expired round trip
  ClientOptions client;
};

class RedisStore final : public registry::RegistryStore {
 public:
  RedisStore(const Endpoint& endpoint, const Clock& clock, RedisStoreOptions options = {});

  Status put_stream(const registry::StreamRecord& stream, MonoTime deadline) override;
  Result<std::optional<registry::StreamView>> get_stream(const std::string& id) const override;
  Result<std::vector<registry::StreamView>> list_streams(
      const std::optional<std::string>& type) const override;
  Result<std::optional<registry::TouchedStream>> touch_stream(const std::string& id, WallTime now,
                                                              MonoTime deadline) override;
  Result<std::optional<registry::RemovedStream>> remove_stream(const std::string& id) override;

  Status put_session(const registry::SessionRecord& session, MonoTime deadline) override;
  Result<std::optional<registry::SessionRecord>> get_session(const std::string& id) const override;
  Result<std::vector<registry::SessionRecord>> list_sessions(
      const std::optional<std::string>& stream_id) const override;
  Result<std::optional<registry::SessionRecord>> touch_session(
      const std::string& id, WallTime now, MonoTime deadline,
      std::optional<std::int64_t> bytes) override;
  Result<std::optional<registry::SessionRecord>> remove_session(const std::string& id) override;

  Status put_subscriber(const registry::SubscriberRecord& subscriber, MonoTime deadline) override;
  Result<std::vector<registry::SubscriberRecord>> list_subscribers(
      const std::optional<std::string>& stream_id) const override;
  Result<bool> touch_subscriber(const std::string& id, WallTime now, MonoTime deadline) override;
  Result<std::optional<registry::SubscriberRecord>> get_subscriber(
      const std::string& id) const override;
  Result<std::string> bind_owner(const std::string& stream_id, const std::string& owner) override;
  Result<std::optional<std::string>> get_owner(const std::string& stream_id) const override;
  Result<std::size_t> count_owned_streams(const std::string& owner) const override;
  Status release_owner(const std::string& stream_id) override;
  Result<std::optional<registry::SubscriberRecord>> remove_subscriber(
      const std::string& id) override;

  Result<std::vector<registry::StreamTypeRecord>> list_types() const override;
  Result<std::optional<registry::StreamTypeRecord>> get_type(
      const std::string& name) const override;
  Status insert_type(const registry::StreamTypeRecord& type) override;
  Status replace_type(const registry::StreamTypeRecord& type) override;
  Status remove_type(const std::string& name) override;

  Result<registry::ExpiredBatch> take_expired(MonoTime now) override;
  Result<registry::TypeCounts> counts() const override;

  Status put_key(const registry::KeyRecord& key, std::size_t max_keys) override;
  Result<std::optional<registry::KeyRecord>> get_key(const std::string& id) const override;
  Result<std::optional<std::string>> find_key_id_by_alias(const std::string& alias) const override;
  Result<std::vector<registry::KeyRecord>> list_keys() const override;
  Result<std::vector<registry::KeyRecord>> keys_of_stream(const std::string& stream) const override;
  Result<registry::KeyRecord> update_key(
      const std::string& id, const std::function<Status(registry::KeyRecord&)>& change) override;
  Result<std::size_t> purge_keys(WallTime cutoff) override;

  std::string problem() const override;

 private:
  RedisClient& client() const;
  // Runs a script; a Redis error reply becomes a 502 naming the server.
  Result<Reply> run(const Script& script, std::vector<std::string> keys,
                    std::vector<std::string> args) const;
  Result<Reply> call(std::vector<std::string> args) const;
  // Every call reports here: after a failure, the first success lets the other connections of
  // the pool reconnect at once instead of each waiting out its own backoff.
  template <class T>
  const Result<T>& note(const Result<T>& outcome) const {
    if (!outcome) {
      failing_.store(true, std::memory_order_relaxed);
    } else if (failing_.exchange(false, std::memory_order_relaxed)) {
      for (const auto& c : clients_)
        c->retry_now();
    }
    return outcome;
  }
  std::string ttl_ms(MonoTime deadline) const;
  Error broken(const std::string& what) const;

  Endpoint endpoint_;
  const Clock& clock_;
  RedisStoreOptions options_;
  std::vector<std::unique_ptr<RedisClient>> clients_;
  mutable std::atomic<std::size_t> next_client_{0};
  mutable std::atomic<bool> failing_{false};
};

}  // namespace sluice::redis
