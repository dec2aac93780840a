#pragma once
// PipelineWiring: the daemon's pipelines (issue 15) — a PipelineManager whose renditions are
// published as live paths of the media server (publisher protocol "pipeline"), and the
// /pipelines routes. A rendition's path kicked by an admin ends; its pipeline keeps running and
// publishes it again when restarted. No Asio here.
#include <boost/json/value.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "media/protocols/hls/hls_playlist.hpp"
#include "pipeline/pipeline_routes.hpp"
#include "pipeline/pipeline_spec.hpp"
#include "server/pipeline_feeds.hpp"

namespace sluice::auth {
class AccessPolicy;
}
namespace sluice::http {
class Router;
}
namespace sluice::media {
class MediaServer;
class MediaPolicy;
class Recorder;
}  // namespace sluice::media
namespace sluice::pipeline {
class PipelineManager;
}

namespace sluice::server {

class PipelineWiring {
 public:
  // Adds the routes to `router`; `media` must outlive the wiring. `configured`: the config
  // file's [[pipeline]] tables as JSON, checked now — a bad one throws ConfigError naming it.
  PipelineWiring(media::MediaServer& media, http::Router& router,
                 const std::vector<std::string>& configured = {});
  ~PipelineWiring();  // stops every pipeline (their paths end)
  pipeline::PipelineManager& manager();
  // Once the media server runs: remakes the pipelines kept from the API, then makes the config
  // file's.
  void start();
  // A pipeline's renditions for its HLS multivariant playlist (none when `name` is no pipeline).
  // Any thread.
  std::vector<media::HlsRendition> hls_renditions(const std::string& name) const;
  // One of the camera's stream settings changed (streamResolution, …; values already checked
  // by the settings): applied to the pipelines with a `stream1` rendition. Any thread.
  Status set_camera(const std::string& name, const boost::json::value& value);

  // What a new pipeline reads (relay channels, live paths) and publishes (its renditions' paths)
  // is checked against its maker's permissions under `policy` (which must outlive the wiring).
  void set_access(const auth::AccessPolicy& policy);
  // mjpeg outputs' pictures at GET /live/{path}/mjpeg, for who may play the path under `policy`
  // (which must outlive the wiring). Before the router is frozen.
  void serve_mjpeg(media::MediaPolicy& policy, http::Router& router);
  // Where record outputs record (null: they say recording is off). Before start().
  void set_recorder(media::Recorder* recorder);
  // How relay sources read relay channels. Before start().
  void set_relay(PipelineFeeds::RelayHook hook);

  struct Output;

 private:
  std::shared_ptr<Output> output_;
  std::unique_ptr<PipelineFeeds> feeds_;
  std::shared_ptr<pipeline::SpecAccess> access_ =
      std::make_shared<pipeline::SpecAccess>();  // before the manager: its pipelines read through
                                                 // it
  std::unique_ptr<pipeline::PipelineManager> manager_;
  std::vector<pipeline::PipelineSpec> configured_;  // made by start()
  // The manager as the media thread's on-demand hook sees it: null once the wiring goes.
  struct DemandTarget {
    std::mutex mutex;
    pipeline::PipelineManager* manager = nullptr;
  };
  std::shared_ptr<DemandTarget> demand_ = std::make_shared<DemandTarget>();
  std::mutex camera_mutex_;
  pipeline::CameraSettings camera_;  // under camera_mutex_
};

}  // namespace sluice::server
