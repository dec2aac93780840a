// PostgresHistory against a real PostgreSQL started by the test (postgres_fixture.hpp): the rows
// SqliteHistory gives for the same calls, two nodes sharing one database, idempotent starts,
// Maestra's pre-existing tables, and the outage contract (no throw, 503, queue, recovery).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "core/time_format.hpp"
#include "eventually.hpp"
#include "history_pg/postgres_history.hpp"
#include "postgres_fixture.hpp"
#include "registry/sqlite_history.hpp"

namespace sluice::registry {
namespace {

using namespace std::chrono_literals;
using testing::PostgresServer;

const WallTime kBase = WallTime(std::chrono::seconds(1'790'000'000));

SessionRecord session(const std::string& stream_id, const std::string& publisher,
                      const std::string& consumer, std::chrono::milliseconds start) {
  SessionRecord s;
  s.session_id = new_uuid4();
  s.stream_id = stream_id;
  s.stream_name = "stream-" + stream_id.substr(0, 8);
  s.stream_type = "video";
  s.publisher_id = publisher;
  s.publisher_address = "10.0.0.1";
  s.publisher_port = 5000;
  s.consumer_id = consumer;
  s.consumer_address = "10.0.0.2";
  s.protocol = "srt";
  s.transport_config = {{"latency_ms", 120}};
  s.started_at = kBase + start;
  return s;
}

// Runs the same events against `h`.
std::vector<SessionRecord> play_scenario(History& h, const std::vector<SessionRecord>& sessions) {
  for (const auto& s : sessions)
    h.session_started(s);
  h.session_bytes(sessions[0].session_id, 1000);
  h.session_bytes(sessions[0].session_id, 4096);
  auto ended = sessions[0];
  ended.bytes_transferred = 5000;
  h.session_ended(ended, "stopped", kBase + 12'500ms);
  h.session_ended(sessions[2], "expired", kBase + 40s);
  h.session_ended(sessions[2], "stopped", kBase + 50s);  // already ended: ignored
  h.session_bytes(sessions[3].session_id, 77);
  return sessions;
}

std::vector<HistoryQuery> queries(const std::vector<SessionRecord>& s) {
  std::vector<HistoryQuery> out(12);
  out[1].stream_id = s[0].stream_id;
  out[2].publisher_id = "pub-b";
  out[3].consumer_id = "con-y";
  out[4].status = "active";
  out[5].status = "stopped";
  out[6].since = kBase + 2s;
  out[7].until = kBase + 2s;
  out[8].since = kBase + 1s;
  out[8].until = kBase + 3s;
  out[9].limit = 2;
  out[10].limit = 2;
  out[10].offset = 2;
  out[11].stream_id = s[1].stream_id;
  out[11].status = "expired";
  out[11].consumer_id = "con-x";
  return out;
}

void expect_same_rows(const std::vector<SessionHistoryRow>& expected,
                      const std::vector<SessionHistoryRow>& actual, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(what + ", row " + std::to_string(i));
    const auto& e = expected[i];
    const auto& a = actual[i];
    // SQLite keeps seconds as a double, which can be a microsecond off.
    EXPECT_LE(std::chrono::abs(e.time - a.time), 1us) << format_timestamp(e.time);
    EXPECT_EQ(e.session_id, a.session_id);
    EXPECT_EQ(e.stream_id, a.stream_id);
    EXPECT_EQ(e.stream_name, a.stream_name);
    EXPECT_EQ(e.stream_type, a.stream_type);
    EXPECT_EQ(e.publisher_id, a.publisher_id);
    EXPECT_EQ(e.consumer_id, a.consumer_id);
    EXPECT_EQ(e.protocol, a.protocol);
    EXPECT_EQ(e.status, a.status);
    ASSERT_EQ(e.duration_seconds.has_value(), a.duration_seconds.has_value());
    if (e.duration_seconds) {
      EXPECT_NEAR(*e.duration_seconds, *a.duration_seconds, 1e-6);
    }
    EXPECT_EQ(e.bytes_transferred, a.bytes_transferred);
    EXPECT_EQ(e.error_message, a.error_message);
    ASSERT_EQ(e.ended_at.has_value(), a.ended_at.has_value());
    if (e.ended_at) {
      EXPECT_LE(std::chrono::abs(*e.ended_at - *a.ended_at), 1us);
    }
  }
}

std::vector<SessionHistoryRow> all_rows(History& h) {
  HistoryQuery q;
  q.limit = 500;
  auto rows = h.query_sessions(q);
  EXPECT_TRUE(rows.has_value()) << (rows ? "" : rows.error().detail);
  return rows ? *rows : std::vector<SessionHistoryRow>{};
}

bool has_session(History& h, const std::string& session_id) {
  for (const auto& r : all_rows(h)) {
    if (r.session_id == session_id) return true;
  }
  return false;
}

class PostgresHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.start()); }
  PostgresServer server_;
};

TEST_F(PostgresHistoryTest, GivesTheSameRowsAsSqliteForTheSameEvents) {
  const std::string stream_a = new_uuid4(), stream_b = new_uuid4();
  const std::vector<SessionRecord> sessions{
      session(stream_a, "pub-a", "con-x", 250ms), session(stream_b, "pub-b", "con-x", 1500ms),
      session(stream_b, "pub-b", "con-y", 2750ms), session(stream_a, "pub-a", "con-y", 4s),
      session(stream_a, "pub-a", "con-z", 4s)};  // same start: ordered by session id
  SqliteHistory sqlite(":memory:");
  PostgresHistory pg(server_.url());
  ASSERT_EQ(pg.problem(), "");
  play_scenario(sqlite, sessions);
  play_scenario(pg, sessions);
  EXPECT_EQ(pg.failures(), 0u);

  const auto qs = queries(sessions);
  for (std::size_t i = 0; i < qs.size(); ++i) {
    auto expected = sqlite.query_sessions(qs[i]);
    auto actual = pg.query_sessions(qs[i]);
    ASSERT_TRUE(expected.has_value());
    ASSERT_TRUE(actual.has_value()) << actual.error().detail;
    expect_same_rows(*expected, *actual, "query " + std::to_string(i));
  }
  // Spot checks, so the comparison cannot pass on two equally wrong answers.
  auto rows = all_rows(pg);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows.back().session_id, sessions[0].session_id);
  EXPECT_EQ(rows.back().status, "stopped");
  EXPECT_EQ(rows.back().bytes_transferred, 5000);
  EXPECT_DOUBLE_EQ(*rows.back().duration_seconds, 12.25);
  EXPECT_EQ(server_.value("sluice",
                          "SELECT transport_config->>'latency_ms' FROM stream_sessions "
                          "WHERE session_id = '" +
                              sessions[0].session_id + "'"),
            "120");
}

TEST_F(PostgresHistoryTest, KeepsMicroseconds) {
  PostgresHistory pg(server_.url());
  auto s = session(new_uuid4(), "p", "c", 0ms);
  s.started_at = kBase + 123'456us;
  pg.session_started(s);
  pg.session_ended(s, "stopped", kBase + 1'250'001us);
  auto rows = all_rows(pg);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].time, s.started_at);
  EXPECT_EQ(rows[0].ended_at, kBase + 1'250'001us);
  EXPECT_NEAR(*rows[0].duration_seconds, 1.126545, 1e-9);
}

TEST_F(PostgresHistoryTest, AStreamIdThatIsNotAUuidMatchesNothing) {
  PostgresHistory pg(server_.url());
  pg.session_started(session(new_uuid4(), "p", "c", 0ms));
  HistoryQuery q;
  q.stream_id = "not-a-uuid";
  auto rows = pg.query_sessions(q);
  ASSERT_TRUE(rows.has_value()) << rows.error().detail;
  EXPECT_TRUE(rows->empty());
}

TEST_F(PostgresHistoryTest, TwoNodesSeeEachOthersRows) {
  PostgresHistory node_a(server_.url()), node_b(server_.url());
  auto s = session(new_uuid4(), "p", "c", 0ms);
  node_a.session_started(s);
  auto seen_by_b = all_rows(node_b);
  ASSERT_EQ(seen_by_b.size(), 1u);
  EXPECT_EQ(seen_by_b[0].status, "active");
  node_b.session_bytes(s.session_id, 99);
  node_b.session_ended(s, "expired", kBase + 30s);
  auto seen_by_a = all_rows(node_a);
  ASSERT_EQ(seen_by_a.size(), 1u);
  EXPECT_EQ(seen_by_a[0].status, "expired");
  EXPECT_EQ(seen_by_a[0].bytes_transferred, 99);
  EXPECT_DOUBLE_EQ(*seen_by_a[0].duration_seconds, 30.0);
}

TEST_F(PostgresHistoryTest, ADuplicateStartFromAnotherNodeLeavesOneRow) {
  PostgresHistory node_a(server_.url()), node_b(server_.url());
  auto s = session(new_uuid4(), "p", "c", 0ms);
  node_a.session_started(s);
  node_b.session_started(s);
  auto shifted = s;  // a node that rounded the start differently
  shifted.started_at += 3ms;
  node_b.session_started(shifted);
  EXPECT_EQ(all_rows(node_a).size(), 1u);
  node_a.session_ended(s, "stopped", kBase + 5s);
  node_b.session_started(s);  // late: must not reopen the session
  auto rows = all_rows(node_b);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "stopped");
  EXPECT_EQ(node_a.failures() + node_b.failures(), 0u);
}

TEST_F(PostgresHistoryTest, RecordsSubscribers) {
  PostgresHistory pg(server_.url());
  SubscriberRecord sub;
  sub.subscriber_id = new_uuid4();
  sub.stream_id = new_uuid4();
  sub.stream_name = "cam";
  sub.stream_type = "video";
  sub.publisher_id = "p";
  sub.consumer_id = "c";
  sub.consumer_address = "10.0.0.9";
  sub.multicast_group = "239.1.2.3";
  sub.multicast_port = 5004;
  sub.joined_at = kBase;
  sub.metadata = {{"room", "a"}};
  pg.subscriber_joined(sub);
  pg.subscriber_joined(sub);  // duplicate: one row
  pg.subscriber_left(sub, "left", kBase + 7500ms);
  EXPECT_EQ(server_.value("sluice", "SELECT count(*) FROM stream_subscribers"), "1");
  EXPECT_EQ(server_.value("sluice",
                          "SELECT status || ' ' || duration_seconds || ' ' || multicast_port || "
                          "' ' || (metadata->>'room') FROM stream_subscribers"),
            "left 7.5 5004 a");
  EXPECT_EQ(pg.failures(), 0u);
}

// Maestra's own tables (a hypertable in production; plain here): no unique index on session_id,
// so idempotency rests on the insert's own check; sluice adds a plain index for its updates.
TEST_F(PostgresHistoryTest, UsesMaestrasExistingTables) {
  ASSERT_TRUE(server_.exec("postgres", "CREATE DATABASE maestra"));
  ASSERT_TRUE(server_.exec("maestra", R"sql(
    CREATE TABLE stream_sessions (
      time TIMESTAMPTZ NOT NULL, session_id UUID NOT NULL DEFAULT gen_random_uuid(),
      stream_id UUID NOT NULL, stream_name VARCHAR(255) NOT NULL,
      stream_type VARCHAR(100) NOT NULL, publisher_id VARCHAR(255) NOT NULL,
      publisher_address VARCHAR(255), consumer_id VARCHAR(255) NOT NULL,
      consumer_address VARCHAR(255), protocol VARCHAR(50) NOT NULL,
      transport_config JSONB DEFAULT '{}'::jsonb, status VARCHAR(50) DEFAULT 'active',
      ended_at TIMESTAMPTZ, duration_seconds FLOAT, bytes_transferred BIGINT DEFAULT 0,
      error_message TEXT, metadata JSONB DEFAULT '{}'::jsonb, PRIMARY KEY (time, session_id));
    CREATE INDEX idx_stream_sessions_stream ON stream_sessions(stream_id, time DESC);
    INSERT INTO stream_sessions (time, session_id, stream_id, stream_name, stream_type,
      publisher_id, consumer_id, protocol)
    VALUES ('2026-01-01T00:00:00Z', 'a0000000-0000-4000-8000-000000000001',
      'b0000000-0000-4000-8000-000000000002', 'old', 'ndi', 'maestra-pub', 'maestra-con',
      'ndi');)sql"));
  PostgresHistory node_a(server_.url("maestra")), node_b(server_.url("maestra"));
  ASSERT_EQ(node_a.problem(), "");
  auto s = session(new_uuid4(), "p", "c", 0ms);
  node_a.session_started(s);
  node_b.session_started(s);
  node_b.session_ended(s, "stopped", kBase + 2s);
  auto rows = all_rows(node_a);
  ASSERT_EQ(rows.size(), 2u);  // Maestra's row and ours, once
  EXPECT_EQ(rows[0].session_id, s.session_id);
  EXPECT_EQ(rows[0].status, "stopped");
  EXPECT_EQ(rows[1].publisher_id, "maestra-pub");
  EXPECT_EQ(server_.value("maestra", "SELECT to_regclass('idx_stream_sessions_session_id')"),
            "idx_stream_sessions_session_id");
  EXPECT_EQ(server_.value("maestra", "SELECT to_regclass('stream_subscribers')"),
            "stream_subscribers");
}

TEST(PostgresHistoryUrl, MalformedUrlsAreStartUpErrors) {
  for (const char* url : {"postgres://127.0.0.1:notaport/db", "postgres://127.0.0.1:0/db",
                          "postgresql://127.0.0.1/db?no_such_parameter=1", "postgres://[::1/db",
                          "mysql://127.0.0.1/db"}) {
    EXPECT_THROW(PostgresHistory{url}, std::runtime_error) << url;
  }
  try {
    PostgresHistory bad("postgres://u:s3cret@127.0.0.1:99999/db");
    ADD_FAILURE() << "no throw";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
}

TEST(PostgresHistoryUrl, RedactsPasswords) {
  EXPECT_EQ(redact_postgres_url("postgres://u:pw@h:5432/db"), "postgres://u@h:5432/db");
  EXPECT_EQ(redact_postgres_url("postgresql://u:p%40w@h/db?sslmode=require&password=x"),
            "postgresql://u@h/db?sslmode=require");
  EXPECT_EQ(redact_postgres_url("postgres://h/db?password=x&sslmode=disable"),
            "postgres://h/db?sslmode=disable");
  EXPECT_EQ(redact_postgres_url("postgres://u@h"), "postgres://u@h");
  EXPECT_TRUE(is_postgres_url("postgresql://h"));
  EXPECT_FALSE(is_postgres_url("/var/lib/sluice/history.db"));
}

// No server at all: nothing throws, the problem is named, writes are queued (bounded).
TEST(PostgresHistoryOutage, UnreachableAtStartIsReportedNotThrown) {
  PostgresServer never_started;
  PostgresHistoryOptions options;
  options.max_pending = 3;
  const std::string url =
      "postgres://sluice:s3cret@127.0.0.1:" + std::to_string(never_started.port()) + "/sluice";
  PostgresHistory pg(url, options);
  const std::string problem = pg.problem();
  EXPECT_NE(problem.find("PostgreSQL 127.0.0.1:" + std::to_string(never_started.port()) +
                         "/sluice unreachable: "),
            std::string::npos)
      << problem;
  EXPECT_EQ(problem.find("s3cret"), std::string::npos) << problem;
  auto rows = pg.query_sessions({});
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().status, 503);
  EXPECT_NE(rows.error().detail.find("PostgreSQL"), std::string::npos) << rows.error().detail;
  for (int i = 0; i < 5; ++i)
    pg.session_started(session(new_uuid4(), "p", "c", 0ms));
  EXPECT_EQ(pg.failures(), 5u);
  EXPECT_EQ(pg.pending(), 3u);
  EXPECT_EQ(pg.dropped(), 2u);
}

TEST(PostgresHistoryOutage, RecoversWhenTheServerStartsLater) {
  PostgresServer server;
  PostgresHistory pg(server.url());
  EXPECT_NE(pg.problem().find("unreachable"), std::string::npos);
  auto early = session(new_uuid4(), "p", "c", 0ms);
  pg.session_started(early);  // queued
  EXPECT_EQ(pg.pending(), 1u);
  auto rows = pg.query_sessions({});
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().status, 503);

  ASSERT_TRUE(server.start());
  // The same object: it reconnects by itself (within the 5 s backoff cap) and replays the queue.
  ASSERT_TRUE(testing::eventually([&] { return pg.problem().empty(); }, 15s)) << pg.problem();
  EXPECT_EQ(pg.pending(), 0u);
  EXPECT_TRUE(has_session(pg, early.session_id));
  auto later = session(new_uuid4(), "p", "c", 1s);
  pg.session_started(later);
  EXPECT_TRUE(has_session(pg, later.session_id));
}

TEST(PostgresHistoryOutage, RecoversAfterAKillAndRestartMidRun) {
  PostgresServer server;
  ASSERT_TRUE(server.start());
  PostgresHistory pg(server.url());
  auto before = session(new_uuid4(), "p", "c", 0ms);
  pg.session_started(before);
  ASSERT_TRUE(has_session(pg, before.session_id));

  server.kill();
  auto during = session(new_uuid4(), "p", "c", 1s);
  pg.session_started(during);  // the connection breaks here: queued
  pg.session_bytes(during.session_id, 512);
  EXPECT_EQ(pg.pending(), 2u);
  auto rows = pg.query_sessions({});
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().status, 503);
  EXPECT_NE(pg.problem().find("PostgreSQL"), std::string::npos);

  ASSERT_TRUE(server.restart());
  ASSERT_TRUE(testing::eventually(
      [&] {
        auto r = pg.query_sessions({});
        return r.has_value() && r->size() == 2;
      },
      15s));
  auto all = all_rows(pg);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].session_id, during.session_id);
  EXPECT_EQ(all[0].bytes_transferred, 512);
  EXPECT_EQ(all[1].session_id, before.session_id);
  EXPECT_EQ(pg.problem(), "");

  // A restart the object did not see coming: the next call finds the connection broken and
  // reconnects at once rather than failing.
  ASSERT_TRUE(server.restart());
  auto after = session(new_uuid4(), "p", "c", 2s);
  pg.session_started(after);
  EXPECT_EQ(pg.pending(), 0u);
  EXPECT_TRUE(has_session(pg, after.session_id));
}

// A server that stops answering: calls give up within the statement timeout plus a second (or the
// 2 s connect timeout), never hang; the write is queued and lands once the server answers again.
TEST(PostgresHistoryOutage, AHungServerDoesNotBlockCallers) {
  PostgresServer server;
  ASSERT_TRUE(server.start());
  PostgresHistoryOptions options;
  options.statement_timeout = 500ms;
  PostgresHistory pg(server.url(), options);
  ASSERT_EQ(pg.problem(), "");

  server.pause();
  auto s = session(new_uuid4(), "p", "c", 0ms);
  auto t0 = std::chrono::steady_clock::now();
  pg.session_started(s);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
  EXPECT_EQ(pg.pending(), 1u);
  std::this_thread::sleep_for(200ms);  // past the first backoff: the query tries to connect
  t0 = std::chrono::steady_clock::now();
  auto rows = pg.query_sessions({});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3500ms);
  ASSERT_FALSE(rows.has_value());
  EXPECT_EQ(rows.error().status, 503);
  EXPECT_NE(pg.problem().find("unreachable"), std::string::npos);

  server.resume();
  ASSERT_TRUE(testing::eventually([&] { return pg.problem().empty(); }, 15s)) << pg.problem();
  EXPECT_TRUE(has_session(pg, s.session_id));
  EXPECT_EQ(all_rows(pg).size(), 1u);
}

}  // namespace
}  // namespace sluice::registry
