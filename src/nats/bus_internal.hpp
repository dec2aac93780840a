#pragma once
// NatsBus's private parts that need Asio; included only by src/nats/*.cpp.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdint>

#include "nats/nats_bus.hpp"

namespace sluice::nats {

// Shared with callbacks, so counting never touches a bus that is going away.
struct NatsBus::Counters {
  std::atomic<std::uint64_t> published{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> requests_local{0};
  std::atomic<std::uint64_t> requests_ok{0};
  std::atomic<std::uint64_t> requests_no_responders{0};
  std::atomic<std::uint64_t> requests_timeout{0};
  std::atomic<std::uint64_t> requests_unavailable{0};
  std::atomic<std::uint64_t> requests_forwarded{0};
  std::atomic<std::uint64_t> mirrored{0};
  std::atomic<std::uint64_t> backlog_dropped{0};  // incoming events refused by the backlog bound
  std::atomic<std::size_t> backlog{0};            // incoming events waiting for the io strand
};

// A request sent over NATS, waiting for its reply on inbox_prefix_ + id.
struct NatsBus::Call {
  Call(boost::asio::io_context& io, hub::RequestCallback done_, std::string subject_)
      : timer(io), done(std::move(done_)), subject(std::move(subject_)) {}
  boost::asio::steady_timer timer;
  hub::RequestCallback done;
  std::string subject;
};

struct NatsBus::Timers {
  explicit Timers(boost::asio::io_context& io) : tick(io), strand(io.get_executor()) {}
  boost::asio::steady_timer tick;  // responder resync
  // Events and heartbeats from NATS enter the hub here, in order, off libnats' delivery thread
  // (a heartbeat listener may do store I/O).
  boost::asio::strand<boost::asio::io_context::executor_type> strand;
};

}  // namespace sluice::nats
