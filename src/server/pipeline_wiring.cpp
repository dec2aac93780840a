#include "server/pipeline_wiring.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include "auth/access_policy.hpp"
#include "core/config.hpp"
#include "core/event_loop.hpp"
#include "core/json.hpp"
#include "http/http_types.hpp"
#include "media/media_hub.hpp"
#include "media/servers/media_server.hpp"
#include "media/servers/mjpeg/mjpeg_service.hpp"
#include "media/servers/record/recorder.hpp"
#include "pipeline/pipeline_manager.hpp"
#include "pipeline/pipeline_routes.hpp"

namespace sluice::server {

// Live paths published by pipelines. The publications are the media thread's: every change and
// every frame is posted to it.
struct PipelineWiring::Output : pipeline::PathOutput,
                                std::enable_shared_from_this<PipelineWiring::Output> {
  explicit Output(media::MediaServer& m) : media(m) {}

  // A published path, as its publisher handle: a kick ends the path (the pipeline's frames for
  // it are dropped until the pipeline opens it again).
  struct Publication : media::PublisherHandle {
    Publication(Output& o, std::string p) : output(o), path(std::move(p)) {}
    void kick(std::string_view reason) override {
      spdlog::info("pipeline path '{}' kicked: {}", path, reason);
      if (live) output.media.hub().unpublish(live);
      live = nullptr;
    }
    Output& output;
    std::string path;
    media::MediaPath* live = nullptr;
  };

  Status open(const std::string& path, const std::string& pipeline_id) override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    auto opened = call_on_loop(
        media.loop(),
        [&]() -> Status {
          auto publication = std::make_unique<Publication>(*this, path);
          auto live = media.hub().publish(
              path, media::PublisherInfo{pipeline_id, "pipeline", "", "pipeline"},
              publication.get());
          if (!live) return fail(live.error());
          publication->live = *live;
          publications[path] = std::move(publication);
          return {};
        },
        [deadline] { return std::chrono::steady_clock::now() > deadline; });
    if (!opened) return fail(Error::unavailable("the media server is not answering"));
    return *opened;
  }

  void write(const std::string& path, media::FlvFrame frame) override {
    media.loop().post([self = shared_from_this(), path, frame = std::move(frame)]() mutable {
      auto it = self->publications.find(path);
      if (it == self->publications.end() || !it->second->live) return;
      media::MediaPath* live = it->second->live;
      if (live->on_media(frame.type, frame.timestamp, std::move(frame.body))) {
        self->media.hub().description_changed(*live);
      }
    });
  }

  void close(const std::string& path) override {
    media.loop().post([self = shared_from_this(), path] {
      auto it = self->publications.find(path);
      if (it == self->publications.end()) return;
      if (it->second->live) self->media.hub().unpublish(it->second->live);
      self->publications.erase(it);
    });
  }

  // The worst loss and the lowest bandwidth estimate among the path's viewers that report: RTCP
  // receiver reports (RTSP, WebRTC), REMB (WebRTC) and libsrt's estimate (SRT) — and, for every
  // reader, the packets its queue dropped since the last call (a reader that cannot keep up:
  // skip-to-keyframe), as a share of those it was sent.
  pipeline::ViewerFeedback feedback(const std::string& path) override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    auto worst = call_on_loop(
        media.loop(),
        [&] {
          pipeline::ViewerFeedback out;
          const media::MediaPath* live = media.hub().find(path);
          auto& before = queue_counts[path];  // by reader id
          std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> now;
          if (!live) {
            queue_counts.erase(path);
            return out;
          }
          for (const media::MediaSink* sink : live->readers()) {
            const media::ReaderInfo info = sink->reader_info();
            bool reports = false;
            now[info.id] = {info.dropped, info.packets_out};
            if (auto it = before.find(info.id); it != before.end()) {
              const auto dropped = static_cast<double>(info.dropped - it->second.first);
              const auto sent = static_cast<double>(info.packets_out - it->second.second);
              if (dropped > 0) {
                out.loss = std::max(out.loss, dropped / (dropped + sent));
                reports = true;
              }
            }
            for (const auto& t : info.reception) {
              if (t.track != "video") continue;
              out.loss = std::max(out.loss, t.fraction_lost);
              reports = true;
            }
            std::optional<double> bandwidth;
            if (info.webrtc && info.webrtc->remb_bps) {
              bandwidth = static_cast<double>(*info.webrtc->remb_bps);
            }
            if (info.srt && info.srt->bandwidth_mbps > 0) {
              bandwidth = info.srt->bandwidth_mbps * 1e6;
              out.loss = std::max(out.loss, 0.0);
              reports = true;
            }
            if (bandwidth) {
              out.bandwidth_bps =
                  out.bandwidth_bps ? std::min(*out.bandwidth_bps, *bandwidth) : *bandwidth;
              reports = true;
            }
            out.viewers += reports ? 1 : 0;
          }
          before = std::move(now);
          return out;
        },
        [deadline] { return std::chrono::steady_clock::now() > deadline; });
    return worst.value_or(pipeline::ViewerFeedback{});
  }

  std::size_t readers(const std::string& path) override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    auto n = call_on_loop(
        media.loop(),
        [&]() -> std::size_t {
          const media::MediaPath* live = media.hub().find(path);
          return live ? live->readers().size() : 0;
        },
        [deadline] { return std::chrono::steady_clock::now() > deadline; });
    return n.value_or(1);  // the media thread did not answer: assume watched
  }

  void mjpeg(const std::string& path, bool on) override {
    if (!mjpeg_service) return;
    if (on) {
      mjpeg_service->open(path);
    } else {
      mjpeg_service->close(path);
    }
  }

  void jpeg(const std::string& path, const std::string& jpeg) override {
    if (mjpeg_service) mjpeg_service->publish(path, jpeg);
  }

  void record(const std::string& path, bool on) override {
    if (!recorder) return;
    if (on) {
      recorder->record_path(path);
    } else {
      recorder->forget_path(path);
    }
  }

  std::pair<std::string, std::string> recording(const std::string& path) override {
    if (!recorder) return {"unavailable", "recording is off"};
    return recorder->recording_state(path);
  }

  media::MediaServer& media;
  media::Recorder* recorder = nullptr;  // set before pipelines start
  std::unique_ptr<media::MjpegService> mjpeg_service;
  std::map<std::string, std::unique_ptr<Publication>> publications;  // media thread only
  // Each path's readers' (dropped, sent) packet counts at the last feedback. Media thread only.
  std::map<std::string, std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>>
      queue_counts;
};

PipelineWiring::PipelineWiring(media::MediaServer& media, http::Router& router,
                               const std::vector<std::string>& configured)
    : output_(std::make_shared<Output>(media)),
      feeds_(std::make_unique<PipelineFeeds>(media)),
      manager_(std::make_unique<pipeline::PipelineManager>(*output_, 16, feeds_.get())) {
  pipeline::add_pipeline_routes(router, *manager_, access_);
  // A reader of a sleeping on-demand pipeline's path wakes it (every door, after its play check).
  demand_->manager = manager_.get();
  media.set_on_demand([demand = demand_](const std::string& path) {
    std::lock_guard lock(demand->mutex);
    return demand->manager && demand->manager->demand(path);
  });
  for (std::size_t i = 0; i < configured.size(); ++i) {
    auto body = parse_json_object(configured[i]);
    auto spec = body ? pipeline::parse_pipeline_spec(*body)
                     : Result<pipeline::PipelineSpec>(fail(body.error()));
    if (!spec) {
      std::string why = spec.error().detail;
      for (const auto& f : spec.error().fields) {
        std::string where;
        for (std::size_t k = 1; k < f.loc.size(); ++k)
          where += (where.empty() ? "" : ".") + f.loc[k];
        why += "; " + where + ": " + f.msg;
      }
      throw ConfigError("[[pipeline]] " + std::to_string(i + 1) + ": " + why);
    }
    configured_.push_back(std::move(*spec));
  }
}

void PipelineWiring::start() {
  if (const std::size_t n = manager_->restore()) {
    spdlog::info("{} pipeline(s) made through the API remade", n);
  }
  for (auto& spec : configured_) {
    const std::string name = spec.name;
    auto id = manager_->create(std::move(spec), /*keep=*/false);
    if (id) {
      spdlog::info("pipeline '{}' from the config file: {}", name, *id);
    } else {
      spdlog::warn("pipeline '{}' from the config file not made: {}", name, id.error().detail);
    }
  }
  configured_.clear();
}

std::vector<media::HlsRendition> PipelineWiring::hls_renditions(const std::string& name) const {
  std::vector<media::HlsRendition> out;
  auto spec = manager_->spec_named(name);
  if (!spec) return out;
  const std::string codecs = spec->encoder.codec == "h265"         ? "hvc1.1.6.L93.B0"
                             : spec->encoder.profile == "baseline" ? "avc1.42e01f"
                             : spec->encoder.profile == "main"     ? "avc1.4d401f"
                                                                   : "avc1.640028";
  for (std::size_t i = 0; i < spec->renditions.size(); ++i) {
    const auto& r = spec->renditions[i];
    out.push_back(media::HlsRendition{"../" + r.path + "/index.m3u8",
                                      pipeline::bitrate_of(*spec, i) * 1100, r.width, r.height,
                                      static_cast<double>(spec->source.fps), codecs});
  }
  return out;
}

PipelineWiring::~PipelineWiring() {
  std::lock_guard lock(demand_->mutex);  // the media thread may still ask
  demand_->manager = nullptr;
}

pipeline::PipelineManager& PipelineWiring::manager() {
  return *manager_;
}

Status PipelineWiring::set_camera(const std::string& name, const boost::json::value& value) {
  pipeline::CameraSettings camera;
  {
    std::lock_guard lock(camera_mutex_);
    auto& c = camera_;
    if (name == "streamResolution") {
      auto size = pipeline::parse_resolution(std::string(value.as_string()));
      if (!size) return fail(Error::invalid_field({"body", "value"}, "WIDTHxHEIGHT, even"));
      c.width = size->first;
      c.height = size->second;
    } else if (name == "streamFramerate") {
      c.fps = static_cast<int>(value.to_number<std::int64_t>());
    } else if (name == "streamBitrate") {
      c.bitrate_kbps = static_cast<int>(value.to_number<std::int64_t>());
    } else if (name == "videoEncoder") {
      c.encoder = std::string(value.as_string());
    } else if (name == "encoderProfile") {
      c.profile = std::string(value.as_string());
    } else if (name == "encoderPreset") {
      c.preset = std::string(value.as_string());
    } else if (name == "streamLatencyMode") {
      c.latency_mode = std::string(value.as_string());
    }
    camera = c;
  }
  const std::size_t n = manager_->apply_camera_settings(camera);
  if (n) spdlog::info("camera setting {}: applied to {} pipeline(s)", name, n);
  return {};
}

void PipelineWiring::set_access(const auth::AccessPolicy& policy) {
  *access_ = [&policy](const http::HttpRequest& req, const pipeline::PipelineSpec& spec) -> Status {
    const auto need = [&](auth::Resource r, auth::Access a, const std::string& what) {
      return policy.authorize(req.identity, auth::Need{r, a, what});
    };
    std::vector<const pipeline::SourceSpec*> sources{&spec.source};
    for (const auto& [name, s] : spec.sources)
      sources.push_back(&s);
    for (const auto* s : sources) {
      Status ok;
      if (s->type == "relay") ok = need(auth::Resource::kChannels, auth::Access::kRead, s->channel);
      if (s->type == "path") ok = need(auth::Resource::kMedia, auth::Access::kRead, s->path);
      if (!ok) return ok;
    }
    for (const auto& r : spec.renditions) {
      if (auto ok = need(auth::Resource::kMedia, auth::Access::kWrite, r.path); !ok) return ok;
    }
    return {};
  };
}

void PipelineWiring::serve_mjpeg(media::MediaPolicy& policy, http::Router& router) {
  output_->mjpeg_service = std::make_unique<media::MjpegService>(policy, router);
}

void PipelineWiring::set_recorder(media::Recorder* recorder) {
  output_->recorder = recorder;
}

void PipelineWiring::set_relay(PipelineFeeds::RelayHook hook) {
  feeds_->set_relay(std::move(hook));
}

}  // namespace sluice::server
