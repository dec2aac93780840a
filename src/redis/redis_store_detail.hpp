#pragma once
// Small conversions shared by the RedisStore sources (not part of the store's interface).
#include <string>
#include <vector>

#include "redis/record_codec.hpp"
#include "redis/redis_client.hpp"

namespace sluice::redis::detail {

// An HGETALL-style reply (field, value, field, value, ...) as a Hash; anything else is empty.
inline Hash hash_of(const Reply& r) {
  Hash h;
  h.reserve(r.elements.size() / 2);
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
    h.emplace_back(r.elements[i].str, r.elements[i + 1].str);
  return h;
}

// Appends field, value, field, value, ... (script arguments for HSET).
inline void append_pairs(std::vector<std::string>& args, const Hash& h) {
  for (const auto& [k, v] : h) {
    args.push_back(k);
    args.push_back(v);
  }
}

}  // namespace sluice::redis::detail
