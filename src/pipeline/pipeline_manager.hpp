#pragma once
// PipelineManager: the pipelines of the daemon (`/pipelines`): each one a thread of its own,
// off the media and I/O threads, that makes pictures at the source's rate (paced by the monotonic
// clock), encodes them per rendition (video_pipeline.hpp) and hands the access units to its
// renditions' live paths through a PathOutput, so every door plays them. A pipeline that fails
// is restarted with backoff (1 s doubling to 30 s), its state saying why meanwhile. An on-demand
// pipeline is "idle" until demand() and again once its paths have had no reader for a while. Owns
// the pipelines; thread-safe (one mutex, never held while encoding or waiting).
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "media/flv_builder.hpp"
#include "pipeline/frame_source.hpp"
#include "pipeline/pipeline_spec.hpp"

namespace sluice::http {
class PrometheusWriter;
}
namespace sluice::state {
class Records;
}

namespace sluice::pipeline {

// Where a pipeline's renditions go: live paths. Implemented over the media server by the
// daemon (server/pipeline_wiring); called from pipeline threads.
class PathOutput {
 public:
  virtual ~PathOutput() = default;
  // Starts publishing `path` as pipeline `pipeline_id`: ok, or 409 when someone publishes it.
  virtual Status open(const std::string& path, const std::string& pipeline_id) = 0;
  // One FLV tag body (sequence header or access unit) for `path`. Must not block for long.
  virtual void write(const std::string& path, media::FlvFrame frame) = 0;
  virtual void close(const std::string& path) = 0;
  // What `path`'s viewers report (for adaptive bitrate); none: no viewers.
  virtual ViewerFeedback feedback(const std::string& path) { return {}; }
  // How many readers `path` has now, of every door (on-demand pipelines sleep without them).
  virtual std::size_t readers(const std::string& path) { return 0; }
  // An mjpeg output: `path`'s pictures served as MJPEG from `on` until off; one JPEG of it.
  virtual void mjpeg(const std::string& path, bool on) {}
  virtual void jpeg(const std::string& path, const std::string& jpeg) {}
  // A record output: `path` is recorded from `on` until off (as many offs as ons).
  virtual void record(const std::string& path, bool on) {}
  // That recording's state and why: "recording", "waiting", "failed", "unavailable".
  virtual std::pair<std::string, std::string> recording(const std::string& path) {
    return {"unavailable", "recording is not available here"};
  }
};

class PipelineManager {
 public:
  // `feeds`: relay channels and live paths for sources that read them (null: such sources fail
  // with 503).
  explicit PipelineManager(PathOutput& output, std::size_t max_pipelines = 16,
                           SourceFeeds* feeds = nullptr);
  // Where pipelines made through the API are kept (the node's own state database, never a
  // shared home: each node runs its own), so restore() remakes them after a restart. Call
  // before the first create(). Null: nothing is kept.
  void set_records(state::Records* records) { records_ = records; }
  // Called (from a pipeline's thread) when a pipeline's health changes:
  // {"id", "name", "health", "previous", "reason"}. Before the first create().
  using HealthListener = std::function<void(const boost::json::object&)>;
  void set_on_health(HealthListener listener) { on_health_ = std::move(listener); }
  // Remakes the kept pipelines, with their ids; how many. Errors are logged per pipeline.
  std::size_t restore();
  ~PipelineManager();  // stops every pipeline

  // 201-worthy: the new pipeline's id ("p" + 8 hex); 409 when its name or one of its paths is
  // taken by another pipeline, 503 past max_pipelines or when it cannot be kept. `keep`: written
  // to the records (pipelines of the config file are not: the file makes them).
  Result<std::string> create(PipelineSpec spec, bool keep = true, std::string id = {});
  // {"id", "name", "state", "error", "frames", "started_at", ...spec}; 404 when unknown.
  Result<boost::json::object> describe(const std::string& id) const;
  std::vector<boost::json::object> list() const;
  // The spec of the pipeline named `name` (as running now); nullopt when none.
  std::optional<PipelineSpec> spec_named(const std::string& name) const;
  // The PATCH body {"encoder": {...}}: applied to the running encoders from the next picture.
  Result<boost::json::object> patch(const std::string& id, const boost::json::object& body);
  Status remove(const std::string& id);
  // A reader asks for `path`, which nobody publishes: the on-demand pipeline with a rendition
  // on it starts (source.on_demand). True when there is one. Any thread; never blocks for long.
  bool demand(const std::string& path);
  // The camera's stream settings, applied to every pipeline with a rendition on `stream1` (the
  // camera's primary stream): rebuilt in place, their readers stay. How many it changed.
  std::size_t apply_camera_settings(const CameraSettings& camera);

  // The camera's checkStreamHealth, per pipeline: "ok"; "stalled" (no picture for 2 s, or the
  // pipeline is retrying); "dropping" (frames dropped in the last 10 s); "erroring" (a push
  // output is retrying). For /health.
  boost::json::array health() const;
  // The stream manager's metrics, per pipeline (label `pipeline`, its name): encoder_fps,
  // encoder_bitrate{path} (bit/s), encoder_queue_size (access units waiting in push outputs),
  // encoder_dropped_frames (counter), encoder_rtmp_latency (seconds, queued → sent, of the last
  // push), and sluice_pipeline_health{health}.
  void render_metrics(http::PrometheusWriter& w) const;

  struct Pipeline;

 private:
  void keep(const std::string& id, const PipelineSpec& spec);
  PathOutput& output_;
  SourceFeeds* feeds_;
  std::size_t max_;
  state::Records* records_ = nullptr;
  HealthListener on_health_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Pipeline>> pipelines_;
};

}  // namespace sluice::pipeline
