#include "registry/sqlite_history.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>

#include "core/json_text.hpp"
#include "core/time_format.hpp"

namespace sluice::registry {

// A prepared statement that resets itself after each use.
struct SqliteHistory::Statement {
  sqlite3_stmt* stmt = nullptr;
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("history: cannot prepare statement: ") +
                               sqlite3_errmsg(db));
    }
  }
  ~Statement() { sqlite3_finalize(stmt); }
  void bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, double d) { sqlite3_bind_double(stmt, i, d); }
  void bind(int i, std::int64_t n) { sqlite3_bind_int64(stmt, i, n); }
  void bind(int i, int n) { sqlite3_bind_int(stmt, i, n); }
  bool run() {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc == SQLITE_DONE;
  }
};

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS stream_sessions (
  time REAL NOT NULL,
  session_id TEXT PRIMARY KEY,
  stream_id TEXT NOT NULL,
  stream_name TEXT NOT NULL,
  stream_type TEXT NOT NULL,
  publisher_id TEXT NOT NULL,
  publisher_address TEXT,
  consumer_id TEXT NOT NULL,
  consumer_address TEXT,
  protocol TEXT,
  transport_config TEXT,
  status TEXT NOT NULL DEFAULT 'active',
  ended_at REAL,
  duration_seconds REAL,
  bytes_transferred INTEGER NOT NULL DEFAULT 0,
  error_message TEXT
);
CREATE INDEX IF NOT EXISTS stream_sessions_stream ON stream_sessions(stream_id, time DESC);
CREATE INDEX IF NOT EXISTS stream_sessions_publisher ON stream_sessions(publisher_id, time DESC);
CREATE INDEX IF NOT EXISTS stream_sessions_consumer ON stream_sessions(consumer_id, time DESC);
CREATE INDEX IF NOT EXISTS stream_sessions_time ON stream_sessions(time DESC);
CREATE TABLE IF NOT EXISTS stream_subscribers (
  time REAL NOT NULL,
  subscriber_id TEXT PRIMARY KEY,
  stream_id TEXT NOT NULL,
  stream_name TEXT NOT NULL,
  stream_type TEXT NOT NULL,
  publisher_id TEXT,
  consumer_id TEXT NOT NULL,
  consumer_address TEXT,
  multicast_group TEXT,
  multicast_port INTEGER,
  status TEXT NOT NULL DEFAULT 'active',
  left_at REAL,
  duration_seconds REAL,
  metadata TEXT
);
)sql";

}  // namespace

SqliteHistory::SqliteHistory(const std::string& path) {
  if (path != ":memory:") {
    auto dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec)
      throw std::runtime_error("history: cannot create directory " + dir.string() + ": " +
                               ec.message());
  }
  if (sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("history: cannot open '" + path + "': " + msg);
  }
  sqlite3_busy_timeout(db_, 2000);
  exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  exec(kSchema);
  // last_seen (unix seconds): when the record was last known alive; added to older files.
  for (const char* table : {"stream_sessions", "stream_subscribers"}) {
    std::string add = std::string("ALTER TABLE ") + table + " ADD COLUMN last_seen REAL";
    sqlite3_exec(db_, add.c_str(), nullptr, nullptr, nullptr);  // fails once it exists: fine
  }
  insert_session_ = std::make_unique<Statement>(db_, R"sql(
    INSERT OR REPLACE INTO stream_sessions (time, session_id, stream_id, stream_name, stream_type,
      publisher_id, publisher_address, consumer_id, consumer_address, protocol, transport_config,
      status, bytes_transferred) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,'active',?12))sql");
  update_bytes_ = std::make_unique<Statement>(
      db_, "UPDATE stream_sessions SET bytes_transferred = ?2 WHERE session_id = ?1");
  end_session_ = std::make_unique<Statement>(db_, R"sql(
    UPDATE stream_sessions SET status = ?2, ended_at = ?3, duration_seconds = ?3 - time,
      bytes_transferred = MAX(bytes_transferred, ?4) WHERE session_id = ?1 AND ended_at IS NULL)sql");
  insert_subscriber_ = std::make_unique<Statement>(db_, R"sql(
    INSERT OR REPLACE INTO stream_subscribers (time, subscriber_id, stream_id, stream_name,
      stream_type, publisher_id, consumer_id, consumer_address, multicast_group, multicast_port,
      status, metadata) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,'active',?11))sql");
  end_subscriber_ = std::make_unique<Statement>(db_, R"sql(
    UPDATE stream_subscribers SET status = ?2, left_at = ?3, duration_seconds = ?3 - time
      WHERE subscriber_id = ?1 AND left_at IS NULL)sql");
}

SqliteHistory::~SqliteHistory() {
  insert_session_.reset();
  update_bytes_.reset();
  end_session_.reset();
  insert_subscriber_.reset();
  end_subscriber_.reset();
  sqlite3_close(db_);
}

void SqliteHistory::records_seen(const std::vector<SessionRecord>& sessions,
                                 const std::vector<SubscriberRecord>& subscribers) {
  if (sessions.empty() && subscribers.empty()) return;
  std::lock_guard lock(mutex_);
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  Statement s(
      db_, "UPDATE stream_sessions SET last_seen = ?2 WHERE session_id = ?1 AND ended_at IS NULL");
  for (const auto& r : sessions) {
    s.bind(1, r.session_id);
    s.bind(2, to_unix_seconds(r.last_heartbeat));
    if (!s.run()) record_failure("session seen");
  }
  Statement b(
      db_,
      "UPDATE stream_subscribers SET last_seen = ?2 WHERE subscriber_id = ?1 AND left_at IS NULL");
  for (const auto& r : subscribers) {
    b.bind(1, r.subscriber_id);
    b.bind(2, to_unix_seconds(r.last_heartbeat));
    if (!b.run()) record_failure("subscriber seen");
  }
  sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
}

Result<std::size_t> SqliteHistory::close_interrupted() {
  std::lock_guard lock(mutex_);
  std::size_t closed = 0;
  for (const char* sql :
       {"UPDATE stream_sessions SET status = 'interrupted', ended_at = COALESCE(last_seen, time), "
        "duration_seconds = COALESCE(last_seen, time) - time WHERE ended_at IS NULL",
        "UPDATE stream_subscribers SET status = 'interrupted', left_at = COALESCE(last_seen, "
        "time), "
        "duration_seconds = COALESCE(last_seen, time) - time WHERE left_at IS NULL"}) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return fail(Error::internal("history: " + msg));
    }
    closed += static_cast<std::size_t>(sqlite3_changes(db_));
  }
  return closed;
}

void SqliteHistory::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("history: " + msg);
  }
}

void SqliteHistory::record_failure(const char* what) {
  failures_.fetch_add(1);
  last_error_ = std::string(what) + ": " + sqlite3_errmsg(db_);
  spdlog::warn("history write failed: {}", last_error_);
}

void SqliteHistory::session_started(const SessionRecord& s) {
  std::lock_guard lock(mutex_);
  auto& st = *insert_session_;
  st.bind(1, to_unix_seconds(s.started_at));
  st.bind(2, s.session_id);
  st.bind(3, s.stream_id);
  st.bind(4, s.stream_name);
  st.bind(5, s.stream_type);
  st.bind(6, s.publisher_id);
  st.bind(7, s.publisher_address);
  st.bind(8, s.consumer_id);
  st.bind(9, s.consumer_address);
  st.bind(10, s.protocol);
  st.bind(11, to_json_text(s.transport_config, DoubleStyle::kKeepKind));
  st.bind(12, s.bytes_transferred);
  if (!st.run()) record_failure("session start");
}

void SqliteHistory::session_bytes(const std::string& session_id, std::int64_t bytes) {
  std::lock_guard lock(mutex_);
  update_bytes_->bind(1, session_id);
  update_bytes_->bind(2, bytes);
  if (!update_bytes_->run()) record_failure("session bytes");
}

void SqliteHistory::session_ended(const SessionRecord& s, const std::string& status,
                                  WallTime ended_at) {
  std::lock_guard lock(mutex_);
  auto& st = *end_session_;
  st.bind(1, s.session_id);
  st.bind(2, status);
  st.bind(3, to_unix_seconds(ended_at));
  st.bind(4, s.bytes_transferred);
  if (!st.run()) record_failure("session end");
}

void SqliteHistory::subscriber_joined(const SubscriberRecord& s) {
  std::lock_guard lock(mutex_);
  auto& st = *insert_subscriber_;
  st.bind(1, to_unix_seconds(s.joined_at));
  st.bind(2, s.subscriber_id);
  st.bind(3, s.stream_id);
  st.bind(4, s.stream_name);
  st.bind(5, s.stream_type);
  st.bind(6, s.publisher_id);
  st.bind(7, s.consumer_id);
  st.bind(8, s.consumer_address);
  st.bind(9, s.multicast_group);
  st.bind(10, s.multicast_port);
  st.bind(11, to_json_text(s.metadata, DoubleStyle::kKeepKind));
  if (!st.run()) record_failure("subscriber join");
}

void SqliteHistory::subscriber_left(const SubscriberRecord& s, const std::string& status,
                                    WallTime left_at) {
  std::lock_guard lock(mutex_);
  auto& st = *end_subscriber_;
  st.bind(1, s.subscriber_id);
  st.bind(2, status);
  st.bind(3, to_unix_seconds(left_at));
  if (!st.run()) record_failure("subscriber leave");
}

Result<std::vector<SessionHistoryRow>> SqliteHistory::query_sessions(const HistoryQuery& q) {
  std::string sql =
      "SELECT time, session_id, stream_id, stream_name, stream_type, publisher_id, consumer_id, "
      "protocol, status, duration_seconds, bytes_transferred, error_message, ended_at "
      "FROM stream_sessions WHERE 1=1";
  std::vector<std::pair<int, std::string>> texts;
  std::vector<std::pair<int, double>> reals;
  int n = 0;
  auto add_text = [&](const char* clause, const std::optional<std::string>& v) {
    if (!v) return;
    sql += clause;
    sql += "?" + std::to_string(++n);
    texts.emplace_back(n, *v);
  };
  add_text(" AND stream_id = ", q.stream_id);
  add_text(" AND publisher_id = ", q.publisher_id);
  add_text(" AND consumer_id = ", q.consumer_id);
  add_text(" AND status = ", q.status);
  if (q.since) {
    sql += " AND time >= ?" + std::to_string(++n);
    reals.emplace_back(n, to_unix_seconds(*q.since));
  }
  if (q.until) {
    sql += " AND time < ?" + std::to_string(++n);
    reals.emplace_back(n, to_unix_seconds(*q.until));
  }
  sql += " ORDER BY time DESC, session_id LIMIT " + std::to_string(q.limit) + " OFFSET " +
         std::to_string(q.offset);

  std::lock_guard lock(mutex_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return fail(Error::internal(std::string("history query failed: ") + sqlite3_errmsg(db_)));
  }
  for (auto& [i, v] : texts)
    sqlite3_bind_text(stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  for (auto& [i, v] : reals)
    sqlite3_bind_double(stmt, i, v);
  std::vector<SessionHistoryRow> rows;
  auto text = [&](int col) {
    auto p = sqlite3_column_text(stmt, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  };
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    SessionHistoryRow r;
    r.time = from_unix_seconds(sqlite3_column_double(stmt, 0));
    r.session_id = text(1);
    r.stream_id = text(2);
    r.stream_name = text(3);
    r.stream_type = text(4);
    r.publisher_id = text(5);
    r.consumer_id = text(6);
    r.protocol = text(7);
    r.status = text(8);
    if (sqlite3_column_type(stmt, 9) != SQLITE_NULL)
      r.duration_seconds = sqlite3_column_double(stmt, 9);
    r.bytes_transferred = sqlite3_column_int64(stmt, 10);
    if (sqlite3_column_type(stmt, 11) != SQLITE_NULL) r.error_message = text(11);
    if (sqlite3_column_type(stmt, 12) != SQLITE_NULL) {
      r.ended_at = from_unix_seconds(sqlite3_column_double(stmt, 12));
    }
    rows.push_back(std::move(r));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return fail(Error::internal("history query failed"));
  return rows;
}

std::string SqliteHistory::problem() const {
  std::lock_guard lock(mutex_);
  return failures_.load() == 0 ? std::string() : last_error_;
}

}  // namespace sluice::registry
