#pragma once
// OscWiring: the daemon's OSC gateway (--osc HOST:PORT; src/osc). Each OSC message from a sender
// becomes a message on the relay channel its address names (/stage/light/1 → osc.stage.light.1,
// a server-owned channel keeping its last value), as JSON {"address", "args"} — or the datagram
// as it came, with the osc_payload setting "raw" — when the sender's address may write that
// channel (the one permission check: the sender is an anonymous identity of its IP address).
// Each active sender is a registry stream of type `osc` (heartbeated while it sends, withdrawn
// 30 s after its last datagram). The osc_targets setting sends relay channels out as OSC:
// "PATTERN=HOST:PORT" entries, each message on a matching channel sent as a datagram. Bounded:
// the server's rate limits, at most 1,024 channels made from OSC addresses. No Asio here.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"

namespace sluice {
class EventLoop;
}
namespace sluice::auth {
class AccessPolicy;
}
namespace sluice::hub {
class Hub;
}
namespace sluice::http {
class PrometheusWriter;
}
namespace sluice::registry {
class Registry;
}
namespace sluice::relay {
class Relay;
}

namespace sluice::server {

class OscWiring {
 public:
  // `relay_loop` is the relay's thread (channels are made and pushed there). All references
  // must outlive the wiring.
  OscWiring(const Config& config, registry::Registry& registry, relay::Relay& relay,
            EventLoop& relay_loop, hub::Hub& hub, const auth::AccessPolicy& policy);
  ~OscWiring();  // stop()
  // Binds --osc; returns the bound port. Throws ConfigError naming the flag when it cannot.
  std::uint16_t start();
  void stop();  // the sources' streams are withdrawn
  // The osc_payload setting: "json" or "raw". Any thread.
  Status set_payload(const std::string& form);
  // The osc_targets setting: "PATTERN=HOST:PORT" entries. Any thread.
  Status set_targets(const std::vector<std::string>& targets);
  // Heartbeats the active senders' streams; call every few seconds.
  void tick();
  // sluice_osc_total{event}. Any thread.
  void render_metrics(http::PrometheusWriter& w) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::server
