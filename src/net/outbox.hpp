#pragma once
// A connection's queue of outgoing frames: bounded in messages and bytes, overflow policy
// drop-oldest (the newest state matters most to a live viewer), every drop counted. Producers
// on any thread push(); the connection's single writer pops. Exactly one writer runs at a time:
// push() returns true when the queue was idle, telling that producer to start the writer.
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace sluice::net {

class Outbox {
 public:
  Outbox(std::size_t max_messages, std::size_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  bool push(std::string frame) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    bytes_ += frame.size();
    items_.push_back(std::move(frame));
    while (items_.size() > 1 && (items_.size() > max_messages_ || bytes_ > max_bytes_)) {
      bytes_ -= items_.front().size();
      items_.pop_front();
      ++dropped_;
      ++dropped_total_;
    }
    if (writing_) return false;
    writing_ = true;
    return true;
  }

  // Next frame for the writer, or nullopt (and the writer stops) when empty.
  std::optional<std::string> pop() {
    std::lock_guard lock(mutex_);
    if (items_.empty() || closed_) {
      writing_ = false;
      return std::nullopt;
    }
    std::string f = std::move(items_.front());
    items_.pop_front();
    bytes_ -= f.size();
    return f;
  }

  // Drops counted since the last call (for in-band "you missed N" notices).
  std::uint64_t take_dropped() {
    std::lock_guard lock(mutex_);
    return std::exchange(dropped_, 0);
  }
  std::uint64_t dropped_total() const {
    std::lock_guard lock(mutex_);
    return dropped_total_;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    items_.clear();
    bytes_ = 0;
  }
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  const std::size_t max_messages_;
  const std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::deque<std::string> items_;
  std::size_t bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t dropped_total_ = 0;
};

}  // namespace sluice::net
