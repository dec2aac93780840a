#pragma once
// The Lua scripts behind RedisStore. Each registry operation is one script, so it is atomic on
// the server: index sets (streams:all, streams:by_type:*, sessions:by_stream:*, ...) change in
// the same step as the hashes they index, and no reader ever sees one without the other.
//
// Expiry: every record hash is also a member of the sorted set sluice:expiry, scored with its
// deadline in the Redis server's own clock (TIME, ms), so nodes with skewed clocks agree. The
// take_expired script pops due members and removes their records (a stream with its sessions
// and subscribers) in one step: whichever node runs it gets each expired record, no other node
// does — that is what makes each expiry event exactly-once across the cluster. The hashes also
// carry a Redis TTL (deadline + grace) only as a safety net for when no node runs at all.
#include "redis/redis_client.hpp"

namespace sluice::redis::scripts {

inline constexpr std::string_view kExpiry = "sluice:expiry";
std::string keys_by_stream_key(std::string_view stream);  // sluice:keys_by_stream:{stream}

// ARGV conventions are documented next to each script in store_scripts.cpp.
const Script& put_stream();
const Script& touch_stream();
const Script& remove_stream();
const Script& get_stream();
const Script& list_streams();
const Script& put_child();  // sessions and subscribers
const Script& touch_session();
const Script& touch_subscriber();
const Script& remove_child();
const Script& list_hashes();  // the hashes named by a set's members
const Script& put_type();
const Script& remove_type();
const Script& take_expired();
const Script& counts();
const Script& count_owned_streams();
const Script& put_key();
const Script& compare_and_set_hash();
const Script& remove_key();

}  // namespace sluice::redis::scripts
