#pragma once
// A Gate lets callbacks that arrive on threads we do not own (libnats' delivery threads, io_context
// handlers, hub deliveries racing with an unsubscription) find out whether their owner still
// exists, and lets the owner wait for the ones already running before it goes away.
//
//   callback:  GateGuard guard(*gate); if (!guard) return; ...use the owner...
//   owner:     gate->close();  // no guarded section runs any more once this returns
//
// Lock-free on the callback side (two atomic operations). close() must not be called from inside
// a guarded section of the same gate (it would wait for itself).
#include <atomic>
#include <memory>

namespace sluice::nats {

class Gate {
 public:
  bool enter() {
    inflight_.fetch_add(1);
    if (open_.load()) return true;
    leave();
    return false;
  }
  void leave() {
    if (inflight_.fetch_sub(1) == 1 && !open_.load()) inflight_.notify_all();
  }
  // Refuses new entries and waits until every guarded section has left.
  void close() {
    open_.store(false);
    for (int n = inflight_.load(); n != 0; n = inflight_.load())
      inflight_.wait(n);
  }
  bool is_open() const { return open_.load(); }

 private:
  std::atomic<bool> open_{true};
  std::atomic<int> inflight_{0};
};

class GateGuard {
 public:
  explicit GateGuard(Gate& gate) : gate_(gate.enter() ? &gate : nullptr) {}
  ~GateGuard() {
    if (gate_) gate_->leave();
  }
  GateGuard(const GateGuard&) = delete;
  GateGuard& operator=(const GateGuard&) = delete;
  explicit operator bool() const { return gate_ != nullptr; }

 private:
  Gate* gate_;
};

}  // namespace sluice::nats
