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

}  // namespace sluice::http
