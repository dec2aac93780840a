#pragma once
// Permissions and roles, in the C Pro camera's model: a permission names a resource class and an
// access (`streams_r`, `streams_rw`, …), optionally narrowed to patterns (`media_rw:stage*`,
// `channels_r:show.>`). A role is a named set of permissions plus a scope: `own` roles write only
// what their identity owns (streams it advertised, sessions it opened), `any` roles write
// everything their permissions cover. Pure values; no I/O, no locks.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice::auth {

enum class Resource {
  kStreams,
  kSessions,
  kTypes,
  kKeys,
  kMedia,
  kChannels,
  kSettings,
  kUsers,
  kMetrics
};
inline constexpr std::array<std::string_view, 9> kResourceNames = {
    "streams", "sessions", "types", "keys", "media", "channels", "settings", "users", "metrics"};

// `kWrite` includes reading.
enum class Access { kRead, kWrite };

// One permission a role holds. `patterns` empty: every media path / channel subject. Patterns
// apply to media (path globs: `*` matches any run of characters) and channels (hub subject
// patterns with `*` and `>`); other resources take none.
struct Grant {
  Resource resource = Resource::kStreams;
  Access access = Access::kRead;
  std::vector<std::string> patterns;
};

// What a door asks for: an access to a resource class, and for media and channels the path or
// subject concerned (empty: "some of them", e.g. listing).
struct Need {
  Resource resource;
  Access access;
  std::string target;
};

// The permission names of the API, e.g. "streams_rw" or "media_r".
std::string permission_name(Resource r, Access a);
std::string permission_name(const Need& need);
std::string to_string(const Grant& g);  // "media_rw:stage*,cam*"

// Parses "NAME" or "NAME:PATTERN[,PATTERN...]". 422-style errors naming the rule.
Result<Grant> parse_grant(std::string_view text);

// Every permission name sluice knows, in API order (for /auth/roles).
const std::vector<std::string>& all_permission_names();

enum class Scope { kOwn, kAny };

struct Role {
  std::string name;
  std::string description;
  std::vector<Grant> grants;
  Scope scope = Scope::kOwn;
  bool builtin = false;

  // True when some grant covers `need` (write covers read; patterns must match the target, and
  // an empty target is covered by any grant of the class).
  bool allows(const Need& need) const;
};

// admin, operator, publisher, viewer.
const std::vector<Role>& builtin_roles();
const Role* find_builtin_role(std::string_view name);

// Role names: 1–64 of [A-Za-z0-9_.-].
bool is_valid_role_name(std::string_view name);

// True when the glob `pattern` (`*` = any run of characters) matches `text`.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace sluice::auth
