#include "keys/key_format.hpp"

#include "core/ids.hpp"

namespace sluice::keys {

bool is_key_id(std::string_view text) {
  if (text.size() != kKeyIdLength) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string redact_keys(std::string_view text) {
  auto key_char = [](char c) { return crypto::base64url_value(c) >= 0; };
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const bool word_start = i == 0 || !key_char(text[i - 1]);
    if (word_start && text.substr(i).starts_with(kKeyPrefix)) {
      out += "sk_***";
      i += kKeyPrefix.size();
      while (i < text.size() && key_char(text[i]))
        ++i;
      continue;
    }
    out += text[i++];
  }
  return out;
}

std::optional<std::string_view> parse_key_id(std::string_view key) {
  if (key.size() != kKeyLength || !key.starts_with(kKeyPrefix)) return std::nullopt;
  std::string_view id = key.substr(kKeyPrefix.size(), kKeyIdLength);
  if (!is_key_id(id)) return std::nullopt;
  std::string_view secret = key.substr(kKeyPrefix.size() + kKeyIdLength);
  for (char c : secret) {
    if (crypto::base64url_value(c) < 0) return std::nullopt;
  }
  // 32 bytes = 256 bits in 43 chars (258 bits): the last char's low 2 bits are padding.
  if ((crypto::base64url_value(secret.back()) & 0x3) != 0) return std::nullopt;
  return id;
}

std::string format_key(std::string_view id, std::string_view secret32) {
  std::string out(kKeyPrefix);
  out += id;
  out += base64url(secret32);
  return out;
}

std::string random_key_id() {
  return to_hex(random_bytes(kKeyIdLength / 2));
}

}  // namespace sluice::keys
