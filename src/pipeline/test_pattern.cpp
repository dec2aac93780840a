#include "pipeline/test_pattern.hpp"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
}

#include "media/transcode/av_support.hpp"
#include "pipeline/filter_graph.hpp"
#include "pipeline/pipeline_spec.hpp"

namespace sluice::pipeline {
namespace av = media::av;
namespace {

class TestPattern final : public FrameSource {
 public:
  int width() const override { return width_; }
  int height() const override { return height_; }
  int pixel_format() const override { return AV_PIX_FMT_YUV420P; }
  bool paced() const override { return true; }
  Result<AVFrame*> next(std::int64_t& ms) override {
    av_frame_unref(frame_.get());
    if (int err = av_buffersink_get_frame(sink_, frame_.get()); err < 0) {
      return fail(Error::internal("test pattern: " + av::text(err)));
    }
    ms = made_++ * 1000 / fps_;
    return frame_.get();
  }

  static Result<std::unique_ptr<FrameSource>> open(const SourceSpec& spec) {
    std::unique_ptr<TestPattern> p(new TestPattern());
    p->width_ = spec.width;
    p->height_ = spec.height;
    p->fps_ = spec.fps;
    p->graph_.reset(avfilter_graph_alloc());
    if (!p->graph_ || !p->frame_) return fail(Error::internal("test pattern: out of memory"));
    p->graph_->nb_threads = 1;
    const std::string size = std::to_string(spec.width) + "x" + std::to_string(spec.height);
    const std::string rate = std::to_string(spec.fps);
    std::string text = spec.pattern == "color"       ? "color=c=" + spec.color + ":size=" + size
                       : spec.pattern == "smptebars" ? "smptebars=size=" + size
                                                     : "testsrc2=size=" + size;
    text += ":rate=" + rate + ",format=yuv420p,buffersink@out";
    AVFilterInOut* inputs = nullptr;
    AVFilterInOut* outputs = nullptr;
    int err = avfilter_graph_parse2(p->graph_.get(), text.c_str(), &inputs, &outputs);
    avfilter_inout_free(&inputs);
    avfilter_inout_free(&outputs);
    if (err >= 0) err = avfilter_graph_config(p->graph_.get(), nullptr);
    if (err < 0) {
      return fail(
          Error::invalid_field({"body", "source", spec.pattern == "color" ? "color" : "pattern"},
                               "the test pattern cannot be made: " + av::text(err)));
    }
    p->sink_ = avfilter_graph_get_filter(p->graph_.get(), "buffersink@out");
    if (!p->sink_) return fail(Error::internal("test pattern: no sink"));
    return std::unique_ptr<FrameSource>(std::move(p));
  }

 private:
  TestPattern() = default;
  GraphPtr graph_;
  AVFilterContext* sink_ = nullptr;
  av::FramePtr frame_{av_frame_alloc()};
  int width_ = 0, height_ = 0, fps_ = 30;
  std::int64_t made_ = 0;
};

}  // namespace

Result<std::unique_ptr<FrameSource>> open_test_pattern(const SourceSpec& spec) {
  return TestPattern::open(spec);
}

}  // namespace sluice::pipeline
