#pragma once
// The seam between the registry and whatever carries its events: the in-process hub today
// (LocalBus in src/server), NATS when distributed. Implementations are thread-safe.
#include <chrono>
#include <expected>
#include <functional>
#include <string>
#include <string_view>

#include "hub/hub.hpp"

namespace sluice::hub {

struct BusFailure {
  enum class Kind { kNoResponders, kTimeout, kUnavailable };
  Kind kind;
  std::string detail;
};

using RequestCallback = std::function<void(std::expected<MessagePtr, BusFailure>)>;

class Bus {
 public:
  virtual ~Bus() = default;
  virtual void publish(std::string_view subject, std::string data) = 0;
  // Lets publishers skip building payloads nobody reads.
  virtual bool has_subscribers(std::string_view subject) const = 0;
  // Calls `done` exactly once: with the first reply, or a failure (no responder at once; timeout
  // after `timeout`). May be called on any thread.
  virtual void request(std::string_view subject, std::string data,
                       std::chrono::milliseconds timeout, RequestCallback done) = 0;

  // For /health: what carries the events ("in-process", "nats://host:4222"), and what is wrong
  // with it (empty when healthy; otherwise names the service and the reason).
  virtual std::string describe() const = 0;
  virtual std::string problem() const { return {}; }

  // Stops traffic from outside the process (other nodes' events, remote requests and replies,
  // bridged channels); publish() keeps reaching local subscribers. Idempotent. The owner calls
  // it before destroying the modules that receive bus traffic (the relay, the servers).
  virtual void quiesce() {}
};

}  // namespace sluice::hub
