#pragma once
// Waiting for something a test cannot be told about directly.
#include <chrono>
#include <functional>
#include <thread>

namespace sluice::testing {

// Polls `condition` every 50 ms until it holds or `timeout` passes; returns the last value.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace sluice::testing
