#include "state/records_sync.hpp"

#include <spdlog/spdlog.h>

namespace sluice::state {

void RecordsSync::poll(std::chrono::steady_clock::time_point now) {
  if (now < next_) return;
  next_ = now + interval_;
  auto version = records_.version();
  if (!version) return report(fail(version.error()));
  if (seen_ == *version) return report({});
  Status outcome;
  for (const auto& reload : reloads_) {
    if (auto ok = reload(); !ok && outcome) outcome = ok;
  }
  if (outcome) seen_ = *version;
  report(outcome);
}

void RecordsSync::report(const Status& outcome) {
  if (!outcome && !failing_) {
    spdlog::warn("shared records ({}): cannot reload: {}; retrying every second",
                 records_.describe(), outcome.error().detail);
  } else if (outcome && failing_) {
    spdlog::info("shared records ({}): reloaded", records_.describe());
  }
  failing_ = !outcome;
}

}  // namespace sluice::state
