#pragma once
// The embedded Bus: the in-process Hub for publish and request/reply, with request timeouts on
// the io_context's timers. Thread-safe.
#include "hub/bus.hpp"

namespace boost::asio {
class io_context;
}

namespace sluice::server {

class LocalBus final : public hub::Bus {
 public:
  // `hub` and `io` must outlive the bus.
  LocalBus(hub::Hub& hub, boost::asio::io_context& io) : hub_(hub), io_(io) {}

  void publish(std::string_view subject, std::string data) override;
  bool has_subscribers(std::string_view subject) const override;
  void request(std::string_view subject, std::string data, std::chrono::milliseconds timeout,
               hub::RequestCallback done) override;
  std::string describe() const override { return "in-process"; }

 private:
  hub::Hub& hub_;
  boost::asio::io_context& io_;
};

}  // namespace sluice::server
