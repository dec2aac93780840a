#include "auth/permissions.hpp"

#include <algorithm>

#include "hub/subject.hpp"

namespace sluice::auth {
namespace {

// Which accesses each resource class offers, as the API names them.
struct ClassSpec {
  Resource resource;
  bool read;
  bool write;
};
constexpr std::array<ClassSpec, 9> kClasses = {{
    {Resource::kStreams, true, true},
    {Resource::kSessions, true, true},
    {Resource::kTypes, false, true},
    {Resource::kKeys, false, true},
    {Resource::kMedia, true, true},
    {Resource::kChannels, true, true},
    {Resource::kSettings, true, true},
    {Resource::kUsers, false, true},
    {Resource::kMetrics, true, false},
}};

bool takes_patterns(Resource r) {
  return r == Resource::kMedia || r == Resource::kChannels;
}

bool pattern_matches(Resource r, const std::string& pattern, const std::string& target) {
  if (r == Resource::kChannels) {
    // A target is a subject or a subscription pattern; the grant must cover all it can match.
    return hub::is_valid_pattern(target) && hub::pattern_covers(pattern, target);
  }
  return glob_match(pattern, target);
}

Grant grant(Resource r, Access a) {
  return Grant{r, a, {}};
}

std::vector<Role> make_builtin_roles() {
  using R = Resource;
  constexpr auto rw = Access::kWrite;
  constexpr auto r = Access::kRead;
  std::vector<Role> roles;
  Role admin{"admin", "Everything, including users and settings", {}, Scope::kAny, true};
  for (const auto& c : kClasses)
    admin.grants.push_back(grant(c.resource, c.write ? rw : r));
  roles.push_back(std::move(admin));
  roles.push_back(Role{"operator",
                       "Runs the show: every stream, session, key, media path and channel; reads "
                       "settings and metrics",
                       {grant(R::kStreams, rw), grant(R::kSessions, rw), grant(R::kTypes, rw),
                        grant(R::kKeys, rw), grant(R::kMedia, rw), grant(R::kChannels, rw),
                        grant(R::kSettings, r), grant(R::kMetrics, r)},
                       Scope::kAny,
                       true});
  roles.push_back(Role{"publisher",
                       "A device: advertises and withdraws its own streams, publishes media and "
                       "channels, requests and joins others'",
                       {grant(R::kStreams, rw), grant(R::kSessions, rw), grant(R::kMedia, rw),
                        grant(R::kChannels, rw)},
                       Scope::kOwn,
                       true});
  roles.push_back(Role{
      "viewer",
      "Reads the registry, requests and joins streams, plays media, subscribes "
      "to channels",
      {grant(R::kStreams, r), grant(R::kSessions, rw), grant(R::kMedia, r), grant(R::kChannels, r)},
      Scope::kOwn,
      true});
  return roles;
}

}  // namespace

std::string permission_name(Resource r, Access a) {
  return std::string(kResourceNames[static_cast<std::size_t>(r)]) +
         (a == Access::kWrite ? "_rw" : "_r");
}

std::string permission_name(const Need& need) {
  std::string name = permission_name(need.resource, need.access);
  // Classes without a read-only permission are read with their _rw one.
  for (const auto& c : kClasses) {
    if (c.resource == need.resource && !c.read)
      name = permission_name(need.resource, Access::kWrite);
    if (c.resource == need.resource && !c.write)
      name = permission_name(need.resource, Access::kRead);
  }
  return name;
}

std::string to_string(const Grant& g) {
  std::string out = permission_name(g.resource, g.access);
  for (std::size_t i = 0; i < g.patterns.size(); ++i) {
    out += i == 0 ? ':' : ',';
    out += g.patterns[i];
  }
  return out;
}

const std::vector<std::string>& all_permission_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& c : kClasses) {
      if (c.read) out.push_back(permission_name(c.resource, Access::kRead));
      if (c.write) out.push_back(permission_name(c.resource, Access::kWrite));
    }
    return out;
  }();
  return names;
}

Result<Grant> parse_grant(std::string_view text) {
  auto colon = text.find(':');
  std::string_view name = text.substr(0, colon);
  Grant g;
  bool known = false;
  for (const auto& c : kClasses) {
    for (Access a : {Access::kRead, Access::kWrite}) {
      if ((a == Access::kRead ? c.read : c.write) && permission_name(c.resource, a) == name) {
        g.resource = c.resource;
        g.access = a;
        known = true;
      }
    }
  }
  if (!known) {
    std::string list;
    for (const auto& n : all_permission_names())
      list += (list.empty() ? "" : ", ") + n;
    return fail(Error::invalid_field(
        {"body", "permissions"},
        "unknown permission '" + std::string(name) + "' (known: " + list + ")"));
  }
  if (colon == std::string_view::npos) return g;
  if (!takes_patterns(g.resource)) {
    return fail(Error::invalid_field({"body", "permissions"},
                                     "permission '" + std::string(name) +
                                         "' takes no patterns (only media_* and channels_* do)"));
  }
  std::string_view rest = text.substr(colon + 1);
  while (true) {
    auto comma = rest.find(',');
    std::string pattern(rest.substr(0, comma));
    const bool ok = g.resource == Resource::kChannels ? hub::is_valid_pattern(pattern)
                                                      : !pattern.empty() && pattern.size() <= 256;
    if (!ok) {
      return fail(Error::invalid_field(
          {"body", "permissions"},
          "'" + pattern + "' is not a valid " +
              (g.resource == Resource::kChannels ? "subject pattern" : "path pattern") + " in '" +
              std::string(text) + "'"));
    }
    g.patterns.push_back(std::move(pattern));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return g;
}

bool Role::allows(const Need& need) const {
  return std::any_of(grants.begin(), grants.end(), [&](const Grant& g) {
    if (g.resource != need.resource) return false;
    if (need.access == Access::kWrite && g.access != Access::kWrite) return false;
    if (g.patterns.empty() || need.target.empty()) return true;
    return std::any_of(g.patterns.begin(), g.patterns.end(), [&](const std::string& p) {
      return pattern_matches(g.resource, p, need.target);
    });
  });
}

const std::vector<Role>& builtin_roles() {
  static const std::vector<Role> roles = make_builtin_roles();
  return roles;
}

const Role* find_builtin_role(std::string_view name) {
  for (const auto& r : builtin_roles()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

bool is_valid_role_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative wildcard match with one backtrack point: linear in practice, never exponential.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

}  // namespace sluice::auth
