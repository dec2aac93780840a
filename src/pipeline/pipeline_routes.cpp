#include "pipeline/pipeline_routes.hpp"

#include "core/json.hpp"
#include "core/json_text.hpp"
#include "http/router.hpp"
#include "pipeline/pipeline_manager.hpp"

namespace sluice::pipeline {
namespace json = boost::json;
using http::HttpRequest;
using http::PathParams;
using http::Reply;

namespace {

http::HttpResponse ok(int status, const json::value& v) {
  return http::json_response(status, to_json_text(v));
}

}  // namespace

void add_pipeline_routes(http::Router& router, PipelineManager& manager,
                         std::shared_ptr<const SpecAccess> may_make) {
  router.add("POST", "/pipelines",
             [&manager, may_make](const HttpRequest& req, const PathParams&) -> Reply {
               auto body = parse_json_object(req.body);
               if (!body) return http::error_response(body.error());
               auto spec = parse_pipeline_spec(*body);
               if (!spec) return http::error_response(spec.error());
               if (may_make && *may_make) {
                 if (auto allowed = (*may_make)(req, *spec); !allowed) {
                   return http::error_response(allowed.error());
                 }
               }
               auto id = manager.create(std::move(*spec));
               if (!id) return http::error_response(id.error());
               auto described = manager.describe(*id);
               return described ? ok(201, *described) : http::error_response(described.error());
             });
  router.add("GET", "/pipelines", [&manager](const HttpRequest&, const PathParams&) -> Reply {
    json::array out;
    for (auto& p : manager.list())
      out.push_back(std::move(p));
    return ok(200, out);
  });
  router.add("GET", "/pipelines/{id}",
             [&manager](const HttpRequest&, const PathParams& p) -> Reply {
               auto described = manager.describe(p.at("id"));
               return described ? ok(200, *described) : http::error_response(described.error());
             });
  router.add("PATCH", "/pipelines/{id}",
             [&manager](const HttpRequest& req, const PathParams& p) -> Reply {
               auto body = parse_json_object(req.body);
               if (!body) return http::error_response(body.error());
               auto patched = manager.patch(p.at("id"), *body);
               return patched ? ok(200, *patched) : http::error_response(patched.error());
             });
  router.add("DELETE", "/pipelines/{id}",
             [&manager](const HttpRequest&, const PathParams& p) -> Reply {
               auto removed = manager.remove(p.at("id"));
               return removed ? ok(200, json::object{{"id", p.at("id")}, {"state", "stopped"}})
                              : http::error_response(removed.error());
             });
}

}  // namespace sluice::pipeline
