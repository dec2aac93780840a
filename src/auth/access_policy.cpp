#include "auth/access_policy.hpp"

namespace sluice::auth {
namespace {

bool is_loopback(std::string_view a) {
  if (a.starts_with("::ffff:")) a.remove_prefix(7);
  return a.starts_with("127.") || a == "::1";
}

Role anonymous_role(const AccessOptions& o) {
  using R = Resource;
  constexpr auto rw = Access::kWrite;
  constexpr auto r = Access::kRead;
  Role role{"anonymous", "clients without credentials", {}, Scope::kOwn, true};
  switch (o.mode) {
    case Mode::kRequired:
      break;
    case Mode::kOpen:
      role.scope = Scope::kAny;
      for (R res : {R::kStreams, R::kSessions, R::kTypes, R::kMedia, R::kChannels})
        role.grants.push_back(Grant{res, rw, {}});
      role.grants.push_back(Grant{R::kSettings, r, {}});
      role.grants.push_back(Grant{R::kMetrics, r, {}});
      break;
    case Mode::kOwner:
      for (R res : {R::kStreams, R::kSessions, R::kTypes})
        role.grants.push_back(Grant{res, rw, {}});
      role.grants.push_back(Grant{R::kMedia, r, {}});
      if (o.anonymous_channels) role.grants.push_back(Grant{R::kChannels, rw, {}});
      break;
  }
  return role;
}

}  // namespace

std::string to_string(Mode m) {
  switch (m) {
    case Mode::kOpen:
      return "open";
    case Mode::kOwner:
      return "owner";
    case Mode::kRequired:
      return "required";
  }
  return "owner";
}

Result<Mode> parse_mode(std::string_view text) {
  if (text == "open") return Mode::kOpen;
  if (text == "owner") return Mode::kOwner;
  if (text == "required") return Mode::kRequired;
  return fail(
      Error::bad_request("auth must be open, owner or required (got '" + std::string(text) + "')"));
}

AccessPolicy::AccessPolicy(AccessOptions options)
    : options_(options), anonymous_(anonymous_role(options)), anonymous_loopback_(anonymous_) {
  if (options.mode != Mode::kRequired) {
    anonymous_loopback_.grants.push_back(Grant{Resource::kMetrics, Access::kRead, {}});
  }
  nothing_.name = "none";
}

const Role& AccessPolicy::effective_role(const Identity& who) const {
  if (who.role) return *who.role;
  if (who.kind != Identity::Kind::kAnonymous) return nothing_;
  return is_loopback(who.address) ? anonymous_loopback_ : anonymous_;
}

Status AccessPolicy::authorize(const Identity& who, const Need& need) const {
  if (who.kind == Identity::Kind::kSystem) return {};
  if (effective_role(who).allows(need)) return {};
  const std::string name = permission_name(need);
  std::string what = need.target.empty() ? name : name + " on '" + need.target + "'";
  if (!who.authenticated()) {
    return fail(Error{401,
                      "Authentication required: this needs " + what +
                          " (send Authorization: Bearer <token> or Basic credentials)",
                      {}});
  }
  return fail(Error::forbidden("Forbidden: " + who.owner() + " (role " + effective_role(who).name +
                               ") lacks " + what));
}

bool AccessPolicy::manages_all(const Identity& who) const {
  if (who.kind == Identity::Kind::kSystem || who.kind == Identity::Kind::kAdmin) return true;
  return effective_role(who).scope == Scope::kAny;
}

}  // namespace sluice::auth
