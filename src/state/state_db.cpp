#include "state/state_db.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>

namespace sluice::state {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at REAL NOT NULL DEFAULT (julianday('now')),
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
)sql";

struct Statement {
  sqlite3_stmt* stmt = nullptr;
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr); }
  ~Statement() { sqlite3_finalize(stmt); }
  void bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
};

std::string column_text(sqlite3_stmt* stmt, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)))
           : std::string();
}

}  // namespace

StateDb::StateDb(const std::string& path) : path_(path) {
  if (path != ":memory:") {
    auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("state database " + path + ": " + why);
  }
  sqlite3_busy_timeout(db_, 2000);
  char* err = nullptr;
  // WAL + NORMAL: each commit is in the WAL file before it returns, so it survives the process
  // being killed (only a power cut may lose the last commits).
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema}) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string why = err ? err : "unknown error";
      sqlite3_free(err);
      sqlite3_close(db_);
      db_ = nullptr;
      throw std::runtime_error("state database " + path + ": " + why);
    }
  }
  if (path != ":memory:") std::filesystem::permissions(path, std::filesystem::perms(0600));
}

StateDb::~StateDb() {
  sqlite3_close(db_);
}

Status StateDb::exec_bound(const char* sql, std::initializer_list<std::string_view> args) {
  std::lock_guard lock(mutex_);
  Statement st(db_, sql);
  int i = 1;
  for (auto a : args)
    st.bind(i++, a);
  if (!st.stmt || sqlite3_step(st.stmt) != SQLITE_DONE) {
    return fail(Error::internal("state database " + path_ + ": " + sqlite3_errmsg(db_)));
  }
  return {};
}

Status StateDb::put(std::string_view kind, std::string_view id, std::string_view json) {
  ++changes_;
  return exec_bound(
      "INSERT INTO records(kind, id, body, updated_at) VALUES (?1, ?2, ?3, julianday('now')) "
      "ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
      {kind, id, json});
}

Status StateDb::remove(std::string_view kind, std::string_view id) {
  ++changes_;
  return exec_bound("DELETE FROM records WHERE kind = ?1 AND id = ?2", {kind, id});
}

Result<std::vector<std::pair<std::string, std::string>>> StateDb::load(
    std::string_view kind) const {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT id, body FROM records WHERE kind = ?1 ORDER BY id");
  if (!st.stmt)
    return fail(Error::internal("state database " + path_ + ": " + sqlite3_errmsg(db_)));
  st.bind(1, kind);
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = sqlite3_step(st.stmt)) == SQLITE_ROW)
    out.emplace_back(column_text(st.stmt, 0), column_text(st.stmt, 1));
  if (rc != SQLITE_DONE) {
    return fail(Error::internal("state database " + path_ + ": " + sqlite3_errmsg(db_)));
  }
  return out;
}

}  // namespace sluice::state
