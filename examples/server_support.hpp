#pragma once
// The server's side of the examples: a Config for a sluice::Server hosted inside the example
// (loopback only, ports from --http-port/--wire-port, 0 meaning "any free port", which is the
// default so that examples run side by side), and quiet logs so the example's own lines stand out.
#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "sluice/server.hpp"
#include "support.hpp"

namespace examples {

inline sluice::Config local_config(const Args& args) {
  spdlog::set_level(spdlog::level::warn);
  sluice::Config c;
  c.onvif_enabled = false;  // no WS-Discovery multicast
  c.mdns_enabled = false;   // nor mDNS
  c.osc_enabled = false;    // nor the OSC gateway
  c.mqtt_enabled = false;
  c.http = sluice::HostPort{"127.0.0.1", static_cast<std::uint16_t>(args.get("--http-port", 0L))};
  c.wire = sluice::HostPort{"127.0.0.1", static_cast<std::uint16_t>(args.get("--wire-port", 0L))};
  c.rtmp = sluice::HostPort{"127.0.0.1", 0};
  c.rtsp_enabled = false;  // the examples move data, not media
  c.rtsp_udp_enabled = false;
  c.srt_enabled = false;
  c.history = ":memory:";  // no session history on disk for a demo
  c.threads = 1;
  return c;
}

// Options for a channel that stays out of the registry: traffic private to the example.
inline sluice::ChannelOptions unadvertised() {
  sluice::ChannelOptions options;
  options.advertise = false;
  return options;
}

// A client of `server`, in the same process, over real TCP.
inline std::shared_ptr<sluice::client::Session> connect(const sluice::Server& server,
                                                        std::string client_name) {
  return connect(wire_at("127.0.0.1", server.wire_port(), std::move(client_name)));
}

}  // namespace examples
