#pragma once
// AdaptiveBitrate: the C Pro camera's rule for an encoder's bitrate, from what its viewers report
// (RTCP receiver reports of RTSP and WebRTC readers, REMB and transport-cc, SRT's link
// estimate), sans I/O: loss above 5 % → × 0.8; an available bandwidth above 1.5 × the bitrate →
// × 1.2; never below `min_kbps` nor above `max_kbps`. Hysteresis: at most one change per hold
// time (4 s), and after a decrease it rises only once two reports in a row show under 2 % loss.
#include <chrono>
#include <optional>

namespace sluice::pipeline {

struct AdaptiveSettings {
  bool enabled = false;
  int min_kbps = 200;
  int max_kbps = 0;  // 0: the bitrate it started with
};

// The worst of a rendition's viewers: the highest loss, the lowest bandwidth estimate.
struct ViewerFeedback {
  double loss = 0;                      // 0..1
  std::optional<double> bandwidth_bps;  // none when no viewer estimates it
  int viewers = 0;
};

class AdaptiveBitrate {
 public:
  using Clock = std::chrono::steady_clock;
  AdaptiveBitrate(int start_kbps, AdaptiveSettings settings);

  // A new report; the new bitrate when it changes.
  std::optional<int> update(const ViewerFeedback& worst, Clock::time_point now);
  int current_kbps() const { return current_; }
  // A new configured bitrate (PATCH): the rule goes on from it.
  void reset(int kbps);

 private:
  AdaptiveSettings settings_;
  int current_;
  int cap_;
  std::optional<Clock::time_point> last_change_;
  bool lowered_ = false;   // the last change was a decrease
  int clean_reports_ = 0;  // reports in a row under 2 % loss
};

}  // namespace sluice::pipeline
