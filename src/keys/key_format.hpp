#pragma once
// The text form of a stream key, sans I/O:
//
//   sk_ <16 lowercase hex: key id> <43 base64url chars, no padding: 32 random bytes>
//
// 62 characters, all in [A-Za-z0-9_-], so a key survives an RTMP URL path, a query string or a
// shell unquoted. The id part is not secret (it names the record and may be logged); the rest is.
#include <optional>
#include <string>
#include <string_view>

#include "core/crypto.hpp"

namespace sluice::keys {

inline constexpr std::string_view kKeyPrefix = "sk_";
inline constexpr std::size_t kKeyIdLength = 16;
inline constexpr std::size_t kKeySecretLength = 43;  // base64url of 32 bytes
inline constexpr std::size_t kKeyLength = kKeyPrefix.size() + kKeyIdLength + kKeySecretLength;

// The id inside a well-formed key, or nullopt: wrong length, prefix or alphabet, or a last
// secret character that carries non-zero padding bits (so each key has exactly one spelling).
std::optional<std::string_view> parse_key_id(std::string_view key);

// True for 16 lowercase hex chars.
bool is_key_id(std::string_view text);

// `text` with every key-shaped word — `sk_` not preceded by a key character, and the key
// characters [A-Za-z0-9_-] after it — written as `sk_***`, whether or not it is a well-formed
// key. For anything a client sent that is echoed in an answer, an event or a log (a key pasted
// into a play URL, an RTMP application or stream name): a secret is never shown.
std::string redact_keys(std::string_view text);

// Builds a key from an id and 32 secret bytes.
std::string format_key(std::string_view id, std::string_view secret32);

// The primitives keys are made of (core/crypto).
using crypto::base64url;
using crypto::equal_constant_time;
using crypto::hmac_sha256;
using crypto::random_bytes;

// A fresh key id: 8 random bytes as hex.
std::string random_key_id();

}  // namespace sluice::keys
