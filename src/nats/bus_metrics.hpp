#pragma once
// Prometheus lines for a NatsBus (sluice_bus_*). Header-only so that sluice_nats does not depend
// on sluice_http; include it where /metrics is assembled (App's extra_metrics), e.g.
//   if (auto* nb = dynamic_cast<nats::NatsBus*>(bus.get())) nats::render_bus_metrics(w, *nb);
#include "http/metrics.hpp"
#include "nats/nats_bus.hpp"

namespace sluice::nats {

inline void render_bus_metrics(http::PrometheusWriter& w, const NatsBus& bus) {
  const NatsBusStats s = bus.stats();
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  w.header("sluice_bus_connected", "gauge", "1 while the NATS bus is connected");
  w.sample("sluice_bus_connected", {{"server", bus.describe()}}, s.connected ? 1 : 0);
  w.header("sluice_bus_published_total", "counter", "Messages handed to NATS");
  w.sample("sluice_bus_published_total", {}, d(s.published));
  w.header("sluice_bus_dropped_total", "counter",
           "Messages not sent to NATS because it was unreachable (or refused them)");
  w.sample("sluice_bus_dropped_total", {}, d(s.dropped_while_down));
  w.header("sluice_bus_received_total", "counter",
           "Messages from NATS published into the local hub (events, heartbeats, channels)");
  w.sample("sluice_bus_received_total", {}, d(s.received));
  w.header("sluice_bus_requests_total", "counter", "Bus requests by outcome");
  w.sample("sluice_bus_requests_total", {{"outcome", "local"}}, d(s.requests_local));
  w.sample("sluice_bus_requests_total", {{"outcome", "ok"}}, d(s.requests_ok));
  w.sample("sluice_bus_requests_total", {{"outcome", "no_responders"}},
           d(s.requests_no_responders));
  w.sample("sluice_bus_requests_total", {{"outcome", "timeout"}}, d(s.requests_timeout));
  w.sample("sluice_bus_requests_total", {{"outcome", "unavailable"}}, d(s.requests_unavailable));
  w.header("sluice_bus_forwarded_requests_total", "counter",
           "NATS requests handed to responders attached to this node");
  w.sample("sluice_bus_forwarded_requests_total", {}, d(s.requests_forwarded));
  w.header("sluice_bus_backlog_dropped_total", "counter",
           "Events and heartbeats from NATS dropped because 10000 were already waiting");
  w.sample("sluice_bus_backlog_dropped_total", {}, d(s.backlog_dropped));
  w.header("sluice_bus_mirrored_responders", "gauge",
           "Local maestra.stream.request.* responder patterns subscribed on NATS");
  w.sample("sluice_bus_mirrored_responders", {}, d(s.mirrored_responders));
}

}  // namespace sluice::nats
