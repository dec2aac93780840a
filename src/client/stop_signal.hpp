#pragma once
// StopSignal — an interruptible sleep for the SDK's background threads, so that stop() is
// prompt (no polling, no busy loops). Backoff — capped exponential retry delays.
//
// Threads: every StopSignal method may be called from any thread. Backoff is not thread-safe;
// each worker thread owns its own.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace sluice::client {

class StopSignal {
 public:
  // Sleeps up to `d`. Returns false when stop() was (or is) requested, true when `d` elapsed or
  // `wake_early()` became true (checked on every notify()).
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::chrono::duration<Rep, Period> d, Predicate wake_early) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, d, [&] { return stopped_ || wake_early(); });
    return !stopped_;
  }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> d) {
    return wait_for(d, [] { return false; });
  }
  template <class Predicate>
  bool wait_until(std::chrono::steady_clock::time_point t, Predicate wake_early) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, t, [&] { return stopped_ || wake_early(); });
    return !stopped_;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  // Wakes waiters so that they re-check their wake_early predicate.
  void notify() {
    { std::lock_guard lock(mutex_); }
    cv_.notify_all();
  }
  void reset() {
    std::lock_guard lock(mutex_);
    stopped_ = false;
  }
  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

class Backoff {
 public:
  explicit Backoff(std::chrono::milliseconds first = std::chrono::milliseconds(100),
                   std::chrono::milliseconds cap = std::chrono::milliseconds(2000))
      : first_(first), cap_(cap), next_(first) {}

  // The delay to wait now; doubles the following one, up to the cap.
  std::chrono::milliseconds next() {
    auto d = next_;
    next_ = std::min(cap_, next_ * 2);
    return d;
  }
  void reset() { next_ = first_; }

 private:
  std::chrono::milliseconds first_, cap_, next_;
};

}  // namespace sluice::client
