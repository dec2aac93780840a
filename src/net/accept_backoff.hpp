#pragma once
// Internal to src/net: what an accept loop does when accept() fails. Out of descriptors
// (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM), accepting again at once fails again and
// turns the loop into a hot spin: the loop waits 50 ms instead, doubling up to 500 ms while the
// failures go on, counts each failure as a refusal (logged at most once a second), and is back
// at full speed after the next success. Other errors (a peer gone before accept: ECONNABORTED)
// are retried at once. Runs on the acceptor's executor; one accept is outstanding at a time.
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "core/refusals.hpp"

namespace sluice::net {

class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{50};
  static constexpr std::chrono::milliseconds kMax{500};

  template <class Executor>
  AcceptBackoff(const Executor& executor, Refusals* refusals, Refusal kind, const char* listener)
      : timer_(executor), refusals_(refusals), kind_(kind), listener_(listener) {}

  // Whether `ec` means the process or the system ran out of descriptors or memory.
  static bool exhausted(const boost::system::error_code& ec) {
    if (ec.category() != boost::system::system_category()) return false;
    const int e = ec.value();
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
  }

  // After a failed accept: calls `accept_again` at once, or after the back-off when the failure
  // was exhaustion (never when the timer is cancelled by stop()).
  template <class Fn>
  void failed(const boost::system::error_code& ec, Fn accept_again) {
    if (!exhausted(ec)) return accept_again();
    delay_ = delay_.count() == 0 ? kFirst : std::min(delay_ * 2, kMax);
    if (refusals_) {
      refusals_->count(kind_, [&] {
        return std::string(listener_) + " cannot accept connections: " + ec.message() +
               "; retrying in " + std::to_string(delay_.count()) +
               " ms (raise the open-files limit or lower the connection caps)";
      });
    }
    timer_.expires_after(delay_);
    timer_.async_wait([accept_again = std::move(accept_again)](boost::system::error_code wait_ec) {
      if (!wait_ec) accept_again();
    });
  }
  void succeeded() { delay_ = std::chrono::milliseconds(0); }
  // Stops a pending retry (the listener is closing).
  void cancel() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
  Refusals* refusals_;
  Refusal kind_;
  const char* listener_;
  std::chrono::milliseconds delay_{0};
};

}  // namespace sluice::net
