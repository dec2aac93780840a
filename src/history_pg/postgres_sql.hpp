#pragma once
// The SQL PostgresHistory sends (postgres_history.cpp): the schema script run on every connect and
// the parameterised statements, one per History write. Values always travel as parameters.
namespace sluice::registry::postgres_sql {

// Maestra's tables (maestra-core config/postgres/init/04-streams.sql) without the TimescaleDB
// calls. Created under an advisory lock so nodes connecting together do not race; a table created
// here gets a unique index on its id, a pre-existing one (e.g. Maestra's hypertable, where a unique
// index must contain `time`) a plain one so updates by id stay cheap.
inline constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(7308626099231843173);
DO $$
BEGIN
  IF to_regclass('stream_sessions') IS NULL THEN
    CREATE TABLE stream_sessions (
      time TIMESTAMPTZ NOT NULL,
      session_id UUID NOT NULL,
      stream_id UUID NOT NULL,
      stream_name VARCHAR(255) NOT NULL,
      stream_type VARCHAR(100) NOT NULL,
      publisher_id VARCHAR(255) NOT NULL,
      publisher_address VARCHAR(255),
      consumer_id VARCHAR(255) NOT NULL,
      consumer_address VARCHAR(255),
      protocol VARCHAR(50) NOT NULL,
      transport_config JSONB DEFAULT '{}'::jsonb,
      status VARCHAR(50) DEFAULT 'active',
      ended_at TIMESTAMPTZ,
      duration_seconds FLOAT,
      bytes_transferred BIGINT DEFAULT 0,
      error_message TEXT,
      metadata JSONB DEFAULT '{}'::jsonb,
      PRIMARY KEY (time, session_id)
    );
    CREATE UNIQUE INDEX stream_sessions_session_id_key ON stream_sessions (session_id);
  ELSIF to_regclass('stream_sessions_session_id_key') IS NULL
        AND to_regclass('idx_stream_sessions_session_id') IS NULL THEN
    BEGIN
      CREATE INDEX idx_stream_sessions_session_id ON stream_sessions (session_id);
    EXCEPTION WHEN query_canceled OR others THEN
      RAISE WARNING 'sluice: no index on stream_sessions(session_id): %', SQLERRM;
    END;
  END IF;
  IF to_regclass('stream_subscribers') IS NULL THEN
    CREATE TABLE stream_subscribers (
      time TIMESTAMPTZ NOT NULL,
      subscriber_id UUID NOT NULL,
      stream_id UUID NOT NULL,
      stream_name VARCHAR(255) NOT NULL,
      stream_type VARCHAR(100) NOT NULL,
      publisher_id VARCHAR(255) NOT NULL,
      consumer_id VARCHAR(255) NOT NULL,
      consumer_address VARCHAR(255),
      multicast_group VARCHAR(45) NOT NULL,
      multicast_port INTEGER NOT NULL,
      status VARCHAR(50) DEFAULT 'active',
      left_at TIMESTAMPTZ,
      duration_seconds FLOAT,
      metadata JSONB DEFAULT '{}'::jsonb,
      PRIMARY KEY (time, subscriber_id)
    );
    CREATE UNIQUE INDEX stream_subscribers_subscriber_id_key
      ON stream_subscribers (subscriber_id);
  ELSIF to_regclass('stream_subscribers_subscriber_id_key') IS NULL
        AND to_regclass('idx_stream_subs_subscriber_id') IS NULL THEN
    BEGIN
      CREATE INDEX idx_stream_subs_subscriber_id ON stream_subscribers (subscriber_id);
    EXCEPTION WHEN query_canceled OR others THEN
      RAISE WARNING 'sluice: no index on stream_subscribers(subscriber_id): %', SQLERRM;
    END;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS idx_stream_sessions_stream ON stream_sessions (stream_id, time DESC);
CREATE INDEX IF NOT EXISTS idx_stream_sessions_publisher
  ON stream_sessions (publisher_id, time DESC);
CREATE INDEX IF NOT EXISTS idx_stream_sessions_consumer ON stream_sessions (consumer_id, time DESC);
CREATE INDEX IF NOT EXISTS idx_stream_sessions_status ON stream_sessions (status, time DESC);
CREATE INDEX IF NOT EXISTS idx_stream_subs_stream ON stream_subscribers (stream_id, time DESC);
CREATE INDEX IF NOT EXISTS idx_stream_subs_consumer ON stream_subscribers (consumer_id, time DESC);
CREATE INDEX IF NOT EXISTS idx_stream_subs_status ON stream_subscribers (status, time DESC);
COMMIT;
)sql";

// A row is inserted only when no row has its id. The time window keeps the check on the primary
// key's index on a hypertable (the same session always starts at the same instant; the window
// absorbs a node that rounded it differently). ON CONFLICT covers two nodes inserting together.
inline constexpr const char* kInsertSession = R"sql(
INSERT INTO stream_sessions (time, session_id, stream_id, stream_name, stream_type, publisher_id,
  publisher_address, consumer_id, consumer_address, protocol, transport_config, status,
  bytes_transferred)
SELECT $1::timestamptz, $2::uuid, $3::uuid, $4::text, $5::text, $6::text, $7::text, $8::text,
  $9::text, $10::text, $11::jsonb, 'active', $12::int8
WHERE NOT EXISTS (SELECT 1 FROM stream_sessions WHERE session_id = $2::uuid
  AND time BETWEEN $1::timestamptz - interval '1 minute' AND $1::timestamptz + interval '1 minute')
ON CONFLICT DO NOTHING)sql";

inline constexpr const char* kUpdateBytes =
    "UPDATE stream_sessions SET bytes_transferred = $2::int8 WHERE session_id = $1::uuid";

inline constexpr const char* kEndSession = R"sql(
UPDATE stream_sessions SET status = $2::text, ended_at = $3::timestamptz,
  duration_seconds = EXTRACT(EPOCH FROM ($3::timestamptz - time))::float8,
  bytes_transferred = GREATEST(COALESCE(bytes_transferred, 0), $4::int8)
WHERE session_id = $1::uuid AND ended_at IS NULL)sql";

inline constexpr const char* kInsertSubscriber = R"sql(
INSERT INTO stream_subscribers (time, subscriber_id, stream_id, stream_name, stream_type,
  publisher_id, consumer_id, consumer_address, multicast_group, multicast_port, status, metadata)
SELECT $1::timestamptz, $2::uuid, $3::uuid, $4::text, $5::text, $6::text, $7::text, $8::text,
  $9::text, $10::int4, 'active', $11::jsonb
WHERE NOT EXISTS (SELECT 1 FROM stream_subscribers WHERE subscriber_id = $2::uuid
  AND time BETWEEN $1::timestamptz - interval '1 minute' AND $1::timestamptz + interval '1 minute')
ON CONFLICT DO NOTHING)sql";

inline constexpr const char* kEndSubscriber = R"sql(
UPDATE stream_subscribers SET status = $2::text, left_at = $3::timestamptz,
  duration_seconds = EXTRACT(EPOCH FROM ($3::timestamptz - time))::float8
WHERE subscriber_id = $1::uuid AND left_at IS NULL)sql";

}  // namespace sluice::registry::postgres_sql
