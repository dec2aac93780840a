#include "http/router.hpp"

#include <algorithm>

namespace sluice::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end;
  }
  return out;
}

bool is_capture(std::string_view s) {
  return s.size() > 2 && s.front() == '{' && s.back() == '}';
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = method;
  for (auto s : split_path(pattern))
    r.segments.emplace_back(s);
  r.literal_segments = static_cast<int>(
      std::count_if(r.segments.begin(), r.segments.end(), [](auto& s) { return !is_capture(s); }));
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
  infos_.push_back(RouteInfo{std::move(method), std::move(pattern)});
}

void Router::declare(std::string_view method, std::string_view pattern, RouteNeed need) {
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (infos_[i].method == method && infos_[i].pattern == pattern) {
      routes_[i].declared = true;
      routes_[i].need = need;
    }
  }
}

std::vector<std::string> Router::undeclared() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (!routes_[i].declared) out.push_back(infos_[i].method + " " + infos_[i].pattern);
  }
  return out;
}

std::optional<HttpResponse> Router::admit(HttpRequest& req, int route_index) const {
  if (!gate_) return std::nullopt;
  static const RouteNeed kNothing;
  const RouteNeed& need = route_index >= 0 && static_cast<std::size_t>(route_index) < routes_.size()
                              ? routes_[static_cast<std::size_t>(route_index)].need
                              : kNothing;
  return gate_(req, need);
}

void Router::report(const HttpRequest& req, int route_index, int status) const {
  if (!outcome_) return;
  static const std::string kNone;
  const std::string& pattern =
      route_index >= 0 && static_cast<std::size_t>(route_index) < infos_.size()
          ? infos_[static_cast<std::size_t>(route_index)].pattern
          : kNone;
  outcome_(req, pattern, status);
}

Router::Match Router::route(std::string_view method, std::string_view path) const {
  auto parts = split_path(path);
  Match best;
  best.status = 404;
  int best_literals = -1;
  std::vector<std::string> allowed;
  int best_any_literals = -1;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& r = routes_[i];
    if (r.segments.size() != parts.size()) continue;
    bool ok = true;
    for (std::size_t k = 0; k < parts.size() && ok; ++k) {
      ok = is_capture(r.segments[k]) || r.segments[k] == parts[k];
    }
    if (!ok) continue;
    // The most specific pattern decides which methods the path has.
    if (r.literal_segments > best_any_literals) {
      best_any_literals = r.literal_segments;
      allowed.clear();
    }
    if (r.literal_segments == best_any_literals) allowed.push_back(r.method);
    if (r.method != method || r.literal_segments <= best_literals) continue;
    best_literals = r.literal_segments;
    best.handler = &r.handler;
    best.route_index = static_cast<int>(i);
    best.status = 200;
    best.params.clear();
    for (std::size_t k = 0; k < parts.size(); ++k) {
      if (is_capture(r.segments[k])) {
        best.params.emplace(r.segments[k].substr(1, r.segments[k].size() - 2),
                            std::string(parts[k]));
      }
    }
  }
  if (best.handler && best_literals < best_any_literals &&
      std::find(allowed.begin(), allowed.end(), method) == allowed.end()) {
    // A more specific static path exists for other methods only, e.g. POST /streams/sessions.
    best.handler = nullptr;
    best.route_index = -1;
  }
  if (!best.handler && !allowed.empty()) {
    best.status = 405;
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    for (const auto& m : allowed)
      best.allow += (best.allow.empty() ? "" : ", ") + m;
  }
  return best;
}

}  // namespace sluice::http
