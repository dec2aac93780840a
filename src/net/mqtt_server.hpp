#pragma once
// The MQTT listener (--mqtt HOST:PORT) and MQTT over WebSocket (`/mqtt` on the HTTP port, handed
// over by the HTTP server like `/wire`): the sockets of mqtt::Broker, on one thread of its own
// that owns the broker, so routing takes no locks. Each connection's packets are batched: what
// the broker writes while handling one read (or one tick, one injected message) leaves in one
// socket write. A connection whose own backlog is over the broker's max_sink_backlog is not read
// until it drains (a client that does not read its acknowledgements stops being served, others
// go on). Bounded: connections in total and per address (refused at accept), the broker's
// limits. No Asio in this header.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/event_loop.hpp"
#include "mqtt/mqtt_broker.hpp"

namespace sluice::net {

class HttpServer;

struct MqttServerOptions {
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_address = 256;
};

class MqttServer {
 public:
  // `hooks` must outlive the server; they are called on its thread.
  MqttServer(mqtt::BrokerHooks& hooks, mqtt::BrokerOptions broker, MqttServerOptions options);
  ~MqttServer();  // stop()

  // Binds the TCP listener; returns the bound port. Throws std::system_error naming the address.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  // Starts the thread (accepting TCP if listen() was called, and `/mqtt` upgrades).
  void start();
  // v5 clients are told the server is shutting down; wills are published; the thread ends.
  void stop();

  // The broker's thread: post broker calls here (authenticated(), inject()).
  EventLoop& loop();
  // Only on loop().
  mqtt::Broker& broker();
  // A copy of the broker's counters, refreshed every tick. Any thread.
  mqtt::BrokerStats stats() const;
  std::uint64_t refused_connections() const;

  struct Impl;

 private:
  friend void connect_mqtt_upgrades(HttpServer& http, MqttServer& mqtt);
  std::shared_ptr<Impl> impl_;
};

// Hands the HTTP server's `/mqtt` WebSocket upgrades to `mqtt`.
void connect_mqtt_upgrades(HttpServer& http, MqttServer& mqtt);

}  // namespace sluice::net
