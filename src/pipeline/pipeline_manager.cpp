#include "pipeline/pipeline_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <thread>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/thread_name.hpp"
#include "core/time_format.hpp"
#include "http/metrics.hpp"
#include "pipeline/pipeline_run.hpp"
#include "pipeline/push_output.hpp"
#include "pipeline/video_pipeline.hpp"
#include "state/records.hpp"

namespace sluice::pipeline {
namespace json = boost::json;

PipelineManager::PipelineManager(PathOutput& output, std::size_t max_pipelines, SourceFeeds* feeds)
    : output_(output), feeds_(feeds), max_(max_pipelines) {}

PipelineManager::~PipelineManager() {
  std::map<std::string, std::shared_ptr<Pipeline>> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(pipelines_);
  }
  for (auto& [id, p] : all) {
    {
      std::lock_guard lock(p->mutex);
      p->stopping = true;
    }
    p->wake.notify_all();
  }
  for (auto& [id, p] : all) {
    if (p->thread.joinable()) p->thread.join();
  }
}

Result<std::string> PipelineManager::create(PipelineSpec spec, bool keep_it, std::string id_given) {
  std::lock_guard lock(mutex_);
  if (pipelines_.size() >= max_) {
    return fail(Error::unavailable("at most " + std::to_string(max_) + " pipelines run at once"));
  }
  for (const auto& [id, p] : pipelines_) {
    std::lock_guard plock(p->mutex);
    if (p->spec.name == spec.name) {
      return fail(Error::conflict("a pipeline named '" + spec.name + "' exists (" + id + ")"));
    }
    for (const auto& mine : spec.renditions) {
      for (const auto& theirs : p->spec.renditions) {
        if (mine.path == theirs.path) {
          return fail(
              Error::conflict("pipeline " + id + " already makes path '" + mine.path + "'"));
        }
      }
    }
  }
  const std::string id = id_given.empty() ? "p" + to_hex(crypto::random_bytes(4)) : id_given;
  if (keep_it && records_) {
    if (auto ok = records_->put("pipeline", id, to_json_text(to_json(spec, true))); !ok) {
      return fail(Error::unavailable("the pipeline cannot be kept: " + ok.error().detail));
    }
  }
  auto p = std::make_shared<Pipeline>(id, std::move(spec), output_, feeds_);
  p->on_health = on_health_;
  p->kept = keep_it && records_;
  p->thread = std::thread([p, label = "pipe:" + p->spec.name] {
    name_this_thread(label);
    p->run();
  });
  pipelines_[id] = p;
  return id;
}

namespace {

json::object describe_one(PipelineManager::Pipeline& p) {
  std::lock_guard lock(p.mutex);
  json::object o = to_json(p.spec);
  o["id"] = p.id;
  o["state"] = p.state;
  if (!p.error.empty()) o["error"] = p.error;
  o["frames"] = p.frames.load();
  o["dropped_frames"] = p.dropped.load();
  o["fps"] = p.fps;
  if (p.frame_path_ms) o["frame_path_ms"] = *p.frame_path_ms;
  json::array targets;
  for (std::size_t r = 0; r < p.targets.size() && r < p.spec.renditions.size(); ++r) {
    targets.push_back(
        json::object{{"path", p.spec.renditions[r].path}, {"bitrate_kbps", p.targets[r]}});
  }
  o["bitrates"] = std::move(targets);  // what each encoder aims at now
  o["adaptations"] = p.adaptations;
  if (!p.encoder_used.empty()) o["encoder_used"] = p.encoder_used;
  if (!p.encoder_note.empty()) o["encoder_note"] = p.encoder_note;
  const auto [health, why] = health_of(p);
  o["health"] = health;
  if (!why.empty()) o["health_reason"] = why;
  json::array outputs;
  for (std::size_t i = 0; i < p.spec.outputs.size(); ++i) {
    const auto& spec = p.spec.outputs[i];
    json::object out{{"type", spec.type},
                     {"rendition", p.spec.renditions[rendition_of(p.spec, spec)].path}};
    if (!spec.url.empty()) out["url"] = redacted_url(spec.url);
    if (spec.type == "record") {
      const auto [state, why] =
          p.output.recording(p.spec.renditions[rendition_of(p.spec, spec)].path);
      out["state"] = state;
      if (!why.empty()) out["error"] = why;
    } else if (spec.type == "mjpeg") {
      out["state"] = p.state == "running" ? "serving" : "stopped";
      out["fps"] = spec.fps;
    } else if (i < p.pushes.size() && p.pushes[i]) {
      const auto st = p.pushes[i]->state();
      out["state"] = st.state;
      if (!st.error.empty()) out["error"] = st.error;
      out["sent"] = st.sent;
      out["dropped"] = st.dropped;
      out["reconnects"] = st.reconnects;
    } else {
      out["state"] = "stopped";
    }
    outputs.push_back(std::move(out));
  }
  o["outputs"] = std::move(outputs);
  json::array sources;
  for (const auto& s : p.sources) {
    json::object so{{"name", s.name},   {"role", s.role},     {"state", s.state},
                    {"width", s.width}, {"height", s.height}, {"dropped", s.dropped}};
    if (!s.error.empty()) so["error"] = s.error;
    if (s.role == "pip") {
      if (s.offset_ms) so["offset_ms"] = std::round(*s.offset_ms * 10) / 10;
      so["out_of_tolerance"] = s.out_of_tolerance;
      so["stale"] = s.stale;
    }
    sources.push_back(std::move(so));
  }
  o["sources"] = std::move(sources);
  o["started_at"] = format_timestamp(p.started_at);
  return o;
}

}  // namespace

Result<json::object> PipelineManager::describe(const std::string& id) const {
  std::shared_ptr<Pipeline> p;
  {
    std::lock_guard lock(mutex_);
    auto it = pipelines_.find(id);
    if (it == pipelines_.end()) return fail(Error::not_found("no pipeline " + id));
    p = it->second;
  }
  return describe_one(*p);
}

std::optional<PipelineSpec> PipelineManager::spec_named(const std::string& name) const {
  std::vector<std::shared_ptr<Pipeline>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, p] : pipelines_)
      all.push_back(p);
  }
  for (auto& p : all) {
    std::lock_guard lock(p->mutex);
    if (p->spec.name == name) return p->spec;
  }
  return std::nullopt;
}

std::vector<json::object> PipelineManager::list() const {
  std::vector<std::shared_ptr<Pipeline>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, p] : pipelines_)
      all.push_back(p);
  }
  std::vector<json::object> out;
  for (auto& p : all)
    out.push_back(describe_one(*p));
  return out;
}

Result<json::object> PipelineManager::patch(const std::string& id, const json::object& body) {
  std::shared_ptr<Pipeline> p;
  {
    std::lock_guard lock(mutex_);
    auto it = pipelines_.find(id);
    if (it == pipelines_.end()) return fail(Error::not_found("no pipeline " + id));
    p = it->second;
  }
  for (const auto& [key, value] : body) {
    if (key != "encoder") {
      return fail(Error::invalid_field({"body", std::string(key)},
                                       "only \"encoder\" can change while a pipeline runs"));
    }
  }
  const auto* encoder = body.if_contains("encoder");
  if (!encoder || !encoder->is_object()) {
    return fail(
        Error::invalid_field({"body", "encoder"}, "an object, e.g. {\"bitrate_kbps\": 800}"));
  }
  {
    std::lock_guard lock(p->mutex);
    auto merged = merge_encoder(p->spec, encoder->as_object());
    if (!merged) return fail(merged.error());
    p->spec = std::move(*merged);
    p->bitrates_changed = true;
    if (p->kept) keep(p->id, p->spec);
  }
  return describe_one(*p);
}

json::array PipelineManager::health() const {
  std::vector<std::shared_ptr<Pipeline>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, p] : pipelines_)
      all.push_back(p);
  }
  json::array out;
  for (auto& p : all) {
    std::lock_guard lock(p->mutex);
    const auto [health, why] = health_of(*p);
    json::object o{{"id", p->id}, {"name", p->spec.name}, {"health", health}};
    if (!why.empty()) o["reason"] = why;
    out.push_back(std::move(o));
  }
  return out;
}

void PipelineManager::render_metrics(http::PrometheusWriter& w) const {
  std::vector<std::shared_ptr<Pipeline>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, p] : pipelines_)
      all.push_back(p);
  }
  struct Row {
    std::string name, health;
    double fps;
    std::vector<std::pair<std::string, double>> bitrates;
    std::vector<std::pair<std::string, double>> targets;
    std::uint64_t adaptations = 0;
    std::size_t queued = 0;
    std::int64_t dropped;
    std::optional<double> latency_s;
    std::optional<double> frame_path_ms;
  };
  std::vector<Row> rows;
  for (auto& p : all) {
    std::lock_guard lock(p->mutex);
    Row r{p->spec.name, health_of(*p).first, p->fps, {}, {}, 0, 0, p->dropped.load(), std::nullopt};
    for (std::size_t i = 0; i < p->spec.renditions.size(); ++i) {
      r.bitrates.emplace_back(p->spec.renditions[i].path,
                              i < p->bitrates.size() ? p->bitrates[i] : 0.0);
    }
    for (std::size_t i = 0; i < p->targets.size() && i < p->spec.renditions.size(); ++i)
      r.targets.emplace_back(p->spec.renditions[i].path, p->targets[i] * 1000.0);
    r.adaptations = p->adaptations;
    r.frame_path_ms = p->frame_path_ms;
    for (const auto& push : p->pushes) {
      if (!push) continue;
      const auto st = push->state();
      r.queued += st.queued;
      if (st.sent) r.latency_s = std::max(r.latency_s.value_or(0.0), st.latency_ms / 1000);
    }
    rows.push_back(std::move(r));
  }
  w.header("encoder_fps", "gauge", "Pictures each pipeline encoded per second (last second)");
  for (const auto& r : rows)
    w.sample("encoder_fps", {{"pipeline", r.name}}, r.fps);
  w.header("encoder_bitrate", "gauge", "Bits per second each rendition's encoder produced");
  for (const auto& r : rows) {
    for (const auto& [path, bps] : r.bitrates)
      w.sample("encoder_bitrate", {{"pipeline", r.name}, {"path", path}}, bps);
  }
  w.header("encoder_target_bitrate", "gauge",
           "Bits per second each rendition's encoder aims at (adaptive bitrate moves it)");
  for (const auto& r : rows) {
    for (const auto& [path, bps] : r.targets)
      w.sample("encoder_target_bitrate", {{"pipeline", r.name}, {"path", path}}, bps);
  }
  w.header("sluice_pipeline_adaptations_total", "counter",
           "Bitrate changes adaptive bitrate made, per pipeline");
  for (const auto& r : rows) {
    w.sample("sluice_pipeline_adaptations_total", {{"pipeline", r.name}},
             static_cast<double>(r.adaptations));
  }
  w.header("encoder_queue_size", "gauge", "Access units waiting in each pipeline's push outputs");
  for (const auto& r : rows)
    w.sample("encoder_queue_size", {{"pipeline", r.name}}, static_cast<double>(r.queued));
  w.header("encoder_dropped_frames", "counter",
           "Pictures each pipeline dropped because it fell behind its frame rate");
  for (const auto& r : rows)
    w.sample("encoder_dropped_frames", {{"pipeline", r.name}}, static_cast<double>(r.dropped));
  w.header("encoder_rtmp_latency", "gauge",
           "Seconds from encoded to sent of each pipeline's last pushed access unit");
  for (const auto& r : rows) {
    if (r.latency_s) w.sample("encoder_rtmp_latency", {{"pipeline", r.name}}, *r.latency_s);
  }
  w.header("sluice_pipeline_frame_path_seconds", "gauge",
           "Mean seconds, over the last second, from a live source's picture arriving in sluiced "
           "to its hand-over to the encoders (their own delay excluded)");
  for (const auto& r : rows) {
    if (r.frame_path_ms) {
      w.sample("sluice_pipeline_frame_path_seconds", {{"pipeline", r.name}},
               *r.frame_path_ms / 1000);
    }
  }
  w.header("sluice_pipeline_health", "gauge",
           "1 for each pipeline's health: ok, stalled, dropping, erroring");
  for (const auto& r : rows)
    w.sample("sluice_pipeline_health", {{"pipeline", r.name}, {"health", r.health}}, 1);
}

void PipelineManager::keep(const std::string& id, const PipelineSpec& spec) {
  if (!records_) return;
  if (auto ok = records_->put("pipeline", id, to_json_text(to_json(spec, true))); !ok) {
    spdlog::warn("pipeline {}: its change is not kept: {}", id, ok.error().detail);
  }
}

std::size_t PipelineManager::restore() {
  if (!records_) return 0;
  auto rows = records_->load("pipeline");
  if (!rows) {
    spdlog::warn("pipelines not restored: {}", rows.error().detail);
    return 0;
  }
  std::size_t made = 0;
  for (const auto& [id, text] : *rows) {
    auto body = parse_json_object(text);
    auto spec = body ? parse_pipeline_spec(*body) : Result<PipelineSpec>(fail(body.error()));
    if (!spec) {
      spdlog::warn("pipeline {} not restored: {}", id, spec.error().detail);
      continue;
    }
    auto created = create(std::move(*spec), false, id);
    if (!created) {
      spdlog::warn("pipeline {} not restored: {}", id, created.error().detail);
      continue;
    }
    std::lock_guard lock(mutex_);
    if (auto it = pipelines_.find(id); it != pipelines_.end()) it->second->kept = true;
    ++made;
  }
  return made;
}

std::size_t PipelineManager::apply_camera_settings(const CameraSettings& camera) {
  std::vector<std::shared_ptr<Pipeline>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, p] : pipelines_)
      all.push_back(p);
  }
  std::size_t applied = 0;
  for (auto& p : all) {
    std::lock_guard lock(p->mutex);
    auto changed = with_camera_settings(p->spec, camera);
    if (!changed) continue;
    p->spec = *changed;
    p->pending = std::move(*changed);
    if (p->kept) keep(p->id, p->spec);
    ++applied;
  }
  return applied;
}

Status PipelineManager::remove(const std::string& id) {
  std::shared_ptr<Pipeline> p;
  {
    std::lock_guard lock(mutex_);
    auto it = pipelines_.find(id);
    if (it == pipelines_.end()) return fail(Error::not_found("no pipeline " + id));
    p = it->second;
    pipelines_.erase(it);
  }
  if (records_ && p->kept) {
    if (auto ok = records_->remove("pipeline", id); !ok) {
      spdlog::warn("pipeline {}: stopped, but its record stays: {}", id, ok.error().detail);
    }
  }
  {
    std::lock_guard lock(p->mutex);
    p->stopping = true;
  }
  p->wake.notify_all();
  if (p->thread.joinable()) p->thread.join();
  return {};
}

bool PipelineManager::demand(const std::string& path) {
  std::vector<std::shared_ptr<Pipeline>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, p] : pipelines_)
      all.push_back(p);
  }
  for (const auto& p : all) {
    std::unique_lock lock(p->mutex);
    if (!p->spec.source.on_demand) continue;
    const bool has = std::any_of(p->spec.renditions.begin(), p->spec.renditions.end(),
                                 [&](const RenditionSpec& r) { return r.path == path; });
    if (!has) continue;
    if (!p->demanded)
      spdlog::info("pipeline {} ('{}'): asked for '{}', starting", p->id, p->spec.name, path);
    p->demanded = true;
    lock.unlock();
    p->wake.notify_all();
    return true;
  }
  return false;
}

}  // namespace sluice::pipeline
