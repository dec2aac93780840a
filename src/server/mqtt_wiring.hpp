#pragma once
// MqttWiring: what MQTT means to sluiced (issue 16). The broker (src/mqtt) and its sockets
// (net/mqtt_server: --mqtt HOST:PORT and /mqtt over WebSockets) ask it:
//  - who a client is: its CONNECT's user name and password through the Authenticator (a user and
//    password, or user name "token" — or none — with an API token as the password); no
//    credentials is an anonymous device, owning what it advertises as "mqtt:CLIENT_ID@ADDRESS";
//  - what it may do: the one AccessPolicy check (HubAccess for bridged topics, as /ws and the
//    relay), refusals in the audit trail;
//  - Maestra's topics: `maestra/stream/advertise` registers a stream with the device as owner
//    (publisher_id defaults to the client id, address to the client's), `…/heartbeat/{id}` and
//    `…/withdraw/{id}` act on it; a v5 PUBLISH with a response topic gets the record (or the
//    error) back there. Registry events reach MQTT as `maestra/stream/advertise[/{type}]` (the
//    record with its `id`) and `maestra/stream/withdraw/{id}`, and are never taken as adverts;
//  - the hub bridge (server/mqtt_topics.hpp): other topics go to the hub as subjects ('/' → '.',
//    origin "mqtt", so they are not sent back) and hub subjects come to MQTT subscribers through
//    hub subscriptions that follow the MQTT filters; `maestra/…` goes out in Maestra's
//    `maestra.mqtt.…` envelope. Hub messages wait for the MQTT thread in a bounded inbox (10,000,
//    drop-newest, counted).
// Registry calls run on the daemon's io_context, never on the MQTT thread. No Asio here.
#include <cstdint>
#include <memory>

#include "core/config.hpp"

namespace boost::asio {
class io_context;
}
namespace sluice::audit {
class AuditLog;
}
namespace sluice::auth {
class AccessPolicy;
class Authenticator;
}  // namespace sluice::auth
namespace sluice::hub {
class Hub;
}
namespace sluice::http {
class PrometheusWriter;
}
namespace sluice::net {
class HttpServer;
}
namespace sluice::registry {
class Registry;
}

namespace sluice::server {

class MqttWiring {
 public:
  // All references must outlive the wiring; `audit` may be null.
  MqttWiring(const Config& config, registry::Registry& registry, hub::Hub& hub,
             auth::Authenticator& authenticator, const auth::AccessPolicy& policy,
             audit::AuditLog* audit, boost::asio::io_context& io);
  ~MqttWiring();  // stop()
  // Binds --mqtt and starts the MQTT thread; `/mqtt` upgrades of `http` go to it. Returns the
  // bound port. Throws ConfigError naming the flag when it cannot bind.
  std::uint16_t start(net::HttpServer& http);
  void stop();  // v5 clients are told; wills are published
  // sluice_mqtt_*. Any thread.
  void render_metrics(http::PrometheusWriter& w) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::server
