#pragma once
// HTTP request metrics (count by route, method and status; latency histogram by route) and the
// Prometheus text rendering helpers shared by every module's metrics.
#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace sluice::http {

// Appends Prometheus exposition lines. Label values are escaped.
class PrometheusWriter {
 public:
  explicit PrometheusWriter(std::string& out) : out_(out) {}
  void header(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels,
              double value);

 private:
  std::string& out_;
};

class HttpMetrics {
 public:
  // `routes` are the route patterns, indexed like Router::routes(); unmatched requests are
  // counted under route "unmatched".
  explicit HttpMetrics(std::vector<std::string> routes);
  // One more route, for requests answered outside the Router (HTTP-FLV players, answered on the
  // media thread); returns its index for observe(). Thread-safe.
  int add_route(std::string name);
  // Thread-safe. `route_index` -1: unmatched.
  void observe(int route_index, std::string_view method, int status, double seconds);
  void render(PrometheusWriter& w) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  const Histogram* histogram(int slot) const;

  mutable std::mutex mutex_;
  std::vector<std::string> routes_;
  // Keyed by route index (-1: unmatched), method and status.
  std::map<std::tuple<int, std::string, int>, std::uint64_t> requests_;
  std::vector<Histogram> latency_;  // one per route
  Histogram unmatched_latency_;
};

}  // namespace sluice::http
