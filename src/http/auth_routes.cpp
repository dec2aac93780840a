#include "http/auth_routes.hpp"

#include "auth/access_policy.hpp"
#include "auth/directory.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"

namespace sluice::http {
namespace json = boost::json;
namespace {

HttpResponse reply(int status, const json::value& v) {
  return json_response(status, to_json_text(v));
}

json::array permission_list(const auth::Role& r) {
  json::array out;
  for (const auto& g : r.grants)
    out.emplace_back(auth::to_string(g));
  return out;
}

json::object role_json(const auth::Role& r) {
  return {{"name", r.name},
          {"description", r.description},
          {"permissions", permission_list(r)},
          {"scope", r.scope == auth::Scope::kAny ? "any" : "own"},
          {"builtin", r.builtin}};
}

json::object user_json(const auth::UserRecord& u) {
  return {{"name", u.name}, {"role", u.role}, {"created_at", format_timestamp(u.created_at)}};
}

json::object token_json(const auth::TokenRecord& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"role", t.role},
          {"created_at", format_timestamp(t.created_at)},
          {"expires_at", t.expires_at ? json::value(format_timestamp(*t.expires_at)) : nullptr}};
}

const char* kind_name(auth::Identity::Kind k) {
  switch (k) {
    case auth::Identity::Kind::kAnonymous:
      return "anonymous";
    case auth::Identity::Kind::kUser:
      return "user";
    case auth::Identity::Kind::kToken:
      return "token";
    case auth::Identity::Kind::kAdmin:
      return "admin";
    case auth::Identity::Kind::kSystem:
      return "system";
  }
  return "anonymous";
}

// Parses the body; on error the response to send.
Result<json::object> body_of(const HttpRequest& req) {
  return parse_json_object(req.body);
}

void add_role_routes(Router& r, auth::Directory& dir) {
  r.add("GET", "/auth/roles", [&dir](const HttpRequest&, const PathParams&) -> Reply {
    json::array out;
    for (const auto& role : dir.roles())
      out.push_back(role_json(*role));
    json::array permissions;
    for (const auto& p : auth::all_permission_names())
      permissions.emplace_back(p);
    return reply(200,
                 json::object{{"roles", std::move(out)}, {"permissions", std::move(permissions)}});
  });
  r.add("PUT", "/auth/roles/{name}", [&dir](const HttpRequest& req, const PathParams& p) -> Reply {
    auto body = body_of(req);
    if (!body) return error_response(body.error());
    FieldReader f(*body, {"body"});
    auto description = f.string("description", false);
    auto scope = f.string("scope", false);
    auth::Role role{p.at("name"), description.value_or(""), {}, auth::Scope::kOwn, false};
    if (scope && *scope != "own" && *scope != "any")
      f.add_error("scope", "scope must be 'own' or 'any'");
    if (scope == "any") role.scope = auth::Scope::kAny;
    const json::value* perms = body->if_contains("permissions");
    if (!perms || !perms->is_array())
      f.add_error("permissions", "permissions must be a list of names");
    if (!f.ok()) return error_response(Error::invalid(f.take_errors()));
    for (const auto& v : perms->as_array()) {
      if (!v.is_string())
        return error_response(
            Error::invalid_field({"body", "permissions"}, "permissions must be strings"));
      auto g = auth::parse_grant(v.as_string());
      if (!g) return error_response(g.error());
      role.grants.push_back(std::move(*g));
    }
    auto saved = dir.put_role(std::move(role));
    return saved ? reply(200, role_json(*saved)) : error_response(saved.error());
  });
  r.add("DELETE", "/auth/roles/{name}", [&dir](const HttpRequest&, const PathParams& p) -> Reply {
    auto done = dir.delete_role(p.at("name"));
    return done ? reply(200, json::object{{"status", "deleted"}, {"name", p.at("name")}})
                : error_response(done.error());
  });
}

void add_user_routes(Router& r, auth::Directory& dir) {
  r.add("GET", "/auth/users", [&dir](const HttpRequest&, const PathParams&) -> Reply {
    json::array out;
    for (const auto& u : dir.users())
      out.push_back(user_json(u));
    return reply(200, out);
  });
  r.add("POST", "/auth/users", [&dir](const HttpRequest& req, const PathParams&) -> Reply {
    auto body = body_of(req);
    if (!body) return error_response(body.error());
    FieldReader f(*body, {"body"});
    auto name = f.string("name", true, 1);
    auto password = f.string("password", true, 1);
    auto role = f.string("role", true, 1);
    if (!f.ok()) return error_response(Error::invalid(f.take_errors()));
    auto created = dir.create_user(*name, *password, *role);
    return created ? reply(201, user_json(*created)) : error_response(created.error());
  });
  r.add("PATCH", "/auth/users/{name}",
        [&dir](const HttpRequest& req, const PathParams& p) -> Reply {
          auto body = body_of(req);
          if (!body) return error_response(body.error());
          FieldReader f(*body, {"body"});
          auto password = f.string("password", false, 1);
          auto role = f.string("role", false, 1);
          if (!f.ok()) return error_response(Error::invalid(f.take_errors()));
          auto updated = dir.update_user(p.at("name"), password, role);
          return updated ? reply(200, user_json(*updated)) : error_response(updated.error());
        });
  r.add("DELETE", "/auth/users/{name}", [&dir](const HttpRequest&, const PathParams& p) -> Reply {
    auto done = dir.delete_user(p.at("name"));
    return done ? reply(200, json::object{{"status", "deleted"}, {"name", p.at("name")}})
                : error_response(done.error());
  });
}

void add_token_routes(Router& r, auth::Directory& dir) {
  r.add("GET", "/auth/tokens", [&dir](const HttpRequest&, const PathParams&) -> Reply {
    json::array out;
    for (const auto& t : dir.tokens())
      out.push_back(token_json(t));
    return reply(200, out);
  });
  r.add("POST", "/auth/tokens", [&dir](const HttpRequest& req, const PathParams&) -> Reply {
    auto body = body_of(req);
    if (!body) return error_response(body.error());
    FieldReader f(*body, {"body"});
    auto name = f.string("name", true, 1);
    auto role = f.string("role", true, 1);
    auto expires_in = f.integer("expires_in", false, 1, INT32_MAX);
    if (!f.ok()) return error_response(Error::invalid(f.take_errors()));
    std::optional<std::chrono::seconds> ttl;
    if (expires_in) ttl = std::chrono::seconds(*expires_in);
    auto created = dir.create_token(*name, *role, ttl);
    if (!created) return error_response(created.error());
    json::object out = token_json(created->record);
    out["token"] = created->token;
    return reply(201, out);
  });
  r.add("DELETE", "/auth/tokens/{id}", [&dir](const HttpRequest&, const PathParams& p) -> Reply {
    auto done = dir.delete_token(p.at("id"));
    return done ? reply(200, json::object{{"status", "deleted"}, {"id", p.at("id")}})
                : error_response(done.error());
  });
}

}  // namespace

void add_auth_routes(Router& r, auth::Directory& dir, const auth::AccessPolicy& policy) {
  r.add("GET", "/auth/whoami", [&policy](const HttpRequest& req, const PathParams&) -> Reply {
    const auth::Identity& who = req.identity;
    const auth::Role& role = policy.effective_role(who);
    return reply(200, json::object{{"kind", kind_name(who.kind)},
                                   {"name", who.name},
                                   {"owner", who.owner()},
                                   {"address", who.address},
                                   {"role", role.name},
                                   {"permissions", permission_list(role)},
                                   {"manages_all", req.manages_all},
                                   {"mode", auth::to_string(policy.mode())}});
  });
  add_role_routes(r, dir);
  add_user_routes(r, dir);
  add_token_routes(r, dir);
}

}  // namespace sluice::http
