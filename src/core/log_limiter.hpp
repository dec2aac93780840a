#pragma once
// LogLimiter: at most one log line per interval for one kind of event, and that line says how
// many events it stands for. A flood (a refused connection 25,000 times a second) becomes one
// line a second with its count instead of 25,000 lines.
//
// Thread-safe and lock-free: any thread may call event(); the caller whose call returns non-zero
// writes the line. Events at the tail of a burst are reported by the next line, whenever the next
// event comes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

#include "core/clock.hpp"

namespace sluice {

class LogLimiter {
 public:
  explicit LogLimiter(Duration interval = std::chrono::seconds(1)) : interval_(interval.count()) {}

  // Counts `n` events at `now`. Returns how many events the caller's line must report (these and
  // every event suppressed since the last line) when a line is due, or 0 when it must not log.
  std::uint64_t event(MonoTime now, std::uint64_t n = 1) {
    pending_.fetch_add(n, std::memory_order_relaxed);
    const Duration::rep t = now.time_since_epoch().count();
    Duration::rep next = next_.load(std::memory_order_relaxed);
    if (t < next) return 0;
    if (!next_.compare_exchange_strong(next, t + interval_, std::memory_order_relaxed)) return 0;
    return pending_.exchange(0, std::memory_order_relaxed);
  }

 private:
  const Duration::rep interval_;
  std::atomic<std::uint64_t> pending_{0};
  std::atomic<Duration::rep> next_{std::numeric_limits<Duration::rep>::min()};
};

}  // namespace sluice
