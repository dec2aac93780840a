#pragma once
// Directory: the identities sluiced knows — users (argon2id and SCRAM verifiers, never the
// password; for ONVIF a sealed copy), API tokens (random, shown once, stored as SHA-256, optional
// expiry, each bound to a role) and custom roles beside the four built-in ones. Owns these records;
// every change is written to its state::Records home (when given: the node's StateDb, or Redis
// shared by a cluster) before it is applied and answered; they are loaded from it at construction
// and again by reload() when another node changed them. Thread-safe: a shared mutex held for one
// lookup or one change, never across hashing.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "auth/permissions.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace sluice::state {
class Records;
}

namespace sluice::auth {

struct UserRecord {
  std::string name;
  std::string role;
  std::string password_hash;  // argon2id PHC string
  std::string scram;          // the relay's SCRAM-SHA-256 verifier (wire/scram to_string form)
  WallTime created_at{};
  // RTSP Digest's verifier, HA1 = hex MD5("name:sluice:password") (realm kDigestRealm); empty
  // for users whose password was set before it existed (they sign in with Basic until changed).
  std::string digest_ha1;
  // ONVIF's WS-UsernameToken digest needs the password itself: it is kept sealed (AES-256-GCM
  // under a key derived from the server secret, base64), never in the clear. Empty when the
  // directory has no sealing key or the password was set before it existed.
  std::string sealed_password;
};

struct TokenRecord {
  std::string id;  // 16 hex chars, also inside the token text; not secret
  std::string name;
  std::string role;
  std::string hash;  // hex SHA-256 of the whole token text
  WallTime created_at{};
  std::optional<WallTime> expires_at;
};

struct CreatedToken {
  TokenRecord record;
  std::string token;  // "st_<id><43 base64url>": returned once, never stored
};

// What a valid token grants.
struct TokenMatch {
  std::string name;
  std::shared_ptr<const Role> role;
  std::optional<WallTime> expires_at;
};

// The realm of HTTP/RTSP authentication challenges, part of every Digest verifier.
inline constexpr std::string_view kDigestRealm = "sluice";
std::string digest_ha1(std::string_view user, std::string_view password);

// Token text: "st_" + 16 lowercase hex (id) + 43 base64url chars (32 random bytes).
inline constexpr std::string_view kTokenPrefix = "st_";
std::optional<std::string> token_id_of(std::string_view token);

// Names of users and tokens: 1–64 of [A-Za-z0-9_.@-].
bool is_valid_principal_name(std::string_view name);

class Directory {
 public:
  // `db` (optional) must outlive the directory. Throws std::runtime_error when stored records
  // cannot be read — unless the home is shared (Redis), which may come up later: then the
  // directory starts empty, warns, and the next reload() fills it. `password_seal_key` (32
  // bytes, or empty for none) seals the copy of each password that ONVIF needs; nodes sharing
  // a home must share it (it derives from the server secret).
  Directory(state::Records* db, const Clock& clock, std::string password_seal_key = {});

  // Replaces every user, token and custom role with what the home holds now (another node
  // changed them). On failure (e.g. Redis unreachable) nothing changes and the error is
  // returned. Verified-credential caches are invalidated (generation()).
  Status reload();

  // ---- roles ----
  std::shared_ptr<const Role> role(
      std::string_view name) const;                        // built-in or custom; null if none
  std::vector<std::shared_ptr<const Role>> roles() const;  // built-in first, then by name
  // Creates or replaces a custom role. 409 for a built-in name.
  Result<Role> put_role(Role role);
  // 404 unknown, 409 built-in or still held by a user or token.
  Status delete_role(const std::string& name);

  // ---- users ----
  // 409 when the name exists; 422 for a bad name, password or unknown role.
  Result<UserRecord> create_user(const std::string& name, const std::string& password,
                                 const std::string& role);
  // Changes the password and/or role. 404 when unknown.
  Result<UserRecord> update_user(const std::string& name,
                                 const std::optional<std::string>& password,
                                 const std::optional<std::string>& role);
  Status delete_user(const std::string& name);
  std::vector<UserRecord> users() const;
  std::optional<UserRecord> find_user(std::string_view name) const;
  // The user's password, opened from its sealed copy: only for verifiers that need it (ONVIF's
  // WS-UsernameToken digest). nullopt when the user is unknown or has no sealed copy.
  std::optional<std::string> password_of(std::string_view name) const;

  // ---- tokens ----
  // 409 when a token of that name exists; 422 for a bad name, role or expiry.
  Result<CreatedToken> create_token(const std::string& name, const std::string& role,
                                    std::optional<std::chrono::seconds> expires_in);
  std::vector<TokenRecord> tokens() const;
  Status delete_token(const std::string& id);  // by id or by name; 404 when unknown
  // The grant of a valid, unexpired token; nullopt otherwise (whatever the reason).
  std::optional<TokenMatch> check_token(std::string_view token) const;

  // The role of a user or of a token, by name; null when there is none.
  std::shared_ptr<const Role> role_of_user(std::string_view name) const;
  std::shared_ptr<const Role> role_of_token(std::string_view name) const;

  std::size_t user_count() const;
  // Changes with every change to users, tokens or roles: caches of verified credentials keep
  // an answer only while it is unchanged.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  Status persist_user(const UserRecord& u);
  Status persist_token(const TokenRecord& t);
  Status persist_role(const Role& r);
  std::string seal(const std::string& password) const;
  state::Records* db_;
  const Clock& clock_;
  const std::string seal_key_;
  void changed() { generation_.fetch_add(1, std::memory_order_release); }

  std::atomic<std::uint64_t> generation_{0};
  mutable std::shared_mutex mutex_;
  std::map<std::string, UserRecord, std::less<>> users_;
  std::map<std::string, TokenRecord, std::less<>> tokens_;  // by id
  std::map<std::string, std::shared_ptr<const Role>, std::less<>> custom_roles_;
};

}  // namespace sluice::auth
