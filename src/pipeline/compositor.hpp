#pragma once
// PipCompositor: the camera's picture-in-picture. The main picture (any format libswscale reads)
// becomes a yuv420p picture of its size; the inset picture is scaled to `scale` of it and drawn at
// `position` (a margin of 1/40 of the height from the edges) inside a white border of `border` px.
// The output picture is reused from one call to the next (made writable first, which copies only
// while the encoder still holds the last one). Single-threaded; heavy headers in the .cpp.
#include <memory>

#include "core/error.hpp"
#include "pipeline/pipeline_spec.hpp"

struct AVFrame;

namespace sluice::pipeline {

// Where the inset goes in a main picture of `width` x `height` (all even).
struct InsetRect {
  int x = 0, y = 0, width = 0, height = 0;
  int border = 0;
};
InsetRect inset_rect(const FilterSpec& layout, int width, int height);

class PipCompositor {
 public:
  explicit PipCompositor(FilterSpec layout);
  ~PipCompositor();
  PipCompositor(const PipCompositor&) = delete;
  PipCompositor& operator=(const PipCompositor&) = delete;

  // The composed picture (owned by the compositor until the next call); `inset` null: the main
  // picture alone, converted.
  Result<AVFrame*> compose(const AVFrame& main, const AVFrame* inset);

 private:
  struct Native;
  FilterSpec layout_;
  std::unique_ptr<Native> native_;
};

}  // namespace sluice::pipeline
