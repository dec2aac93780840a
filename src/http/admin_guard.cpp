#include "http/admin_guard.hpp"

#include <algorithm>
#include <cctype>

#include "keys/ip_rules.hpp"
#include "keys/key_format.hpp"

namespace sluice::http {

Handler admin_only(std::string area, std::string admin_token, Handler inner) {
  return [area = std::move(area), token = std::move(admin_token), inner = std::move(inner)](
             const HttpRequest& req, const PathParams& params) -> Reply {
    if (!token.empty()) {
      std::string_view auth = req.authorization;
      constexpr std::string_view kScheme = "bearer ";
      const bool bearer =
          auth.size() > kScheme.size() &&
          std::equal(kScheme.begin(), kScheme.end(), auth.begin(), [](char a, char b) {
            return a == std::tolower(static_cast<unsigned char>(b));
          });
      if (!bearer || !keys::equal_constant_time(auth.substr(kScheme.size()), token)) {
        auto res = error_response(Error{
            401, area + " needs 'Authorization: Bearer <admin-token>' (setting admin-token)", {}});
        res.headers.emplace_back("WWW-Authenticate", "Bearer");
        return res;
      }
      return inner(req, params);
    }
    auto peer = keys::parse_ip(req.remote_address);
    if (!peer || !peer->is_loopback()) {
      return error_response(Error::forbidden(
          area +
          " is served to loopback clients only while no admin-token is configured; set "
          "admin-token (docs/operations.md, \"Stream keys\") to use it from other hosts"));
    }
    return inner(req, params);
  };
}

}  // namespace sluice::http
