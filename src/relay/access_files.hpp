#pragma once
// The relay's access files, read once at start (docs/operations.md, "Relay access"):
//
//   users file   one "name:SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" per line,
//                as printed by `sluice passwd NAME`; the password itself is never stored.
//   tokens file  one bearer token per line (at least 16 characters).
//
// In both, blank lines and lines starting with '#' are ignored and surrounding spaces are
// trimmed. Parsing is strict: a bad line is an error naming its line number (never the secret),
// a duplicate user or token is an error. Sans-I/O parsers plus one loader that reads the files.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "relay/relay.hpp"

namespace sluice::relay {

inline constexpr std::size_t kMinTokenBytes = 16;
inline constexpr std::size_t kMaxAccessFileBytes = 4 << 20;

using UserTable = std::map<std::string, wire::scram::StoredCredentials, std::less<>>;

// Error status 400 with "line N: ..." details.
Result<UserTable> parse_users(std::string_view text);
Result<std::vector<std::string>> parse_tokens(std::string_view text);

struct AccessSettings {
  std::string users_file;         // empty: no users
  std::string tokens_file;        // empty: no tokens
  std::optional<bool> anonymous;  // unset: allowed only when no users and no tokens
  bool tokens_without_tls = false;
};

// Reads and parses the files. Errors name the file (status 400 for content, 500 when
// unreadable or larger than kMaxAccessFileBytes).
Result<AuthConfig> load_access(const AccessSettings& settings);

}  // namespace sluice::relay
