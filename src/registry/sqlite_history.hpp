#pragma once
// History in SQLite (WAL mode). One connection guarded by a mutex; statements are prepared once.
// A write failure is logged and counted, never thrown: history must not break the registry.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "registry/history.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace sluice::registry {

class SqliteHistory final : public History {
 public:
  // `path` is a file (its directory is created) or ":memory:". Throws std::runtime_error when
  // the database cannot be opened — a start-up error.
  explicit SqliteHistory(const std::string& path);
  ~SqliteHistory() override;

  void session_started(const SessionRecord& session) override;
  void session_bytes(const std::string& session_id, std::int64_t bytes) override;
  void session_ended(const SessionRecord& session, const std::string& status,
                     WallTime ended_at) override;
  void subscriber_joined(const SubscriberRecord& subscriber) override;
  void subscriber_left(const SubscriberRecord& subscriber, const std::string& status,
                       WallTime left_at) override;
  Result<std::vector<SessionHistoryRow>> query_sessions(const HistoryQuery& query) override;
  std::string problem() const override;
  void records_seen(const std::vector<SessionRecord>& sessions,
                    const std::vector<SubscriberRecord>& subscribers) override;
  Result<std::size_t> close_interrupted() override;

 private:
  struct Statement;
  void exec(const char* sql);
  void record_failure(const char* what);

  mutable std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statement> insert_session_, update_bytes_, end_session_, insert_subscriber_,
      end_subscriber_;
  std::string last_error_;
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace sluice::registry
