// The camera's adaptive bitrate rule (pipeline/adaptive_bitrate): loss above 5 % lowers the
// bitrate by a fifth, room above 1.5 × raises it by a fifth, within the bounds, with hysteresis.
#include <gtest/gtest.h>

#include "pipeline/adaptive_bitrate.hpp"

namespace sluice::pipeline {
namespace {

using namespace std::chrono_literals;
using Clock = AdaptiveBitrate::Clock;

TEST(AdaptiveBitrate, LossLowersAndRoomRaisesWithinTheBoundsAndTheHoldTime) {
  AdaptiveBitrate abr(2000, AdaptiveSettings{true, 1000, 2400});
  const Clock::time_point t0{};
  // 8 % loss: × 0.8.
  EXPECT_EQ(abr.update({0.08, std::nullopt, 1}, t0), 1600);
  // Again within the hold time: no change.
  EXPECT_EQ(abr.update({0.08, std::nullopt, 1}, t0 + 2s), std::nullopt);
  // After it: × 0.8 again, but never below the floor.
  EXPECT_EQ(abr.update({0.10, std::nullopt, 1}, t0 + 5s), 1280);
  EXPECT_EQ(abr.update({0.10, std::nullopt, 1}, t0 + 10s), 1024);
  EXPECT_EQ(abr.update({0.10, std::nullopt, 1}, t0 + 15s), 1000);
  EXPECT_EQ(abr.update({0.10, std::nullopt, 1}, t0 + 20s), std::nullopt);
  // Room (bandwidth > 1.5 ×) after a decrease: only after two clean reports in a row.
  EXPECT_EQ(abr.update({0.01, 5e6, 1}, t0 + 25s), std::nullopt);
  EXPECT_EQ(abr.update({0.01, 5e6, 1}, t0 + 26s), 1200);
  EXPECT_EQ(abr.update({0.01, 5e6, 1}, t0 + 31s), 1440);
  EXPECT_EQ(abr.update({0.01, 5e6, 1}, t0 + 36s), 1728);
  EXPECT_EQ(abr.update({0.01, 5e6, 1}, t0 + 41s), 2074);
  EXPECT_EQ(abr.update({0.01, 5e6, 1}, t0 + 46s), 2400);  // the cap
  EXPECT_EQ(abr.update({0.01, 5e6, 1}, t0 + 51s), std::nullopt);
  // Room that is not 1.5 × the bitrate changes nothing.
  AdaptiveBitrate steady(2000, AdaptiveSettings{true, 200, 4000});
  EXPECT_EQ(steady.update({0.0, 2.9e6, 1}, t0), std::nullopt);
  EXPECT_EQ(steady.update({0.0, 3.1e6, 1}, t0 + 1s), 2400);
}

TEST(AdaptiveBitrate, OffOrWithoutViewersItLeavesTheBitrateAlone) {
  AdaptiveBitrate off(2000, AdaptiveSettings{false, 200, 0});
  EXPECT_EQ(off.update({0.5, std::nullopt, 3}, Clock::time_point{}), std::nullopt);
  AdaptiveBitrate alone(2000, AdaptiveSettings{true, 200, 0});
  EXPECT_EQ(alone.update({0.5, std::nullopt, 0}, Clock::time_point{}), std::nullopt);
  EXPECT_EQ(alone.current_kbps(), 2000);
}

}  // namespace
}  // namespace sluice::pipeline
