#pragma once
// A bounded queue of outgoing messages for one stream, with a named overflow policy. This is
// the per-subscriber buffer of docs/protocol.md: when a subscriber cannot keep up (its window is
// exhausted or its socket is slow), messages wait here, and past the limits the policy decides
// what is lost. Every drop is counted and reported to the receiver as a sequence gap (the first
// message sent after the skipped ones carries flag GAP with their number). Owned by one session;
// not thread-safe.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/byte_budget.hpp"

namespace sluice::wire {

enum class OverflowPolicy {
  kDropOldest,  // default: the oldest waiting message makes room
  kDropNewest,  // the arriving message is refused
  kDisconnect,  // the stream is reset with kSlowConsumer
  kBlock,       // the publisher's credit is withheld for at most `max_stall`, then drop-oldest
};
std::string_view to_string(OverflowPolicy policy);
std::optional<OverflowPolicy> parse_overflow_policy(std::string_view text);

struct QueueLimits {
  // One read of a publisher's socket (≤ 128 KiB, ~10k tiny frames) is fanned out before any
  // subscriber writes, so the default must hold such a burst without dropping.
  std::size_t max_messages = 16384;
  std::size_t max_bytes = 8 * 1024 * 1024;
  OverflowPolicy policy = OverflowPolicy::kDropOldest;
  std::chrono::milliseconds max_stall{100};
};

// One outgoing message. Either shared (`owner` keeps `shared_bytes` alive, so a fan-out payload
// is stored once and referenced by every subscriber's queue) or, when small, held inline.
struct OutMessage {
  static constexpr std::size_t kInlineCapacity = 40;

  std::shared_ptr<const void> owner;
  std::string_view shared_bytes;
  std::array<char, kInlineCapacity> inline_bytes;
  std::uint8_t inline_size = 0;
  std::uint16_t flags = 0;   // kRequest / kReply / kError / kAckRequested
  std::uint64_t token = 0;   // request or reply token
  std::string_view subject;  // sent with flag SUBJECT when non-empty; kept alive by `owner`

  std::string_view bytes() const {
    return owner ? shared_bytes : std::string_view(inline_bytes.data(), inline_size);
  }
};

// Holds small messages inline, copies larger ones into a fresh shared buffer.
OutMessage copy_message(std::string_view bytes);
// References bytes kept alive by `owner` (no copy).
OutMessage shared_message(std::shared_ptr<const void> owner, std::string_view bytes);

class SendQueue {
 public:
  enum class Offer {
    kQueued,
    kQueuedOverLimit,  // kBlock: accepted past the limits; the caller should stall the source
    kDroppedOldest,    // accepted; one or more older messages were dropped
    kDroppedNewest,    // refused and counted
    kDisconnect,       // refused; the policy asks to reset the stream
  };

  explicit SendQueue(QueueLimits limits = {}) : limits_(limits) {}
  ~SendQueue() { clear(); }
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  // Every queued message is also charged (its bytes plus kEntryOverhead) to `budget`, shared with
  // other queues (the relay's relay-buffer-budget). A message the budget cannot take is an
  // overflow whatever the queue's own limits, counted as a refusal of the budget: drop-oldest
  // makes room from this queue's oldest messages, then drops the new one if that is not enough;
  // disconnect resets; drop-newest and block drop the new message (block cannot stall a
  // publisher for memory that is not there).
  // Set before the first offer(); `budget` must outlive the queue. Null: no shared budget.
  void set_budget(ByteBudget* budget) { budget_ = budget; }
  static constexpr std::size_t kEntryOverhead = 96;  // a deque entry and its bookkeeping

  Offer offer(OutMessage message);
  bool empty() const { return queue_.empty(); }
  std::size_t size() const { return queue_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool over_limit() const {
    return queue_.size() > limits_.max_messages || bytes_ > limits_.max_bytes;
  }
  // kBlock after the stall expired: drop oldest until within limits (counted).
  // Returns how many messages it dropped.
  std::size_t trim_to_limits();

  // The caller may move the message out before pop_front(); the queue's byte count does not
  // depend on it.
  OutMessage& front() { return queue_.front().message; }
  // Removes the front message; the gap to announce before it becomes the pending gap.
  void pop_front();
  // Messages dropped just before the message last popped; the sender announces and clears it.
  std::uint64_t take_pending_gap() { return std::exchange(pending_gap_, 0); }
  // The gap the front message will announce (drops that happened before it).
  std::uint64_t pending_gap() const {
    return pending_gap_ + (queue_.empty() ? 0 : queue_.front().gap_before);
  }
  std::uint64_t dropped_total() const { return dropped_total_; }
  // A message refused before offer() (e.g. larger than the peer accepts): counted as a drop,
  // announced like a kDropNewest refusal by the next message queued (it came after the ones
  // already waiting).
  void count_refused() {
    ++newest_gap_;
    ++dropped_total_;
  }
  const QueueLimits& limits() const { return limits_; }
  // New limits for the messages to come; what is queued stays (it is trimmed, if at all, by
  // the next offer() or trim_to_limits()).
  void set_limits(QueueLimits limits) { limits_ = limits; }
  void clear();

 private:
  // A queued message with its size (counted when queued) and the messages dropped between it
  // and the message queued before it (kDropNewest refusals happen behind the newest message,
  // so they are announced by the next one queued, not by the front).
  struct Entry {
    OutMessage message;
    std::size_t size = 0;
    std::uint64_t gap_before = 0;
  };
  void push(OutMessage message, std::size_t size);
  void drop_front();
  // offer() when the shared budget cannot take `size` more bytes.
  Offer offer_over_budget(OutMessage message, std::size_t size);
  bool budget_fits(std::size_t size) const {
    return !budget_ || budget_->fits(size + kEntryOverhead);
  }
  void release(std::size_t size) {
    bytes_ -= size;
    if (budget_) budget_->give(size + kEntryOverhead);
  }

  QueueLimits limits_;
  ByteBudget* budget_ = nullptr;
  std::deque<Entry> queue_;
  std::size_t bytes_ = 0;
  std::uint64_t pending_gap_ = 0;  // drops before the front (drop-oldest, trims) and popped gaps
  std::uint64_t newest_gap_ = 0;   // kDropNewest refusals since the last message queued
  std::uint64_t dropped_total_ = 0;
};

}  // namespace sluice::wire
