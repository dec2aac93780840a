#include "pipeline/pipeline_run.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "media/flv.hpp"
#include "pipeline/audio_track.hpp"

namespace sluice::pipeline {
namespace json = boost::json;

void PipelineManager::Pipeline::run() {
  auto backoff = std::chrono::seconds(1);
  while (!stopped()) {
    if (!wait_for_demand()) break;
    auto error = run_once();
    if (stopped()) break;
    if (error.detail.empty()) continue;  // on demand: its readers left
    bool on_demand = false;
    {
      std::lock_guard lock(mutex);
      on_demand = spec.source.on_demand;
      demanded = false;  // on demand: the next reader tries again (its wait said no)
    }
    if (on_demand) {
      spdlog::warn("pipeline {} ('{}'): {}; idle until the next reader", id, spec.name,
                   error.detail);
      set_state("idle", "the last start failed: " + error.detail);
      continue;
    }
    spdlog::warn("pipeline {} ('{}'): {}; again in {} s", id, spec.name, error.detail,
                 backoff.count());
    set_state("retrying", error.detail);
    if (sleep(backoff)) break;
    backoff = std::min<std::chrono::seconds>(backoff * 2, std::chrono::seconds(30));
  }
  set_state("stopped");
}

bool PipelineManager::Pipeline::wait_for_demand() {
  std::unique_lock lock(mutex);
  if (!spec.source.on_demand || demanded) return !stopping;
  if (state != "idle") {
    state = "idle";  // keeps the error of a failed start
    lock.unlock();
    note_health();
    lock.lock();
  }
  wake.wait(lock, [this] { return stopping || demanded || !spec.source.on_demand; });
  return !stopping;
}

bool PipelineManager::Pipeline::unwatched(const PipelineSpec& now, Clock::time_point& watched) {
  if (!now.source.on_demand) return false;
  std::size_t readers = 0;
  for (const auto& r : now.renditions)
    readers += output.readers(r.path);
  const auto t = Clock::now();
  if (readers > 0) watched = t;
  if (t - watched < std::chrono::seconds(now.source.close_after_s)) return false;
  spdlog::info("pipeline {} ('{}'): no reader for {} s; idle until the next one asks", id, now.name,
               now.source.close_after_s);
  std::lock_guard lock(mutex);
  demanded = false;
  return true;
}

namespace {

// The push outputs of `spec`: their URLs and renditions, in order.
std::vector<std::pair<std::string, std::string>> pushes_of(const PipelineSpec& spec) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& o : spec.outputs) {
    if (o.type == "push") out.emplace_back(o.url, o.rendition);
  }
  return out;
}

// The paths `spec`'s outputs of `type` (record, mjpeg) take, one per output.
std::multiset<std::string> taps_of(const PipelineSpec& spec, const std::string& type) {
  std::multiset<std::string> out;
  for (const auto& o : spec.outputs) {
    if (o.type == type) out.insert(spec.renditions[rendition_of(spec, o)].path);
  }
  return out;
}

}  // namespace

void PipelineManager::Pipeline::switch_taps(const PipelineSpec& from, const PipelineSpec& to) {
  for (const std::string type : {"record", "mjpeg"}) {
    auto before = taps_of(from, type);
    for (const auto& path : taps_of(to, type)) {
      if (auto it = before.find(path); it != before.end()) {
        before.erase(it);
      } else {
        type == "record" ? output.record(path, true) : output.mjpeg(path, true);
      }
    }
    for (const auto& path : before)
      type == "record" ? output.record(path, false) : output.mjpeg(path, false);
  }
}

std::optional<PipelineSpec> PipelineManager::Pipeline::take_pending(const PipelineSpec& now) {
  std::lock_guard lock(mutex);
  if (!pending) return std::nullopt;
  bool same_paths = pending->renditions.size() == now.renditions.size();
  for (std::size_t r = 0; same_paths && r < now.renditions.size(); ++r)
    same_paths = pending->renditions[r].path == now.renditions[r].path;
  if (!same_paths || pushes_of(*pending) != pushes_of(now)) return std::nullopt;
  auto out = std::move(pending);
  pending.reset();
  return out;
}

Error PipelineManager::Pipeline::run_once() {
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
  // Else the main source's own sound, copied (when it has AAC or Opus).
  std::optional<SourceAudio> copied;
  if (!audio && now.audio.from == "source") copied = video->source_audio();
  const bool sound_opus = audio ? audio->opus() : copied && copied->opus;
  const std::string sound_config = audio ? audio->config() : copied ? copied->config : "";
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
    std::optional<SourceAudio> carried;
    if (audio || copied) carried = SourceAudio{sound_opus, sound_config};
    const auto [width, height] = video->rendition_size(rendition_of(now, o));
    pushes.push_back(o.type == "push"
                         ? std::make_shared<PushOutput>(o.url, width, height, video->fps(),
                                                        now.encoder.codec == "h265", carried)
                         : nullptr);
  }
  {
    std::lock_guard lock(mutex);
    this->pushes = pushes;
  }
  for (const auto& o : now.outputs) {
    if (o.type == "record") output.record(now.renditions[rendition_of(now, o)].path, true);
    if (o.type == "mjpeg") output.mjpeg(now.renditions[rendition_of(now, o)].path, true);
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
  auto watched = Clock::now();  // on demand: when the paths last had a reader
  auto window_start = Clock::now();
  std::int64_t window_frames = 0;
  std::vector<std::uint64_t> window_bytes(now.renditions.size());
  double path_sum = 0;  // frame paths of the window's pictures (live sources)
  int path_count = 0;
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
          spdlog::info("pipeline {} ('{}'): {} at {} kbit/s (viewers: {:.1f} % loss)", id, now.name,
                       now.renditions[r].path, *kbps, feedback.loss * 100);
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
        switch_taps(now, *next);  // e.g. the camera's mjpeg output comes or goes
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
    for (auto& [r, jpeg] : video->take_jpegs())
      output.jpeg(now.renditions[r].path, jpeg);
    // The sound up to this picture — the tone made, or the source's copied — on every rendition
    // and push output, its sequence header first.
    sound.clear();
    if (audio) {
      if (auto ok = audio->until(video->last_ms(), sound); !ok) {
        failure = ok.error();
        break;
      }
    } else if (copied) {
      video->take_source_audio(offset_ms, sound);
    }
    if (!sound.empty() && !sound_header_sent) {
      for (const auto& r : now.renditions) {
        output.write(r.path, media::FlvFrame{media::tag_type::kAudio,
                                             static_cast<std::uint32_t>(sound.front().ms),
                                             flv_audio_header(sound_opus, sound_config)});
      }
      sound_header_sent = true;
    }
    for (const auto& packet : sound) {
      const auto at = static_cast<std::uint32_t>(std::max<std::int64_t>(0, packet.ms));
      for (const auto& r : now.renditions) {
        output.write(r.path, media::FlvFrame{media::tag_type::kAudio, at,
                                             flv_audio_body(sound_opus, packet.data)});
      }
      for (const auto& push : pushes) {
        if (push) push->write_audio(packet);
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
    if (auto path = video->frame_path_ms()) {
      path_sum += *path;
      ++path_count;
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
      frame_path_ms = path_count ? std::optional<double>(path_sum / path_count) : std::nullopt;
      path_sum = 0;
      path_count = 0;
      window_start = t;
      window_frames = 0;
      std::fill(window_bytes.begin(), window_bytes.end(), 0);
    }
    if (window_frames == 0 && unwatched(now, watched)) break;  // checked once a second
    if (window_frames == 0) note_health();                     // once a second
  }
  for (const auto& o : now.outputs) {
    if (o.type == "record") output.record(now.renditions[rendition_of(now, o)].path, false);
    if (o.type == "mjpeg") output.mjpeg(now.renditions[rendition_of(now, o)].path, false);
  }
  for (const auto& p : opened)
    output.close(p);
  {
    std::lock_guard lock(mutex);
    this->pushes.clear();  // their threads end with the last reference
  }
  return failure;
}

// checkStreamHealth: see pipeline_manager.hpp. Under p.mutex.
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

}  // namespace sluice::pipeline
