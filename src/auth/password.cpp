#include "auth/password.hpp"

#include <argon2.h>

#include <stdexcept>

#include "core/crypto.hpp"

namespace sluice::auth {
namespace {
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
}  // namespace

std::string hash_password(std::string_view password, Argon2Cost cost) {
  const std::string salt = crypto::random_bytes(kSaltBytes);
  const std::size_t length = argon2_encodedlen(cost.passes, cost.memory_kib, cost.lanes, kSaltBytes,
                                               kHashBytes, Argon2_id);
  std::string encoded(length, '\0');
  int rc = argon2id_hash_encoded(cost.passes, cost.memory_kib, cost.lanes, password.data(),
                                 password.size(), salt.data(), salt.size(), kHashBytes,
                                 encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    throw std::runtime_error(std::string("argon2id failed: ") + argon2_error_message(rc));
  }
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool verify_password(std::string_view password, const std::string& phc) {
  if (!phc.starts_with("$argon2id$")) return false;
  return argon2id_verify(phc.c_str(), password.data(), password.size()) == ARGON2_OK;
}

Status check_password_rules(std::string_view password) {
  if (password.size() < 8) {
    return fail(
        Error::invalid_field({"body", "password"}, "password must be at least 8 characters"));
  }
  if (password.size() > 1024) {
    return fail(Error::invalid_field({"body", "password"}, "password must be at most 1024 bytes"));
  }
  return {};
}

}  // namespace sluice::auth
