#pragma once
// Registry records as Redis hashes in Maestra's layout (reference/maestra-streams-api.md §4.1),
// sans I/O: to_hash() gives the field/value pairs to HSET, from_hash() reads what HGETALL
// returned. A Maestra Fleet Manager reading the same Redis sees its own fields: numbers as
// strings, "none" as "", JSON objects as JSON text, timestamps as ISO-8601 with a Z. sluice adds
// fields Maestra ignores (sessions' consumer_port, last_heartbeat and bytes_transferred;
// subscribers' last_heartbeat).
//
// from_hash() never trusts the hash: another writer (or a half-expired key) may have left it
// incomplete or wrong. A missing required field, a port outside 0..65535, JSON that is not an
// object or a timestamp that does not parse is an error (status 502: the store holds something
// sluice cannot use), naming the field.
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "registry/key_record.hpp"
#include "registry/model.hpp"

namespace sluice::redis {

using Hash = std::vector<std::pair<std::string, std::string>>;

// Redis keys (Maestra's names).
std::string stream_key(std::string_view id);                  // stream:{id}
std::string session_key(std::string_view id);                 // session:{id}
std::string subscriber_key(std::string_view id);              // subscriber:{id}
std::string streams_by_type_key(std::string_view type);       // streams:by_type:{type}
std::string sessions_by_stream_key(std::string_view stream);  // sessions:by_stream:{id}
std::string subscribers_by_stream_key(std::string_view stream);
inline constexpr std::string_view kAllStreams = "streams:all";
inline constexpr std::string_view kAllSessions = "sessions:all";
inline constexpr std::string_view kAllSubscribers = "subscribers:all";

Hash to_hash(const registry::StreamRecord& r);
Hash to_hash(const registry::SessionRecord& r);
Hash to_hash(const registry::SubscriberRecord& r);

Result<registry::StreamRecord> stream_from_hash(const Hash& h);
Result<registry::SessionRecord> session_from_hash(const Hash& h);
Result<registry::SubscriberRecord> subscriber_from_hash(const Hash& h);

// Stream types (built-in and custom) under sluice's prefix: sluice:type:{name} (hash; JSON
// objects as text) and sluice:types (set of names). Maestra keeps its types in Postgres; sluice
// nodes share them here. from_hash re-parses config_schema (a bad one is a 502 naming it).
std::string type_key(std::string_view name);
inline constexpr std::string_view kAllTypes = "sluice:types";
Hash to_hash(const registry::StreamTypeRecord& r);
Result<registry::StreamTypeRecord> type_from_hash(const Hash& h);

// Stream keys (issue 4) live in the same Redis under sluice's own prefix: sluice:key:{id} (hash;
// hmac as 64 hex digits, allowed_ips as a JSON array, times ISO-8601), sluice:keys (set of ids),
// sluice:key_alias:{alias} (string: the id, never the key).
std::string stream_key_record_key(std::string_view id);
std::string key_alias_key(std::string_view alias);
inline constexpr std::string_view kAllKeys = "sluice:keys";
// Stream owner bindings: one hash, field = stream id, value = owner.
inline constexpr std::string_view kOwners = "sluice:owners";
Hash to_hash(const registry::KeyRecord& r);
Result<registry::KeyRecord> key_from_hash(const Hash& h);

}  // namespace sluice::redis
