#pragma once
// The relay's TCP and TLS listeners and its event loop. One thread (the relay thread) runs every
// wire connection, the relay and its tick timer, so relay state needs no locks
// (docs/ARCHITECTURE.md, "Relay"). Connections read into the session's buffer, write its
// batches with scatter/gather and at most one write in flight. WebSocket connections (`/wire` on
// the HTTP port) arrive from the HTTP server through connect_wire_upgrades(). No Asio here.
#include <cstdint>
#include <memory>
#include <string>

namespace sluice::relay {
class Relay;
}  // namespace sluice::relay
namespace sluice {
class EventLoop;
class Refusals;
}  // namespace sluice

namespace sluice::net {

class HttpServer;

class WireServer {
 public:
  // `refusals` (may be null) counts accept failures for lack of descriptors; it must outlive the
  // server.
  explicit WireServer(Refusals* refusals = nullptr);
  ~WireServer();
  WireServer(const WireServer&) = delete;
  WireServer& operator=(const WireServer&) = delete;

  // The loop the Relay must be constructed with.
  EventLoop& loop();
  // Binds now; returns the bound port. Throws std::system_error naming the address.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  // Binds the TLS 1.3 listener with a PEM certificate chain and key; returns the bound port.
  // Throws std::system_error naming the file or address.
  std::uint16_t listen_tls(const std::string& host, std::uint16_t port,
                           const std::string& cert_file, const std::string& key_file);
  // Starts the relay thread: accepting, serving, ticking `relay`. `relay` must outlive stop().
  void start(relay::Relay& relay);
  // Sends GOAWAY to every session, closes everything and joins the thread. Idempotent.
  void stop();

  struct Impl;

 private:
  friend void connect_wire_upgrades(HttpServer& http, WireServer& wire);
  std::shared_ptr<Impl> impl_;
};

// Serves WebSocket upgrades of `/wire` on `http`'s port as relay connections of `wire`: each
// socket moves to the relay thread, which answers the handshake (docs/protocol.md,
// "Transports"). While `wire` is not started, or after it stopped, such upgrades get 503. Either
// server may be destroyed first. Call once, before HTTP traffic starts.
void connect_wire_upgrades(HttpServer& http, WireServer& wire);

}  // namespace sluice::net
