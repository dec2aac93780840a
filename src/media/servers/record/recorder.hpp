#pragma once
// Recorder: live paths recorded to disk as fragmented-MP4 segments, and played back.
//   GET /recordings                                   every recorded path: segments, bytes, span
//   GET /recordings/{path}?start=RFC3339&duration=S   an MP4 of that span (init + the segments
//                                                     that overlap it, from one recording run)
// Paths matching the record_paths patterns ("cam*", "*") are recorded from when they go live:
// a MediaSink on the media thread muxes them with the HLS muxer's fMP4 writer (segments cut at
// keyframes after `segment`), and a writer thread of the recorder's own puts each finished
// segment on disk as <dir>/<template>/<start ms>_<duration ms>_<run>.m4s beside its run's
// <run>.init.mp4 (the template: record_layout.hpp; by default <dir>/<path>/…), so the
// recordings (and their times) survive restarts. The segment being made is
// written too, part by part (about a second each) as <start>_<duration so far>_<run>.partial,
// replaced by the whole one, so the last seconds play back at once. Retention: segments
// older than `max_age`, and the oldest beyond `max_bytes` in all, are deleted. A write that
// fails (a full disk) stops that path's recording with the reason in GET /recordings, never the
// daemon. Each segment written is announced (on_segment).
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sluice::http {
class Router;
}

namespace sluice::media {

class MediaServer;
class MediaPolicy;
class RecordLayout;

struct RecordingOptions {
  std::string dir;  // empty: recording is off
  std::chrono::milliseconds segment{10000};
  std::chrono::milliseconds part{1000};  // the open segment is flushed part by part
  std::chrono::seconds max_age{7 * 24 * 3600};
  std::uint64_t max_bytes = 10ULL * 1024 * 1024 * 1024;
  // Called on the writer thread for each segment written: {path, file, start, duration_s, bytes}.
  std::function<void(const boost::json::object&)> on_segment;
};

class Recorder {
 public:
  // Registers the routes and a media-thread tick (before the media server starts). All
  // references must outlive the recorder.
  Recorder(MediaServer& media, MediaPolicy& policy, RecordingOptions options, http::Router& router);
  ~Recorder();  // stop()
  // Finishes what is being recorded and joins the writer. Idempotent.
  void stop();
  // The record_paths setting: patterns of path names ('*' any run of characters). Any thread.
  void set_patterns(std::vector<std::string> patterns);
  // Records `path` whenever it is live, besides the record_paths patterns (a pipeline's record
  // output), until as many forget_path() calls. Any thread.
  void record_path(const std::string& path);
  void forget_path(const std::string& path);
  // The recording of `path`: {"recording", ""}, {"waiting", why}, {"failed", why} (a full disk)
  // or {"unavailable", why} (no recording directory). Any thread.
  std::pair<std::string, std::string> recording_state(const std::string& path) const;
  // The record_segment setting: recordings started from now on cut segments at the first
  // keyframe after `target`. Any thread.
  void set_segment(std::chrono::milliseconds target);
  // The record_part setting (parts of the open segment flushed to disk; recordings started from
  // now on) and the record_max_age / record_max_size settings (retention, from the next sweep).
  // Any thread.
  void set_part(std::chrono::milliseconds target);
  void set_retention(std::chrono::seconds max_age, std::uint64_t max_bytes);
  // The record_path_template setting: segments written from now on go where it says; listing
  // and playback find those and the default layout's. Any thread.
  void set_layout(RecordLayout layout);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Whether `name` matches `pattern` ('*' matches any run of characters).
bool matches_pattern(std::string_view pattern, std::string_view name);

}  // namespace sluice::media
