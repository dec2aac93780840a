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
    : routes_(std::move(routes)), latency_(routes_.size()) {}

int HttpMetrics::add_route(std::string name) {
  std::lock_guard lock(mutex_);
  routes_.push_back(std::move(name));
  latency_.emplace_back();
  return static_cast<int>(routes_.size() - 1);
}

void HttpMetrics::observe(int route_index, std::string_view method, int status, double seconds) {
  std::lock_guard lock(mutex_);
  const bool known = route_index >= 0 && static_cast<std::size_t>(route_index) < routes_.size();
  const int slot = known ? route_index : -1;
  ++requests_[{slot, std::string(method), status}];
  auto& h = known ? latency_[static_cast<std::size_t>(slot)] : unmatched_latency_;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

const HttpMetrics::Histogram* HttpMetrics::histogram(int slot) const {
  return slot < 0 ? &unmatched_latency_ : &latency_[static_cast<std::size_t>(slot)];
}

void HttpMetrics::render(PrometheusWriter& w) const {
  auto route_name = [&](int slot) {
    return slot >= 0 ? routes_[static_cast<std::size_t>(slot)] : std::string("unmatched");
  };
  std::lock_guard lock(mutex_);
  w.header("sluice_http_requests_total", "counter", "HTTP requests by route, method and status");
  for (const auto& [key, n] : requests_) {
    auto [slot, method, status] = key;
    w.sample("sluice_http_requests_total",
             {{"route", route_name(slot)}, {"method", method}, {"status", std::to_string(status)}},
             static_cast<double>(n));
  }
  w.header("sluice_http_request_duration_seconds", "histogram",
           "Time from request parsed to response queued, by route");
  for (int slot = 0; slot <= static_cast<int>(routes_.size()); ++slot) {
    const int route = slot < static_cast<int>(routes_.size()) ? slot : -1;  // unmatched last
    const Histogram& h = *histogram(route);
    if (h.count == 0) continue;
    const std::string name = route_name(route);
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      w.sample("sluice_http_request_duration_seconds_bucket",
               {{"route", name}, {"le", fmt::format("{}", kBuckets[i])}},
               static_cast<double>(h.buckets[i]));
    }
    w.sample("sluice_http_request_duration_seconds_bucket", {{"route", name}, {"le", "+Inf"}},
             static_cast<double>(h.count));
    w.sample("sluice_http_request_duration_seconds_sum", {{"route", name}}, h.sum);
    w.sample("sluice_http_request_duration_seconds_count", {{"route", name}},
             static_cast<double>(h.count));
  }
}

}  // namespace sluice::http
