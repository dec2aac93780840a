#include "auth/directory.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "auth/password.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "state/records.hpp"
#include "wire/scram.hpp"

namespace sluice::auth {
namespace json = boost::json;
namespace {

constexpr std::size_t kTokenIdLength = 16;
constexpr std::size_t kTokenSecretLength = 43;
constexpr std::int64_t kMaxTokenLifetime = 10LL * 365 * 24 * 3600;

std::string ts(WallTime t) {
  return format_timestamp(t);
}
WallTime parse_ts(const json::value* v) {
  if (!v || !v->is_string()) return {};
  return parse_timestamp(v->as_string()).value_or(WallTime{});
}
std::string str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object user_json(const UserRecord& u) {
  return {{"name", u.name},
          {"role", u.role},
          {"password_hash", u.password_hash},
          {"scram", u.scram},
          {"created_at", ts(u.created_at)},
          {"digest_ha1", u.digest_ha1},
          {"sealed_password", u.sealed_password}};
}
UserRecord user_from(const json::object& o) {
  return UserRecord{str(o, "name"),
                    str(o, "role"),
                    str(o, "password_hash"),
                    str(o, "scram"),
                    parse_ts(o.if_contains("created_at")),
                    str(o, "digest_ha1"),
                    str(o, "sealed_password")};
}

json::object token_json(const TokenRecord& t) {
  json::object o{{"id", t.id},
                 {"name", t.name},
                 {"role", t.role},
                 {"hash", t.hash},
                 {"created_at", ts(t.created_at)}};
  if (t.expires_at) o["expires_at"] = ts(*t.expires_at);
  return o;
}
TokenRecord token_from(const json::object& o) {
  TokenRecord t{str(o, "id"),
                str(o, "name"),
                str(o, "role"),
                str(o, "hash"),
                parse_ts(o.if_contains("created_at")),
                std::nullopt};
  if (o.contains("expires_at")) t.expires_at = parse_ts(o.if_contains("expires_at"));
  return t;
}

json::object role_json(const Role& r) {
  json::array grants;
  for (const auto& g : r.grants)
    grants.emplace_back(to_string(g));
  return {{"name", r.name},
          {"description", r.description},
          {"permissions", std::move(grants)},
          {"scope", r.scope == Scope::kAny ? "any" : "own"}};
}
Role role_from(const json::object& o) {
  Role r{str(o, "name"),
         str(o, "description"),
         {},
         str(o, "scope") == "any" ? Scope::kAny : Scope::kOwn,
         false};
  if (auto* a = o.if_contains("permissions"); a && a->is_array()) {
    for (const auto& v : a->as_array()) {
      if (!v.is_string()) continue;
      if (auto g = parse_grant(v.as_string())) r.grants.push_back(std::move(*g));
    }
  }
  return r;
}

Error unknown_role(const std::string& name) {
  return Error::invalid_field({"body", "role"},
                              "unknown role '" + name + "' (see GET /auth/roles)");
}
Error bad_name(const char* what) {
  return Error::invalid_field({"body", "name"}, std::string(what) +
                                                    " names are 1-64 characters of letters, digits "
                                                    "and _ . @ -");
}

}  // namespace

std::optional<std::string> token_id_of(std::string_view token) {
  if (token.size() != kTokenPrefix.size() + kTokenIdLength + kTokenSecretLength ||
      !token.starts_with(kTokenPrefix)) {
    return std::nullopt;
  }
  std::string_view id = token.substr(kTokenPrefix.size(), kTokenIdLength);
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  for (char c : token.substr(kTokenPrefix.size() + kTokenIdLength)) {
    if (crypto::base64url_value(c) < 0) return std::nullopt;
  }
  return std::string(id);
}

std::string digest_ha1(std::string_view user, std::string_view password) {
  std::string text(user);
  text += ':';
  text += kDigestRealm;
  text += ':';
  text += password;
  std::string ha1 = crypto::md5_hex(text);
  crypto::wipe(text);
  return ha1;
}

bool is_valid_principal_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '@';
  });
}

Directory::Directory(state::Records* db, const Clock& clock, std::string password_seal_key)
    : db_(db), clock_(clock), seal_key_(std::move(password_seal_key)) {
  if (auto ok = reload(); !ok) {
    if (!db_->shared()) throw std::runtime_error(ok.error().detail);
    spdlog::warn("users, tokens and roles not loaded yet ({}); retrying every second",
                 ok.error().detail);
  }
}

Status Directory::reload() {
  if (!db_) return {};
  std::map<std::string, UserRecord, std::less<>> users;
  std::map<std::string, TokenRecord, std::less<>> tokens;
  std::map<std::string, std::shared_ptr<const Role>, std::less<>> roles;
  auto each = [this](const char* kind, auto&& apply) -> Status {
    auto rows = db_->load(kind);
    if (!rows) return fail(rows.error());
    for (const auto& [id, body] : *rows) {
      boost::system::error_code ec;
      auto v = json::parse(body, ec);
      if (ec || !v.is_object()) {
        return fail(
            Error::internal(db_->describe() + ": " + kind + " '" + id + "' is not a JSON object"));
      }
      apply(v.as_object());
    }
    return {};
  };
  Status ok = each("role", [&](const json::object& o) {
    Role r = role_from(o);
    const std::string name = r.name;  // the right side is evaluated first: keep the key
    roles[name] = std::make_shared<const Role>(std::move(r));
  });
  if (ok) {
    ok = each("user", [&](const json::object& o) {
      UserRecord u = user_from(o);
      const std::string name = u.name;
      users[name] = std::move(u);
    });
  }
  if (ok) {
    ok = each("token", [&](const json::object& o) {
      TokenRecord t = token_from(o);
      const std::string id = t.id;
      tokens[id] = std::move(t);
    });
  }
  if (!ok) return ok;
  {
    std::unique_lock lock(mutex_);
    users_.swap(users);
    tokens_.swap(tokens);
    custom_roles_.swap(roles);
  }
  changed();
  return {};
}

Status Directory::persist_user(const UserRecord& u) {
  return db_ ? db_->put("user", u.name, to_json_text(user_json(u), DoubleStyle::kKeepKind))
             : Status{};
}
Status Directory::persist_token(const TokenRecord& t) {
  return db_ ? db_->put("token", t.id, to_json_text(token_json(t), DoubleStyle::kKeepKind))
             : Status{};
}
Status Directory::persist_role(const Role& r) {
  return db_ ? db_->put("role", r.name, to_json_text(role_json(r), DoubleStyle::kKeepKind))
             : Status{};
}

// ---- roles ----

std::shared_ptr<const Role> Directory::role(std::string_view name) const {
  static const auto builtins = [] {
    std::map<std::string, std::shared_ptr<const Role>, std::less<>> m;
    for (const auto& r : builtin_roles())
      m[r.name] = std::make_shared<const Role>(r);
    return m;
  }();
  if (auto it = builtins.find(name); it != builtins.end()) return it->second;
  std::shared_lock lock(mutex_);
  auto it = custom_roles_.find(name);
  return it == custom_roles_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Role>> Directory::roles() const {
  std::vector<std::shared_ptr<const Role>> out;
  for (const auto& r : builtin_roles())
    out.push_back(role(r.name));
  std::shared_lock lock(mutex_);
  for (const auto& [_, r] : custom_roles_)
    out.push_back(r);
  return out;
}

Result<Role> Directory::put_role(Role r) {
  if (!is_valid_role_name(r.name)) {
    return fail(Error::invalid_field(
        {"body", "name"}, "role names are 1-64 characters of letters, digits and _ . -"));
  }
  if (find_builtin_role(r.name)) {
    return fail(Error::conflict("role '" + r.name + "' is built in and cannot be changed"));
  }
  r.builtin = false;
  std::unique_lock lock(mutex_);
  if (auto ok = persist_role(r); !ok) return fail(ok.error());
  custom_roles_[r.name] = std::make_shared<const Role>(r);
  changed();
  return r;
}

Status Directory::delete_role(const std::string& name) {
  if (find_builtin_role(name)) {
    return fail(Error::conflict("role '" + name + "' is built in and cannot be deleted"));
  }
  std::unique_lock lock(mutex_);
  if (!custom_roles_.contains(name)) return fail(Error::not_found("no role named '" + name + "'"));
  for (const auto& [_, u] : users_) {
    if (u.role == name)
      return fail(Error::conflict("role '" + name + "' is held by user '" + u.name + "'"));
  }
  for (const auto& [_, t] : tokens_) {
    if (t.role == name)
      return fail(Error::conflict("role '" + name + "' is held by token '" + t.name + "'"));
  }
  if (db_) {
    if (auto ok = db_->remove("role", name); !ok) return ok;
  }
  custom_roles_.erase(name);
  changed();
  return {};
}

// ---- users ----

Result<UserRecord> Directory::create_user(const std::string& name, const std::string& password,
                                          const std::string& role_name) {
  if (!is_valid_principal_name(name)) return fail(bad_name("user"));
  if (auto ok = check_password_rules(password); !ok) return fail(ok.error());
  if (!role(role_name)) return fail(unknown_role(role_name));
  {
    std::shared_lock lock(mutex_);
    if (users_.contains(name)) return fail(Error::conflict("a user named '" + name + "' exists"));
  }
  // Hashing takes tens of milliseconds: outside the lock.
  UserRecord u{name,
               role_name,
               hash_password(password),
               wire::scram::to_string(wire::scram::make_credentials(password)),
               clock_.wall_now(),
               digest_ha1(name, password),
               seal(password)};
  std::unique_lock lock(mutex_);
  if (users_.contains(name)) return fail(Error::conflict("a user named '" + name + "' exists"));
  if (auto ok = persist_user(u); !ok) return fail(ok.error());
  users_[name] = u;
  return u;
}

Result<UserRecord> Directory::update_user(const std::string& name,
                                          const std::optional<std::string>& password,
                                          const std::optional<std::string>& role_name) {
  if (password) {
    if (auto ok = check_password_rules(*password); !ok) return fail(ok.error());
  }
  if (role_name && !role(*role_name)) return fail(unknown_role(*role_name));
  std::string hash, scram;
  if (password) {
    hash = hash_password(*password);
    scram = wire::scram::to_string(wire::scram::make_credentials(*password));
  }
  std::unique_lock lock(mutex_);
  auto it = users_.find(name);
  if (it == users_.end()) return fail(Error::not_found("no user named '" + name + "'"));
  UserRecord u = it->second;
  if (password) {
    u.password_hash = std::move(hash);
    u.scram = std::move(scram);
    u.digest_ha1 = digest_ha1(name, *password);
    u.sealed_password = seal(*password);
  }
  if (role_name) u.role = *role_name;
  if (auto ok = persist_user(u); !ok) return fail(ok.error());
  it->second = u;
  changed();
  return u;
}

std::string Directory::seal(const std::string& password) const {
  if (seal_key_.size() != 32) return {};
  return crypto::base64_encode(crypto::seal(seal_key_, password));
}

std::optional<std::string> Directory::password_of(std::string_view name) const {
  std::string sealed;
  {
    std::shared_lock lock(mutex_);
    auto it = users_.find(name);
    if (it == users_.end()) return std::nullopt;
    sealed = it->second.sealed_password;
  }
  if (sealed.empty() || seal_key_.size() != 32) return std::nullopt;
  auto box = crypto::base64_decode(sealed);
  if (!box) return std::nullopt;
  auto opened = crypto::open(seal_key_, *box);
  if (!opened) return std::nullopt;
  return std::move(*opened);
}

Status Directory::delete_user(const std::string& name) {
  std::unique_lock lock(mutex_);
  if (!users_.contains(name)) return fail(Error::not_found("no user named '" + name + "'"));
  if (db_) {
    if (auto ok = db_->remove("user", name); !ok) return ok;
  }
  users_.erase(name);
  changed();
  return {};
}

std::vector<UserRecord> Directory::users() const {
  std::shared_lock lock(mutex_);
  std::vector<UserRecord> out;
  for (const auto& [_, u] : users_)
    out.push_back(u);
  return out;
}

std::optional<UserRecord> Directory::find_user(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto it = users_.find(name);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const Role> Directory::role_of_user(std::string_view name) const {
  auto u = find_user(name);
  return u ? role(u->role) : nullptr;
}

std::shared_ptr<const Role> Directory::role_of_token(std::string_view name) const {
  std::string role_name;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [_, t] : tokens_) {
      if (t.name == name) role_name = t.role;
    }
  }
  return role_name.empty() ? nullptr : role(role_name);
}

std::size_t Directory::user_count() const {
  std::shared_lock lock(mutex_);
  return users_.size();
}

// ---- tokens ----

Result<CreatedToken> Directory::create_token(const std::string& name, const std::string& role_name,
                                             std::optional<std::chrono::seconds> expires_in) {
  if (!is_valid_principal_name(name)) return fail(bad_name("token"));
  if (!role(role_name)) return fail(unknown_role(role_name));
  if (expires_in && (expires_in->count() < 1 || expires_in->count() > kMaxTokenLifetime)) {
    return fail(Error::invalid_field(
        {"body", "expires_in"},
        "expires_in must be between 1 and " + std::to_string(kMaxTokenLifetime) + " seconds"));
  }
  CreatedToken out;
  std::unique_lock lock(mutex_);
  for (const auto& [_, t] : tokens_) {
    if (t.name == name) return fail(Error::conflict("a token named '" + name + "' exists"));
  }
  std::string id;
  do {
    id = to_hex(crypto::random_bytes(kTokenIdLength / 2));
  } while (tokens_.contains(id));
  out.token = std::string(kTokenPrefix) + id + crypto::base64url(crypto::random_bytes(32));
  const WallTime now = clock_.wall_now();
  out.record =
      TokenRecord{id, name, role_name, to_hex(crypto::sha256(out.token)), now, std::nullopt};
  if (expires_in) out.record.expires_at = now + *expires_in;
  if (auto ok = persist_token(out.record); !ok) return fail(ok.error());
  tokens_[id] = out.record;
  return out;
}

std::vector<TokenRecord> Directory::tokens() const {
  std::shared_lock lock(mutex_);
  std::vector<TokenRecord> out;
  for (const auto& [_, t] : tokens_)
    out.push_back(t);
  std::sort(out.begin(), out.end(), [](const TokenRecord& a, const TokenRecord& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  return out;
}

Status Directory::delete_token(const std::string& id_or_name) {
  std::unique_lock lock(mutex_);
  auto it = tokens_.find(id_or_name);
  if (it == tokens_.end()) {
    it = std::find_if(tokens_.begin(), tokens_.end(),
                      [&](const auto& kv) { return kv.second.name == id_or_name; });
  }
  if (it == tokens_.end())
    return fail(Error::not_found("no token with id or name '" + id_or_name + "'"));
  if (db_) {
    if (auto ok = db_->remove("token", it->first); !ok) return ok;
  }
  tokens_.erase(it);
  changed();
  return {};
}

std::optional<TokenMatch> Directory::check_token(std::string_view token) const {
  auto id = token_id_of(token);
  if (!id) return std::nullopt;
  const std::string hash = to_hex(crypto::sha256(token));
  std::string role_name, name;
  std::optional<WallTime> expires;
  {
    std::shared_lock lock(mutex_);
    auto it = tokens_.find(*id);
    if (it == tokens_.end() || !crypto::equal_constant_time(it->second.hash, hash)) {
      return std::nullopt;
    }
    if (it->second.expires_at && *it->second.expires_at <= clock_.wall_now()) return std::nullopt;
    role_name = it->second.role;
    name = it->second.name;
    expires = it->second.expires_at;
  }
  auto r = role(role_name);
  if (!r) return std::nullopt;
  return TokenMatch{std::move(name), std::move(r), expires};
}

}  // namespace sluice::auth
