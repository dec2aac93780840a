#include "http/ops_routes.hpp"

#include "core/json_text.hpp"
#include "core/version.hpp"
#include "http/openapi.hpp"
#include "hub/bus.hpp"
#include "hub/hub.hpp"
#include "registry/history.hpp"
#include "registry/registry.hpp"
#include "registry/store.hpp"

namespace sluice::http {
namespace json = boost::json;
namespace {

void render_registry(PrometheusWriter& w, const registry::Registry& reg) {
  // While the store is unreachable the gauges are left out (a scrape must not show zeros that
  // look like "no streams"); the counters below are this node's own and always there.
  auto found_counts = reg.counts();
  auto types = reg.list_types();
  registry::TypeCounts counts;
  if (found_counts && types) counts = std::move(*found_counts);
  auto by_type = [&](const char* name, const char* help,
                     const std::map<std::string, std::size_t>& values) {
    if (!found_counts || !types) return;
    w.header(name, "gauge", help);
    for (const auto& t : *types) {
      auto it = values.find(t.name);
      w.sample(name, {{"type", t.name}},
               it == values.end() ? 0.0 : static_cast<double>(it->second));
    }
  };
  by_type("sluice_streams", "Live streams by type", counts.streams);
  by_type("sluice_sessions", "Active unicast sessions by stream type", counts.sessions);
  by_type("sluice_subscribers", "Active multicast subscribers by stream type", counts.subscribers);

  const auto& s = reg.stats();
  w.header("sluice_heartbeats_total", "counter", "Heartbeats by kind and result");
  for (std::size_t k = 0; k < registry::kKindNames.size(); ++k) {
    w.sample("sluice_heartbeats_total", {{"kind", registry::kKindNames[k]}, {"result", "ok"}},
             static_cast<double>(s.heartbeats[k].load()));
    w.sample("sluice_heartbeats_total",
             {{"kind", registry::kKindNames[k]}, {"result", "not_found"}},
             static_cast<double>(s.heartbeat_misses[k].load()));
  }
  w.header("sluice_expiries_total", "counter", "Records removed because their TTL ran out");
  for (std::size_t k = 0; k < registry::kKindNames.size(); ++k) {
    w.sample("sluice_expiries_total", {{"kind", registry::kKindNames[k]}},
             static_cast<double>(s.expiries[k].load()));
  }
  w.header("sluice_negotiations_total", "counter", "Stream requests by outcome");
  for (std::size_t k = 0; k < registry::kNegotiationNames.size(); ++k) {
    w.sample("sluice_negotiations_total", {{"outcome", registry::kNegotiationNames[k]}},
             static_cast<double>(s.negotiations[k].load()));
  }
  w.header("sluice_advertisements_total", "counter", "Accepted advertisements");
  w.sample("sluice_advertisements_total", {}, static_cast<double>(s.advertisements.load()));
  w.header("sluice_withdrawals_total", "counter", "Explicit withdrawals");
  w.sample("sluice_withdrawals_total", {}, static_cast<double>(s.withdrawals.load()));
}

void render_hub(PrometheusWriter& w, const hub::Hub& hub) {
  auto s = hub.stats();
  w.header("sluice_hub_published_total", "counter", "Messages published on the hub");
  w.sample("sluice_hub_published_total", {}, static_cast<double>(s.published));
  w.header("sluice_hub_delivered_total", "counter", "Message deliveries to subscribers");
  w.sample("sluice_hub_delivered_total", {}, static_cast<double>(s.delivered));
  w.header("sluice_hub_subscriptions", "gauge", "Hub subscriptions");
  w.sample("sluice_hub_subscriptions", {}, static_cast<double>(s.subscriptions));
  w.header("sluice_hub_pending_requests", "gauge", "Requests waiting for a reply");
  w.sample("sluice_hub_pending_requests", {}, static_cast<double>(s.pending_requests));
}

}  // namespace

void add_ops_routes(Router& router, const OpsContext& ctx) {
  // Always 200 while the process serves HTTP (a liveness probe must not restart a node that is
  // waiting for Redis to come back); "status": "degraded" with the failing component's "error"
  // naming the service when one does not work.
  router.add("GET", "/health", [&ctx](const HttpRequest&, const PathParams&) -> Reply {
    auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started);
    auto component = [](json::object fields, const std::string& problem) {
      fields.emplace("status", problem.empty() ? "ok" : "degraded");
      if (!problem.empty()) fields.emplace("error", problem);
      return fields;
    };
    std::string store_problem = ctx.store ? ctx.store->problem() : std::string();
    std::string bus_problem = ctx.bus ? ctx.bus->problem() : std::string();
    std::string history_problem = ctx.history->problem();
    json::object registry{{"store", ctx.store_name}};
    if (store_problem.empty()) {
      if (auto counts = ctx.registry->counts()) {
        std::size_t live = 0;
        for (const auto& [t, n] : counts->streams)
          live += n;
        registry.emplace("streams", live);
      } else {
        store_problem = counts.error().detail;
      }
    }
    json::object components{
        {"http", json::object{{"status", "ok"}}},
        {"registry", component(std::move(registry), store_problem)},
        {"hub", component(json::object{{"kind", ctx.bus ? ctx.bus->describe() : "in-process"},
                                       {"subscriptions", ctx.hub->stats().subscriptions}},
                          bus_problem)},
        {"history", component(json::object{{"path", ctx.history_name}}, history_problem)},
    };
    if (ctx.media_health) components.emplace("media", component(ctx.media_health(), {}));
    bool healthy = store_problem.empty() && bus_problem.empty() && history_problem.empty();
    const auto& opts = ctx.registry->options();
    json::object body{
        {"status", healthy ? "ok" : "degraded"},
        {"version", std::string(kVersion)},
        {"uptime_seconds", uptime.count()},
        {"stream_ttl_seconds", opts.ttl.count()},
        {"request_timeout_seconds", std::chrono::duration<double>(opts.request_timeout).count()},
        {"components", std::move(components)},
    };
    return json_response(200, to_json_text(body));
  });

  router.add("GET", "/metrics", [&ctx](const HttpRequest&, const PathParams&) -> Reply {
    std::string out;
    PrometheusWriter w(out);
    render_registry(w, *ctx.registry);
    render_hub(w, *ctx.hub);
    ctx.http_metrics->render(w);
    if (ctx.extra_metrics) ctx.extra_metrics(w);
    w.header("sluice_uptime_seconds", "gauge", "Seconds since start");
    w.sample("sluice_uptime_seconds", {},
             std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.started).count());
    return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", std::move(out), {}};
  });

  auto openapi = std::make_shared<std::string>(openapi_document(kVersion));
  router.add("GET", "/openapi.json", [openapi](const HttpRequest&, const PathParams&) -> Reply {
    return json_response(200, *openapi);
  });
}

}  // namespace sluice::http
