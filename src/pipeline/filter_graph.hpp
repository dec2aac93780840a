#pragma once
// An owning pointer for a libavfilter graph. Include it only from .cpp files that include
// libavfilter already (it is not for widely included headers).
extern "C" {
#include <libavfilter/avfilter.h>
}

#include <memory>

namespace sluice::pipeline {

struct GraphFree {
  void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); }
};
using GraphPtr = std::unique_ptr<AVFilterGraph, GraphFree>;

}  // namespace sluice::pipeline
