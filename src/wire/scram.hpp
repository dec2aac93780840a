#pragma once
// SCRAM-SHA-256 (RFC 5802 with the SHA-256 profile of RFC 7677), sans I/O.
//
// This module turns SCRAM messages into SCRAM messages; it never touches a socket. The transport
// frames and carries them:
//
//   client                                   server
//   ClientExchange c(user, pw)               ServerExchange s(lookup)
//   c.client_first()          ---------->    s.handle_client_first(msg)   -> server-first
//   c.handle_server_first(m)  <----------
//                             -> client-final
//                             ---------->    s.handle_client_final(msg)   -> "v=..." (or 401)
//   c.verify_server_final(m)  <----------
//
// Only the client-first message carries the GS2 header ("n,," or "y,,"); every other message is
// the bare attribute list. The password never crosses the wire: the client proves knowledge of
// it with a proof bound to both nonces, and the server proves knowledge of the stored key back.
//
// Scope and choices:
// - No channel binding: "p=..." is rejected, "n,," and "y,," are accepted (the server never
//   advertises SCRAM-SHA-256-PLUS, so "y" is legitimate). No authorization identity ("a=").
// - No SASLprep: usernames and passwords are used as the UTF-8 (or any) bytes given. Two
//   spellings that SASLprep would normalise to the same string are different credentials here.
//   Usernames are escaped on the wire per RFC 5802 ("," -> "=2C", "=" -> "=3D"); they must be
//   1..255 bytes and contain no NUL.
// - Every message is limited to kMaxMessageBytes; a longer one is rejected before parsing.
// - Errors: malformed or out-of-order messages -> Error status 400; authentication failures
//   (bad proof, unknown user, nonce or channel-binding mismatch, bad server signature, a server
//   "e=" error) -> Error status 401. Any error leaves the exchange in a terminal failed state:
//   every later call fails too. Start a new exchange to retry.
// - Unknown users are not revealed at client-first: the server answers with a fake but stable
//   salt (an HMAC of the username under a per-process random key) and the default iteration
//   count, and the exchange fails at client-final with exactly the same error as a wrong
//   password. Deployments that store credentials with a non-default iteration count make
//   unknown users distinguishable by "i="; keep one iteration count for all users.
//
// Ownership and threads: an exchange owns copies of everything it needs (the client holds the
// password until handle_server_first, then wipes it). One exchange per connection and per
// attempt; an exchange is not thread-safe (thread-compatible: no shared mutable state except a
// process-wide key initialised once, thread-safely). The free functions are thread-safe.
// Constructors throw std::invalid_argument for programming errors (bad nonce, empty username)
// and std::runtime_error if OpenSSL fails; message handlers never throw for bad input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sluice::wire::scram {

inline constexpr std::size_t kMaxMessageBytes = 4096;
inline constexpr std::size_t kMaxUsernameBytes = 255;
inline constexpr std::size_t kSaltBytes = 16;
inline constexpr std::uint32_t kDefaultIterations = 4096;
// Iteration counts the client accepts from a server. Below the minimum the stored key is cheap
// to brute-force; above the maximum a hostile server could make the client burn CPU.
inline constexpr std::uint32_t kMinClientIterations = 4096;
inline constexpr std::uint32_t kMaxClientIterations = 1'000'000;

// What a server stores for a user: never the password.
struct StoredCredentials {
  std::string salt;  // raw bytes
  std::uint32_t iterations = kDefaultIterations;
  std::array<std::uint8_t, 32> stored_key{};  // H(HMAC(SaltedPassword, "Client Key"))
  std::array<std::uint8_t, 32> server_key{};  // HMAC(SaltedPassword, "Server Key")

  friend bool operator==(const StoredCredentials&, const StoredCredentials&) = default;
};

// PBKDF2-HMAC-SHA-256 and the RFC 5802 key derivation. Throws std::invalid_argument for an empty
// salt or iterations outside [1, INT_MAX].
StoredCredentials derive_credentials(std::string_view password, std::string_view salt,
                                     std::uint32_t iterations);
// Fresh random kSaltBytes salt (RAND_bytes), given iterations.
StoredCredentials make_credentials(std::string_view password,
                                   std::uint32_t iterations = kDefaultIterations);

// Text form for config files, the PostgreSQL format:
//   "SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>"
std::string to_string(const StoredCredentials& credentials);
// Strict inverse of to_string: exact prefix, decimal iterations in [1, INT_MAX] without sign or
// leading zeros, non-empty canonical padded base64 salt, 32-byte keys. Error status 400.
Result<StoredCredentials> parse_credentials(std::string_view text);

// Standard padded base64 (RFC 4648 section 4). Decoding is strict: length a multiple of 4, no
// whitespace, padding only at the end, unused bits zero. Error status 400.
std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

// The client side of one authentication attempt.
class ClientExchange {
 public:
  // nonce: empty -> 24 random bytes, base64 (32 characters). Otherwise it must be printable
  // ASCII without ',' (tests pass a fixed one). Throws std::invalid_argument for a bad nonce or
  // a username that is empty, longer than kMaxUsernameBytes or contains NUL.
  ClientExchange(std::string username, std::string password, std::string nonce = {});
  ~ClientExchange();
  ClientExchange(ClientExchange&&) noexcept = default;
  ClientExchange& operator=(ClientExchange&&) noexcept = default;
  ClientExchange(const ClientExchange&) = delete;
  ClientExchange& operator=(const ClientExchange&) = delete;

  // "n,,n=<escaped user>,r=<nonce>". Idempotent: later calls return the same message.
  std::string client_first();
  // Takes server-first ("r=...,s=...,i=..."), runs PBKDF2, returns client-final
  // "c=biws,r=<nonce>,p=<proof>". Rejects a nonce that does not extend ours, a bad salt, an
  // iteration count outside [kMinClientIterations, kMaxClientIterations].
  Result<std::string> handle_server_first(std::string_view msg);
  // Takes server-final: "v=<ServerSignature>" must match (constant-time compare), "e=<error>"
  // is reported as Error 401 carrying the server's error text.
  Status verify_server_final(std::string_view msg);

 private:
  enum class State { kInitial, kSentFirst, kSentFinal, kDone, kFailed };

  Result<std::string> process_server_first(std::string_view msg);
  Status process_server_final(std::string_view msg);

  State state_ = State::kInitial;
  std::string username_;
  std::string password_;  // wiped once the proof is computed
  std::string nonce_;
  std::string client_first_bare_;
  std::array<std::uint8_t, 32> expected_server_signature_{};
};

// The server side of one authentication attempt.
class ServerExchange {
 public:
  // Called once per exchange with the decoded username; nullopt means "no such user". It is
  // called on the handler's thread; exceptions propagate out of handle_client_first.
  using Lookup = std::function<std::optional<StoredCredentials>(std::string_view username)>;

  // nonce: the server's part of the nonce, appended to the client's nonce to form the "r="
  // value. Empty -> 24 random bytes, base64. Otherwise printable ASCII without ','. Throws
  // std::invalid_argument for a bad nonce or an empty lookup.
  explicit ServerExchange(Lookup lookup, std::string nonce = {});

  // Takes client-first ("n,,n=user,r=cnonce"), returns server-first "r=<cnonce><snonce>,
  // s=<salt>,i=<iterations>". Unknown users get a plausible answer (see the file comment).
  // Error 500 if the lookup returns credentials with an empty salt or zero iterations.
  Result<std::string> handle_client_first(std::string_view msg);
  // Takes client-final, verifies the proof (constant-time), returns server-final "v=...".
  // Error 401 for a wrong proof or unknown user (same detail for both); the transport should
  // then send "e=invalid-proof" or its own failure frame.
  Result<std::string> handle_client_final(std::string_view msg);

  // The decoded username from client-first (empty before it). Only trust it once
  // authenticated() is true.
  const std::string& username() const { return username_; }
  bool authenticated() const { return state_ == State::kDone; }

 private:
  enum class State { kInitial, kSentServerFirst, kDone, kFailed };

  Result<std::string> process_client_first(std::string_view msg);
  Result<std::string> process_client_final(std::string_view msg);

  Lookup lookup_;
  State state_ = State::kInitial;
  std::string server_nonce_;
  std::string username_;
  std::string gs2_header_;
  std::string nonce_;  // client nonce + server nonce
  std::string client_first_bare_;
  std::string server_first_;
  StoredCredentials credentials_;
  bool known_user_ = false;
};

}  // namespace sluice::wire::scram
