#pragma once
// Password verifiers, made once when a user is created or changes password (never kept in
// plain text): argon2id (RFC 9106, libargon2) for HTTP Basic and console logins. Hashing costs
// ~19 MiB and tens of milliseconds by design: callers cap concurrent hashes and cache successes.
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sluice::auth {

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
struct Argon2Cost {
  unsigned memory_kib = 19 * 1024;
  unsigned passes = 2;
  unsigned lanes = 1;
};

// The PHC string "$argon2id$v=19$m=…,t=…,p=…$salt$hash" with a fresh 16-byte salt.
std::string hash_password(std::string_view password, Argon2Cost cost = {});

// True when `password` matches the PHC string; false for a mismatch or a malformed string.
bool verify_password(std::string_view password, const std::string& phc);

// Passwords: 8–1024 bytes (longer ones would only feed a denial of service).
Status check_password_rules(std::string_view password);

}  // namespace sluice::auth
