#pragma once
// RecordsSync: keeps a node's identities and settings in step with a Records home other nodes
// change too (Redis). poll() reads the home's version() at most once per `interval`; when it
// moved since the last successful round, every reloader runs, and a round with a failure is
// repeated at the next poll. Failures are logged when they start and when they end, not on
// every poll. One thread calls poll() (the daemon's sweep timer).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "state/records.hpp"

namespace sluice::state {

class RecordsSync {
 public:
  using Reload = std::function<Status()>;
  RecordsSync(const Records& records, std::vector<Reload> reloads,
              std::chrono::milliseconds interval = std::chrono::seconds(1))
      : records_(records), reloads_(std::move(reloads)), interval_(interval) {}

  void poll(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  void report(const Status& outcome);

  const Records& records_;
  std::vector<Reload> reloads_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point next_{};
  std::optional<std::uint64_t> seen_;  // the version the last successful round saw
  bool failing_ = false;
};

}  // namespace sluice::state
