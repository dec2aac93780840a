#pragma once
// RedisRecords: the Records home of a cluster (`--store redis://`): users, tokens, roles and
// settings in one Redis database every node shares, so a token made on one node works on every
// node and a setting changed on one applies on all (each node reloads within a second of the
// change: state::RecordsSync polls version()). Layout: a hash `sluice:records:{kind}` (field: id,
// value: the record's JSON) and a counter `sluice:records:version` incremented by the same Lua
// script as every change. Failure: while Redis is unreachable every call fails at once with 503
// naming the server (redis::RedisClient's contract); nothing is cached here.
#include <memory>

#include "redis/redis_client.hpp"
#include "state/records.hpp"

namespace sluice::redis {

class RedisRecords final : public state::Records {
 public:
  explicit RedisRecords(const Endpoint& endpoint, ClientOptions options = {});

  Status put(std::string_view kind, std::string_view id, std::string_view json) override;
  Status remove(std::string_view kind, std::string_view id) override;
  Result<std::vector<std::pair<std::string, std::string>>> load(
      std::string_view kind) const override;
  Result<std::uint64_t> version() const override;
  std::string describe() const override { return "Redis " + endpoint_.to_string(); }
  bool shared() const override { return true; }

 private:
  Result<Reply> checked(Result<Reply> reply, std::string_view what) const;

  Endpoint endpoint_;
  std::unique_ptr<RedisClient> client_;  // calls are rare (changes, loads, one poll a second)
};

}  // namespace sluice::redis
