#pragma once
// History in PostgreSQL, shared by every node of a cluster (`--history postgres://…`).
//
// Schema: Maestra's `stream_sessions` and `stream_subscribers` (reference §4.3, same columns,
// types and index names), created with IF NOT EXISTS when the connection is (re)established, under
// an advisory lock so nodes starting together do not race. Plain tables: an existing TimescaleDB
// hypertable with that layout is used as it is. A table this class creates also gets a unique
// index on session_id / subscriber_id.
//
// Idempotent across nodes: a row is inserted only when no row has that session (subscriber) id
// (`WHERE NOT EXISTS` plus `ON CONFLICT DO NOTHING`), so a duplicate session_started from a second
// node leaves one row and never reopens an ended session; ends and byte counts update by id.
//
// Threads: any thread. One libpq connection guarded by a mutex, held for one round trip (the
// History contract: writes are synchronous, so a query right after an event sees it). Values are
// always sent as statement parameters. Nothing blocks long: connect_timeout (2 s, libpq's minimum),
// a server-side statement_timeout (2 s), a client-side deadline on every answer (statement timeout
// + 1 s, then the connection is dropped), TCP keepalives and tcp_user_timeout.
//
// Resilience: PostgreSQL being unreachable never throws (only a malformed URL does, at start-up).
// While it is down, problem() says "PostgreSQL HOST:PORT/DB unreachable: <reason>" (never the
// password) and query_sessions fails with 503 naming PostgreSQL. Reconnection happens on a later
// call (any write, query or problem()), no more often than the backoff allows (100 ms doubling to
// 5 s, reset by a successful connect); a connection found broken is retried at once, so a
// restarted server is picked up by the next call. Writes made while it is down are counted as
// failures and kept in a bounded queue (1000 writes, drop-oldest, every drop counted) that is
// replayed in order on reconnect, before anything else runs; writes beyond that bound, writes
// queued in a process that exits, and writes the server rejects (logged, counted) are lost.
// Failures are logged at most once per 10 s.
//
// Input: this component parses no network input beyond libpq's own (result values it asked for,
// read as text), so it has no fuzz target.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registry/history.hpp"

namespace sluice::registry {

struct PostgresHistoryOptions {
  std::chrono::seconds connect_timeout{2};  // libpq rounds below 2 s up to 2 s
  std::chrono::milliseconds statement_timeout{2000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  std::size_t max_pending = 1000;  // writes kept while the server is unreachable
};

// `url` with any password removed (userinfo and a `password=` query parameter), for logs and
// /health: "postgres://u:pw@h:5432/db" → "postgres://u@h:5432/db".
std::string redact_postgres_url(std::string_view url);

// Whether `text` names a PostgreSQL history ("postgres://" or "postgresql://").
bool is_postgres_url(std::string_view text);

class PostgresHistory final : public History {
 public:
  // `url`: postgres[ql]://[USER[:PASSWORD]@][HOST][:PORT][/DB][?libpq parameters]. Throws
  // std::runtime_error when it is malformed; connects at once but does not throw when that fails.
  explicit PostgresHistory(const std::string& url, PostgresHistoryOptions options = {});
  ~PostgresHistory() override;
  PostgresHistory(const PostgresHistory&) = delete;
  PostgresHistory& operator=(const PostgresHistory&) = delete;

  void session_started(const SessionRecord& session) override;
  void session_bytes(const std::string& session_id, std::int64_t bytes) override;
  void session_ended(const SessionRecord& session, const std::string& status,
                     WallTime ended_at) override;
  void subscriber_joined(const SubscriberRecord& subscriber) override;
  void subscriber_left(const SubscriberRecord& subscriber, const std::string& status,
                       WallTime left_at) override;
  Result<std::vector<SessionHistoryRow>> query_sessions(const HistoryQuery& query) override;
  // May try to reconnect (when the backoff allows), so /health recovers without traffic.
  std::string problem() const override;

  // "HOST:PORT/DB", as problem() names the server.
  const std::string& endpoint() const;
  // Writes not applied when made (server unreachable, or rejected by it).
  std::uint64_t failures() const;
  // Writes lost for good (queue overflow, rejected by the server).
  std::uint64_t dropped() const;
  // Writes queued now, waiting for the server.
  std::size_t pending() const;

 private:
  class Link;  // the connection, the queue and the counters (postgres_history.cpp)
  std::unique_ptr<Link> link_;
};

}  // namespace sluice::registry
