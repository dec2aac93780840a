#pragma once
// Who is asking: the result of authentication at any door (HTTP, /ws, the relay, RTMP, later
// RTSP/WHEP/ONVIF/MQTT). An identity carries its role (what it may do) and its owner key (what it
// owns: streams it advertised, sessions it opened). Plain value; cheap to copy.
#include <memory>
#include <string>

#include "auth/permissions.hpp"

namespace sluice::auth {

struct Identity {
  enum class Kind {
    kAnonymous,  // no credentials: owns by peer address
    kUser,       // a user by password (HTTP Basic, SCRAM on the relay)
    kToken,      // an API token
    kAdmin,      // the bootstrap --admin-token, or loopback with --loopback-admin
    kSystem,     // sluiced itself (relay channels, media paths it advertises)
  };
  Kind kind = Kind::kAnonymous;
  std::string name;                  // user or token name; empty for anonymous
  std::string address;               // the peer address the request came from
  std::shared_ptr<const Role> role;  // null: no permissions beyond the mode's anonymous rights

  bool authenticated() const { return kind != Kind::kAnonymous; }

  // The key records are owned by: "user:NAME", "token:NAME", "admin", "sluiced", or
  // "addr:ADDRESS" for anonymous clients.
  std::string owner() const {
    switch (kind) {
      case Kind::kUser:
        return "user:" + name;
      case Kind::kToken:
        return "token:" + name;
      case Kind::kAdmin:
        return "admin";
      case Kind::kSystem:
        return "sluiced";
      case Kind::kAnonymous:
        break;
    }
    return "addr:" + address;
  }

  // How the identity appears in logs and the audit trail (never a secret).
  std::string describe() const {
    return authenticated() ? owner() + "@" + address : "anonymous@" + address;
  }

  static Identity anonymous(std::string address) {
    Identity id;
    id.address = std::move(address);
    return id;
  }
};

}  // namespace sluice::auth
