#pragma once
// TestPattern: a made-up picture — libavfilter's testsrc2 (moving colour bars and a counter),
// smptebars, or one flat colour — at the spec's size, in yuv420p, as fast as asked (the pipeline
// paces it). Heavy headers stay in the .cpp.
#include <memory>

#include "pipeline/frame_source.hpp"

namespace sluice::pipeline {

// 422 naming the field libavfilter refuses (e.g. a colour it does not know).
Result<std::unique_ptr<FrameSource>> open_test_pattern(const SourceSpec& spec);

}  // namespace sluice::pipeline
