#pragma once
// The relay's side of the daemon, for App: who may open wire sessions (the relay's access files
// plus sluiced's users and tokens, with the same hub rules as /ws), relay channels advertised in
// the registry as `sluice` streams, GET /channels, and the sluice_relay_* metrics.
#include <cstdint>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "relay/relay.hpp"

namespace sluice::audit {
class AuditLog;
}
namespace sluice::auth {
class AccessPolicy;
class Directory;
}  // namespace sluice::auth
namespace sluice::http {
class PrometheusWriter;
class Router;
}  // namespace sluice::http
namespace sluice::registry {
class Registry;
}

namespace sluice::server {

// The relay's access files (wire-users, wire-tokens, wire-anonymous), loaded and checked; logs
// a warning for each listener that accepts anonymous sessions off loopback. Throws
// std::runtime_error naming a file that cannot be read.
relay::AuthConfig relay_access(const Config& config);

// Makes sluiced's users and tokens relay identities too (beside the files) and gives every wire
// session the hub rules of /ws (server::HubAccess). The references must outlive the relay;
// `audit` may still be empty now (it is read when a session opens).
void connect_relay_identities(relay::AuthConfig& access, auth::Directory& directory,
                              auth::AccessPolicy& policy, registry::Registry& registry,
                              const std::unique_ptr<audit::AuditLog>& audit);

// Channels with publishers, advertised in `registry` as `sluice` streams at HOST:`port` (read
// when advertising: the relay's port is known once it listens).
std::unique_ptr<relay::ChannelAdvertiser> make_registry_advertiser(registry::Registry& registry,
                                                                   std::string host,
                                                                   const std::uint16_t& port);

// GET /channels and /channels/{name}: snapshots taken on the relay thread.
void add_channel_routes(http::Router& router, relay::Relay& relay);

void render_relay_metrics(http::PrometheusWriter& w, const relay::RelayStats& stats);

}  // namespace sluice::server
