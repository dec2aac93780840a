#include "http/http_types.hpp"

#include <algorithm>

#include "core/json.hpp"

namespace sluice::http {

std::optional<std::string> HttpRequest::param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::string sse_frame(std::string_view event, std::string_view data) {
  const std::size_t lines =
      1 + static_cast<std::size_t>(std::count(data.begin(), data.end(), '\n'));
  std::string out;
  out.reserve((event.empty() ? 0 : event.size() + 8) + data.size() + lines * 6 + 2);
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  std::size_t start = 0;
  while (true) {
    auto nl = data.find('\n', start);
    out += "data: ";
    out += data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  out += '\n';
  return out;
}

HttpResponse json_response(int status, std::string body) {
  return HttpResponse{status, "application/json", std::move(body), {}};
}

HttpResponse error_response(const Error& e) {
  return json_response(e.status, error_body(e));
}

HttpResponse reply_budget_exhausted() {
  auto r = error_response(Error::unavailable(
      "The server is busy writing large replies to other clients; retry shortly, or ask for less "
      "(GET /streams takes limit and offset)"));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace sluice::http
