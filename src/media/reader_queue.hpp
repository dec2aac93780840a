#pragma once
// ReaderQueue: the bounded queue between a live path and one reader (an RTMP player, an HTTP-FLV
// response). Sans I/O, single-threaded (the media thread).
//
// Overflow policy **skip-to-keyframe**: when a packet would exceed max_packets or max_bytes,
// everything queued that was not yet taken is discarded, and so is every following packet until
// the next restart point (a video keyframe; any audio packet on a path without video), which
// starts the queue afresh. Codec configuration packets are never discarded while skipping
// (they are tiny and a decoder needs them). Each discarded packet is counted in dropped();
// each overflow in skips(). A slow reader therefore costs the publisher and the other readers
// nothing: the path only ever appends to this queue.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "media/packet.hpp"

namespace sluice::media {

struct ReaderLimits {
  std::size_t max_packets = 2048;
  std::size_t max_bytes = 8 * 1024 * 1024;  // body bytes
};

class ReaderQueue {
 public:
  explicit ReaderQueue(ReaderLimits limits = {}) : limits_(limits) {}

  // Returns false when the packet was discarded.
  bool offer(const PacketPtr& p, bool restart_point);

  // Moves up to `max_packets` packets (at least one if any is queued) whose body bytes add up
  // to at most `max_bytes` into `out`.
  void take(std::vector<PacketPtr>& out, std::size_t max_packets, std::size_t max_bytes);

  bool empty() const { return queue_.empty(); }
  std::size_t size() const { return queue_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::uint64_t dropped() const { return dropped_; }
  std::uint64_t skips() const { return skips_; }
  bool skipping() const { return skipping_; }

 private:
  ReaderLimits limits_;
  std::deque<PacketPtr> queue_;
  std::size_t bytes_ = 0;
  bool skipping_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t skips_ = 0;
};

}  // namespace sluice::media
