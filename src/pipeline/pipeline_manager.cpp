#include "pipeline/pipeline_manager.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/time_format.hpp"
#include "pipeline/push_output.hpp"
#include "pipeline/video_pipeline.hpp"

namespace sluice::pipeline {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

struct PipelineManager::Pipeline {
  Pipeline(std::string i, PipelineSpec s, PathOutput& o)
      : id(std::move(i)), spec(std::move(s)), output(o) {}

  const std::string id;
  PathOutput& output;

  std::mutex mutex;  // guards what follows (and the condition)
  std::condition_variable wake;
  PipelineSpec spec;
  std::string state = "starting";  // starting, running, retrying, stopped
  std::string error;
  bool stopping = false;
  bool bitrates_changed = false;
  WallTime started_at = std::chrono::system_clock::now();
  std::atomic<std::int64_t> frames{0};
  // The push outputs of the current run, by output index (null for a record output).
  std::vector<std::shared_ptr<PushOutput>> pushes;
  std::thread thread;

  void set_state(std::string s, std::string why = {}) {
    std::lock_guard lock(mutex);
    state = std::move(s);
    error = std::move(why);
  }

  // Waits `how_long` or until stopped; true when it is time to stop.
  bool sleep(Clock::duration how_long) {
    std::unique_lock lock(mutex);
    return wake.wait_for(lock, how_long, [this] { return stopping; });
  }
  bool stopped() {
    std::lock_guard lock(mutex);
    return stopping;
  }

  void run() {
    auto backoff = std::chrono::seconds(1);
    while (!stopped()) {
      auto error = run_once();
      if (stopped()) break;
      spdlog::warn("pipeline {} ('{}'): {}; again in {} s", id, spec.name, error.detail,
                   backoff.count());
      set_state("retrying", error.detail);
      if (sleep(backoff)) break;
      backoff = std::min<std::chrono::seconds>(backoff * 2, std::chrono::seconds(30));
    }
    set_state("stopped");
  }

  // Makes and publishes pictures until stopped (returns an empty error) or something fails.
  Error run_once() {
    PipelineSpec now;
    {
      std::lock_guard lock(mutex);
      now = spec;
      bitrates_changed = false;
    }
    auto made = VideoPipeline::create(now);
    if (!made) return made.error();
    auto& video = *made;
    std::vector<std::string> opened;
    for (const auto& r : now.renditions) {
      if (auto ok = output.open(r.path, id); !ok) {
        for (const auto& p : opened)
          output.close(p);
        return ok.error();
      }
      opened.push_back(r.path);
    }
    std::vector<media::NalToFlv> to_flv(now.renditions.size());
    std::vector<std::shared_ptr<PushOutput>> pushes;
    for (const auto& o : now.outputs) {
      const auto& r = now.renditions[rendition_of(now, o)];
      pushes.push_back(o.type == "push"
                           ? std::make_shared<PushOutput>(o.url, r.width, r.height, now.source.fps)
                           : nullptr);
    }
    {
      std::lock_guard lock(mutex);
      this->pushes = pushes;
    }
    set_state("running");
    spdlog::info("pipeline {} ('{}') runs: {} rendition(s) at {} fps", id, now.name,
                 now.renditions.size(), now.source.fps);
    const auto frame_time = std::chrono::nanoseconds(1'000'000'000LL / now.source.fps);
    const auto start = Clock::now();
    std::vector<std::vector<EncodedUnit>> units;
    std::vector<media::FlvFrame> frames_out;
    Error failure{};
    for (std::int64_t i = 0;; ++i) {
      // Pictures are made at the source's rate from the monotonic clock; a late one is made at
      // once (the schedule catches up, it does not drift).
      if (sleep(start + i * frame_time - Clock::now())) break;
      {
        std::lock_guard lock(mutex);
        if (bitrates_changed) {
          for (std::size_t r = 0; r < spec.renditions.size(); ++r)
            video->set_bitrate(r, bitrate_of(spec, r));
          bitrates_changed = false;
        }
      }
      if (auto ok = video->next(units); !ok) {
        failure = ok.error();
        break;
      }
      for (std::size_t r = 0; r < units.size(); ++r) {
        for (auto& u : units[r]) {
          frames_out.clear();
          to_flv[r].push(media::annexb_nal_units(u.annexb), u.pts_ms, u.dts_ms, false, frames_out);
          for (auto& f : frames_out)
            output.write(now.renditions[r].path, std::move(f));
          for (std::size_t o = 0; o < pushes.size(); ++o) {
            if (pushes[o] && rendition_of(now, now.outputs[o]) == r) pushes[o]->write(u);
          }
        }
      }
      ++frames;
    }
    for (const auto& p : opened)
      output.close(p);
    {
      std::lock_guard lock(mutex);
      this->pushes.clear();  // their threads end with the last reference
    }
    return failure;
  }
};

PipelineManager::PipelineManager(PathOutput& output, std::size_t max_pipelines)
    : output_(output), max_(max_pipelines) {}

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

Result<std::string> PipelineManager::create(PipelineSpec spec) {
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
  const std::string id = "p" + to_hex(crypto::random_bytes(4));
  auto p = std::make_shared<Pipeline>(id, std::move(spec), output_);
  p->thread = std::thread([p] { p->run(); });
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
  json::array outputs;
  for (std::size_t i = 0; i < p.spec.outputs.size(); ++i) {
    const auto& spec = p.spec.outputs[i];
    json::object out{{"type", spec.type},
                     {"rendition", p.spec.renditions[rendition_of(p.spec, spec)].path}};
    if (!spec.url.empty()) out["url"] = redacted_url(spec.url);
    if (spec.type == "record") {
      out["state"] = "unavailable";
      out["error"] = "recording is not in this build yet";
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
  }
  return describe_one(*p);
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
  {
    std::lock_guard lock(p->mutex);
    p->stopping = true;
  }
  p->wake.notify_all();
  if (p->thread.joinable()) p->thread.join();
  return {};
}

}  // namespace sluice::pipeline
