#pragma once
// KeyRecord: one stream key as the RegistryStore keeps it (issue 4, "Stream keys"). Plain data;
// the rules (format, HMAC, expiry, IP allow-lists) live in keys::KeyService. The plaintext key is
// never stored: `hmac` is HMAC-SHA256(server secret, full key), 32 raw bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace sluice::registry {

enum class KeyKind { kPublish, kRead };

struct KeyRecord {
  std::string id;      // 16 lowercase hex chars; not secret (it is part of the key)
  std::string stream;  // the stream name the key grants
  KeyKind kind = KeyKind::kPublish;
  std::string hmac;  // 32 raw bytes
  WallTime created_at{};
  std::optional<WallTime> expires_at;
  std::vector<std::string> allowed_ips;  // canonical "ADDR/PREFIX"; empty: any address
  std::optional<std::string> alias;      // unique among keys
  std::string note;
  std::optional<WallTime> revoked_at;
  std::optional<WallTime> last_used_at;
  std::uint64_t uses = 0;
};

}  // namespace sluice::registry
