#pragma once
// Authenticator: turns the credentials a client presented at any door into an Identity.
//   Authorization: Bearer <API token | admin token>   (a Bearer `sk_…` is a stream key, which
//                                                      is not an identity: ignored here)
//   Authorization: Basic base64(user:password)
//   ?token=<API token>                                 (for clients that cannot set headers)
// No credentials is the anonymous identity (or admin, for loopback peers with
// --loopback-admin). Wrong, expired or malformed credentials are a 401 that never says which
// part was wrong; after a failure the address is refused without checking for 100 ms, so no
// address tries more than 10 credentials a second. argon2id verifications are capped (2 at a
// time) and successes cached for a minute, so Basic auth costs a hash once, not per request.
// Thread-safe.
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <semaphore>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/directory.hpp"
#include "auth/identity.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace sluice::auth {

struct Credentials {
  std::string_view authorization;  // the header's value, empty when absent
  std::string_view query_token;    // ?token=, empty when absent
  std::string_view address;        // the peer (after --trusted-proxies)
  std::string_view method;         // the request's method: Digest hashes it (RTSP "DESCRIBE")
};

// ONVIF's credentials: a WS-Security UsernameToken (OASIS UsernameToken Profile 1.0) in the SOAP
// header. A PasswordDigest is base64(SHA-1(nonce ‖ created ‖ password)); a PasswordText is the
// password itself.
struct UsernameToken {
  std::string username;
  std::string password;  // the digest (base64) or the text
  bool digest = true;    // PasswordDigest (what ONVIF clients send) or PasswordText
  std::string nonce;     // base64
  std::string created;   // xsd:dateTime, UTC
};

struct AuthenticatorOptions {
  std::string admin_token;      // bootstrap admin; empty: none
  bool loopback_admin = false;  // loopback peers without credentials are admin
};

struct AuthStats {
  std::atomic<std::uint64_t> failures{0};   // wrong credentials
  std::atomic<std::uint64_t> throttled{0};  // refused during an address's backoff
};

class Authenticator {
 public:
  // `directory` and `clock` must outlive the authenticator.
  Authenticator(const Directory& directory, const Clock& clock, AuthenticatorOptions options);

  Result<Identity> authenticate(const Credentials& credentials);

  // An ONVIF request's UsernameToken → the user, or a 401 like any other wrong credential (the
  // same backoff). A digest must be fresh (`created` within 5 minutes of now) and is accepted
  // once (replays within that window are refused); it is checked against the user's sealed
  // password (Directory::password_of), so users whose password predates sealing must set it
  // again.
  Result<Identity> username_token(const UsernameToken& token, std::string_view address);
  // A Digest challenge (RFC 2617, MD5, no qop) for a WWW-Authenticate header:
  // `Digest realm="sluice", nonce="…"`. Nonces are stateless (a time and its HMAC under a key
  // made at start) and accepted for 5 minutes.
  std::string digest_challenge() const;

  // SCRAM and other doors that verify by themselves report their outcome here, so the same
  // per-address backoff applies. `throttled` says whether the address is in backoff now.
  bool throttled(std::string_view address);
  void note_failure(std::string_view address);

  const AuthStats& stats() const { return stats_; }
  const AuthenticatorOptions& options() const { return options_; }

 private:
  Result<Identity> bearer(std::string_view token, std::string_view address);
  Result<Identity> basic(std::string_view encoded, std::string_view address);
  Result<Identity> digest(std::string_view params, std::string_view method,
                          std::string_view address);
  std::string nonce_at(std::int64_t seconds) const;
  bool first_use(const std::string& digest);  // false for a replayed UsernameToken digest
  void note_unsealed(const std::string& user);
  bool verify_cached(const UserRecord& user, std::string_view password);
  Error refusal(std::string_view address);

  const Directory& directory_;
  const Clock& clock_;
  AuthenticatorOptions options_;
  std::shared_ptr<const Role> admin_role_;
  AuthStats stats_;
  const std::string nonce_key_;  // random, made at construction: signs Digest nonces

  std::mutex backoff_mutex_;
  std::unordered_map<std::string, MonoTime> backoff_until_;  // bounded: see note_failure

  std::mutex replay_mutex_;
  std::unordered_map<std::string, MonoTime> used_digests_;  // until their freshness lapses
  std::set<std::string> unsealed_noted_;                    // users warned about (bounded)
  std::mutex cache_mutex_;
  std::unordered_map<std::string, MonoTime> verified_;  // hash of (user, password, verifier)
  std::counting_semaphore<2> hashing_{2};

  // Credentials that verified (the Authorization value, or a ?token=), so a keep-alive client
  // costs one hash lookup per request, not a SHA-256 or an argon2 check. An entry holds while
  // the directory's generation is unchanged, the token is unexpired and (for passwords) for a
  // minute. Memory only; bounded.
  struct Known {
    Identity::Kind kind;
    std::string name;
    std::shared_ptr<const Role> role;
    std::uint64_t generation;
    std::optional<WallTime> expires_at;  // tokens
    MonoTime fresh_until;
  };
  std::optional<Identity> known(const std::string& credential, std::string_view address);
  void remember(const std::string& credential, const Identity& who,
                std::optional<WallTime> expires_at, std::chrono::seconds for_how_long);
  std::shared_mutex known_mutex_;
  std::unordered_map<std::string, Known> known_;
  std::atomic<std::size_t> backoffs_{0};  // entries in backoff_until_: skips its lock when 0
};

}  // namespace sluice::auth
