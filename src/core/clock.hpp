#pragma once
// Time source seam. Production code takes a Clock& so TTL rules can be tested with FakeClock,
// without sleeping. Wall time stamps records; monotonic time drives deadlines, so a wall-clock
// jump (NTP) never expires or resurrects entries.
#include <atomic>
#include <chrono>

namespace sluice {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime wall_now() const = 0;
  virtual MonoTime mono_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  MonoTime mono_now() const override { return std::chrono::steady_clock::now(); }
};

// Test clock: starts at a fixed wall time and only moves when advance() is called.
// Thread-safe: advance() and the readers may run on different threads.
class FakeClock final : public Clock {
 public:
  FakeClock() : offset_(0) {}
  WallTime wall_now() const override {
    return WallTime(std::chrono::seconds(1'790'000'000)) + Duration(offset_.load());
  }
  MonoTime mono_now() const override { return MonoTime(Duration(offset_.load())); }
  void advance(Duration d) { offset_.fetch_add(d.count()); }

 private:
  std::atomic<Duration::rep> offset_;
};

}  // namespace sluice
