#pragma once
// Internal to src/net: the shared state of an HttpServer and the Beast types its connections
// use. Included only by src/net/*.cpp so Beast stays out of every other translation unit.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <unistd.h>

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "net/http_server.hpp"

namespace sluice::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Anything the server must be able to close on stop().
class Closable {
 public:
  virtual ~Closable() = default;
  virtual void close() = 0;  // thread-safe: posts to the connection's strand
};

// An HTTP connection handed to another thread — the relay's WebSocket (`/wire`) or an HTTP-FLV
// player (`/live/NAME.flv`) — detached from the HTTP server: the socket's native handle (owned:
// closed on destruction unless released) and the upgrade request the WebSocket handshake must
// answer. Moves between threads by unique_ptr.
struct WireUpgrade {
  WireUpgrade(tcp protocol, tcp::socket::native_handle_type fd,
              bhttp::request<bhttp::string_body> request)
      : protocol(protocol), fd(fd), request(std::move(request)) {}
  ~WireUpgrade() {
    if (fd >= 0) ::close(fd);
  }
  WireUpgrade(const WireUpgrade&) = delete;
  WireUpgrade& operator=(const WireUpgrade&) = delete;
  // Hands the descriptor over; the caller now closes it.
  tcp::socket::native_handle_type release() { return std::exchange(fd, -1); }

  tcp protocol;
  tcp::socket::native_handle_type fd;
  bhttp::request<bhttp::string_body> request;
  // HTTP-FLV: told the status of the answer once, on the media thread, so the request is
  // counted in sluice_http_requests_total like those the Router answers. Empty for /wire.
  std::function<void(int status)> on_status;
  // Set when the connection came through the HTTPS front door: the client's address (the socket
  // is a local pair and cannot tell it) and that the client's link is encrypted.
  std::string peer;
  bool secure = false;
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, const http::Router& router, http::HttpMetrics& metrics, hub::Hub& hub,
       HttpServerOptions options)
      : io(io), router(router), metrics(metrics), hub(hub), options(options), acceptor(io) {}

  void accept();
  void track(const std::shared_ptr<Closable>& c);
  void untrack(Closable* c);
  void stop();

  asio::io_context& io;
  const http::Router& router;
  http::HttpMetrics& metrics;
  hub::Hub& hub;
  HttpServerOptions options;
  NetStats stats;
  tcp::acceptor acceptor;
  std::mutex mutex;
  std::unordered_map<Closable*, std::weak_ptr<Closable>> live;
  WireUpgradeHandler wire_upgrade;   // guarded by `mutex`; empty: /wire answers 503
  WireUpgradeHandler media_handoff;  // guarded by `mutex`; empty: /live/NAME.flv answers 503
  int flv_route = -1;                // metrics route of /live/NAME.flv (set once, at construction)
  bool stopping = false;
};

// `peer` (may be empty: read from the socket) is the client's address for connections adopted
// from the HTTPS front door.
void start_http_connection(std::shared_ptr<HttpServer::Impl> server, tcp::socket socket,
                           std::string peer = {});
// `policy` (may be null: everything allowed) decides what the client may do on the hub.
void start_websocket(std::shared_ptr<HttpServer::Impl> server, beast::tcp_stream stream,
                     bhttp::request<bhttp::string_body> upgrade,
                     std::shared_ptr<hub::ClientPolicy> policy);

}  // namespace sluice::net
