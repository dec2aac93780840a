#include "wire/send_queue.hpp"

#include <algorithm>

namespace sluice::wire {

std::string_view to_string(OverflowPolicy policy) {
  switch (policy) {
    case OverflowPolicy::kDropOldest:
      return "drop-oldest";
    case OverflowPolicy::kDropNewest:
      return "drop-newest";
    case OverflowPolicy::kDisconnect:
      return "disconnect";
    case OverflowPolicy::kBlock:
      return "block";
  }
  return "drop-oldest";
}

std::optional<OverflowPolicy> parse_overflow_policy(std::string_view text) {
  for (auto p : {OverflowPolicy::kDropOldest, OverflowPolicy::kDropNewest,
                 OverflowPolicy::kDisconnect, OverflowPolicy::kBlock}) {
    if (to_string(p) == text) return p;
  }
  return std::nullopt;
}

OutMessage copy_message(std::string_view bytes) {
  OutMessage m;
  if (bytes.size() <= OutMessage::kInlineCapacity) {
    std::copy(bytes.begin(), bytes.end(), m.inline_bytes.begin());
    m.inline_size = static_cast<std::uint8_t>(bytes.size());
    return m;
  }
  auto owner = std::make_shared<const std::string>(bytes);
  m.shared_bytes = *owner;
  m.owner = std::move(owner);
  return m;
}

OutMessage shared_message(std::shared_ptr<const void> owner, std::string_view bytes) {
  OutMessage m;
  m.owner = std::move(owner);
  m.shared_bytes = bytes;
  return m;
}

SendQueue::Offer SendQueue::offer(OutMessage message) {
  const std::size_t size = message.bytes().size();
  if (!budget_fits(size)) return offer_over_budget(std::move(message), size);
  const bool fits = queue_.size() + 1 <= limits_.max_messages && bytes_ + size <= limits_.max_bytes;
  if (fits || queue_.empty()) {
    // An empty queue always takes one message, however large: the limits bound waiting, not
    // message size (that is max_message_size's job).
    push(std::move(message), size);
    return Offer::kQueued;
  }
  switch (limits_.policy) {
    case OverflowPolicy::kDropNewest:
      ++newest_gap_;
      ++dropped_total_;
      return Offer::kDroppedNewest;
    case OverflowPolicy::kDisconnect:
      return Offer::kDisconnect;
    case OverflowPolicy::kBlock:
      push(std::move(message), size);
      return Offer::kQueuedOverLimit;
    case OverflowPolicy::kDropOldest:
      break;
  }
  push(std::move(message), size);
  while (queue_.size() > 1 &&
         (queue_.size() > limits_.max_messages || bytes_ > limits_.max_bytes)) {
    drop_front();
  }
  return Offer::kDroppedOldest;
}

SendQueue::Offer SendQueue::offer_over_budget(OutMessage message, std::size_t size) {
  budget_->count_refusal();  // the budget could not take it as it came
  switch (limits_.policy) {
    case OverflowPolicy::kDisconnect:
      return Offer::kDisconnect;
    case OverflowPolicy::kDropOldest:
      while (!queue_.empty() && !budget_fits(size))
        drop_front();
      if (budget_fits(size)) {
        push(std::move(message), size);
        while (queue_.size() > 1 &&
               (queue_.size() > limits_.max_messages || bytes_ > limits_.max_bytes)) {
          drop_front();
        }
        return Offer::kDroppedOldest;
      }
      break;
    case OverflowPolicy::kDropNewest:
    case OverflowPolicy::kBlock:
      break;
  }
  ++newest_gap_;
  ++dropped_total_;
  return Offer::kDroppedNewest;
}

void SendQueue::push(OutMessage message, std::size_t size) {
  bytes_ += size;
  if (budget_) budget_->take(size + kEntryOverhead);  // the caller checked budget_fits()
  queue_.push_back({std::move(message), size, std::exchange(newest_gap_, 0)});
}

std::size_t SendQueue::trim_to_limits() {
  std::size_t dropped = 0;
  for (; queue_.size() > 1 && over_limit(); ++dropped)
    drop_front();
  return dropped;
}

void SendQueue::drop_front() {
  // The dropped message and the gap it would have announced pass to the next one.
  pending_gap_ += queue_.front().gap_before + 1;
  release(queue_.front().size);
  queue_.pop_front();
  ++dropped_total_;
}

void SendQueue::pop_front() {
  // The stored size, not front().bytes(): the caller has usually moved the message out.
  pending_gap_ += queue_.front().gap_before;
  release(queue_.front().size);
  queue_.pop_front();
}

void SendQueue::clear() {
  if (budget_) budget_->give(bytes_ + queue_.size() * kEntryOverhead);
  queue_.clear();
  bytes_ = 0;
}

}  // namespace sluice::wire
