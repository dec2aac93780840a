#include "pipeline/frame_pool.hpp"

extern "C" {
#include <libavutil/buffer.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

#include <cstring>

namespace sluice::pipeline {
namespace {
constexpr std::size_t kPadding = 64;  // libavcodec reads up to 64 bytes past the end
}  // namespace

FramePool::FramePool(std::size_t depth) : depth_(depth == 0 ? 1 : depth) {}

FramePool::~FramePool() {
  close();
  std::lock_guard lock(mutex_);
  release_waiting();
  for (AVFrame* f : spare_)
    av_frame_free(&f);
  av_buffer_pool_uninit(&pool_);  // freed once the last buffer handed out comes back
}

void FramePool::release_waiting() {
  for (auto& [frame, ms] : waiting_) {
    av_frame_unref(frame);
    spare_.push_back(frame);
  }
  waiting_.clear();
}

Status FramePool::configure(int pixel_format, int width, int height) {
  const auto format = static_cast<AVPixelFormat>(pixel_format);
  if (!av_pix_fmt_desc_get(format)) return fail(Error::bad_request("an unknown pixel format"));
  const int bytes = av_image_get_buffer_size(format, width, height, 1);
  if (bytes <= 0) {
    return fail(Error::bad_request("a picture of " + std::to_string(width) + "x" +
                                   std::to_string(height) + " cannot be held"));
  }
  std::lock_guard lock(mutex_);
  release_waiting();
  format_ = pixel_format;
  width_ = width;
  height_ = height;
  picture_bytes_ = static_cast<std::size_t>(bytes);
  av_buffer_pool_uninit(&pool_);
  pool_ = av_buffer_pool_init2(
      static_cast<std::size_t>(bytes) + kPadding, this,
      [](void* opaque, std::size_t size) -> AVBufferRef* {
        ++static_cast<FramePool*>(opaque)->allocated_;  // push() holds the mutex
        return av_buffer_alloc(size);
      },
      nullptr);
  if (!pool_) return fail(Error::internal("out of memory"));
  return {};
}

std::size_t FramePool::picture_bytes() const {
  std::lock_guard lock(mutex_);
  return picture_bytes_;
}

bool FramePool::push(std::string_view data, std::int64_t ms) {
  std::unique_lock lock(mutex_);
  if (closed_ || !pool_ || data.size() != picture_bytes_) return false;
  AVFrame* frame = nullptr;
  if (waiting_.size() >= depth_) {  // drop-oldest: its struct carries the new picture
    frame = waiting_.front().first;
    av_frame_unref(frame);
    waiting_.pop_front();
    ++dropped_;
  } else if (!spare_.empty()) {
    frame = spare_.back();
    spare_.pop_back();
  } else {
    frame = av_frame_alloc();
    if (!frame) return false;
  }
  frame->buf[0] = av_buffer_pool_get(pool_);
  if (!frame->buf[0]) {
    spare_.push_back(frame);
    return false;
  }
  std::memcpy(frame->buf[0]->data, data.data(), data.size());
  frame->format = format_;
  frame->width = width_;
  frame->height = height_;
  av_image_fill_arrays(frame->data, frame->linesize, frame->buf[0]->data,
                       static_cast<AVPixelFormat>(format_), width_, height_, 1);
  waiting_.emplace_back(frame, ms);
  lock.unlock();
  ready_.notify_one();
  return true;
}

bool FramePool::take(AVFrame* out, std::int64_t& ms, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [this] { return closed_ || !waiting_.empty(); })) {
    return false;
  }
  if (waiting_.empty()) return false;
  auto [frame, at] = waiting_.front();
  waiting_.pop_front();
  av_frame_unref(out);
  av_frame_move_ref(out, frame);
  spare_.push_back(frame);
  ms = at;
  return true;
}

void FramePool::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

std::uint64_t FramePool::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

std::uint64_t FramePool::allocated() const {
  std::lock_guard lock(mutex_);
  return allocated_;
}

std::size_t FramePool::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

}  // namespace sluice::pipeline
