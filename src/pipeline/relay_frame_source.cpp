#include "pipeline/relay_frame_source.hpp"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

#include <atomic>
#include <chrono>

#include "pipeline/frame_pool.hpp"
#include "pipeline/pipeline_spec.hpp"

namespace sluice::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kSilence = std::chrono::seconds(10);
constexpr auto kPoll = std::chrono::milliseconds(200);
constexpr std::size_t kDepth = 3;

const std::string kMetadataHint =
    "raw frames need channel metadata {\"format\": \"rgba\", \"width\": W, \"height\": H}";

// What the relay thread and the pipeline's thread share.
struct Shared {
  FramePool pool{kDepth};
  std::mutex mutex;  // guards what follows
  std::optional<RawLayout> layout;
  std::string problem;  // why the last message was refused ("" when none)
  bool layout_changed = false;
  std::atomic<std::uint64_t> refused{0};
  Clock::time_point first = Clock::now();
  bool any = false;

  // The relay thread, per message.
  void take(const boost::json::object& metadata, std::string_view data) {
    auto layout_now = raw_layout_of(metadata);
    std::lock_guard lock(mutex);
    if (!layout_now) {
      problem = layout_now.error().detail;
      ++refused;
      return;
    }
    if (!layout) {
      if (auto ok = pool.configure(layout_now->format, layout_now->width, layout_now->height);
          !ok) {
        problem = ok.error().detail;
        ++refused;
        return;
      }
      layout = *layout_now;
    } else if (!(*layout == *layout_now)) {
      layout_changed = true;  // the pipeline rebuilds for the new layout
      return;
    }
    if (data.size() != layout->bytes) {
      problem = "a frame of " + std::to_string(data.size()) + " bytes; " +
                std::string(av_get_pix_fmt_name(static_cast<AVPixelFormat>(layout->format))) + " " +
                std::to_string(layout->width) + "x" + std::to_string(layout->height) + " is " +
                std::to_string(layout->bytes) + " bytes";
      ++refused;
      return;
    }
    if (!any) first = Clock::now();
    any = true;
    // Microseconds from the first picture: the picture's time (next() hands out ms) and when
    // it arrived (arrival(), for the frame path's latency).
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - first).count();
    if (pool.push(data, us)) problem.clear();
  }

  // The failure the consumer must report, if any.
  std::optional<Error> failure() {
    std::lock_guard lock(mutex);
    if (layout_changed) return Error::unavailable("the channel's frames changed layout");
    if (!problem.empty()) return Error::invalid_field({"body", "source", "channel"}, problem);
    return std::nullopt;
  }
};

class RelayFrames final : public FrameSource {
 public:
  RelayFrames(std::string channel, std::shared_ptr<Shared> shared, std::unique_ptr<Feed> feed,
              std::function<bool()> stopped)
      : channel_(std::move(channel)),
        shared_(std::move(shared)),
        feed_(std::move(feed)),
        stopped_(std::move(stopped)) {}
  ~RelayFrames() override {
    feed_.reset();  // no more messages
    shared_->pool.close();
    av_frame_free(&frame_);
  }

  int width() const override { return layout_.width; }
  int height() const override { return layout_.height; }
  int pixel_format() const override { return layout_.format; }
  int fps() const override { return layout_.fps; }
  std::uint64_t dropped() const override {
    return shared_->pool.dropped() + shared_->refused.load();
  }

  Result<AVFrame*> next(std::int64_t& ms) override {
    if (have_frame_) {
      have_frame_ = false;
      ms = us_ / 1000;
      return frame_;
    }
    const auto deadline = Clock::now() + kSilence;
    for (;;) {
      if (auto failed = shared_->failure()) return fail(*failed);
      if (shared_->pool.take(frame_, us_, kPoll)) {
        ms = us_ / 1000;
        return frame_;
      }
      if (stopped_()) return fail(Error::unavailable("stopping"));
      if (Clock::now() > deadline) {
        return fail(Error{502,
                          "no frames on relay channel '" + channel_ + "' for " +
                              std::to_string(kSilence.count()) + " s",
                          {}});
      }
    }
  }

  std::optional<Clock::time_point> arrival() const override {
    std::lock_guard lock(shared_->mutex);
    return shared_->first + std::chrono::microseconds(us_);
  }

  // Waits for the first picture.
  Status start() {
    frame_ = av_frame_alloc();
    if (!frame_) return fail(Error::internal("out of memory"));
    std::int64_t ms = 0;
    auto first = next(ms);
    if (!first) return fail(first.error());
    have_frame_ = true;
    std::lock_guard lock(shared_->mutex);
    layout_ = *shared_->layout;
    return {};
  }

 private:
  std::string channel_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<Feed> feed_;
  std::function<bool()> stopped_;
  AVFrame* frame_ = nullptr;
  std::int64_t us_ = 0;  // the picture handed out: µs after the first arrived
  bool have_frame_ = false;
  RawLayout layout_;
};

}  // namespace

Result<RawLayout> raw_layout_of(const boost::json::object& metadata) {
  const auto* format = metadata.if_contains("format");
  const auto* width = metadata.if_contains("width");
  const auto* height = metadata.if_contains("height");
  if (!format || !format->is_string() || !width || !width->is_int64() || !height ||
      !height->is_int64()) {
    return fail(Error::bad_request(kMetadataHint));
  }
  RawLayout out;
  out.format = av_get_pix_fmt(std::string(format->as_string()).c_str());
  if (out.format < 0) {
    return fail(Error::bad_request("the channel's format '" + std::string(format->as_string()) +
                                   "' is no pixel format libavutil knows (rgba, bgra, rgb24, "
                                   "gray, yuv420p, nv12, ...)"));
  }
  const auto w = width->as_int64(), h = height->as_int64();
  if (w < 16 || h < 16 || w > kMaxDimension || h > kMaxDimension) {
    return fail(Error::bad_request("the channel's width and height must be 16 to " +
                                   std::to_string(kMaxDimension)));
  }
  out.width = static_cast<int>(w);
  out.height = static_cast<int>(h);
  if (const auto* fps = metadata.if_contains("fps")) {
    if (!fps->is_int64() || fps->as_int64() < 1 || fps->as_int64() > kMaxFps) {
      return fail(Error::bad_request("the channel's fps must be 1 to " + std::to_string(kMaxFps)));
    }
    out.fps = static_cast<int>(fps->as_int64());
  }
  const int bytes =
      av_image_get_buffer_size(static_cast<AVPixelFormat>(out.format), out.width, out.height, 1);
  if (bytes <= 0) return fail(Error::bad_request("the channel's layout cannot be held"));
  out.bytes = static_cast<std::size_t>(bytes);
  return out;
}

Result<std::unique_ptr<FrameSource>> open_relay_frames(const std::string& channel,
                                                       SourceFeeds& feeds,
                                                       std::function<bool()> stopped) {
  auto shared = std::make_shared<Shared>();
  auto feed =
      feeds.relay(channel, [shared](const boost::json::object& metadata, std::string_view data) {
        shared->take(metadata, data);
      });
  if (!feed) return fail(feed.error());
  auto source =
      std::make_unique<RelayFrames>(channel, shared, std::move(*feed), std::move(stopped));
  if (auto ok = source->start(); !ok) return fail(ok.error());
  return std::unique_ptr<FrameSource>(std::move(source));
}

}  // namespace sluice::pipeline
