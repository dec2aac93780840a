#pragma once
// The /pipelines routes (issue 15), transport-free:
//   POST   /pipelines        create (201 with the pipeline, its `id` and `state`)
//   GET    /pipelines        every pipeline
//   GET    /pipelines/{id}   one, with its `state` (starting, running, retrying + `error`, stopped)
//   PATCH  /pipelines/{id}   {"encoder": {"bitrate_kbps": N}}: applied live
//   DELETE /pipelines/{id}   stops it; its paths end
// Making and changing pipelines needs media_rw, reading them media_r (http/gate); what a new
// pipeline reads and writes is checked against the caller besides (`may_make`).
#include <functional>
#include <memory>

#include "core/error.hpp"

namespace sluice::http {
class Router;
struct HttpRequest;
}  // namespace sluice::http

namespace sluice::pipeline {

class PipelineManager;
struct PipelineSpec;

// Whether the caller of `request` may make `spec` (e.g. read its relay channels and live paths,
// publish its renditions); 403 naming what it may not. Empty: anything the route allows.
using SpecAccess = std::function<Status(const http::HttpRequest& request, const PipelineSpec&)>;

// `manager` must outlive the router; `may_make` is read at each POST (it may be set later).
void add_pipeline_routes(http::Router& router, PipelineManager& manager,
                         std::shared_ptr<const SpecAccess> may_make = nullptr);

}  // namespace sluice::pipeline
