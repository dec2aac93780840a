#include "media/servers/record/recorder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "http/gate.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "keys/key_format.hpp"
#include "media/media_hub.hpp"
#include "media/media_policy.hpp"
#include "media/protocols/hls/hls_muxer.hpp"
#include "media/servers/http_play.hpp"
#include "media/servers/media_server.hpp"
#include "media/servers/record/record_layout.hpp"

namespace sluice::media {
namespace fs = std::filesystem;
namespace json = boost::json;
namespace {

constexpr std::size_t kMaxJobs = 64;                          // segments waiting for the disk
constexpr std::uint64_t kMaxPlayback = 512ULL * 1024 * 1024;  // one playback answer
constexpr auto kRetentionEvery = std::chrono::seconds(5);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One segment on disk: <start ms>_<duration ms>_<run>.m4s, the run naming its init section.
struct StoredSegment {
  std::string path;
  fs::path file;
  std::int64_t start_ms = 0;
  std::int64_t duration_ms = 0;
  std::string run;
  std::uint64_t bytes = 0;
};

// <start ms>_<duration ms>_<run>.m4s, or .partial: the segment being written, so far.
std::optional<StoredSegment> parse_segment(const std::string& path, const fs::path& file) {
  if (file.extension() != ".m4s" && file.extension() != ".partial") return std::nullopt;
  const std::string stem = file.stem().string();
  const auto a = stem.find('_');
  const auto b = a == std::string::npos ? a : stem.find('_', a + 1);
  if (b == std::string::npos) return std::nullopt;
  StoredSegment s{path, file, 0, 0, stem.substr(b + 1), 0};
  auto number = [](std::string_view t, std::int64_t& out) {
    return std::from_chars(t.data(), t.data() + t.size(), out).ec == std::errc{};
  };
  if (!number(std::string_view(stem).substr(0, a), s.start_ms) ||
      !number(std::string_view(stem).substr(a + 1, b - a - 1), s.duration_ms) || s.run.empty()) {
    return std::nullopt;
  }
  std::error_code ec;
  s.bytes = fs::file_size(file, ec);
  return s;
}

// Every stored segment under `dir`, by path, oldest first: in the directories `layout` makes,
// or the default one (recordings made before the template changed).
std::map<std::string, std::vector<StoredSegment>> list_segments(const std::string& dir,
                                                                const RecordLayout& layout) {
  static const RecordLayout kDefault;
  std::map<std::string, std::vector<StoredSegment>> out;
  std::error_code ec;
  const fs::path root(dir);
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it.depth() >= std::max(layout.depth(), kDefault.depth())) it.disable_recursion_pending();
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    const std::string relative = it->path().parent_path().lexically_relative(root).generic_string();
    auto path = layout.path_of(relative);
    if (!path) path = kDefault.path_of(relative);
    if (!path) continue;
    if (auto s = parse_segment(*path, it->path())) out[*path].push_back(std::move(*s));
  }
  for (auto& [path, segs] : out) {
    std::sort(segs.begin(), segs.end(),
              [](const auto& a, const auto& b) { return a.start_ms < b.start_ms; });
  }
  return out;
}

struct Job {
  std::string path, run;
  std::shared_ptr<const std::string> init;  // written once per run
  std::shared_ptr<const std::string> segment;
  std::int64_t start_ms = 0, duration_ms = 0;
  bool partial = false;  // the open segment's parts so far (replaced by the next, or the whole)
};

}  // namespace

bool matches_pattern(std::string_view pattern, std::string_view name) {
  const auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == name;
  const auto head = pattern.substr(0, star);
  if (!name.starts_with(head)) return false;
  const auto rest = pattern.substr(star + 1);
  for (std::size_t i = head.size(); i <= name.size(); ++i) {
    if (matches_pattern(rest, name.substr(i))) return true;
  }
  return false;
}

struct Recorder::Impl : std::enable_shared_from_this<Recorder::Impl> {
  // A path being recorded: the HLS muxer's fMP4 writer, its finished segments handed to the
  // writer thread. Media thread only.
  class Sink final : public MediaSink {
   public:
    Sink(Impl& impl, MediaPath& path) : impl_(impl), path_(path), name_(path.name()) {
      HlsOptions o;
      o.variant = HlsVariant::kLowLatency;  // fMP4 with parts: flushed as they are made
      {
        std::lock_guard lock(impl.mutex);
        o.segment_target = impl.options.segment;
        o.part_target = impl.options.part;
      }
      o.kept_segments = 8;
      muxer_ = std::make_unique<HlsMuxer>(o);
      run_ = std::to_string(now_ms());
    }
    void on_packet(const PacketPtr& p, bool) override {
      (void)muxer_->push(*p);  // a packet it cannot mux is dropped; the recording goes on
      collect();
    }
    void on_path_end() override {
      (void)muxer_->finish();
      collect();
      ended_ = true;
    }
    ReaderInfo reader_info() const override {
      ReaderInfo info;
      info.id = "record-" + name_;
      info.kind = "record";
      info.remote = "disk";
      return info;
    }
    void kick() override {
      (void)muxer_->finish();
      collect();
      ended_ = true;
      path_.detach(this);
    }
    bool ended() const { return ended_; }
    void stop() {
      if (ended_) return;
      kick();
    }

   private:
    void collect() {
      const auto snap = muxer_->snapshot();
      for (const auto& seg : snap->segments) {
        if (seg.sequence < next_) continue;
        next_ = seg.sequence + 1;
        Job job{name_, run_ + "-" + std::to_string(seg.init_id), nullptr, seg.data, 0, 0};
        for (const auto& init : snap->inits) {
          if (init.id == seg.init_id && init.id != last_init_) job.init = init.data;
        }
        if (job.init) last_init_ = seg.init_id;
        job.duration_ms = static_cast<std::int64_t>(seg.duration_s * 1000);
        job.start_ms = open_start_ms_ >= 0 ? open_start_ms_ : now_ms() - job.duration_ms;
        open_start_ms_ = -1;
        parts_written_ = 0;
        impl_.enqueue(std::move(job));
      }
      // The segment being made: its parts so far, so the last seconds can be played back.
      if (snap->open_parts.size() <= parts_written_) return;
      parts_written_ = snap->open_parts.size();
      auto bytes = std::make_shared<std::string>();
      double seconds = 0;
      for (const auto& part : snap->open_parts) {
        bytes->append(*part.data);
        seconds += part.duration_s;
      }
      Job job{name_, run_ + "-" + std::to_string(snap->open_init_id), nullptr, std::move(bytes),
              0,     static_cast<std::int64_t>(seconds * 1000),       true};
      for (const auto& init : snap->inits) {
        if (init.id == snap->open_init_id && init.id != last_init_) job.init = init.data;
      }
      if (job.init) last_init_ = snap->open_init_id;
      if (open_start_ms_ < 0) open_start_ms_ = now_ms() - job.duration_ms;
      job.start_ms = open_start_ms_;
      impl_.enqueue(std::move(job));
    }
    Impl& impl_;
    MediaPath& path_;
    std::string name_;
    std::string run_;
    std::unique_ptr<HlsMuxer> muxer_;
    std::uint64_t next_ = 0;
    std::uint64_t last_init_ = UINT64_MAX;
    std::size_t parts_written_ = 0;  // of the open segment
    std::int64_t open_start_ms_ = -1;
    bool ended_ = false;
  };

  Impl(MediaServer& m, MediaPolicy& p, RecordingOptions o)
      : media(m), policy(p), options(std::move(o)) {}

  // Media thread, once a second: live paths that match start recording, others stop.
  void tick() {
    std::vector<std::string> now_patterns;
    std::multiset<std::string> now_requested;
    {
      std::lock_guard lock(mutex);
      now_patterns = patterns;
      now_requested = requested;
    }
    const auto wanted = [&](const std::string& name) {
      return now_requested.contains(name) ||
             std::any_of(now_patterns.begin(), now_patterns.end(),
                         [&](const auto& p) { return matches_pattern(p, name); });
    };
    for (auto it = sinks.begin(); it != sinks.end();) {
      if (!wanted(it->first)) it->second->stop();
      it = it->second->ended() ? sinks.erase(it) : std::next(it);
    }
    if ((now_patterns.empty() && now_requested.empty()) || options.dir.empty()) {
      publish_recording();
      return;
    }
    for (const MediaPath* live : media.hub().paths()) {
      MediaPath* path = media.hub().find(live->name());
      if (!path || sinks.contains(path->name()) || failed(path->name())) continue;
      if (!wanted(path->name())) continue;
      auto sink = std::make_unique<Sink>(*this, *path);
      path->attach(sink.get());
      spdlog::info("recording '{}' to {}", keys::redact_keys(path->name()), options.dir);
      sinks[path->name()] = std::move(sink);
    }
    publish_recording();
  }

  // The paths being recorded, for recording_state() (other threads).
  void publish_recording() {
    std::set<std::string> now;
    for (const auto& [name, sink] : sinks) {
      if (!sink->ended()) now.insert(name);
    }
    std::lock_guard lock(mutex);
    recording = std::move(now);
  }

  bool failed(const std::string& path) {
    std::lock_guard lock(mutex);
    return errors.contains(path);
  }

  void enqueue(Job job) {
    std::lock_guard lock(mutex);
    if (stopping) return;
    if (jobs.size() >= kMaxJobs) {
      errors[job.path] = "the disk does not keep up: segments dropped";
      return;
    }
    jobs.push_back(std::move(job));
    wake.notify_one();
  }

  void write(const Job& job) {
    RecordLayout now_layout;
    {
      std::lock_guard lock(mutex);
      now_layout = layout;
    }
    const fs::path dir = fs::path(options.dir) / now_layout.directory(job.path, job.start_ms);
    std::error_code ec;
    fs::create_directories(dir, ec);
    auto put = [&](const fs::path& file, const std::string& data) -> bool {
      const fs::path tmp = file.string() + ".tmp";
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
        if (!out) return false;
      }
      fs::rename(tmp, file, ec);
      return !ec;
    };
    bool ok = !ec;
    // Each directory a run's segments go to (a template with times makes several) has its init
    // section.
    if (job.init) inits[job.path] = {job.run, job.init};
    const fs::path init_file = dir / (job.run + ".init.mp4");
    if (auto it = inits.find(job.path); ok && it != inits.end() && it->second.first == job.run &&
                                        (job.init || !fs::exists(init_file, ec))) {
      ok = put(init_file, *it->second.second);
    }
    const std::string name = std::to_string(job.start_ms) + "_" + std::to_string(job.duration_ms) +
                             "_" + job.run + (job.partial ? ".partial" : ".m4s");
    if (ok) ok = put(dir / name, *job.segment);
    // One partial file per path: the newest; the whole segment replaces the last.
    if (auto it = partials.find(job.path); it != partials.end() && it->second != dir / name) {
      fs::remove(it->second, ec);
      partials.erase(it);
    }
    if (ok && job.partial) {
      partials[job.path] = dir / name;
      return;  // announced when whole
    }
    if (!ok) {
      std::lock_guard lock(mutex);
      errors[job.path] = "cannot write " + (dir / name).string() + ": " +
                         (ec ? ec.message() : std::string("write failed (disk full?)"));
      spdlog::warn("recording '{}' stopped: {}", job.path, errors[job.path]);
      return;
    }
    if (options.on_segment) {
      options.on_segment(json::object{
          {"path", job.path},
          {"file", name},
          {"start", format_timestamp(WallTime(std::chrono::milliseconds(job.start_ms)))},
          {"duration_s", static_cast<double>(job.duration_ms) / 1000},
          {"bytes", job.segment->size()}});
    }
  }

  // Deletes segments past max_age, then the oldest while the total exceeds max_bytes; init
  // sections whose segments are all gone go too.
  void retain() {
    auto all = list_segments(options.dir, current_layout());
    std::vector<StoredSegment> flat;
    for (auto& [path, segs] : all)
      flat.insert(flat.end(), segs.begin(), segs.end());
    std::sort(flat.begin(), flat.end(),
              [](const auto& a, const auto& b) { return a.start_ms < b.start_ms; });
    std::uint64_t total = 0;
    for (const auto& s : flat)
      total += s.bytes;
    std::chrono::seconds max_age;
    std::uint64_t max_bytes;
    {
      std::lock_guard lock(mutex);
      max_age = options.max_age;
      max_bytes = options.max_bytes;
    }
    const std::int64_t oldest_kept = now_ms() - max_age.count() * 1000;
    std::error_code ec;
    for (const auto& s : flat) {
      if (s.start_ms >= oldest_kept && total <= max_bytes) break;
      fs::remove(s.file, ec);
      total -= s.bytes;
    }
  }

  void run() {
    auto last_retention = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait_for(lock, kRetentionEvery, [this] { return stopping || !jobs.empty(); });
      while (!jobs.empty()) {
        Job job = std::move(jobs.front());
        jobs.pop_front();
        lock.unlock();
        write(job);
        lock.lock();
      }
      if (stopping) break;
      if (std::chrono::steady_clock::now() - last_retention >= kRetentionEvery) {
        lock.unlock();
        retain();
        lock.lock();
        last_retention = std::chrono::steady_clock::now();
      }
    }
  }

  RecordLayout current_layout() {
    std::lock_guard lock(mutex);
    return layout;
  }

  http::Reply list_routes(const http::HttpRequest&) {
    json::array out;
    std::map<std::string, std::string> why;
    {
      std::lock_guard lock(mutex);
      why = errors;
    }
    for (const auto& [path, segs] : list_segments(options.dir, current_layout())) {
      if (segs.empty()) continue;
      std::uint64_t bytes = 0;
      for (const auto& s : segs)
        bytes += s.bytes;
      json::object o{
          {"path", path},
          {"segments", segs.size()},
          {"bytes", bytes},
          {"start", format_timestamp(WallTime(std::chrono::milliseconds(segs.front().start_ms)))},
          {"end", format_timestamp(WallTime(
                      std::chrono::milliseconds(segs.back().start_ms + segs.back().duration_ms)))}};
      if (auto it = why.find(path); it != why.end()) o["error"] = it->second;
      out.push_back(std::move(o));
    }
    return http::json_response(200, to_json_text(out));
  }

  http::Reply playback(const http::HttpRequest& req, const std::string& path) {
    if (auto refused = refuse_http_play(policy, req, path)) return *refused;
    const auto start_text = req.param("start");
    const auto duration_text = req.param("duration");
    const auto start = start_text ? parse_timestamp(*start_text) : std::nullopt;
    double duration = 0;
    if (duration_text) {
      std::from_chars(duration_text->data(), duration_text->data() + duration_text->size(),
                      duration);
    }
    if (!start || duration <= 0 || duration > 24 * 3600) {
      return http::error_response(Error::invalid_field(
          {"query", "start"}, "start=RFC3339 time and duration=SECONDS (0-86400) are required"));
    }
    const std::int64_t from =
        std::chrono::duration_cast<std::chrono::milliseconds>(start->time_since_epoch()).count();
    const std::int64_t to = from + static_cast<std::int64_t>(duration * 1000);
    auto all = list_segments(options.dir, current_layout());
    auto it = all.find(path);
    std::vector<StoredSegment> chosen;
    if (it != all.end()) {
      for (const auto& s : it->second) {
        if (s.start_ms + s.duration_ms <= from || s.start_ms >= to) continue;
        if (!chosen.empty() && s.run != chosen.front().run) break;  // one run: one init section
        chosen.push_back(s);
      }
    }
    if (chosen.empty()) {
      return http::error_response(
          Error::not_found("nothing of '" + keys::redact_keys(path) + "' is recorded then"));
    }
    std::string body;
    auto append = [&body](const fs::path& file) {
      std::ifstream in(file, std::ios::binary);
      if (!in) return false;
      body.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      return true;
    };
    if (!append(chosen.front().file.parent_path() / (chosen.front().run + ".init.mp4"))) {
      return http::error_response(Error::internal("the recording's init section is missing"));
    }
    for (const auto& s : chosen) {
      if (body.size() + s.bytes > kMaxPlayback) {
        return http::error_response(Error{413, "ask for a shorter span (512 MiB at most)", {}});
      }
      append(s.file);
    }
    http::HttpResponse res{200, "video/mp4", std::move(body), {}};
    res.headers.emplace_back("Access-Control-Allow-Origin", "*");
    return res;
  }

  MediaServer& media;
  MediaPolicy& policy;
  RecordingOptions options;
  std::map<std::string, std::unique_ptr<Sink>> sinks;  // media thread only

  std::mutex mutex;  // guards what follows
  std::condition_variable wake;
  std::vector<std::string> patterns;
  RecordLayout layout;                        // where segments go (record_path_template)
  std::multiset<std::string> requested;       // paths recorded on request (record_path)
  std::set<std::string> recording;            // as of the media thread's last tick
  std::map<std::string, std::string> errors;  // by path: why its recording stopped
  std::deque<Job> jobs;
  std::map<std::string, fs::path> partials;  // writer thread: each path's partial file
  // Writer thread: each path's latest init section, by run.
  std::map<std::string, std::pair<std::string, std::shared_ptr<const std::string>>> inits;
  bool stopping = false;
  std::thread writer;
};

Recorder::Recorder(MediaServer& media, MediaPolicy& policy, RecordingOptions options,
                   http::Router& router)
    : impl_(std::make_shared<Impl>(media, policy, std::move(options))) {
  media.on_tick([impl = impl_] { impl->tick(); });
  if (!impl_->options.dir.empty())
    impl_->writer = std::thread([impl = impl_.get()] { impl->run(); });
  router.add("GET", "/recordings",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams&) {
               return impl->list_routes(req);
             });
  router.add("GET", "/recordings/{path}",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->playback(req, p.at("path"));
             });
}

Recorder::~Recorder() {
  stop();
}

void Recorder::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
}

void Recorder::set_segment(std::chrono::milliseconds target) {
  std::lock_guard lock(impl_->mutex);
  impl_->options.segment = target;
}

void Recorder::set_part(std::chrono::milliseconds target) {
  std::lock_guard lock(impl_->mutex);
  impl_->options.part = target;
}

void Recorder::set_layout(RecordLayout layout) {
  std::lock_guard lock(impl_->mutex);
  impl_->layout = std::move(layout);
}

void Recorder::set_retention(std::chrono::seconds max_age, std::uint64_t max_bytes) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->options.max_age = max_age;
    impl_->options.max_bytes = max_bytes;
  }
  impl_->wake.notify_all();
}

void Recorder::record_path(const std::string& path) {
  std::lock_guard lock(impl_->mutex);
  impl_->requested.insert(path);
  impl_->errors.erase(path);
}

void Recorder::forget_path(const std::string& path) {
  std::lock_guard lock(impl_->mutex);
  if (auto it = impl_->requested.find(path); it != impl_->requested.end()) {
    impl_->requested.erase(it);
  }
}

std::pair<std::string, std::string> Recorder::recording_state(const std::string& path) const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->options.dir.empty()) return {"unavailable", "recording is off (no --record-dir)"};
  if (auto it = impl_->errors.find(path); it != impl_->errors.end()) {
    return {"failed", it->second};
  }
  if (impl_->recording.contains(path)) return {"recording", ""};
  return {"waiting", "the path is not live yet"};
}

void Recorder::set_patterns(std::vector<std::string> patterns) {
  std::lock_guard lock(impl_->mutex);
  impl_->patterns = std::move(patterns);
  impl_->errors.clear();  // a new decision: try again
}

}  // namespace sluice::media
