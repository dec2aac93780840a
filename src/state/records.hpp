#pragma once
// Records: the durable home of small records by kind and id — users, tokens, roles, settings —
// each a JSON text owned by the module that wrote it (auth::Directory, settings::Settings).
// Two homes: the embedded StateDb (one SQLite file, one node) and redis::RedisRecords (one Redis
// database every node of a cluster shares). A put or remove is durable before it returns, so an
// answer never acknowledges what a crash could lose. version() changes whenever a record changes
// anywhere; a node whose home is shared polls it (state::RecordsSync) to reload what another node
// changed. Implementations are thread-safe.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace sluice::state {

class Records {
 public:
  virtual ~Records() = default;

  // Inserts or replaces one record. An error names the home.
  virtual Status put(std::string_view kind, std::string_view id, std::string_view json) = 0;
  // Removes one record (absent is fine).
  virtual Status remove(std::string_view kind, std::string_view id) = 0;
  // Every record of a kind, ordered by id.
  virtual Result<std::vector<std::pair<std::string, std::string>>> load(
      std::string_view kind) const = 0;
  // A number that changes whenever a record changes, here or (when shared) on another node.
  virtual Result<std::uint64_t> version() const = 0;
  // Where the records live, for messages: "state database /data/state.db", "Redis host:6379/0".
  virtual std::string describe() const = 0;
  // Whether other processes change these records too (then version() is worth polling, and
  // an unreachable home at start is waited for rather than fatal).
  virtual bool shared() const { return false; }
};

}  // namespace sluice::state
