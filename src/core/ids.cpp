#include "core/ids.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>

namespace sluice {

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}
namespace {

using Bytes = std::array<std::uint8_t, 16>;

std::string format(const Bytes& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Bytes> parse(std::string_view t) {
  if (t.starts_with("urn:uuid:")) t.remove_prefix(9);
  if (t.size() == 38 && t.front() == '{' && t.back() == '}') t = t.substr(1, 36);
  Bytes b{};
  std::size_t n = 0;
  if (t.size() == 36) {
    for (std::size_t i : {8u, 13u, 18u, 23u}) {
      if (t[i] != '-') return std::nullopt;
    }
  } else if (t.size() != 32) {
    return std::nullopt;
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t.size() == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) continue;
    int hi = hex_value(t[i]);
    int lo = i + 1 < t.size() ? hex_value(t[i + 1]) : -1;
    if (hi < 0 || lo < 0) return std::nullopt;
    b[n++] = static_cast<std::uint8_t>(hi << 4 | lo);
    ++i;
  }
  if (n != 16) return std::nullopt;
  return b;
}

}  // namespace

std::string new_uuid4() {
  Bytes b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  return format(b);
}

std::string uuid5(std::string_view namespace_uuid, std::string_view name) {
  auto ns = parse(namespace_uuid);
  if (!ns) throw std::invalid_argument("uuid5: namespace is not a UUID");
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, ns->data(), ns->size());
  SHA1_Update(&ctx, name.data(), name.size());
  std::array<std::uint8_t, SHA_DIGEST_LENGTH> digest{};
  SHA1_Final(digest.data(), &ctx);
  Bytes b{};
  std::copy_n(digest.begin(), 16, b.begin());
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x50);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  return format(b);
}

std::optional<std::string> canonical_uuid(std::string_view text) {
  auto b = parse(text);
  if (!b) return std::nullopt;
  return format(*b);
}

}  // namespace sluice
