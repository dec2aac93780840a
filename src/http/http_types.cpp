#include "http/http_types.hpp"

#include "core/json.hpp"

namespace sluice::http {

std::optional<std::string> HttpRequest::param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
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
