#include "media/reader_queue.hpp"

namespace sluice::media {

bool ReaderQueue::offer(const PacketPtr& p, bool restart_point) {
  if (skipping_) {
    if (!restart_point && !p->sequence_header) {
      ++dropped_;
      return false;
    }
    if (restart_point) skipping_ = false;
  }
  const std::size_t size = p->body.size();
  if (queue_.size() + 1 > limits_.max_packets || bytes_ + size > limits_.max_bytes) {
    dropped_ += queue_.size();
    queue_.clear();
    bytes_ = 0;
    ++skips_;
    if (!restart_point) {
      skipping_ = true;
      if (!p->sequence_header) {
        ++dropped_;
        return false;
      }
    }
  }
  queue_.push_back(p);
  bytes_ += size;
  return true;
}

void ReaderQueue::take(std::vector<PacketPtr>& out, std::size_t max_packets,
                       std::size_t max_bytes) {
  std::size_t taken_bytes = 0;
  std::size_t taken = 0;
  while (!queue_.empty() && taken < max_packets) {
    const std::size_t size = queue_.front()->body.size();
    if (taken > 0 && taken_bytes + size > max_bytes) break;
    taken_bytes += size;
    bytes_ -= size;
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
    ++taken;
  }
}

}  // namespace sluice::media
