#include "pipeline/adaptive_bitrate.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::pipeline {
namespace {

constexpr auto kHold = std::chrono::seconds(4);
constexpr double kLossHigh = 0.05;
constexpr double kLossClean = 0.02;

}  // namespace

AdaptiveBitrate::AdaptiveBitrate(int start_kbps, AdaptiveSettings settings)
    : settings_(settings),
      current_(start_kbps),
      cap_(settings.max_kbps > 0 ? settings.max_kbps : start_kbps) {}

void AdaptiveBitrate::reset(int kbps) {
  current_ = kbps;
  if (settings_.max_kbps <= 0) cap_ = kbps;
  lowered_ = false;
  clean_reports_ = 0;
}

std::optional<int> AdaptiveBitrate::update(const ViewerFeedback& worst, Clock::time_point now) {
  if (!settings_.enabled || worst.viewers == 0) return std::nullopt;
  clean_reports_ = worst.loss < kLossClean ? clean_reports_ + 1 : 0;
  if (last_change_ && now - *last_change_ < kHold) return std::nullopt;
  int next = current_;
  if (worst.loss > kLossHigh) {
    next = std::max(settings_.min_kbps, static_cast<int>(std::lround(current_ * 0.8)));
  } else if (worst.bandwidth_bps && *worst.bandwidth_bps > 1.5 * current_ * 1000 &&
             (!lowered_ || clean_reports_ >= 2)) {
    next = std::min(cap_, static_cast<int>(std::lround(current_ * 1.2)));
  }
  if (next == current_) return std::nullopt;
  lowered_ = next < current_;
  current_ = next;
  last_change_ = now;
  return next;
}

}  // namespace sluice::pipeline
