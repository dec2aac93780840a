#include "http/settings_routes.hpp"

#include "auth/access_policy.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "http/gate.hpp"
#include "settings/settings.hpp"

namespace sluice::http {
namespace json = boost::json;

void add_settings_routes(Router& r, settings::Settings& s, const auth::AccessPolicy& policy) {
  r.add("GET", "/settings", [&s, &policy](const HttpRequest& req, const PathParams&) -> Reply {
    json::array out;
    for (const auto& setting : s.list()) {
      if (policy.allows(req.identity, setting.spec->read)) {
        out.push_back(settings::Settings::describe(setting));
      }
    }
    return json_response(200, to_json_text(out));
  });
  r.add("GET", "/settings/{name}",
        [&s, &policy](const HttpRequest& req, const PathParams& p) -> Reply {
          auto found = s.get(p.at("name"));
          if (!found) {
            return error_response(Error::not_found("no setting named '" + p.at("name") + "'"));
          }
          if (auto ok = policy.authorize(req.identity, found->spec->read); !ok) {
            return refusal_response(ok.error());
          }
          return json_response(200, to_json_text(settings::Settings::describe(*found)));
        });
  r.add("PUT", "/settings/{name}",
        [&s, &policy](const HttpRequest& req, const PathParams& p) -> Reply {
          auto found = s.get(p.at("name"));
          if (!found) {
            return error_response(Error::not_found("no setting named '" + p.at("name") + "'"));
          }
          if (auto ok = policy.authorize(req.identity, found->spec->write); !ok) {
            return refusal_response(ok.error());
          }
          auto body = parse_json_object(req.body);
          if (!body) return error_response(body.error());
          auto* value = body->if_contains("value");
          if (!value) {
            return error_response(
                Error::invalid_field({"body", "value"}, "Field required", "missing"));
          }
          auto stored = s.put(p.at("name"), *value, req.identity.describe());
          return stored ? json_response(200, to_json_text(settings::Settings::describe(*stored)))
                        : error_response(stored.error());
        });
}

}  // namespace sluice::http
