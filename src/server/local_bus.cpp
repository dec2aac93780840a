#include "server/local_bus.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>

namespace sluice::server {
namespace {

// Shared by the reply handler and the timeout; whichever comes first answers.
struct PendingCall {
  explicit PendingCall(boost::asio::io_context& io, hub::RequestCallback done)
      : timer(io), done(std::move(done)) {}
  boost::asio::steady_timer timer;
  hub::RequestCallback done;
  std::atomic<bool> answered{false};
  // Set before the timer is armed, and touched afterwards only by the timer's handler.
  hub::Hub::PendingRequest pending;
};

}  // namespace

void LocalBus::publish(std::string_view subject, std::string data) {
  hub_.publish(subject, std::move(data));
}

bool LocalBus::has_subscribers(std::string_view subject) const {
  return hub_.has_subscribers(subject);
}

void LocalBus::request(std::string_view subject, std::string data,
                       std::chrono::milliseconds timeout, hub::RequestCallback done) {
  auto call = std::make_shared<PendingCall>(io_, std::move(done));
  std::weak_ptr<PendingCall> weak = call;
  auto pending = hub_.request(subject, std::move(data), [weak](const hub::MessagePtr& reply) {
    auto c = weak.lock();
    if (!c || c->answered.exchange(true)) return;
    c->timer.cancel();
    c->done(reply);
  });
  if (!pending) {
    return call->done(std::unexpected(
        hub::BusFailure{hub::BusFailure::Kind::kNoResponders, pending.error().detail}));
  }
  call->pending = std::move(*pending);
  call->timer.expires_after(timeout);
  call->timer.async_wait([call](boost::system::error_code) {
    if (call->answered.exchange(true)) return;
    call->pending.cancel();
    call->done(std::unexpected(hub::BusFailure{hub::BusFailure::Kind::kTimeout, "timed out"}));
  });
}

}  // namespace sluice::server
