#pragma once
// Internal to src/net: the shared state of an HttpServer and the Beast types its connections
// use. Included only by src/net/*.cpp so Beast stays out of every other translation unit.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "core/byte_budget.hpp"
#include "core/refusals.hpp"
#include "http/http_types.hpp"
#include "net/accept_backoff.hpp"
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

class ConnectionSlot;

// The limits that may change while the server runs (HttpServer::set_limits, the live settings
// of docs/operations.md "Limits"), read by every connection's thread. A change applies to the
// next connection admitted and the next deadline set.
struct LiveHttpLimits {
  explicit LiveHttpLimits(const HttpServerOptions& o)
      : max_connections(o.max_connections),
        max_connections_per_address(o.max_connections_per_address),
        max_event_streams(o.max_event_streams),
        header_timeout(o.header_timeout),
        idle_timeout(o.idle_timeout),
        write_timeout(o.write_timeout) {}
  std::atomic<std::size_t> max_connections;
  std::atomic<std::size_t> max_connections_per_address;
  std::atomic<std::size_t> max_event_streams;
  std::atomic<std::chrono::milliseconds> header_timeout;
  std::atomic<std::chrono::milliseconds> idle_timeout;
  std::atomic<std::chrono::milliseconds> write_timeout;
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, const http::Router& router, http::HttpMetrics& metrics, hub::Hub& hub,
       HttpServerOptions options)
      : io(io),
        router(router),
        metrics(metrics),
        hub(hub),
        options(options),
        limits(options),
        acceptor(asio::make_strand(io)),  // accepting, back-off and stop() on one strand
        backoff(acceptor.get_executor(), options.refusals, Refusal::kHttpAcceptFds, "http"),
        reply_budget(options.reply_budget),
        event_budget(options.event_stream_budget) {}

  void accept();
  // Admits an accepted socket under the connection caps and starts serving it, or answers 503
  // (total) / 429 (per address) and closes it.
  // Applies the connection caps; `peer` names the client of an adopted (HTTPS) connection.
  void admit(tcp::socket socket, std::string peer = {});
  void track(const std::shared_ptr<Closable>& c);
  void untrack(Closable* c);
  void stop();
  void count(Refusal kind, const std::string& what) {
    if (options.refusals) options.refusals->count(kind, what);
  }
  // An SSE or /ws client may start (max_event_streams); pair with close_event_client().
  bool open_event_client() {
    std::size_t n = event_clients.load(std::memory_order_relaxed);
    do {
      if (n >= limits.max_event_streams.load(std::memory_order_relaxed)) return false;
    } while (!event_clients.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return true;
  }
  void close_event_client() { event_clients.fetch_sub(1, std::memory_order_relaxed); }

  asio::io_context& io;
  const http::Router& router;
  http::HttpMetrics& metrics;
  hub::Hub& hub;
  HttpServerOptions options;  // as constructed; the live limits are in `limits`
  LiveHttpLimits limits;
  NetStats stats;
  tcp::acceptor acceptor;
  std::mutex mutex;
  std::unordered_map<Closable*, std::weak_ptr<Closable>> live;
  WireUpgradeHandler wire_upgrade;   // guarded by `mutex`; empty: /wire answers 503
  WireUpgradeHandler media_handoff;  // guarded by `mutex`; empty: /live/NAME.flv answers 503
  WireUpgradeHandler mqtt_upgrade;   // guarded by `mutex`; empty: /mqtt answers 503
  int flv_route = -1;                // metrics route of /live/NAME.flv (set once, at construction)
  bool stopping = false;
  AcceptBackoff backoff;  // acceptor's executor only
  // Connection caps: guarded by `mutex`, changed only by ConnectionSlot.
  std::size_t admitted = 0;
  std::unordered_map<std::string, std::size_t> admitted_per_address;
  std::atomic<std::size_t> event_clients{0};  // SSE streams and /ws clients
  SharedByteBudget reply_budget;              // bytes of large replies being written
  // reply_budget lent to handlers (HttpRequest::reply_budget).
  struct HandlerReplyBudget final : http::ReplyBudget {
    explicit HandlerReplyBudget(Impl& server) : server(server) {}
    bool try_take(std::size_t bytes) override {
      if (server.reply_budget.try_take_or_alone(bytes)) return true;
      server.count(Refusal::kHttpReplyBudget,
                   "a reply of " + std::to_string(bytes) +
                       " bytes: large replies being written already hold the reply budget "
                       "(http-reply-budget)");
      return false;
    }
    void give(std::size_t bytes) override { server.reply_budget.give(bytes); }
    Impl& server;
  } handler_reply_budget{*this};
  SharedByteBudget event_budget;  // bytes queued in SSE and /ws outboxes
};

// An admitted connection's place under the connection caps (total and per address), given back
// when destroyed. Moves from an HTTP connection to the /ws connection it becomes; a connection
// handed to the relay or the media thread gives it back (they have caps of their own).
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  // Takes a place for `address`; the caller checked the caps under server->mutex and holds it.
  ConnectionSlot(std::shared_ptr<HttpServer::Impl> server, std::string address)
      : server_(std::move(server)), address_(std::move(address)) {
    ++server_->admitted;
    ++server_->admitted_per_address[address_];
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept = default;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept {
    if (this != &other) {
      release();
      server_ = std::move(other.server_);
      address_ = std::move(other.address_);
    }
    return *this;
  }
  ~ConnectionSlot() { release(); }
  const std::string& address() const { return address_; }

 private:
  void release() {
    if (!server_) return;
    std::lock_guard lock(server_->mutex);
    --server_->admitted;
    auto it = server_->admitted_per_address.find(address_);
    if (it != server_->admitted_per_address.end() && --it->second == 0) {
      server_->admitted_per_address.erase(it);
    }
    server_.reset();
  }

  std::shared_ptr<HttpServer::Impl> server_;
  std::string address_;
};

// `peer` (may be empty: read from the socket) is the client's address for connections adopted
// from the HTTPS front door.
void start_http_connection(std::shared_ptr<HttpServer::Impl> server, tcp::socket socket,
                           ConnectionSlot slot, std::string peer = {});
// `policy` (may be null: everything allowed) decides what the client may do on the hub.
void start_websocket(std::shared_ptr<HttpServer::Impl> server, beast::tcp_stream stream,
                     bhttp::request<bhttp::string_body> upgrade,
                     std::shared_ptr<hub::ClientPolicy> policy, ConnectionSlot slot);

}  // namespace sluice::net
