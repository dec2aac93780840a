#pragma once
// SourceFollower: a composition's second source, read on a thread of its own so a slow or failing
// camera never holds up the main picture. Its last few pictures are kept (references, a ring of
// `ring`) with their capture times on the monotonic clock, so the composition can take the one
// closest in time to its main picture (alignment by timestamp). A source that fails is reopened
// with backoff (1 s doubling to 30 s); meanwhile the composition shows its last picture and
// status() says why. Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/frame_source.hpp"
#include "pipeline/pipeline_spec.hpp"

namespace sluice::pipeline {

class SourceFollower {
 public:
  using Clock = std::chrono::steady_clock;
  SourceFollower(std::string name, SourceSpec spec, SourceFeeds* feeds, std::size_t ring = 6);
  ~SourceFollower();  // stops the thread
  SourceFollower(const SourceFollower&) = delete;
  SourceFollower& operator=(const SourceFollower&) = delete;

  // A reference to the kept picture whose capture time is closest to `at` into `out`
  // (unreferenced first), with its offset from `at` (ms; negative: captured before) and the age
  // of the newest kept picture at `at` (ms). False while none came.
  bool closest(Clock::time_point at, AVFrame* out, double& offset_ms, double& newest_age_ms);

  struct State {
    std::string name;
    std::string state;  // "starting", "running", "retrying"
    std::string error;
    std::uint64_t pictures = 0;
    std::uint64_t dropped = 0;
    int width = 0, height = 0;
  };
  State state() const;

 private:
  void run();
  // Reads pictures from an open source until it fails or the follower stops.
  Error follow(FrameSource& source);
  bool sleep(Clock::duration how_long);
  bool stopping() const;

  const std::string name_;
  const SourceSpec spec_;
  SourceFeeds* feeds_;
  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable wake_;
  bool stopping_ = false;
  State state_;
  std::vector<AVFrame*> ring_;               // references to the last pictures
  std::vector<Clock::time_point> captured_;  // their capture times
  std::size_t next_ = 0;                     // the slot the next picture goes to
  std::size_t kept_ = 0;
  std::thread thread_;
};

}  // namespace sluice::pipeline
