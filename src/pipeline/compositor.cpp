#include "pipeline/compositor.hpp"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cstring>

namespace sluice::pipeline {
namespace {

int even(double v) {
  return std::max(2, static_cast<int>(v / 2) * 2);
}

// Fills a rectangle of a yuv420p picture (x, y, width, height even) with one colour.
void fill(AVFrame& f, int x, int y, int width, int height, std::uint8_t luma) {
  for (int row = y; row < y + height; ++row)
    std::memset(f.data[0] + row * f.linesize[0] + x, luma, static_cast<std::size_t>(width));
  for (int p = 1; p <= 2; ++p) {
    for (int row = y / 2; row < (y + height) / 2; ++row)
      std::memset(f.data[p] + row * f.linesize[p] + x / 2, 128,
                  static_cast<std::size_t>(width / 2));
  }
}

}  // namespace

InsetRect inset_rect(const FilterSpec& layout, int width, int height) {
  InsetRect r;
  r.width = even(width * layout.scale);
  r.height = even(height * layout.scale);
  r.border = (layout.border + 1) / 2 * 2;
  const int margin = even(height / 40.0) + r.border;
  const bool right = layout.position.ends_with("right");
  const bool bottom = layout.position.starts_with("bottom");
  r.x = right ? width - r.width - margin : margin;
  r.y = bottom ? height - r.height - margin : margin;
  r.x = std::clamp(r.x / 2 * 2, 0, std::max(0, width - r.width));
  r.y = std::clamp(r.y / 2 * 2, 0, std::max(0, height - r.height));
  return r;
}

struct PipCompositor::Native {
  AVFrame* out = av_frame_alloc();
  SwsContext* main_sws = nullptr;
  SwsContext* inset_sws = nullptr;
  ~Native() {
    sws_freeContext(main_sws);
    sws_freeContext(inset_sws);
    av_frame_free(&out);
  }
};

PipCompositor::PipCompositor(FilterSpec layout)
    : layout_(std::move(layout)), native_(std::make_unique<Native>()) {}
PipCompositor::~PipCompositor() = default;

Result<AVFrame*> PipCompositor::compose(const AVFrame& main, const AVFrame* inset) {
  Native& n = *native_;
  AVFrame* out = n.out;
  if (!out) return fail(Error::internal("compositor: out of memory"));
  if (out->width != main.width || out->height != main.height) {
    av_frame_unref(out);
    out->format = AV_PIX_FMT_YUV420P;
    out->width = main.width;
    out->height = main.height;
    if (av_frame_get_buffer(out, 0) < 0) return fail(Error::internal("compositor: out of memory"));
  } else if (av_frame_make_writable(out) < 0) {
    return fail(Error::internal("compositor: out of memory"));
  }
  if (main.format == AV_PIX_FMT_YUV420P) {
    av_image_copy(out->data, out->linesize, const_cast<const std::uint8_t**>(main.data),
                  main.linesize, AV_PIX_FMT_YUV420P, main.width, main.height);
  } else {
    n.main_sws = sws_getCachedContext(
        n.main_sws, main.width, main.height, static_cast<AVPixelFormat>(main.format), main.width,
        main.height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
    if (!n.main_sws) return fail(Error::internal("compositor: cannot convert the main picture"));
    sws_scale(n.main_sws, main.data, main.linesize, 0, main.height, out->data, out->linesize);
  }
  if (!inset) return out;
  const InsetRect r = inset_rect(layout_, main.width, main.height);
  if (r.border > 0) {
    const int x = std::max(0, r.x - r.border), y = std::max(0, r.y - r.border);
    fill(*out, x, y, std::min(r.width + 2 * r.border, main.width - x),
         std::min(r.height + 2 * r.border, main.height - y), 235);
  }
  n.inset_sws = sws_getCachedContext(n.inset_sws, inset->width, inset->height,
                                     static_cast<AVPixelFormat>(inset->format), r.width, r.height,
                                     AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (!n.inset_sws) return fail(Error::internal("compositor: cannot scale the inset picture"));
  std::uint8_t* dst[4] = {out->data[0] + r.y * out->linesize[0] + r.x,
                          out->data[1] + (r.y / 2) * out->linesize[1] + r.x / 2,
                          out->data[2] + (r.y / 2) * out->linesize[2] + r.x / 2, nullptr};
  int dst_lines[4] = {out->linesize[0], out->linesize[1], out->linesize[2], 0};
  sws_scale(n.inset_sws, inset->data, inset->linesize, 0, inset->height, dst, dst_lines);
  return out;
}

}  // namespace sluice::pipeline
