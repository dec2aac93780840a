#pragma once
// Byte budgets: one limit shared by many queues or buffers, so that what they hold together is
// bounded (docs/operations.md, "Limits") while each stays free to use more than an even share.
// A holder takes bytes before it keeps them and gives the same number back when it lets them go;
// a refused take is counted. The budget never allocates; the holders decide what a refusal means
// (their overflow policy).
//
//   ByteBudget        — one owner thread (the relay thread's sessions and queues).
//   SharedByteBudget  — any thread (HTTP replies, SSE and /ws outboxes); lock-free.
#include <atomic>
#include <cstdint>

namespace sluice {

class ByteBudget {
 public:
  explicit ByteBudget(std::size_t limit) : limit_(limit) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Takes `n` bytes when they fit; otherwise counts a refusal and returns false.
  bool try_take(std::size_t n) {
    if (n > limit_ || used_ > limit_ - n) {
      ++refused_;
      return false;
    }
    used_ += n;
    return true;
  }
  // Takes `n` bytes the holder checked with fits() (or must keep regardless).
  void take(std::size_t n) { used_ += n; }
  // Gives back bytes taken before.
  void give(std::size_t n) { used_ -= n; }
  std::size_t used() const { return used_; }
  std::size_t limit() const { return limit_; }
  // A new limit (a live setting): takes effect at the next take; bytes already held stay held.
  void set_limit(std::size_t limit) { limit_ = limit; }
  bool fits(std::size_t n) const { return n <= limit_ && used_ <= limit_ - n; }
  // Counts a refusal decided by the holder after fits() said no.
  void count_refusal() { ++refused_; }
  // Refused takes so far.
  std::uint64_t refused() const { return refused_; }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
  std::uint64_t refused_ = 0;
};

class SharedByteBudget {
 public:
  explicit SharedByteBudget(std::size_t limit) : limit_(limit) {}
  SharedByteBudget(const SharedByteBudget&) = delete;
  SharedByteBudget& operator=(const SharedByteBudget&) = delete;

  bool try_take(std::size_t n) {
    const std::size_t limit = limit_.load(std::memory_order_relaxed);
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit || used > limit - n) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  // Takes `n` bytes when they fit, or when nothing is taken at all (so that a holder larger than
  // the whole budget can still go, alone).
  bool try_take_or_alone(std::size_t n) {
    std::size_t empty = 0;
    return try_take(n) || used_.compare_exchange_strong(empty, n, std::memory_order_relaxed);
  }
  // Takes `n` bytes even past the limit: for the few bytes that must not be refused (an SSE
  // stream's response header), still accounted.
  void take(std::size_t n) { used_.fetch_add(n, std::memory_order_relaxed); }
  void give(std::size_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  // A new limit (a live setting): takes effect at the next take; bytes already held stay held.
  void set_limit(std::size_t limit) { limit_.store(limit, std::memory_order_relaxed); }
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> limit_;
  std::atomic<std::size_t> used_{0};
  std::atomic<std::uint64_t> refused_{0};
};

// What one holder (a parser reassembling input) has taken from a SharedByteBudget, kept equal to
// what it holds: settle(held) takes the growth or gives back the shrinkage. A growth the budget
// refuses is not taken (settle returns false: the holder drops what it was gathering and settles
// at what it then holds). Gives everything back when destroyed. No budget: never refuses.
class BudgetCharge {
 public:
  explicit BudgetCharge(SharedByteBudget* budget = nullptr) : budget_(budget) {}
  ~BudgetCharge() { settle(0); }
  BudgetCharge(const BudgetCharge&) = delete;
  BudgetCharge& operator=(const BudgetCharge&) = delete;

  bool settle(std::size_t held) {
    if (!budget_ || held == charged_) return true;
    if (held < charged_) {
      budget_->give(charged_ - held);
      charged_ = held;
      return true;
    }
    if (!budget_->try_take(held - charged_)) return false;
    charged_ = held;
    return true;
  }
  std::size_t charged() const { return charged_; }

 private:
  SharedByteBudget* budget_;
  std::size_t charged_ = 0;
};

}  // namespace sluice
