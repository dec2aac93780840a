#include "history_pg/postgres_history.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "history_pg/postgres_sql.hpp"

namespace sluice::registry {

namespace {

using SteadyClock = std::chrono::steady_clock;
using Params = std::vector<std::optional<std::string>>;
using namespace postgres_sql;

constexpr auto kLogInterval = std::chrono::seconds(10);
constexpr auto kSchemaTimeout = std::chrono::milliseconds(10'000);
constexpr auto kClientGrace = std::chrono::milliseconds(1000);

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's multi-line messages ("…failed: Connection refused\n\tIs the server running…") on one
// line.
std::string one_line(const char* text) {
  std::string out;
  bool space = false;
  for (const char* p = text ? text : ""; *p; ++p) {
    const char c = *p;
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out.empty() ? std::string("unknown error") : out;
}

std::string timestamp(WallTime t) {
  return format_timestamp(t);  // "…T…ffffffZ": microseconds, as timestamptz keeps them
}

void log_notice(void*, const char* message) {
  std::string m = one_line(message);
  if (m.starts_with("WARNING")) {
    spdlog::warn("history: PostgreSQL says: {}", m);
  } else {
    spdlog::debug("history: PostgreSQL says: {}", m);
  }
}

bool valid_ports(std::string_view ports) {
  while (true) {
    auto comma = ports.find(',');
    std::string_view p = ports.substr(0, comma);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || n == 0 || n > 65535)
      return false;
    if (comma == std::string_view::npos) return true;
    ports.remove_prefix(comma + 1);
  }
}

}  // namespace

bool is_postgres_url(std::string_view text) {
  return text.starts_with("postgres://") || text.starts_with("postgresql://");
}

std::string redact_postgres_url(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, scheme + 3));
  std::string_view rest = url.substr(scheme + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view user_info = authority.substr(0, at);
    out += user_info.substr(0, user_info.find(':'));
    out += authority.substr(at);
  } else {
    out += authority;
  }
  rest.remove_prefix(authority.size());
  const auto query = rest.find('?');
  out += rest.substr(0, query);
  if (query == std::string_view::npos) return out;
  std::string_view params = rest.substr(query + 1);
  char separator = '?';
  while (!params.empty()) {
    const auto amp = params.find('&');
    std::string_view param = params.substr(0, amp);
    if (!param.empty() && !param.starts_with("password=")) {
      out += separator;
      out += param;
      separator = '&';
    }
    if (amp == std::string_view::npos) break;
    params.remove_prefix(amp + 1);
  }
  return out;
}

// The connection, the queue of writes waiting for it, and the counters. Every member below the
// mutex is guarded by it.
class PostgresHistory::Link {
 public:
  struct Write {
    const char* sql;
    const char* what;
    Params params;
  };

  Link(const std::string& url, PostgresHistoryOptions options)
      : options_(options), backoff_(options.backoff_min) {
    if (!is_postgres_url(url)) {
      throw std::runtime_error("history: '" + redact_postgres_url(url) +
                               "' is not a postgres:// or postgresql:// URL");
    }
    char* err = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &err);
    if (!parsed) {
      std::string why = err ? one_line(err) : "out of memory";
      PQfreemem(err);
      throw std::runtime_error("history: bad PostgreSQL URL '" + redact_postgres_url(url) +
                               "': " + why);
    }
    std::string host, port, db, user;
    for (auto* o = parsed; o->keyword; ++o) {
      if (!o->val || !*o->val) continue;
      const std::string_view k = o->keyword;
      keywords_.emplace_back(k);
      values_.emplace_back(o->val);
      if (k == "host" || (k == "hostaddr" && host.empty())) host = o->val;
      if (k == "port") port = o->val;
      if (k == "dbname") db = o->val;
      if (k == "user") user = o->val;
    }
    PQconninfoFree(parsed);
    if (!port.empty() && !valid_ports(port)) {
      throw std::runtime_error("history: bad PostgreSQL URL '" + redact_postgres_url(url) +
                               "': bad port '" + port + "'");
    }
    if (host.empty()) host = "localhost";
    if (host.find(':') != std::string::npos && host.find(',') == std::string::npos)
      host = "[" + host + "]";
    endpoint_ = host + ":" + (port.empty() ? "5432" : port) + "/" +
                (!db.empty()     ? db
                 : !user.empty() ? user
                                 : "postgres");

    // Defaults the URL may override: nothing may block for long.
    auto set_default = [this](const char* key, std::string value) {
      if (std::find(keywords_.begin(), keywords_.end(), key) != keywords_.end()) return;
      keywords_.emplace_back(key);
      values_.push_back(std::move(value));
    };
    set_default("connect_timeout",
                std::to_string(std::max<long long>(2, options_.connect_timeout.count())));
    set_default("keepalives", "1");
    set_default("keepalives_idle", "5");
    set_default("keepalives_interval", "2");
    set_default("keepalives_count", "3");
    set_default("tcp_user_timeout",
                std::to_string((options_.statement_timeout + kClientGrace).count()));
    set_default("application_name", "sluiced");

    std::lock_guard lock(mutex_);
    ensure_connected();  // logs when it fails; later calls retry
  }

  ~Link() {
    std::lock_guard lock(mutex_);
    if (conn_) PQfinish(conn_);
    if (!pending_.empty()) {
      spdlog::warn("history: {} writes to PostgreSQL {} were never applied (server unreachable)",
                   pending_.size(), endpoint_);
    }
  }

  void write(Write w) {
    std::lock_guard lock(mutex_);
    // A second round when the connection turned out broken: a restarted server is reached at once.
    for (int round = 0; round < 2; ++round) {
      if (!ensure_connected()) break;
      if (apply(w) != Outcome::kLost) return;
    }
    failures_.fetch_add(1);
    log_failure(unreachable() + "; " + w.what + " queued");
    enqueue(std::move(w));
  }

  Result<std::vector<SessionHistoryRow>> query(const std::string& sql, const Params& params) {
    std::lock_guard lock(mutex_);
    for (int round = 0; round < 2; ++round) {
      if (!ensure_connected()) break;
      ResultPtr result;
      std::string error;
      const auto outcome = run(sql.c_str(), &params, options_.statement_timeout, result, error);
      if (outcome == Outcome::kOk) return rows(result.get());
      if (outcome == Outcome::kRejected) {
        return fail(Error::internal("PostgreSQL " + endpoint_ + " history query failed: " + error));
      }
    }
    return fail(Error::unavailable(unreachable()));
  }

  std::string problem() {
    std::lock_guard lock(mutex_);
    if (!conn_ && !ensure_connected()) return unreachable();
    if (!write_error_.empty()) return "PostgreSQL " + endpoint_ + " rejected " + write_error_;
    return {};
  }

  const std::string& endpoint() const { return endpoint_; }
  std::uint64_t failures() const { return failures_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }
  std::size_t pending() const {
    std::lock_guard lock(mutex_);
    return pending_.size();
  }

 private:
  enum class Outcome { kOk, kRejected, kLost };

  // Connects when there is no connection and the backoff allows, then replays the queue.
  bool ensure_connected() {
    if (conn_) return true;
    if (SteadyClock::now() < next_attempt_) return false;
    if (!connect()) {
      log_failure(unreachable());
      return false;
    }
    if (was_down_) {
      spdlog::info("history: PostgreSQL {} reachable again; replaying {} queued writes", endpoint_,
                   pending_.size());
    }
    was_down_ = false;
    return replay();
  }

  bool connect() {
    std::vector<const char*> keys, values;
    for (std::size_t i = 0; i < keywords_.size(); ++i) {
      keys.push_back(keywords_[i].c_str());
      values.push_back(values_[i].c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* c = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0);
    if (!c || PQstatus(c) != CONNECTION_OK) {
      std::string why = c ? one_line(PQerrorMessage(c)) : "out of memory";
      if (c) PQfinish(c);
      return give_up(std::move(why));
    }
    PQsetNoticeProcessor(c, log_notice, nullptr);
    if (PQsetnonblocking(c, 1) != 0) {
      std::string why = one_line(PQerrorMessage(c));
      PQfinish(c);
      return give_up(std::move(why));
    }
    conn_ = c;
    const std::string setup =
        "SET client_min_messages = warning; SET statement_timeout = " +
        std::to_string(kSchemaTimeout.count()) + ";" +
        // Another node holding the schema lock (or a lock on the tables) must not keep this
        // one, and every history writer queued behind its mutex, waiting for long: give up
        // after the normal statement timeout and retry with the backoff.
        "SET lock_timeout = " + std::to_string(options_.statement_timeout.count()) + ";" + kSchema +
        "RESET lock_timeout; SET statement_timeout = " +
        std::to_string(options_.statement_timeout.count()) + ";";
    ResultPtr result;
    std::string error;
    const auto outcome = run(setup.c_str(), nullptr, kSchemaTimeout, result, error);
    if (outcome == Outcome::kLost) return give_up(down_reason_);
    if (outcome == Outcome::kRejected) {
      PQfinish(conn_);
      conn_ = nullptr;
      return give_up("cannot create the history tables: " + error);
    }
    backoff_ = options_.backoff_min;
    down_reason_.clear();
    return true;
  }

  // A failed connect: remember why and wait a little longer before the next one.
  bool give_up(std::string why) {
    down_reason_ = std::move(why);
    was_down_ = true;
    next_attempt_ = SteadyClock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    return false;
  }

  bool replay() {
    while (!pending_.empty()) {
      if (apply(pending_.front()) == Outcome::kLost) return false;
      pending_.pop_front();
    }
    return true;
  }

  Outcome apply(const Write& w) {
    ResultPtr result;
    std::string error;
    const auto outcome = run(w.sql, &w.params, options_.statement_timeout, result, error);
    if (outcome == Outcome::kOk) {
      write_error_.clear();
    } else if (outcome == Outcome::kRejected) {
      failures_.fetch_add(1);
      dropped_.fetch_add(1);
      write_error_ = std::string(w.what) + ": " + error;
      log_failure("PostgreSQL " + endpoint_ + " rejected " + write_error_);
    }
    return outcome;
  }

  // One statement (or, without params, a script) and its answer, within `timeout` plus a grace
  // period. kLost drops the connection: a broken one may be retried at once, a silent one only
  // after the backoff.
  Outcome run(const char* sql, const Params* params, std::chrono::milliseconds timeout,
              ResultPtr& result, std::string& error) {
    int sent = 0;
    if (params) {
      std::vector<const char*> values;
      values.reserve(params->size());
      for (const auto& p : *params)
        values.push_back(p ? p->c_str() : nullptr);
      sent = PQsendQueryParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
    } else {
      sent = PQsendQuery(conn_, sql);
    }
    if (!sent) return broken();
    const auto deadline = SteadyClock::now() + timeout + kClientGrace;
    for (;;) {
      const int flushed = PQflush(conn_);
      if (flushed == 0) break;
      if (flushed < 0) return broken();
      const int ready = wait(POLLOUT | POLLIN, deadline);
      if (ready < 0) return broken();
      if (ready == 0) return silent(timeout);
      if (!PQconsumeInput(conn_)) return broken();
    }
    std::string first_error;
    for (;;) {
      while (PQisBusy(conn_)) {
        const int ready = wait(POLLIN, deadline);
        if (ready < 0) return broken();
        if (ready == 0) return silent(timeout);
        if (!PQconsumeInput(conn_)) return broken();
      }
      ResultPtr r(PQgetResult(conn_));
      if (!r) break;
      const auto status = PQresultStatus(r.get());
      if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE ||
          status == PGRES_NONFATAL_ERROR) {
        if (first_error.empty()) first_error = one_line(PQresultErrorMessage(r.get()));
      }
      result = std::move(r);
    }
    if (PQstatus(conn_) == CONNECTION_BAD) return broken();
    if (!first_error.empty()) {
      error = std::move(first_error);
      return Outcome::kRejected;
    }
    return Outcome::kOk;
  }

  // Waits for the socket; 1 ready, 0 deadline passed, -1 error.
  int wait(short events, SteadyClock::time_point deadline) {
    const int fd = PQsocket(conn_);
    if (fd < 0) return -1;
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (left.count() <= 0) return 0;
      pollfd p{fd, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      if (n == 0) return 0;
      return 1;  // readable, writable or hung up: libpq finds out which
    }
  }

  Outcome broken() {
    std::string why = one_line(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    down_reason_ = std::move(why);
    was_down_ = true;
    next_attempt_ = {};  // may be a restarted server: try again at once
    return Outcome::kLost;
  }

  Outcome silent(std::chrono::milliseconds timeout) {
    PQfinish(conn_);
    conn_ = nullptr;
    down_reason_ = "no answer within " + std::to_string((timeout + kClientGrace).count()) + " ms";
    was_down_ = true;
    next_attempt_ = SteadyClock::now() + backoff_;  // a hung server: do not hammer it
    return Outcome::kLost;
  }

  void enqueue(Write w) {
    if (pending_.size() >= options_.max_pending && !pending_.empty()) {
      pending_.pop_front();
      dropped_.fetch_add(1);
    }
    pending_.push_back(std::move(w));
  }

  void log_failure(const std::string& message) {
    const auto now = SteadyClock::now();
    if (last_log_ != SteadyClock::time_point{} && now - last_log_ < kLogInterval) {
      ++suppressed_logs_;
      return;
    }
    if (suppressed_logs_ > 0) {
      spdlog::warn("history: {} ({} more history failures in the last {} s; {} writes lost so far)",
                   message, suppressed_logs_, kLogInterval.count(), dropped_.load());
    } else {
      spdlog::warn("history: {}", message);
    }
    last_log_ = now;
    suppressed_logs_ = 0;
  }

  std::string unreachable() const {
    std::string s = "PostgreSQL " + endpoint_ + " unreachable: " +
                    (down_reason_.empty() ? std::string("reconnecting") : down_reason_);
    if (!pending_.empty()) s += " (" + std::to_string(pending_.size()) + " writes queued)";
    return s;
  }

  static std::vector<SessionHistoryRow> rows(const PGresult* r) {
    std::vector<SessionHistoryRow> out;
    const int n = r ? PQntuples(r) : 0;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto text = [&](int col) {
        return PQgetisnull(r, i, col) ? std::string() : std::string(PQgetvalue(r, i, col));
      };
      auto number = [&]<class T>(int col, T& out_value) {
        if (PQgetisnull(r, i, col)) return false;
        const char* v = PQgetvalue(r, i, col);
        const char* end = v + PQgetlength(r, i, col);
        return std::from_chars(v, end, out_value).ec == std::errc{};
      };
      auto micros = [&](int col) -> std::optional<WallTime> {
        std::int64_t us = 0;
        if (!number(col, us)) return std::nullopt;
        return WallTime(std::chrono::microseconds(us));
      };
      SessionHistoryRow row;
      row.time = micros(0).value_or(WallTime{});
      row.session_id = text(1);
      row.stream_id = text(2);
      row.stream_name = text(3);
      row.stream_type = text(4);
      row.publisher_id = text(5);
      row.consumer_id = text(6);
      row.protocol = text(7);
      row.status = text(8);
      if (double d = 0; number(9, d)) row.duration_seconds = d;
      number(10, row.bytes_transferred);
      if (!PQgetisnull(r, i, 11)) row.error_message = text(11);
      row.ended_at = micros(12);
      out.push_back(std::move(row));
    }
    return out;
  }

  std::vector<std::string> keywords_, values_;  // libpq connection parameters
  std::string endpoint_;
  PostgresHistoryOptions options_;

  mutable std::mutex mutex_;
  PGconn* conn_ = nullptr;
  std::deque<Write> pending_;
  SteadyClock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_;
  std::string down_reason_;  // why there is no connection
  bool was_down_ = false;
  std::string write_error_;  // the last rejected write, cleared by the next applied one
  SteadyClock::time_point last_log_{};
  std::uint64_t suppressed_logs_ = 0;
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

PostgresHistory::PostgresHistory(const std::string& url, PostgresHistoryOptions options)
    : link_(std::make_unique<Link>(url, options)) {}

PostgresHistory::~PostgresHistory() = default;

void PostgresHistory::session_started(const SessionRecord& s) {
  link_->write({kInsertSession,
                "session start",
                {timestamp(s.started_at), s.session_id, s.stream_id, s.stream_name, s.stream_type,
                 s.publisher_id, s.publisher_address, s.consumer_id, s.consumer_address, s.protocol,
                 to_json_text(s.transport_config, DoubleStyle::kKeepKind),
                 std::to_string(s.bytes_transferred)}});
}

void PostgresHistory::session_bytes(const std::string& session_id, std::int64_t bytes) {
  link_->write({kUpdateBytes, "session bytes", {session_id, std::to_string(bytes)}});
}

void PostgresHistory::session_ended(const SessionRecord& s, const std::string& status,
                                    WallTime ended_at) {
  link_->write({kEndSession,
                "session end",
                {s.session_id, status, timestamp(ended_at), std::to_string(s.bytes_transferred)}});
}

void PostgresHistory::subscriber_joined(const SubscriberRecord& s) {
  link_->write(
      {kInsertSubscriber,
       "subscriber join",
       {timestamp(s.joined_at), s.subscriber_id, s.stream_id, s.stream_name, s.stream_type,
        s.publisher_id, s.consumer_id, s.consumer_address, s.multicast_group,
        std::to_string(s.multicast_port), to_json_text(s.metadata, DoubleStyle::kKeepKind)}});
}

void PostgresHistory::subscriber_left(const SubscriberRecord& s, const std::string& status,
                                      WallTime left_at) {
  link_->write({kEndSubscriber, "subscriber leave", {s.subscriber_id, status, timestamp(left_at)}});
}

Result<std::vector<SessionHistoryRow>> PostgresHistory::query_sessions(const HistoryQuery& q) {
  std::string sql =
      "SELECT (EXTRACT(EPOCH FROM time) * 1000000)::int8, session_id::text, stream_id::text, "
      "stream_name, stream_type, publisher_id, consumer_id, protocol, status, duration_seconds, "
      "bytes_transferred, error_message, (EXTRACT(EPOCH FROM ended_at) * 1000000)::int8 "
      "FROM stream_sessions WHERE TRUE";
  Params params;
  auto add = [&](const char* condition, const char* cast, std::string value) {
    params.emplace_back(std::move(value));
    sql += condition;
    sql += "$" + std::to_string(params.size()) + cast;
  };
  if (q.stream_id) {
    // The column is a UUID: anything else matches no row (rather than failing the cast).
    auto id = canonical_uuid(*q.stream_id);
    if (!id) return std::vector<SessionHistoryRow>{};
    add(" AND stream_id = ", "::uuid", *id);
  }
  if (q.publisher_id) add(" AND publisher_id = ", "::text", *q.publisher_id);
  if (q.consumer_id) add(" AND consumer_id = ", "::text", *q.consumer_id);
  if (q.status) add(" AND status = ", "::text", *q.status);
  if (q.since) add(" AND time >= ", "::timestamptz", timestamp(*q.since));
  if (q.until) add(" AND time < ", "::timestamptz", timestamp(*q.until));
  sql += " ORDER BY time DESC, session_id";
  add(" LIMIT ", "::int8", std::to_string(std::max(0, q.limit)));
  add(" OFFSET ", "::int8", std::to_string(std::max(0, q.offset)));
  return link_->query(sql, params);
}

std::string PostgresHistory::problem() const {
  return link_->problem();
}

const std::string& PostgresHistory::endpoint() const {
  return link_->endpoint();
}
std::uint64_t PostgresHistory::failures() const {
  return link_->failures();
}
std::uint64_t PostgresHistory::dropped() const {
  return link_->dropped();
}
std::size_t PostgresHistory::pending() const {
  return link_->pending();
}

}  // namespace sluice::registry
