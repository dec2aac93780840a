#include "http/key_routes.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "keys/ip_rules.hpp"
#include "keys/key_format.hpp"
#include "keys/key_service.hpp"

namespace sluice::http {
namespace json = boost::json;
using keys::KeyService;

namespace {

json::value time_or_null(const std::optional<WallTime>& t) {
  return t ? json::value(format_timestamp(*t)) : json::value(nullptr);
}

// Everything about a key but its secret and its HMAC.
json::object key_json(const KeyService& service, const keys::KeyRecord& r) {
  json::array ips;
  for (const auto& ip : r.allowed_ips)
    ips.emplace_back(ip);
  return json::object{
      {"id", r.id},
      {"stream", r.stream},
      {"kind", keys::to_string(r.kind)},
      {"alias", r.alias ? json::value(*r.alias) : json::value(nullptr)},
      {"note", r.note},
      {"created_at", format_timestamp(r.created_at)},
      {"expires_at", time_or_null(r.expires_at)},
      {"revoked_at", time_or_null(r.revoked_at)},
      {"state", keys::to_string(service.state_of(r))},
      {"allowed_ips", std::move(ips)},
      {"last_used_at", time_or_null(r.last_used_at)},
      {"uses", r.uses},
  };
}

// The record plus the plaintext key (the one answer that carries it) and where to use it: the
// RTMP application URL (OBS "Server"; players add "/STREAM" and, for a read key, "?key=KEY").
json::object created_json(const KeyService& service, const keys::CreatedKey& c,
                          const KeyRoutesOptions& options, const HttpRequest& req) {
  json::object o = key_json(service, c.record);
  o["key"] = c.key;
  std::optional<std::string> url;
  if (options.rtmp_url) url = options.rtmp_url(req.host);
  o["rtmp_url"] = url ? json::value(*url) : json::value(nullptr);
  return o;
}

HttpResponse ok(int status, const json::value& v) {
  return json_response(status, to_json_text(v));
}

Result<keys::CreateKeyRequest> parse_create(const HttpRequest& req) {
  auto body = parse_json_object(req.body);
  if (!body) return fail(body.error());
  FieldReader r(*body, {"body"});
  keys::CreateKeyRequest c;
  auto stream = r.string("stream", true);
  auto kind = r.string("kind", false);
  c.expires_in = r.integer("expires_in", false, 1, keys::kMaxExpiresIn);
  c.alias = r.string("alias", false);
  c.note = r.string("note", false).value_or("");
  if (kind && *kind != "publish" && *kind != "read") {
    r.add_error("kind", "kind must be 'publish' or 'read'", "enum");
  }
  std::vector<FieldError> errors;
  if (auto it = body->find("allowed_ips"); it != body->end() && !it->value().is_null()) {
    if (!it->value().is_array()) {
      r.add_error("allowed_ips", "'allowed_ips' should be a list of IP addresses or CIDRs",
                  "list_type");
    } else {
      const auto& list = it->value().as_array();
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_string()) {
          errors.push_back(FieldError{{"body", "allowed_ips", std::to_string(i)},
                                      "should be a string (an IP address or CIDR)",
                                      "string_type"});
          c.allowed_ips.emplace_back("0.0.0.0/0");  // keeps indexes aligned; never stored
        } else {
          c.allowed_ips.emplace_back(list[i].as_string());
        }
      }
    }
  }
  if (stream) c.stream = *stream;
  if (kind == "read") c.kind = keys::KeyKind::kRead;
  auto typed = r.take_errors();
  // Rule errors for fields that passed the type checks, in one answer with the type errors.
  std::set<std::string> seen;
  for (const auto& e : typed)
    if (e.loc.size() > 1) seen.insert(e.loc[1]);
  for (auto& e : keys::validate_create(c)) {
    if (e.loc.size() > 1 && seen.contains(e.loc[1])) continue;
    errors.push_back(std::move(e));
  }
  typed.insert(typed.end(), std::make_move_iterator(errors.begin()),
               std::make_move_iterator(errors.end()));
  if (!typed.empty()) return fail(Error::invalid(std::move(typed)));
  return c;
}

}  // namespace

void add_key_routes(Router& router, KeyService& keys, KeyRoutesOptions options) {
  router.add("POST", "/keys", [&keys, options](const HttpRequest& req, const PathParams&) -> Reply {
    auto request = parse_create(req);
    if (!request) return error_response(request.error());
    auto created = keys.create(std::move(*request));
    return created ? ok(201, created_json(keys, *created, options, req))
                   : error_response(created.error());
  });
  router.add("GET", "/keys", [&keys](const HttpRequest&, const PathParams&) -> Reply {
    auto list = keys.list();
    if (!list) return error_response(list.error());
    json::array out;
    for (const auto& r : *list)
      out.push_back(key_json(keys, r));
    return ok(200, out);
  });
  router.add("GET", "/keys/{id}", [&keys](const HttpRequest&, const PathParams& p) -> Reply {
    auto r = keys.get(p.at("id"));
    return r ? ok(200, key_json(keys, *r)) : error_response(r.error());
  });
  router.add("DELETE", "/keys/{id}", [&keys](const HttpRequest&, const PathParams& p) -> Reply {
    auto r = keys.revoke(p.at("id"));
    return r ? ok(200, key_json(keys, *r)) : error_response(r.error());
  });
  router.add("POST", "/keys/{id}/rotate",
             [&keys, options](const HttpRequest& req, const PathParams& p) -> Reply {
               auto r = keys.rotate(p.at("id"));
               return r ? ok(200, created_json(keys, *r, options, req)) : error_response(r.error());
             });
}

void render_key_metrics(PrometheusWriter& w, const keys::KeyStats& s) {
  w.header("sluice_stream_keys_created_total", "counter", "Stream keys created");
  w.sample("sluice_stream_keys_created_total", {}, static_cast<double>(s.created));
  w.header("sluice_stream_key_checks_total", "counter",
           "Stream keys presented to publish or play, by result (accepted or the refusal reason)");
  w.sample("sluice_stream_key_checks_total", {{"result", "accepted"}},
           static_cast<double>(s.accepted));
  for (std::size_t i = 0; i < keys::kRefusalReasonCount; ++i) {
    w.sample("sluice_stream_key_checks_total",
             {{"result", std::string(keys::to_string(static_cast<keys::RefusalReason>(i)))}},
             static_cast<double>(s.refused[i]));
  }
}

}  // namespace sluice::http
