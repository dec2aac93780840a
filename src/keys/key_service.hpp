#pragma once
// KeyService: stream keys for RTMP publishing and private playback (issue 4, "Stream keys").
//
// A key is `sk_<id><secret>` (keys/key_format.hpp). Only HMAC-SHA256(server secret, key) is kept,
// in the RegistryStore; a presented key is checked by looking its id up, recomputing the HMAC and
// comparing in constant time. The plaintext is returned exactly twice in a key's life: by
// create() and by rotate(); nothing here ever logs it or puts it in an error.
//
// Threads: every method is thread-safe (state lives in the store; counters are atomics). The
// media server calls check_publish()/check_read() from its own threads before it answers a
// publish or play; the HTTP routes call the rest. `store` and `clock` must outlive the service.
#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "registry/key_record.hpp"
#include "registry/store.hpp"

namespace sluice::keys {

using registry::KeyKind;
using registry::KeyRecord;

// Why a presented key was refused; to_string() gives a stable metrics label / log word.
enum class RefusalReason : std::uint8_t {
  kMissing,      // "missing": no key was presented where one is required
  kMalformed,    // "malformed": not of the sk_ format
  kUnknown,      // "unknown": well-formed, but no record has its id
  kWrong,        // "wrong": the id exists, the secret does not match (or the key was rotated)
  kExpired,      // "expired"
  kRevoked,      // "revoked"
  kIpForbidden,  // "ip_forbidden": the peer is outside the key's allowed_ips
  kWrongKind,    // "wrong_kind": a read key used to publish, or a publish key used to play
  kWrongStream,  // "wrong_stream": a key of another stream than the one named
  kUnavailable,  // "unavailable": the key store cannot be reached (nothing is known about the key)
};
inline constexpr std::size_t kRefusalReasonCount = 10;
std::string_view to_string(RefusalReason reason);

struct KeyRefusal {
  RefusalReason reason = RefusalReason::kMalformed;
  std::string key_id;  // the id part when the key was well-formed; never the secret
  std::string detail;  // for logs and the client; never contains the presented key
  // As an HTTP-shaped error: 401 when no key was presented (`missing`, with kReadKeyChallenge
  // as its challenge), 503 when the store cannot be reached, 403 for every key presented and
  // refused.
  Error to_error() const;
};

// The WWW-Authenticate challenge of a 401 for a play over HTTP: the read key goes in the query
// (`?key=READKEY`).
inline constexpr std::string_view kReadKeyChallenge = R"(StreamKey realm="sluice", query="key")";

template <class T>
using KeyOutcome = std::expected<T, KeyRefusal>;

struct KeyGrant {
  std::string key_id;
  std::string stream;
  KeyKind kind = KeyKind::kPublish;
};

enum class KeyState { kActive, kExpired, kRevoked };
std::string_view to_string(KeyState state);
std::string_view to_string(KeyKind kind);

struct CreateKeyRequest {
  std::string stream;
  KeyKind kind = KeyKind::kPublish;
  std::optional<std::int64_t> expires_in;  // seconds, 1 .. kMaxExpiresIn
  std::vector<std::string> allowed_ips;    // addresses or CIDRs, as typed
  std::optional<std::string> alias;
  std::string note;
};

struct CreatedKey {
  KeyRecord record;
  std::string key;  // the plaintext: show it once
};

struct KeyServiceOptions {
  std::size_t max_keys = 100'000;
  std::chrono::seconds purge_after{24 * 3600};  // revoked/expired records kept this long
  std::chrono::seconds purge_interval{60};      // purge_due() scans at most this often
};

struct KeyStats {
  std::uint64_t created = 0;
  std::uint64_t accepted = 0;  // successful check_publish/check_read with a key
  std::array<std::uint64_t, kRefusalReasonCount> refused{};  // by RefusalReason
};

inline constexpr std::int64_t kMaxExpiresIn = 10LL * 365 * 24 * 3600;
inline constexpr std::size_t kMaxAllowedIps = 64;
inline constexpr std::size_t kMaxNoteLength = 1024;
inline constexpr std::size_t kMaxNameLength = 128;

// 1-128 chars of [A-Za-z0-9._-] (stream names and aliases).
bool is_valid_key_name(std::string_view name);
// A name a key may grant: a valid key name that does not start with `sk_` (a name like that in a
// URL is taken for a key, and redacted wherever it is shown).
bool is_valid_stream_name(std::string_view name);

// Every field error of `request` (loc {"body", field[, index]}); empty when valid. Canonicalises
// allowed_ips in place ("10.0.0.7" -> "10.0.0.7/32").
std::vector<FieldError> validate_create(CreateKeyRequest& request);

class KeyService {
 public:
  // `secret` is the server secret (>= 16 bytes; see keys/key_secret.hpp).
  KeyService(registry::RegistryStore& store, const Clock& clock, std::string secret,
             KeyServiceOptions options = {});

  // 422 listing every bad field, 409 alias taken, 507 too many keys.
  Result<CreatedKey> create(CreateKeyRequest request);
  Result<std::vector<KeyRecord>> list() const;
  // By id, or by alias when no id matches. 404 when neither does.
  Result<KeyRecord> get(std::string_view id_or_alias) const;
  // Marks the key revoked (idempotent: revoking twice keeps the first time). 404 unknown.
  Result<KeyRecord> revoke(std::string_view id_or_alias);
  // A new secret for the same id and metadata; the old key stops working at once.
  // 404 unknown, 409 when the key is revoked or expired.
  Result<CreatedKey> rotate(std::string_view id_or_alias);

  // Before answering an RTMP publish. `peer_ip` is the socket's peer address as text
  // ("1.2.3.4", "::ffff:1.2.3.4", "::1"); an unparsable peer only passes keys without allowed_ips.
  // `stream`, when the publisher named one besides the key, must be the key's stream. An empty
  // `presented_key` is a `missing` refusal. On success updates last_used_at and uses. Every
  // refusal is counted and logged (what, stream, reason, key id, peer — never the key).
  KeyOutcome<KeyGrant> check_publish(std::string_view presented_key, std::string_view peer_ip,
                                     std::optional<std::string_view> stream = std::nullopt);
  // Whether `stream` has an active read key — a question only: nothing is counted or logged
  // (ONVIF asks it of every live path at each listing). The store's error when it cannot say.
  Result<bool> is_private(std::string_view stream);
  // Before answering a play of `stream`: public (ok, nullopt) while the stream has no active
  // read key; otherwise a valid read key of that stream is required (ok, its grant).
  KeyOutcome<std::optional<KeyGrant>> check_read(std::string_view stream,
                                                 std::optional<std::string_view> presented_key,
                                                 std::string_view peer_ip);

  // State of a record at the service's current time.
  KeyState state_of(const KeyRecord& record) const;
  // Drops records revoked/expired more than purge_after ago; scans at most once per
  // purge_interval (call it from a periodic sweep). Returns how many were removed.
  std::size_t purge_due();
  KeyStats stats() const;

 private:
  Result<std::optional<std::string>> resolve(std::string_view id_or_alias) const;
  KeyOutcome<KeyGrant> check(std::string_view presented_key, std::string_view peer_ip, KeyKind kind,
                             std::optional<std::string_view> stream);
  KeyRefusal refuse(RefusalReason reason, std::string key_id, std::string detail,
                    std::string_view peer_ip, KeyKind kind, std::optional<std::string_view> stream);

  registry::RegistryStore& store_;
  const Clock& clock_;
  std::string secret_;
  KeyServiceOptions options_;
  std::atomic<std::int64_t> next_purge_{0};  // mono ticks
  std::atomic<std::uint64_t> created_{0};
  std::atomic<std::uint64_t> accepted_{0};
  std::array<std::atomic<std::uint64_t>, kRefusalReasonCount> refused_{};
};

}  // namespace sluice::keys
