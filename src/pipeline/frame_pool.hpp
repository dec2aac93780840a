#pragma once
// FramePool: raw pictures handed from a producer thread (a relay channel's messages) to a
// pipeline's thread. Buffers come from a libavutil buffer pool sized for the picture (reused: no
// allocation per picture once warm, allocated() stays small); at most `depth` pictures wait, and a
// picture that comes while `depth` wait pushes out the oldest one — overflow policy drop-oldest,
// counted in dropped(): a live source keeps its newest pictures when the encoder falls behind.
// Thread-safe. Heavy headers stay in the .cpp.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct AVFrame;
struct AVBufferPool;

namespace sluice::pipeline {

class FramePool {
 public:
  explicit FramePool(std::size_t depth = 3);
  ~FramePool();
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;

  // The layout pictures are copied into (an AVPixelFormat, tightly packed planes); pictures
  // waiting in another layout are dropped. 422 for a format libavutil does not know or a size it
  // refuses.
  Status configure(int pixel_format, int width, int height);
  // Bytes of one picture in the layout (0 before configure()).
  std::size_t picture_bytes() const;
  // Producer: copies `data` (exactly picture_bytes()) as one picture taken at `ms`. False when
  // its size is wrong or the pool is closed (the picture is refused, not dropped).
  bool push(std::string_view data, std::int64_t ms);
  // Consumer: the oldest waiting picture moved into `frame` (unreferenced first) with its time;
  // false when none came within `timeout` or the pool is closed.
  bool take(AVFrame* frame, std::int64_t& ms, std::chrono::milliseconds timeout);
  // Wakes the consumer; push() refuses from now on.
  void close();
  std::uint64_t dropped() const;
  std::uint64_t allocated() const;  // buffers the pool made
  std::size_t waiting() const;

 private:
  void release_waiting();  // under mutex_
  const std::size_t depth_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  AVBufferPool* pool_ = nullptr;  // of picture_bytes_-sized buffers
  int format_ = -1, width_ = 0, height_ = 0;
  std::size_t picture_bytes_ = 0;
  std::deque<std::pair<AVFrame*, std::int64_t>> waiting_;
  std::vector<AVFrame*> spare_;  // frame structs reused (their buffers went back to the pool)
  bool closed_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t allocated_ = 0;  // under mutex_ (the pool's allocator is called from push)
};

}  // namespace sluice::pipeline
