#include "pipeline/pipeline_manager.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <thread>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "http/metrics.hpp"
#include "media/flv.hpp"
#include "pipeline/audio_track.hpp"
#include "pipeline/push_output.hpp"
#include "pipeline/video_pipeline.hpp"
#include "state/records.hpp"

namespace sluice::pipeline {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

struct PipelineManager::Pipeline {
  Pipeline(std::string i, PipelineSpec s, PathOutput& o, SourceFeeds* f)
      : id(std::move(i)), output(o), feeds(f), spec(std::move(s)) {}

  const std::string id;
  PathOutput& output;
  SourceFeeds* feeds;

  std::mutex mutex;  // guards what follows (and the condition)
  std::condition_variable wake;
  PipelineSpec spec;
  std::string state = "starting";  // starting, running, retrying, stopped
  std::string error;
  bool stopping = false;
  bool bitrates_changed = false;
  // A new spec for the running pipeline (camera settings): rebuilt in place, paths kept open.
  std::optional<PipelineSpec> pending;
  WallTime started_at = std::chrono::system_clock::now();
  bool kept = false;  // written to the records (API-made)
  std::atomic<std::int64_t> frames{0};
  // Frames the schedule skipped because the pipeline fell behind (policy: drop the oldest raw
  // frame, i.e. the one that is already late), and when the last one was.
  std::atomic<std::int64_t> dropped{0};
  std::atomic<std::int64_t> last_drop_ns{0};   // steady clock
  std::atomic<std::int64_t> last_frame_ns{0};  // steady clock
  // Measured over the last second (under mutex): frames made, and bits sent per rendition.
  double fps = 0;
  std::vector<double> bitrates;
  std::vector<int> targets;           // each rendition's bitrate now (adaptive bitrate moves it)
  std::vector<SourceReport> sources;  // as of the last second
  std::string last_health = "ok";     // as last announced
  HealthListener on_health;           // set at creation
  std::string encoder_used, encoder_note;  // of the current build
  std::uint64_t adaptations = 0;
  // The push outputs of the current run, by output index (null for a record output).
  std::vector<std::shared_ptr<PushOutput>> pushes;
  std::thread thread;

  void set_state(std::string s, std::string why = {}) {
    {
      std::lock_guard lock(mutex);
      state = std::move(s);
      error = std::move(why);
    }
    note_health();
  }

  // Announces a change of health (on_health), outside the lock.
  void note_health();

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

  // The pending spec when it keeps `now`'s paths (else it waits for the next run).
  std::optional<PipelineSpec> take_pending(const PipelineSpec& now) {
    std::lock_guard lock(mutex);
    if (!pending) return std::nullopt;
    bool same_paths = pending->renditions.size() == now.renditions.size();
    for (std::size_t r = 0; same_paths && r < now.renditions.size(); ++r)
      same_paths = pending->renditions[r].path == now.renditions[r].path;
    if (!same_paths) return std::nullopt;
    auto out = std::move(pending);
    pending.reset();
    return out;
  }

  // Makes and publishes pictures until stopped (returns an empty error) or something fails.
  Error run_once() {
    PipelineSpec now;
    {
      std::lock_guard lock(mutex);
      now = spec;
      bitrates_changed = false;
    }
    auto made = VideoPipeline::create(now, feeds, [this] { return stopped(); });
    if (!made) return made.error();
    auto video = std::move(*made);
    std::unique_ptr<AudioTrack> audio;  // the pipeline's sound, when it has one
    if (now.audio.enabled) {
      auto track = AudioTrack::create(now.audio);
      if (!track) return track.error();
      audio = std::move(*track);
    }
    std::vector<AudioPacket> sound;
    bool sound_header_sent = false;
    {
      std::lock_guard lock(mutex);
      encoder_used = video->encoder();
      encoder_note = video->encoder_note();
    }
    std::vector<std::string> opened;
    for (const auto& r : now.renditions) {
      if (auto ok = output.open(r.path, id); !ok) {
        for (const auto& p : opened)
          output.close(p);
        return ok.error();
      }
      opened.push_back(r.path);
    }
    std::vector<media::NalToFlv> to_flv(
        now.renditions.size(),
        media::NalToFlv(now.encoder.codec == "h265" ? media::VideoCodec::kHevc
                                                    : media::VideoCodec::kH264));
    std::vector<std::shared_ptr<PushOutput>> pushes;
    for (const auto& o : now.outputs) {
      const auto& r = now.renditions[rendition_of(now, o)];
      std::optional<PushAudio> carried;
      if (audio) carried = PushAudio{audio->opus(), audio->config()};
      pushes.push_back(o.type == "push"
                           ? std::make_shared<PushOutput>(o.url, r.width, r.height, video->fps(),
                                                          now.encoder.codec == "h265", carried)
                           : nullptr);
    }
    {
      std::lock_guard lock(mutex);
      this->pushes = pushes;
    }
    for (const auto& o : now.outputs) {
      if (o.type == "record") output.record(now.renditions[rendition_of(now, o)].path, true);
    }
    last_frame_ns = Clock::now().time_since_epoch().count();  // stalled counts from here
    set_state("running");
    spdlog::info("pipeline {} ('{}') runs: {} rendition(s) at {} fps", id, now.name,
                 now.renditions.size(), video->fps());
    auto frame_time = std::chrono::nanoseconds(1'000'000'000LL / video->fps());
    std::uint64_t source_dropped = 0;  // the main source's drops counted so far
    std::int64_t offset_ms = 0;        // where this build's times start
    std::int64_t last_ms = 0;
    auto start = Clock::now();
    std::vector<std::vector<EncodedUnit>> units;
    std::vector<media::FlvFrame> frames_out;
    Error failure{};
    std::vector<AdaptiveBitrate> adaptive;
    for (std::size_t r = 0; r < now.renditions.size(); ++r)
      adaptive.emplace_back(bitrate_of(now, r), now.adaptive);
    {
      std::lock_guard lock(mutex);
      targets.assign(now.renditions.size(), 0);
      for (std::size_t r = 0; r < now.renditions.size(); ++r)
        targets[r] = bitrate_of(now, r);
    }
    auto next_feedback = Clock::now() + std::chrono::seconds(2);
    auto window_start = Clock::now();
    std::int64_t window_frames = 0;
    std::vector<std::uint64_t> window_bytes(now.renditions.size());
    for (std::int64_t i = 0;; ++i) {
      // Pictures are made at the source's rate from the monotonic clock. A picture more than two
      // frames late is dropped (counted) and the schedule goes on: the stream keeps real time.
      const bool paced = video->paced();  // a live source's pictures come at its own rate
      if (paced ? sleep(start + i * frame_time - Clock::now()) : stopped()) break;
      if (paced && Clock::now() - (start + i * frame_time) > 2 * frame_time) {
        ++dropped;
        last_drop_ns = Clock::now().time_since_epoch().count();
        continue;
      }
      {
        std::lock_guard lock(mutex);
        if (bitrates_changed) {
          for (std::size_t r = 0; r < spec.renditions.size(); ++r) {
            video->set_bitrate(r, bitrate_of(spec, r));
            adaptive[r].reset(bitrate_of(spec, r));
            targets[r] = bitrate_of(spec, r);
          }
          bitrates_changed = false;
        }
      }
      if (now.adaptive.enabled && Clock::now() >= next_feedback) {
        next_feedback = Clock::now() + std::chrono::seconds(2);
        for (std::size_t r = 0; r < adaptive.size(); ++r) {
          const auto feedback = output.feedback(now.renditions[r].path);
          if (auto kbps = adaptive[r].update(feedback, Clock::now())) {
            video->set_bitrate(r, *kbps);
            spdlog::info("pipeline {} ('{}'): {} at {} kbit/s (viewers: {:.1f} % loss)", id,
                         now.name, now.renditions[r].path, *kbps, feedback.loss * 100);
            std::lock_guard lock(mutex);
            targets[r] = *kbps;
            ++adaptations;
          }
        }
      }
      if (auto next = take_pending(now)) {
        // Rebuilt in place: the readers stay; the new encoders' parameter sets reach them as a
        // new sequence header and times go on.
        auto rebuilt = VideoPipeline::create(*next, feeds, [this] { return stopped(); });
        if (!rebuilt) {
          spdlog::warn("pipeline {} ('{}'): new settings refused: {}", id, now.name,
                       rebuilt.error().detail);
          std::lock_guard lock(mutex);
          error = "new settings refused: " + rebuilt.error().detail;
        } else {
          offset_ms = last_ms + 1000 / video->fps();
          video = std::move(*rebuilt);
          source_dropped = 0;
          now = std::move(*next);
          frame_time = std::chrono::nanoseconds(1'000'000'000LL / video->fps());
          start = Clock::now();
          i = 0;
          adaptive.clear();
          std::lock_guard lock(mutex);
          error.clear();
          encoder_used = video->encoder();
          encoder_note = video->encoder_note();
          for (std::size_t r = 0; r < now.renditions.size(); ++r) {
            adaptive.emplace_back(bitrate_of(now, r), now.adaptive);
            targets[r] = bitrate_of(now, r);
          }
          spdlog::info("pipeline {} ('{}'): new settings applied, readers kept", id, now.name);
        }
      }
      if (auto ok = video->next(i, offset_ms, units); !ok) {
        failure = ok.error();
        break;
      }
      if (audio) {  // the sound up to this picture, on every rendition and push output
        sound.clear();
        if (auto ok = audio->until(video->last_ms(), sound); !ok) {
          failure = ok.error();
          break;
        }
        if (!sound_header_sent) {
          for (const auto& r : now.renditions) {
            output.write(r.path, media::FlvFrame{media::tag_type::kAudio,
                                                 static_cast<std::uint32_t>(video->last_ms()),
                                                 audio->flv_sequence_header()});
          }
          sound_header_sent = true;
        }
        for (const auto& packet : sound) {
          const auto at = static_cast<std::uint32_t>(std::max<std::int64_t>(0, packet.ms));
          for (const auto& r : now.renditions)
            output.write(r.path,
                         media::FlvFrame{media::tag_type::kAudio, at, audio->flv_body(packet)});
          for (const auto& push : pushes) {
            if (push) push->write_audio(packet);
          }
        }
      }
      for (std::size_t r = 0; r < units.size(); ++r) {
        for (auto& u : units[r]) {
          last_ms = std::max(last_ms, u.pts_ms);
          window_bytes[r] += u.annexb.size();
          frames_out.clear();
          to_flv[r].push(media::annexb_nal_units(u.annexb), u.pts_ms, u.dts_ms, false, frames_out);
          for (auto& f : frames_out)
            output.write(now.renditions[r].path, std::move(f));
          for (std::size_t o = 0; o < pushes.size(); ++o) {
            if (pushes[o] && rendition_of(now, now.outputs[o]) == r) pushes[o]->write(u);
          }
        }
      }
      if (i == 0) start = Clock::now();  // the encoders' start-up is not lateness
      ++frames;
      ++window_frames;
      const auto t = Clock::now();
      last_frame_ns = t.time_since_epoch().count();
      if (const auto d = video->source_dropped(); d > source_dropped) {
        dropped += static_cast<std::int64_t>(d - source_dropped);  // drop-oldest at the source
        last_drop_ns = t.time_since_epoch().count();
        source_dropped = d;
      }
      if (const auto span = std::chrono::duration<double>(t - window_start).count(); span >= 1) {
        std::lock_guard lock(mutex);
        fps = static_cast<double>(window_frames) / span;
        bitrates.assign(window_bytes.size(), 0);
        for (std::size_t r = 0; r < window_bytes.size(); ++r)
          bitrates[r] = static_cast<double>(window_bytes[r]) * 8 / span;
        sources = video->sources();
        window_start = t;
        window_frames = 0;
        std::fill(window_bytes.begin(), window_bytes.end(), 0);
      }
      if (window_frames == 0) note_health();  // once a second
    }
    for (const auto& o : now.outputs) {
      if (o.type == "record") output.record(now.renditions[rendition_of(now, o)].path, false);
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
  p->thread = std::thread([p] { p->run(); });
  pipelines_[id] = p;
  return id;
}

namespace {

// checkStreamHealth: see the header. Under p.mutex.
std::pair<std::string, std::string> health_of(PipelineManager::Pipeline& p) {
  const auto now = Clock::now().time_since_epoch().count();
  const auto ago = [now](std::int64_t t) { return std::chrono::nanoseconds(now - t); };
  if (p.state == "retrying") return {"stalled", p.error};
  if (p.state == "running" && ago(p.last_frame_ns) > std::chrono::seconds(2)) {
    return {"stalled", "no picture for over 2 s"};
  }
  for (const auto& push : p.pushes) {
    if (push && push->state().state == "retrying") return {"erroring", push->state().error};
  }
  for (const auto& s : p.sources) {
    if (s.state == "retrying") return {"erroring", "source '" + s.name + "': " + s.error};
  }
  if (p.last_drop_ns != 0 && ago(p.last_drop_ns) < std::chrono::seconds(10)) {
    return {"dropping", "frames dropped in the last 10 s (the machine does not keep up)"};
  }
  return {"ok", ""};
}

}  // namespace

void PipelineManager::Pipeline::note_health() {
  json::object change;
  {
    std::lock_guard lock(mutex);
    const auto [health, why] = health_of(*this);
    if (health == last_health || state == "starting") return;
    change = json::object{
        {"id", id}, {"name", spec.name}, {"health", health}, {"previous", last_health}};
    if (!why.empty()) change["reason"] = why;
    last_health = health;
  }
  if (on_health) on_health(change);
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

}  // namespace sluice::pipeline
