#include "redis/store_scripts.hpp"

#include <string>

namespace sluice::redis::scripts {
namespace {

// Shared by every script: the server clock, arming a deadline, field lookup and the removal of
// one record with its index entries (a stream takes its children along).
constexpr const char* kPrelude = R"lua(
local EXPIRY = 'sluice:expiry'
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function arm(key, ttl_ms, grace_ms)
  redis.call('PEXPIRE', key, ttl_ms + grace_ms)
  redis.call('ZADD', EXPIRY, now_ms() + ttl_ms, key)
end
local function field(h, name)
  for i = 1, #h, 2 do
    if h[i] == name then return h[i + 1] end
  end
  return nil
end
-- kind: 'session' or 'subscriber'
local function drop_child(kind, id)
  local key = kind .. ':' .. id
  local h = redis.call('HGETALL', key)
  redis.call('DEL', key)
  redis.call('ZREM', EXPIRY, key)
  redis.call('SREM', kind .. 's:all', id)
  local stream = field(h, 'stream_id')
  if stream then redis.call('SREM', kind .. 's:by_stream:' .. stream, id) end
  return h
end
local function drop_stream(id)
  local key = 'stream:' .. id
  local h = redis.call('HGETALL', key)
  local children = {}
  for _, kind in ipairs({'session', 'subscriber'}) do
    local list = {}
    local set = kind .. 's:by_stream:' .. id
    for _, child in ipairs(redis.call('SMEMBERS', set)) do
      local c = drop_child(kind, child)
      if #c > 0 then table.insert(list, c) end
    end
    redis.call('DEL', set)
    table.insert(children, list)
  end
  redis.call('DEL', key)
  redis.call('ZREM', EXPIRY, key)
  redis.call('SREM', 'streams:all', id)
  local owner = field(h, 'owner')
  if owner and owner ~= '' then redis.call('SREM', 'streams:by_owner:' .. owner, id) end
  local t = field(h, 'stream_type')
  if t then
    redis.call('SREM', 'streams:by_type:' .. t, id)
  else
    for _, name in ipairs(redis.call('SMEMBERS', 'sluice:types')) do
      redis.call('SREM', 'streams:by_type:' .. name, id)
    end
  end
  return {h, children[1], children[2]}
end
)lua";

Script make(const char* body) {
  return Script(std::string(kPrelude) + body);
}

}  // namespace

std::string keys_by_stream_key(std::string_view stream) {
  return "sluice:keys_by_stream:" + std::string(stream);
}

// KEYS: stream:{id}. ARGV: id, type, ttl_ms, grace_ms, field, value, ... Returns 1.
const Script& put_stream() {
  static const Script s = make(R"lua(
local old = redis.call('HGET', KEYS[1], 'stream_type')
if old and old ~= ARGV[2] then redis.call('SREM', 'streams:by_type:' .. old, ARGV[1]) end
local old_owner = redis.call('HGET', KEYS[1], 'owner')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
arm(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4]))
redis.call('SADD', 'streams:all', ARGV[1])
redis.call('SADD', 'streams:by_type:' .. ARGV[2], ARGV[1])
local owner = redis.call('HGET', KEYS[1], 'owner')
if old_owner and old_owner ~= '' and old_owner ~= owner then
  redis.call('SREM', 'streams:by_owner:' .. old_owner, ARGV[1])
end
if owner and owner ~= '' then redis.call('SADD', 'streams:by_owner:' .. owner, ARGV[1]) end
return 1
)lua");
  return s;
}

// KEYS: stream:{id}. ARGV: ttl_ms, grace_ms, last_heartbeat. Returns the updated hash (what a
// re-broadcast of the advert needs, in the same round trip), or nil if gone.
const Script& touch_stream() {
  static const Script s = make(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'last_heartbeat', ARGV[3])
arm(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
return redis.call('HGETALL', KEYS[1])
)lua");
  return s;
}

// ARGV: id. Returns nil when the stream is gone, else {hash, {session hashes},
// {subscriber hashes}}.
const Script& remove_stream() {
  static const Script s = make(R"lua(
if redis.call('EXISTS', 'stream:' .. ARGV[1]) == 0 then return false end
return drop_stream(ARGV[1])
)lua");
  return s;
}

// ARGV: id. Returns {hash, sessions, subscribers}; the hash is empty when the stream is gone.
const Script& get_stream() {
  static const Script s = make(R"lua(
return {redis.call('HGETALL', 'stream:' .. ARGV[1]),
        redis.call('SCARD', 'sessions:by_stream:' .. ARGV[1]),
        redis.call('SCARD', 'subscribers:by_stream:' .. ARGV[1])}
)lua");
  return s;
}

// ARGV: the index set (streams:all or streams:by_type:{t}). Returns {{hash, sessions,
// subscribers}, ...} for the streams that exist.
const Script& list_streams() {
  static const Script s = make(R"lua(
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1])) do
  local h = redis.call('HGETALL', 'stream:' .. id)
  if #h > 0 then
    table.insert(out, {h, redis.call('SCARD', 'sessions:by_stream:' .. id),
                       redis.call('SCARD', 'subscribers:by_stream:' .. id)})
  end
end
return out
)lua");
  return s;
}

// KEYS: {kind}:{id}. ARGV: kind ('session'|'subscriber'), id, stream id, ttl_ms, grace_ms,
// field, value, ... Returns 0 when the stream is gone (nothing stored), else 1.
const Script& put_child() {
  static const Script s = make(R"lua(
if redis.call('EXISTS', 'stream:' .. ARGV[3]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
arm(KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5]))
redis.call('SADD', ARGV[1] .. 's:all', ARGV[2])
redis.call('SADD', ARGV[1] .. 's:by_stream:' .. ARGV[3], ARGV[2])
return 1
)lua");
  return s;
}

// KEYS: session:{id}. ARGV: ttl_ms, grace_ms, last_heartbeat, bytes ('' for unchanged).
// Returns the updated hash, or nil when gone.
const Script& touch_session() {
  static const Script s = make(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'last_heartbeat', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'bytes_transferred', ARGV[4]) end
arm(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
return redis.call('HGETALL', KEYS[1])
)lua");
  return s;
}

// KEYS: subscriber:{id}. ARGV: ttl_ms, grace_ms, last_heartbeat. Returns 1, or 0 when gone.
const Script& touch_subscriber() {
  static const Script s = make(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_heartbeat', ARGV[3])
arm(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
return 1
)lua");
  return s;
}

// ARGV: kind ('session'|'subscriber'), id. Returns the removed hash, or nil when gone.
const Script& remove_child() {
  static const Script s = make(R"lua(
if redis.call('EXISTS', ARGV[1] .. ':' .. ARGV[2]) == 0 then return false end
return drop_child(ARGV[1], ARGV[2])
)lua");
  return s;
}

// ARGV: set, key prefix. Returns the non-empty hashes {prefix}{member} for the set's members.
const Script& list_hashes() {
  static const Script s = make(R"lua(
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1])) do
  local h = redis.call('HGETALL', ARGV[2] .. id)
  if #h > 0 then table.insert(out, h) end
end
return out
)lua");
  return s;
}

// KEYS: sluice:type:{name}. ARGV: name, mode ('insert'|'replace'), field, value, ...
// Returns 0 when inserting a name that exists, else 1.
const Script& put_type() {
  static const Script s = make(R"lua(
if ARGV[2] == 'insert' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SADD', 'sluice:types', ARGV[1])
return 1
)lua");
  return s;
}

// KEYS: sluice:type:{name}. ARGV: name. Returns -1 when missing, n > 0 when n live streams use
// the type (nothing removed), 0 when removed.
const Script& remove_type() {
  static const Script s = make(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local live = redis.call('SCARD', 'streams:by_type:' .. ARGV[1])
if live > 0 then return live end
redis.call('DEL', KEYS[1])
redis.call('SREM', 'sluice:types', ARGV[1])
return 0
)lua");
  return s;
}

// ARGV: the most records to take. Returns {{'stream', {hash, sessions, subscribers}} |
// {'session', hash} | {'subscriber', hash}, ...}; records whose hash had vanished are left out
// (their index entries are removed all the same).
const Script& take_expired() {
  static const Script s = make(R"lua(
local due = redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, key in ipairs(due) do
  redis.call('ZREM', EXPIRY, key)
  local kind, id = string.match(key, '^(%a+):(.+)$')
  if kind == 'stream' then
    local removed = drop_stream(id)
    if #removed[1] > 0 then table.insert(out, {'stream', removed}) end
  elseif kind == 'session' or kind == 'subscriber' then
    local h = drop_child(kind, id)
    if #h > 0 then table.insert(out, {kind, h}) end
  end
end
return out
)lua");
  return s;
}

// ARGV: owner. Returns how many live streams the owner has; ids of streams Redis expired on its
// own (past their grace) are pruned from the owner's set on the way.
const Script& count_owned_streams() {
  static const Script s = make(R"lua(
local set = 'streams:by_owner:' .. ARGV[1]
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  if redis.call('EXISTS', 'stream:' .. id) == 1 then
    n = n + 1
  else
    redis.call('SREM', set, id)
  end
end
return n
)lua");
  return s;
}

// Returns {{kind, type, count}, ...} for kinds 'stream', 'session', 'subscriber'.
const Script& counts() {
  static const Script s = make(R"lua(
local out = {}
for _, kind in ipairs({'stream', 'session', 'subscriber'}) do
  local c = {}
  for _, id in ipairs(redis.call('SMEMBERS', kind .. 's:all')) do
    local t = redis.call('HGET', kind .. ':' .. id, 'stream_type')
    if t then c[t] = (c[t] or 0) + 1 end
  end
  for t, n in pairs(c) do table.insert(out, {kind, t, n}) end
end
return out
)lua");
  return s;
}

// KEYS: sluice:key:{id}. ARGV: id, alias ('' for none), stream, max_keys, field, value, ...
// Returns 1 stored, -1 id taken, -2 too many keys, -3 alias taken.
const Script& put_key() {
  static const Script s = make(R"lua(
if redis.call('SCARD', 'sluice:keys') >= tonumber(ARGV[4]) then return -2 end
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if ARGV[2] ~= '' and redis.call('EXISTS', 'sluice:key_alias:' .. ARGV[2]) == 1 then return -3 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('SADD', 'sluice:keys', ARGV[1])
redis.call('SADD', 'sluice:keys_by_stream:' .. ARGV[3], ARGV[1])
if ARGV[2] ~= '' then redis.call('SET', 'sluice:key_alias:' .. ARGV[2], ARGV[1]) end
return 1
)lua");
  return s;
}

// KEYS: a hash. ARGV: n (2 × old field count), old field, old value, ..., new field, new value,
// ... Writes the new fields only if the hash still holds exactly the old ones. Returns 1 written,
// 0 changed meanwhile (the caller reads again and retries).
const Script& compare_and_set_hash() {
  static const Script s = make(R"lua(
local n = tonumber(ARGV[1])
if redis.call('HLEN', KEYS[1]) * 2 ~= n then return 0 end
for i = 2, n, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('HSET', KEYS[1], unpack(ARGV, n + 2))
return 1
)lua");
  return s;
}

// KEYS: sluice:key:{id}. ARGV: id. Removes the key with its alias and index entries. Returns 1,
// or 0 when it was gone.
const Script& remove_key() {
  static const Script s = make(R"lua(
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', 'sluice:keys', ARGV[1])
local stream = field(h, 'stream')
if stream then redis.call('SREM', 'sluice:keys_by_stream:' .. stream, ARGV[1]) end
local alias = field(h, 'alias')
if alias and alias ~= '' and redis.call('GET', 'sluice:key_alias:' .. alias) == ARGV[1] then
  redis.call('DEL', 'sluice:key_alias:' .. alias)
end
return 1
)lua");
  return s;
}

}  // namespace sluice::redis::scripts
