#pragma once
// EventLoop: a thread that runs posted work in order — the relay's and the media server's
// (Asio io_contexts in src/net and src/media/servers; a fake in unit tests) — and call_on_loop,
// which calls into such a thread from another one and waits for the answer, safely even when the
// loop stops or is slow. No sockets here: the loops that own sockets implement it.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>

namespace sluice {

class EventLoop {
 public:
  virtual ~EventLoop() = default;
  virtual void post(std::function<void()> fn) = 0;  // any thread; runs fn on the loop, in order
  virtual bool in_loop() const = 0;                 // any thread: is this the loop's thread?
};

// Posts `fn` to `loop` and waits for its result. While fn has not started, `give_up()` is asked
// every 50 ms; when it says yes the call is abandoned (nullopt) and fn will never run. Once fn
// has started the caller waits for it to finish, so fn may refer to the caller's locals.
// Must not be called on the loop's own thread (it would wait for itself).
template <class Fn, class GiveUp>
auto call_on_loop(EventLoop& loop, Fn&& fn, GiveUp&& give_up)
    -> std::optional<std::invoke_result_t<Fn&>> {
  using T = std::invoke_result_t<Fn&>;
  struct Call {
    std::mutex mutex;
    std::condition_variable finished;
    bool started = false;
    bool abandoned = false;
    std::optional<T> value;
  };
  auto call = std::make_shared<Call>();
  loop.post([call, &fn] {
    {
      std::lock_guard lock(call->mutex);
      if (call->abandoned) return;  // the caller (and `fn`) may be gone
      call->started = true;
    }
    T value = fn();
    std::lock_guard lock(call->mutex);
    call->value.emplace(std::move(value));
    call->finished.notify_all();
  });
  std::unique_lock lock(call->mutex);
  while (!call->value) {
    if (!call->started && give_up()) {
      call->abandoned = true;
      return std::nullopt;
    }
    call->finished.wait_for(lock, std::chrono::milliseconds(50));
  }
  return std::move(call->value);
}

}  // namespace sluice
