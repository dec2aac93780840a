#pragma once
// The one place sluice's cryptographic primitives live (OpenSSL underneath): randomness,
// SHA-256, HMAC-SHA256, constant-time comparison and the base64 alphabets. Stream keys, API
// tokens, SCRAM and sealed secrets are built from these. Thread-safe; no state.
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sluice::crypto {

// Fresh randomness from OpenSSL's RAND_bytes; throws std::runtime_error only if it fails.
std::string random_bytes(std::size_t n);

// SHA-256 of `data`: 32 raw bytes.
std::string sha256(std::string_view data);
// SHA-1 of `data`: 20 raw bytes. Only for ONVIF's WS-UsernameToken PasswordDigest (OASIS
// UsernameToken Profile 1.0), which every ONVIF client and NVR computes with it.
std::string sha1(std::string_view data);
// Lower-case hex MD5 of `data`: only for HTTP/RTSP Digest authentication (RFC 2617), which
// cannot use anything else with the clients that speak it (ffmpeg, VLC, cameras).
std::string md5_hex(std::string_view data);

// HMAC-SHA256(key, data): 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
// HMAC-SHA1(key, data): 20 raw bytes. Only for STUN's MESSAGE-INTEGRITY (RFC 8489 14.5), which
// every ICE agent (browsers included) uses with the ICE password; nothing of sluice's own.
std::string hmac_sha1(std::string_view key, std::string_view data);

// Constant-time equality (CRYPTO_memcmp) of two byte strings; different sizes and two empty
// strings are unequal, so an unset secret never matches.
bool equal_constant_time(std::string_view a, std::string_view b);

// Overwrites `s` with zeros (OPENSSL_cleanse) and empties it.
void wipe(std::string& s);

// RFC 4648 §4 base64 with padding, and its strict decoder (canonical input only: 400 otherwise).
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

// RFC 4648 §5 base64url without padding, and the value of one of its characters (-1 if none).
std::string base64url(std::string_view bytes);
int base64url_value(char c);

// AES-256-GCM under a 32-byte key: nonce (12) ‖ ciphertext ‖ tag (16). `open` fails (400) when
// the box was altered or sealed under another key.
std::string seal(std::string_view key32, std::string_view plaintext);
Result<std::string> open(std::string_view key32, std::string_view box);

}  // namespace sluice::crypto
