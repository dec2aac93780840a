#pragma once
// One pipeline of the PipelineManager (pipeline_manager.hpp), internal to pipeline/: the state
// its thread shares with the manager's readers (under `mutex`, or atomic) and the thread itself —
// run() builds a VideoPipeline (and an AudioTrack), opens the renditions' paths and outputs, and
// makes pictures at the source's rate until stopped or a failure, which it retries with backoff.
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/time_format.hpp"
#include "pipeline/pipeline_manager.hpp"
#include "pipeline/push_output.hpp"
#include "pipeline/video_pipeline.hpp"

namespace sluice::pipeline {

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
  std::string state = "starting";  // starting, idle (on demand), running, retrying, stopped
  bool demanded = false;           // on demand: a reader asked (PipelineManager::demand)
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
  // A live source's frame path (VideoPipeline::frame_path_ms), mean over the last second.
  std::optional<double> frame_path_ms;
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

  // The thread: run_once() again and again, with backoff after a failure, until stopped.
  void run();
  // On demand: "idle" until a reader asks (at once for an always-on pipeline); false: stop.
  bool wait_for_demand();
  // On demand, called once a second while running: true when the paths have had no reader for
  // close_after_s (the pipeline then goes back to sleep). `watched`: when one last had one.
  bool unwatched(const PipelineSpec& now, Clock::time_point& watched);
  // Record and mjpeg outputs of `to` not in `from` start, those only in `from` stop.
  void switch_taps(const PipelineSpec& from, const PipelineSpec& to);
  // The pending spec when it keeps `now`'s paths and pushes (else it waits for the next run).
  std::optional<PipelineSpec> take_pending(const PipelineSpec& now);
  // Makes and publishes pictures until stopped or unwatched (returns an empty error) or
  // something fails.
  Error run_once();
};

// The camera's checkStreamHealth of `p`: {health, why}. Under p.mutex.
std::pair<std::string, std::string> health_of(PipelineManager::Pipeline& p);

}  // namespace sluice::pipeline
