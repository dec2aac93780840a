#pragma once
// StateDb: the embedded daemon's durable state — one SQLite file (<data-dir>/state.db) holding
// small records by kind ("user", "token", "role", "setting", "key", "type", "owner") and id, each
// a JSON text owned by the module that wrote it. A put or remove is committed (WAL) before it
// returns, so a `kill -9` after an answer loses nothing that answer acknowledged.
// The Records home of a node without Redis. Thread-safe: one connection behind a mutex held
// for one statement.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "state/records.hpp"

struct sqlite3;

namespace sluice::state {

class StateDb final : public Records {
 public:
  // Opens (creating) the file; ":memory:" keeps everything in this process (tests, no data-dir).
  // Throws std::runtime_error when the file cannot be opened or is not a state database.
  explicit StateDb(const std::string& path);
  ~StateDb() override;
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  // Inserts or replaces one record. 500 naming the file when the disk refuses.
  Status put(std::string_view kind, std::string_view id, std::string_view json) override;
  // Removes one record (absent is fine).
  Status remove(std::string_view kind, std::string_view id) override;
  // Every record of a kind, ordered by id.
  Result<std::vector<std::pair<std::string, std::string>>> load(
      std::string_view kind) const override;
  // Counts this process's changes (nothing else writes the file while sluiced runs).
  Result<std::uint64_t> version() const override { return changes_.load(); }
  std::string describe() const override { return "state database " + path_; }

  const std::string& path() const { return path_; }

 private:
  Status exec_bound(const char* sql, std::initializer_list<std::string_view> args);

  std::string path_;
  mutable std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::atomic<std::uint64_t> changes_{0};
};

}  // namespace sluice::state
