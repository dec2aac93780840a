#pragma once
// App: builds the daemon's modules from a Config and runs them. sluiced's main() is a thin
// wrapper; tests host an App in-process. Construction and start() throw on start-up errors
// (bad history path, port taken); after that nothing throws.
#include <cstdint>
#include <memory>

#include "core/config.hpp"
#include "http/router.hpp"

namespace sluice::hub {
class Hub;
}
namespace sluice::keys {
class KeyService;
}
namespace sluice::registry {
class Registry;
}
namespace sluice::relay {
class Relay;
}

namespace sluice::server {

class App {
 public:
  explicit App(Config config);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Binds the listeners and arms the timers; returns the bound HTTP port.
  std::uint16_t start();
  // Runs the I/O threads until stop(); blocks the caller (which is one of the threads).
  void run();
  // Thread-safe and idempotent: stops accepting, closes connections, ends run().
  void stop();

  std::uint16_t http_port() const;
  std::uint16_t wire_port() const;
  std::uint16_t wire_tls_port() const;
  std::uint16_t rtmp_port() const;   // 0 when rtmp = off
  std::uint16_t https_port() const;  // 0 unless https is on
  std::uint16_t rtmps_port() const;  // 0 unless rtmps is on
  // The relay runs on its own thread: call its methods through relay().loop().post().
  relay::Relay& relay();
  const std::vector<http::RouteInfo>& routes() const;
  registry::Registry& registry();
  hub::Hub& hub();
  // Stream keys: thread-safe; the RTMP server calls check_publish()/check_read() on it.
  keys::KeyService& keys();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::server
