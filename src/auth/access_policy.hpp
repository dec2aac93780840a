#pragma once
// AccessPolicy: the one permission check every door calls (HTTP routes, SSE, /ws, the relay,
// media play and publish, and later RTSP, WHEP/WHIP, ONVIF, MQTT).
//
//   open      everyone may do everything but manage users, keys and settings (today's
//             behaviour before sluice had identities); a warning is logged at start.
//   owner     (default) anonymous clients may do what Maestra's SDKs do — read the registry,
//             advertise, request, join, heartbeat, create types, play media — but write only
//             what they own (the owner of an anonymous client is its address); identities
//             with a role get exactly that role's permissions.
//   required  every request needs an identity whose role holds the permission.
//
// 401 (with WWW-Authenticate) when no identity was given and one would help, 403 naming the
// missing permission otherwise. Stateless after construction; thread-safe.
#include <memory>
#include <string>

#include "auth/identity.hpp"
#include "core/error.hpp"

namespace sluice::auth {

enum class Mode { kOpen, kOwner, kRequired };
std::string to_string(Mode m);
Result<Mode> parse_mode(std::string_view text);

struct AccessOptions {
  Mode mode = Mode::kOwner;
  bool anonymous_channels = true;  // the relay admits anonymous sessions (no users/tokens)
};

class AccessPolicy {
 public:
  explicit AccessPolicy(AccessOptions options);

  // Ok when `who` may do `need`.
  Status authorize(const Identity& who, const Need& need) const;
  bool allows(const Identity& who, const Need& need) const {
    return authorize(who, need).has_value();
  }

  // Whether `who` may act on records others own (admin/operator roles, open mode, sluiced).
  bool manages_all(const Identity& who) const;

  // The role `who` acts with: its own, or the mode's anonymous rights. Never null.
  const Role& effective_role(const Identity& who) const;

  Mode mode() const { return options_.mode; }
  const AccessOptions& options() const { return options_; }

 private:
  AccessOptions options_;
  Role anonymous_;
  Role anonymous_loopback_;  // + metrics_r: /metrics stays open to the machine itself
  Role nothing_;
};

}  // namespace sluice::auth
