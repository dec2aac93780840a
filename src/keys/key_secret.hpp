#pragma once
// The server secret under which stream keys are stored (HMAC-SHA256). Start-up only: reads the
// file, or creates it (32 random bytes, mode 0600, parent directories 0700) when it is missing.
#include <string>

#include "core/error.hpp"

namespace sluice::keys {

inline constexpr std::size_t kSecretFileBytes = 32;

// The secret in `path`. Creates the file when missing. Fails (never throws) when the file cannot
// be read or created, or holds fewer than 16 bytes; the caller then decides what to do (App logs
// a warning and uses a per-process random secret).
Result<std::string> load_or_create_secret(const std::string& path);

}  // namespace sluice::keys
