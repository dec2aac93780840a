#pragma once
// Operational routes: GET /health, GET /metrics (Prometheus text), GET /openapi.json.
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "http/metrics.hpp"
#include "http/router.hpp"

namespace sluice::hub {
class Hub;
class Bus;
}  // namespace sluice::hub
namespace sluice::registry {
class Registry;
class RegistryStore;
class History;
}  // namespace sluice::registry

namespace sluice::http {

struct OpsContext {
  registry::Registry* registry = nullptr;
  hub::Hub* hub = nullptr;
  registry::History* history = nullptr;
  registry::RegistryStore* store = nullptr;
  hub::Bus* bus = nullptr;
  const HttpMetrics* http_metrics = nullptr;
  std::string store_name;    // "memory" or the redis:// URL without password
  std::string history_name;  // the SQLite path or the postgres:// URL without password
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // The media section of /health (listeners, live paths); unset: none. Any thread, quick.
  std::function<boost::json::object()> media_health;
  // Appends metrics of modules this layer does not know (connections, queues).
  std::function<void(PrometheusWriter&)> extra_metrics;
};

// `context` must outlive the router.
void add_ops_routes(Router& router, const OpsContext& context);

}  // namespace sluice::http
