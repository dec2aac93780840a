#pragma once
// A connection's queue of outgoing frames: bounded in messages and bytes, overflow policy
// drop-oldest (the newest state matters most to a live viewer), every drop counted. Producers
// on any thread push(); the connection's single writer pops. Exactly one writer runs at a time:
// push() says when the queue was idle, telling that producer to start the writer. Frames are
// shared by pointer, so an event fanned out to many clients can be built once (SSE).
//
// Every queued byte is also taken from a budget shared by all SSE and /ws clients
// (event-stream-budget, docs/operations.md "Limits"). When it is exhausted, this client's own
// oldest frames make room; when it has none left, the new frame is dropped — counted like the
// other drops and announced in-band — so that slow readers together hold at most the budget.
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "core/byte_budget.hpp"

namespace sluice::net {

class Outbox {
 public:
  using Frame = std::shared_ptr<const std::string>;

  // `budget` (may be null) must outlive the outbox.
  Outbox(std::size_t max_messages, std::size_t max_bytes, SharedByteBudget* budget = nullptr)
      : max_messages_(max_messages), max_bytes_(max_bytes), budget_(budget) {}
  ~Outbox() { close(); }
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  struct Pushed {
    bool start_writer = false;  // the queue was idle: the caller starts the writer
    // The shared budget could not take the frame as it came: this client's oldest frames made
    // room, or (with none left) the frame itself was dropped.
    bool over_budget = false;
  };

  // Queues `frame`. `essential` frames (a response header) are taken from the budget even past
  // its limit: they are few and small, and the stream means nothing without them. A frame shared
  // with other clients' outboxes is charged to each (the budget errs on the safe side).
  Pushed push(Frame frame, bool essential = false) {
    std::lock_guard lock(mutex_);
    Pushed out;
    if (closed_ || !frame) return out;
    const std::size_t size = frame->size();
    if (budget_) {
      if (essential) {
        budget_->take(size);
      } else {
        while (!budget_->try_take(size)) {
          out.over_budget = true;
          if (items_.empty()) {
            ++dropped_;
            ++dropped_total_;
            return out;
          }
          drop_front();
        }
      }
    }
    bytes_ += size;
    items_.push_back(std::move(frame));
    while (items_.size() > 1 && (items_.size() > max_messages_ || bytes_ > max_bytes_))
      drop_front();
    if (writing_) return out;
    writing_ = true;
    out.start_writer = true;
    return out;
  }

  Pushed push(std::string frame, bool essential = false) {
    return push(std::make_shared<const std::string>(std::move(frame)), essential);
  }

  // Next frame for the writer, or null (and the writer stops) when empty.
  Frame pop() {
    std::lock_guard lock(mutex_);
    if (items_.empty() || closed_) {
      writing_ = false;
      return nullptr;
    }
    Frame f = std::move(items_.front());
    items_.pop_front();
    release(f->size());
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
    if (budget_) budget_->give(bytes_);
    items_.clear();
    bytes_ = 0;
  }
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  void release(std::size_t size) {
    bytes_ -= size;
    if (budget_) budget_->give(size);
  }
  void drop_front() {
    release(items_.front()->size());
    items_.pop_front();
    ++dropped_;
    ++dropped_total_;
  }

  const std::size_t max_messages_;
  const std::size_t max_bytes_;
  SharedByteBudget* const budget_;
  mutable std::mutex mutex_;
  std::deque<Frame> items_;
  std::size_t bytes_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t dropped_total_ = 0;
};

}  // namespace sluice::net
