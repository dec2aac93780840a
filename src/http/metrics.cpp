#include "http/metrics.hpp"

#include <fmt/format.h>

namespace sluice::http {

void PrometheusWriter::header(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PrometheusWriter::sample(std::string_view name,
                              const std::vector<std::pair<std::string, std::string>>& labels,
                              double value) {
  out_ += name;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      for (char c : v) {
        if (c == '\\' || c == '"') out_ += '\\';
        if (c == '\n') {
          out_ += "\\n";
          continue;
        }
        out_ += c;
      }
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += fmt::format(" {}\n", value);
}

HttpMetrics::HttpMetrics(std::vector<std::string> routes)
    : routes_(std::move(routes)), latency_(routes_.size() + 1) {}

void HttpMetrics::observe(int route_index, std::string_view method, int status, double seconds) {
  std::size_t slot = route_index < 0 ? routes_.size() : static_cast<std::size_t>(route_index);
  std::lock_guard lock(mutex_);
  ++requests_[{static_cast<int>(slot), std::string(method), status}];
  auto& h = latency_[slot];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void HttpMetrics::render(PrometheusWriter& w) const {
  auto route_name = [&](std::size_t slot) {
    return slot < routes_.size() ? routes_[slot] : std::string("unmatched");
  };
  std::lock_guard lock(mutex_);
  w.header("sluice_http_requests_total", "counter", "HTTP requests by route, method and status");
  for (const auto& [key, n] : requests_) {
    auto [slot, method, status] = key;
    w.sample("sluice_http_requests_total",
             {{"route", route_name(static_cast<std::size_t>(slot))},
              {"method", method},
              {"status", std::to_string(status)}},
             static_cast<double>(n));
  }
  w.header("sluice_http_request_duration_seconds", "histogram",
           "Time from request parsed to response queued, by route");
  for (std::size_t slot = 0; slot < latency_.size(); ++slot) {
    const auto& h = latency_[slot];
    if (h.count == 0) continue;
    auto route = route_name(slot);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      w.sample("sluice_http_request_duration_seconds_bucket",
               {{"route", route}, {"le", fmt::format("{}", kBuckets[i])}},
               static_cast<double>(h.buckets[i]));
    }
    w.sample("sluice_http_request_duration_seconds_bucket", {{"route", route}, {"le", "+Inf"}},
             static_cast<double>(h.count));
    w.sample("sluice_http_request_duration_seconds_sum", {{"route", route}}, h.sum);
    w.sample("sluice_http_request_duration_seconds_count", {{"route", route}},
             static_cast<double>(h.count));
  }
}

}  // namespace sluice::http
