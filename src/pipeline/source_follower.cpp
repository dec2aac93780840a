#include "pipeline/source_follower.hpp"

extern "C" {
#include <libavutil/frame.h>
}

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"

#include <cmath>

namespace sluice::pipeline {
namespace {
double ms_between(SourceFollower::Clock::time_point a, SourceFollower::Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(a - b).count();
}
}  // namespace

SourceFollower::SourceFollower(std::string name, SourceSpec spec, SourceFeeds* feeds,
                               std::size_t ring)
    : name_(std::move(name)), spec_(std::move(spec)), feeds_(feeds) {
  state_.name = name_;
  state_.state = "starting";
  for (std::size_t i = 0; i < std::max<std::size_t>(ring, 1); ++i)
    ring_.push_back(av_frame_alloc());
  captured_.resize(ring_.size());
  thread_ = std::thread([this] {
    name_this_thread("src:" + name_);
    run();
  });
}

SourceFollower::~SourceFollower() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (AVFrame* f : ring_)
    av_frame_free(&f);
}

bool SourceFollower::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

bool SourceFollower::sleep(Clock::duration how_long) {
  std::unique_lock lock(mutex_);
  return wake_.wait_for(lock, how_long, [this] { return stopping_; });
}

void SourceFollower::run() {
  auto backoff = std::chrono::seconds(1);
  while (!stopping()) {
    auto opened = open_source(spec_, feeds_, [this] { return stopping(); });
    Error error = opened ? follow(**opened) : opened.error();
    if (stopping()) break;
    spdlog::warn("pipeline source '{}': {}; again in {} s", name_, error.detail, backoff.count());
    {
      std::lock_guard lock(mutex_);
      state_.state = "retrying";
      state_.error = error.detail;
    }
    if (sleep(backoff)) break;
    backoff = std::min<std::chrono::seconds>(backoff * 2, std::chrono::seconds(30));
  }
}

Error SourceFollower::follow(FrameSource& source) {
  {
    std::lock_guard lock(mutex_);
    state_.state = "running";
    state_.error.clear();
    state_.width = source.width();
    state_.height = source.height();
  }
  const int fps = source.fps() > 0 ? source.fps() : spec_.fps;
  const auto frame_time = std::chrono::nanoseconds(1'000'000'000LL / std::max(1, fps));
  auto due = Clock::now();
  for (;;) {
    if (source.paced()) {
      if (sleep(due - Clock::now())) return {};
      due += frame_time;
      if (Clock::now() > due + 2 * frame_time) due = Clock::now();  // fell behind: no burst
    } else if (stopping()) {
      return {};
    }
    std::int64_t ms = 0;
    auto picture = source.next(ms);
    if (!picture) return picture.error();
    std::lock_guard lock(mutex_);
    AVFrame* slot = ring_[next_];
    av_frame_unref(slot);
    if (av_frame_ref(slot, *picture) < 0) return Error::internal("out of memory");
    captured_[next_] = Clock::now();
    next_ = (next_ + 1) % ring_.size();
    kept_ = std::min(kept_ + 1, ring_.size());
    ++state_.pictures;
    state_.dropped = source.dropped();
  }
}

bool SourceFollower::closest(Clock::time_point at, AVFrame* out, double& offset_ms,
                             double& newest_age_ms) {
  std::lock_guard lock(mutex_);
  if (kept_ == 0) return false;
  std::size_t best = 0;
  double best_distance = INFINITY;
  const std::size_t newest = (next_ + ring_.size() - 1) % ring_.size();
  for (std::size_t k = 0; k < kept_; ++k) {
    const std::size_t i = (newest + ring_.size() - k) % ring_.size();
    const double distance = std::abs(ms_between(captured_[i], at));
    if (distance < best_distance) {
      best_distance = distance;
      best = i;
    }
  }
  offset_ms = ms_between(captured_[best], at);
  newest_age_ms = ms_between(at, captured_[newest]);
  av_frame_unref(out);
  return av_frame_ref(out, ring_[best]) >= 0;
}

SourceFollower::State SourceFollower::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

}  // namespace sluice::pipeline
