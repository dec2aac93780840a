#pragma once
// The HTTP/1.1 server (Boost.Beast): keep-alive, a 1 MiB body limit (413), routing through
// http::Router, deferred responses, server-sent events and the /ws WebSocket; WebSocket upgrades
// of `/wire` are handed to the relay (set_wire_upgrade). `HEAD` is answered like `GET` without
// the body (same status, headers and Content-Length). Each connection runs on its own strand
// of the shared io_context. No Beast in this header.
//
// Bounded (docs/operations.md, "Limits"): connections in total and per client address (refused
// at accept with 503 / 429), request headers within header_timeout, keep-alive waits within
// idle_timeout, every write making progress within write_timeout (replies, SSE, /ws), large
// replies being written within reply_budget bytes (503 beyond), SSE and /ws clients within
// max_event_streams, and what is queued for them within event_stream_budget. Each refusal is
// counted in Refusals.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"

namespace boost::asio {
class io_context;
}
namespace sluice::http {
class Router;
class HttpMetrics;
class PrometheusWriter;
}  // namespace sluice::http
namespace sluice::http {
struct HttpRequest;
class AllowedOrigins;
}  // namespace sluice::http
namespace sluice::hub {
class Hub;
class ClientPolicy;
}  // namespace sluice::hub
namespace sluice {
class Refusals;
}

namespace sluice::net {

// A WebSocket upgrade of `/wire`, detached from the HTTP server (defined in
// net/server_impl.hpp, internal to src/net).
struct WireUpgrade;
// Takes a `/wire` upgrade: returns true after taking ownership of `upgrade` (leaving it null),
// or false to refuse it (the relay is not running), and the client gets a 503. Called on an
// HTTP connection's strand; must not block.
using WireUpgradeHandler = std::function<bool(std::unique_ptr<WireUpgrade>& upgrade)>;

// The route label of HTTP-FLV requests in sluice_http_requests_total: they are answered on the
// media thread, outside the Router, and counted under this name.
inline constexpr std::string_view kFlvRoute = "GET /live/{name}.flv";

struct HttpServerOptions {
  std::size_t max_body_bytes = 1 << 20;
  std::size_t outbox_messages = 4096;   // per SSE/WebSocket client
  std::size_t outbox_bytes = 16 << 20;  // per SSE/WebSocket client
  // Browser origins allowed to use the API (CORS) and to open /ws and /wire; a page served by
  // sluiced itself (same host:port) is always allowed. Empty: no cross-origin page.
  std::shared_ptr<const http::AllowedOrigins> cors_origins;  // null: none
  // What a /ws client may do, from its authenticated request; null result: refuse the upgrade
  // (401). Unset: everything (tests and embedded use).
  std::function<std::shared_ptr<hub::ClientPolicy>(const http::HttpRequest&)> ws_policy;
  // Limits (core/limits.hpp); the defaults are Limits' resolved defaults.
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_address = 256;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t reply_budget = 128 * kMiB;
  std::size_t max_event_streams = 1'000;
  std::size_t event_stream_budget = 64 * kMiB;
  Refusals* refusals = nullptr;  // counts refusals; must outlive the server (null: not counted)

  // The options `limits` (resolved) ask for.
  static HttpServerOptions from(const Limits& limits, std::size_t max_body_bytes,
                                Refusals* refusals);
};

struct NetStats {
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::int64_t> event_streams_open{0};
  std::atomic<std::int64_t> websockets_open{0};
  std::atomic<std::uint64_t> dropped_frames{0};
  std::atomic<std::uint64_t> rejected_bodies{0};
};

class HttpServer {
 public:
  // All references must outlive the server.
  HttpServer(boost::asio::io_context& io, const http::Router& router, http::HttpMetrics& metrics,
             hub::Hub& hub, HttpServerOptions options);
  ~HttpServer();

  // Binds and starts accepting; returns the bound port (useful with port 0). Throws
  // std::system_error naming the address when it cannot bind (e.g. the port is taken).
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  // Stops accepting and closes every open connection. Safe to call from any thread.
  void stop();
  // Serves a connection accepted elsewhere (the HTTPS front door's plaintext end, owned from
  // now on) for a client at `peer`. Any thread.
  void adopt(int fd, std::string peer);
  // Applies changed limits (the live settings of docs/operations.md "Limits"): connection caps
  // from the next connection, deadlines from the next one set, budgets from the next take.
  // Any thread.
  void set_limits(const Limits& limits);
  // Hands WebSocket upgrades of `/wire` to `handler` (net::connect_wire_upgrades installs the
  // relay's). Without one, such upgrades get 503. Safe to call from any thread.
  void set_wire_upgrade(WireUpgradeHandler handler);
  // Hands `GET` and `HEAD /live/NAME.flv` requests (HTTP-FLV players) to `handler` the same way
  // (media::connect_media_handoff installs the media server's). Without one they get 503. They
  // are counted in the HttpMetrics under kFlvRoute.
  void set_media_handoff(WireUpgradeHandler handler);
  // Hands WebSocket upgrades of `/mqtt` (MQTT over WebSockets) to `handler`
  // (net::connect_mqtt_upgrades installs the MQTT server's). Without one they get 503.
  void set_mqtt_upgrade(WireUpgradeHandler handler);

  const NetStats& stats() const;
  void render_metrics(http::PrometheusWriter& w) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::net
