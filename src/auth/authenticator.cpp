#include "auth/authenticator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "auth/password.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/time_format.hpp"

namespace sluice::auth {
namespace {

constexpr auto kBackoff = std::chrono::milliseconds(100);
constexpr std::size_t kMaxBackoffEntries = 16384;
constexpr auto kVerifiedFor = std::chrono::seconds(60);
constexpr std::size_t kMaxVerified = 4096;
constexpr auto kHashWait = std::chrono::seconds(3);

// Case-insensitive "scheme " prefix; returns what follows it.
std::optional<std::string_view> after_scheme(std::string_view header, std::string_view scheme) {
  if (header.size() <= scheme.size() + 1) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return std::nullopt;
  }
  if (header[scheme.size()] != ' ') return std::nullopt;
  std::string_view rest = header.substr(scheme.size() + 1);
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ')
    rest.remove_suffix(1);
  return rest;
}

bool is_loopback(std::string_view a) {
  if (a.starts_with("::ffff:")) a.remove_prefix(7);
  return a.starts_with("127.") || a == "::1";
}

}  // namespace

Authenticator::Authenticator(const Directory& directory, const Clock& clock,
                             AuthenticatorOptions options)
    : directory_(directory),
      clock_(clock),
      options_(std::move(options)),
      admin_role_(directory.role("admin")),
      nonce_key_(crypto::random_bytes(32)) {}

namespace {

constexpr std::int64_t kNonceLifetimeSeconds = 300;

// The value of `key` in a Digest header's comma-separated key=value / key="value" list.
std::optional<std::string> digest_param(std::string_view params, std::string_view key) {
  while (!params.empty()) {
    while (!params.empty() && (params.front() == ' ' || params.front() == ',')) {
      params.remove_prefix(1);
    }
    const auto eq = params.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = params.substr(0, eq);
    while (!name.empty() && name.back() == ' ')
      name.remove_suffix(1);
    params.remove_prefix(eq + 1);
    std::string value;
    if (!params.empty() && params.front() == '"') {
      const auto end = params.find('"', 1);
      if (end == std::string_view::npos) return std::nullopt;
      value = params.substr(1, end - 1);
      params.remove_prefix(end + 1);
    } else {
      const auto comma = params.find(',');
      value = params.substr(0, comma);
      params.remove_prefix(comma == std::string_view::npos ? params.size() : comma);
    }
    if (name.size() == key.size() &&
        std::equal(name.begin(), name.end(), key.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string Authenticator::nonce_at(std::int64_t seconds) const {
  const std::string time = std::to_string(seconds);
  return time + "-" + crypto::md5_hex(crypto::hmac_sha256(nonce_key_, time)).substr(0, 16);
}

std::string Authenticator::digest_challenge() const {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().time_since_epoch())
          .count();
  return "Digest realm=\"" + std::string(kDigestRealm) + "\", nonce=\"" + nonce_at(now) + "\"";
}

Result<Identity> Authenticator::digest(std::string_view params, std::string_view method,
                                       std::string_view address) {
  if (throttled(address)) return fail(refusal(address));
  const auto user_name = digest_param(params, "username");
  const auto nonce = digest_param(params, "nonce");
  const auto uri = digest_param(params, "uri");
  const auto response = digest_param(params, "response");
  const auto realm = digest_param(params, "realm");
  std::optional<UserRecord> user;
  bool ok =
      user_name && nonce && uri && response && realm && *realm == kDigestRealm && !method.empty();
  if (ok) {  // a nonce of ours, not older than its lifetime
    const auto dash = nonce->find('-');
    std::int64_t issued = 0;
    ok = dash != std::string::npos &&
         std::from_chars(nonce->data(), nonce->data() + dash, issued).ec == std::errc{} &&
         crypto::equal_constant_time(nonce_at(issued), *nonce);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().time_since_epoch())
            .count();
    ok = ok && now - issued <= kNonceLifetimeSeconds && issued <= now + 5;
  }
  if (ok) {
    user = directory_.find_user(*user_name);
    ok = user && !user->digest_ha1.empty();
  }
  std::shared_ptr<const Role> role = ok ? directory_.role(user->role) : nullptr;
  if (ok && role) {
    const std::string ha2 = crypto::md5_hex(std::string(method) + ":" + *uri);
    const std::string expected = crypto::md5_hex(user->digest_ha1 + ":" + *nonce + ":" + ha2);
    ok = crypto::equal_constant_time(expected, *response);
  }
  if (!ok || !role) {
    note_failure(address);
    return fail(refusal(address));
  }
  return Identity{Identity::Kind::kUser, user->name, std::string(address), std::move(role)};
}

bool Authenticator::first_use(const std::string& digest) {
  constexpr std::size_t kMaxUsedDigests = 16384;
  const MonoTime now = clock_.mono_now();
  std::lock_guard lock(replay_mutex_);
  if (used_digests_.size() >= kMaxUsedDigests) {
    std::erase_if(used_digests_, [now](const auto& kv) { return kv.second <= now; });
    // Still full: forget the entry closest to lapsing (a flood cannot lock users out).
    if (used_digests_.size() >= kMaxUsedDigests) {
      used_digests_.erase(
          std::min_element(used_digests_.begin(), used_digests_.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; }));
    }
  }
  return used_digests_.emplace(digest, now + std::chrono::seconds(2 * kNonceLifetimeSeconds))
      .second;
}

void Authenticator::note_unsealed(const std::string& user) {
  // Once per user and process: the operator learns why an NVR cannot sign in (no secret here).
  std::lock_guard lock(replay_mutex_);
  if (unsealed_noted_.size() >= 1024 || !unsealed_noted_.insert(user).second) return;
  spdlog::warn(
      "ONVIF: user '{}' has no sealed password (set before sealing existed, or under "
      "another key secret): set the password again to sign in with ONVIF",
      user);
}

Result<Identity> Authenticator::username_token(const UsernameToken& token,
                                               std::string_view address) {
  if (throttled(address)) return fail(refusal(address));
  auto user = directory_.find_user(token.username);
  std::shared_ptr<const Role> role = user ? directory_.role(user->role) : nullptr;
  bool ok = role != nullptr;
  if (ok && token.digest) {
    const auto created = parse_timestamp(token.created);
    const auto nonce = crypto::base64_decode(token.nonce);
    const auto skew = created ? clock_.wall_now() - *created : std::chrono::hours(1);
    ok = nonce && nonce->size() <= 64 && token.created.size() <= 64 &&
         std::chrono::abs(skew) <= std::chrono::seconds(kNonceLifetimeSeconds);
    auto password = ok ? directory_.password_of(user->name) : std::nullopt;
    if (ok && !password) note_unsealed(user->name);
    ok = ok && password;
    if (ok) {
      std::string text = *nonce + token.created + *password;
      const std::string expected = crypto::base64_encode(crypto::sha1(text));
      crypto::wipe(text);
      crypto::wipe(*password);
      ok = crypto::equal_constant_time(expected, token.password) && first_use(expected);
    }
  } else if (ok) {
    ok = verify_cached(*user, token.password);
  }
  if (!ok) {
    note_failure(address);
    return fail(refusal(address));
  }
  return Identity{Identity::Kind::kUser, user->name, std::string(address), std::move(role)};
}

Result<Identity> Authenticator::authenticate(const Credentials& c) {
  if (auto token = after_scheme(c.authorization, "bearer")) {
    if (token->starts_with("sk_")) return Identity::anonymous(std::string(c.address));
    return bearer(*token, c.address);
  }
  if (auto encoded = after_scheme(c.authorization, "basic")) return basic(*encoded, c.address);
  if (auto params = after_scheme(c.authorization, "digest")) {
    return digest(*params, c.method, c.address);
  }
  if (!c.authorization.empty()) return fail(refusal(c.address));
  if (!c.query_token.empty()) return bearer(c.query_token, c.address);
  if (options_.loopback_admin && is_loopback(c.address)) {
    Identity id{Identity::Kind::kAdmin, "loopback", std::string(c.address), admin_role_};
    return id;
  }
  return Identity::anonymous(std::string(c.address));
}

std::optional<Identity> Authenticator::known(const std::string& credential,
                                             std::string_view address) {
  std::shared_lock lock(known_mutex_);
  auto it = known_.find(credential);
  if (it == known_.end()) return std::nullopt;
  const Known& k = it->second;
  if (k.generation != directory_.generation() || k.fresh_until <= clock_.mono_now() ||
      (k.expires_at && *k.expires_at <= clock_.wall_now())) {
    return std::nullopt;
  }
  return Identity{k.kind, k.name, std::string(address), k.role};
}

void Authenticator::remember(const std::string& credential, const Identity& who,
                             std::optional<WallTime> expires_at,
                             std::chrono::seconds for_how_long) {
  constexpr std::size_t kMaxKnown = 4096;
  std::unique_lock lock(known_mutex_);
  if (known_.size() >= kMaxKnown) known_.clear();
  known_[credential] = Known{who.kind,   who.name,
                             who.role,   directory_.generation(),
                             expires_at, clock_.mono_now() + for_how_long};
}

Result<Identity> Authenticator::bearer(std::string_view token, std::string_view address) {
  if (throttled(address)) return fail(refusal(address));
  const std::string credential(token);
  if (auto who = known(credential, address)) return *who;
  if (crypto::equal_constant_time(token, options_.admin_token)) {
    return Identity{Identity::Kind::kAdmin, "admin", std::string(address), admin_role_};
  }
  const std::uint64_t generation = directory_.generation();
  if (auto match = directory_.check_token(token)) {
    Identity who{Identity::Kind::kToken, std::move(match->name), std::string(address),
                 std::move(match->role)};
    if (generation == directory_.generation()) {
      remember(credential, who, match->expires_at, std::chrono::hours(1));
    }
    return who;
  }
  note_failure(address);
  return fail(refusal(address));
}

Result<Identity> Authenticator::basic(std::string_view encoded, std::string_view address) {
  if (throttled(address)) return fail(refusal(address));
  const std::string credential = "Basic " + std::string(encoded);
  if (auto who = known(credential, address)) return *who;
  const std::uint64_t generation = directory_.generation();
  auto decoded = crypto::base64_decode(encoded);
  auto colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) {
    note_failure(address);
    return fail(refusal(address));
  }
  std::string_view name = std::string_view(*decoded).substr(0, colon);
  std::string_view password = std::string_view(*decoded).substr(colon + 1);
  auto user = directory_.find_user(name);
  std::shared_ptr<const Role> role = user ? directory_.role(user->role) : nullptr;
  const bool ok = user && role && verify_cached(*user, password);
  crypto::wipe(*decoded);
  if (!ok) {
    note_failure(address);
    return fail(refusal(address));
  }
  Identity who{Identity::Kind::kUser, user->name, std::string(address), std::move(role)};
  if (generation == directory_.generation()) {
    remember(credential, who, std::nullopt, std::chrono::seconds(60));
  }
  return who;
}

bool Authenticator::verify_cached(const UserRecord& user, std::string_view password) {
  // The cache key binds the verifier too, so a password change invalidates it.
  std::string probe = user.name;
  probe += '\0';
  probe += password;
  probe += '\0';
  probe += user.password_hash;
  const std::string key = crypto::sha256(probe);
  crypto::wipe(probe);
  const MonoTime now = clock_.mono_now();
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = verified_.find(key); it != verified_.end()) {
      if (it->second > now) return true;
      verified_.erase(it);
    }
  }
  if (!hashing_.try_acquire_for(kHashWait)) return false;
  const bool ok = verify_password(password, user.password_hash);
  hashing_.release();
  if (ok) {
    std::lock_guard lock(cache_mutex_);
    if (verified_.size() >= kMaxVerified) {
      std::erase_if(verified_, [now](const auto& kv) { return kv.second <= now; });
      if (verified_.size() >= kMaxVerified) verified_.clear();
    }
    verified_[key] = now + kVerifiedFor;
  }
  return ok;
}

bool Authenticator::throttled(std::string_view address) {
  if (backoffs_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard lock(backoff_mutex_);
  auto it = backoff_until_.find(std::string(address));
  if (it == backoff_until_.end()) return false;
  if (it->second <= clock_.mono_now()) {
    backoff_until_.erase(it);
    backoffs_.store(backoff_until_.size(), std::memory_order_relaxed);
    return false;
  }
  stats_.throttled.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Authenticator::note_failure(std::string_view address) {
  stats_.failures.fetch_add(1, std::memory_order_relaxed);
  const MonoTime now = clock_.mono_now();
  std::lock_guard lock(backoff_mutex_);
  if (backoff_until_.size() >= kMaxBackoffEntries) {
    std::erase_if(backoff_until_, [now](const auto& kv) { return kv.second <= now; });
  }
  if (backoff_until_.size() < kMaxBackoffEntries) {
    backoff_until_[std::string(address)] = now + kBackoff;
  }
  backoffs_.store(backoff_until_.size(), std::memory_order_relaxed);
}

Error Authenticator::refusal(std::string_view) {
  return Error{401, "Invalid or expired credentials", {}};
}

}  // namespace sluice::auth
