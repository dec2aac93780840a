#pragma once
// The /pipelines routes (issue 15), transport-free:
//   POST   /pipelines        create (201 with the pipeline, its `id` and `state`)
//   GET    /pipelines        every pipeline
//   GET    /pipelines/{id}   one, with its `state` (starting, running, retrying + `error`, stopped)
//   PATCH  /pipelines/{id}   {"encoder": {"bitrate_kbps": N}}: applied live
//   DELETE /pipelines/{id}   stops it; its paths end
// Making and changing pipelines needs media_rw, reading them media_r (http/gate).
namespace sluice::http {
class Router;
}

namespace sluice::pipeline {

class PipelineManager;

// `manager` must outlive the router.
void add_pipeline_routes(http::Router& router, PipelineManager& manager);

}  // namespace sluice::pipeline
