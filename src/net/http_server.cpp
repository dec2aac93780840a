#include "net/http_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>

#include <system_error>

#include "http/metrics.hpp"
#include "net/server_impl.hpp"

namespace sluice::net {

namespace {

// Answers a connection refused at accept and closes it. The socket is new and its send buffer
// empty, so one non-blocking write takes the whole answer; nothing is waited for.
void refuse_connection(tcp::socket& socket, int status, std::string_view reason,
                       const std::string& detail) {
  const std::string body = boost::json::serialize(boost::json::object{{"detail", detail}});
  const std::string text = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                           "\r\nServer: sluice\r\nContent-Type: application/json\r\n"
                           "Content-Length: " +
                           std::to_string(body.size()) +
                           "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body;
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  socket.write_some(asio::buffer(text), ec);
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

}  // namespace

HttpServerOptions HttpServerOptions::from(const Limits& limits, std::size_t max_body_bytes,
                                          Refusals* refusals) {
  HttpServerOptions o;
  o.max_body_bytes = max_body_bytes;
  o.max_connections = limits.http_max_connections;
  o.max_connections_per_address = limits.http_max_connections_per_address;
  o.header_timeout = limits.http_header_timeout;
  o.idle_timeout = limits.http_idle_timeout;
  o.write_timeout = limits.http_write_timeout;
  o.reply_budget = limits.http_reply_budget;
  o.max_event_streams = limits.max_event_streams;
  o.event_stream_budget = limits.event_stream_budget;
  o.refusals = refusals;
  return o;
}

HttpServer::HttpServer(asio::io_context& io, const http::Router& router, http::HttpMetrics& metrics,
                       hub::Hub& hub, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, router, metrics, hub, options)) {
  impl_->flv_route = metrics.add_route(std::string(kFlvRoute));
}

HttpServer::~HttpServer() {
  stop();
}

std::uint16_t HttpServer::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::system_error(ec, "invalid listen address '" + host + "'");
  tcp::endpoint endpoint(address, port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (ec) {
    throw std::system_error(
        ec,
        "cannot listen on " + host + ":" + std::to_string(port) +
            (ec == asio::error::address_in_use ? " (the port is taken by another process)" : ""));
  }
  a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, "cannot listen on " + host + ":" + std::to_string(port));
  impl_->accept();
  return a.local_endpoint().port();
}

void HttpServer::set_limits(const Limits& l) {
  auto& live = impl_->limits;
  live.max_connections = l.http_max_connections;
  live.max_connections_per_address = l.http_max_connections_per_address;
  live.max_event_streams = l.max_event_streams;
  live.header_timeout = l.http_header_timeout;
  live.idle_timeout = l.http_idle_timeout;
  live.write_timeout = l.http_write_timeout;
  impl_->reply_budget.set_limit(l.http_reply_budget);
  impl_->event_budget.set_limit(l.event_stream_budget);
}

void HttpServer::stop() {
  impl_->stop();
}

void HttpServer::adopt(int fd, std::string peer) {
  auto impl = impl_;
  tcp::socket socket(asio::make_strand(impl->io));
  boost::system::error_code ec;
  socket.assign(tcp::v4(), fd, ec);  // a local socket pair: the protocol value is not used
  if (ec) {
    ::close(fd);
    return;
  }
  impl->stats.connections_total.fetch_add(1, std::memory_order_relaxed);
  impl->admit(std::move(socket), std::move(peer));
}

void HttpServer::set_wire_upgrade(WireUpgradeHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->wire_upgrade = std::move(handler);
}

void HttpServer::set_media_handoff(WireUpgradeHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->media_handoff = std::move(handler);
}

void HttpServer::set_mqtt_upgrade(WireUpgradeHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->mqtt_upgrade = std::move(handler);
}

const NetStats& HttpServer::stats() const {
  return impl_->stats;
}

void HttpServer::render_metrics(http::PrometheusWriter& w) const {
  const auto& s = impl_->stats;
  w.header("sluice_http_connections_total", "counter", "Accepted HTTP connections");
  w.sample("sluice_http_connections_total", {}, static_cast<double>(s.connections_total.load()));
  w.header("sluice_http_connections_open", "gauge",
           "Open HTTP connections (including SSE and WebSocket)");
  w.sample("sluice_http_connections_open", {}, static_cast<double>(s.connections_open.load()));
  w.header("sluice_event_streams_open", "gauge", "Open server-sent-event streams");
  w.sample("sluice_event_streams_open", {}, static_cast<double>(s.event_streams_open.load()));
  w.header("sluice_websockets_open", "gauge", "Open /ws WebSocket clients");
  w.sample("sluice_websockets_open", {}, static_cast<double>(s.websockets_open.load()));
  w.header("sluice_dropped_frames_total", "counter",
           "Events dropped for slow SSE/WebSocket clients (policy drop-oldest)");
  w.sample("sluice_dropped_frames_total", {}, static_cast<double>(s.dropped_frames.load()));
  w.header("sluice_http_rejected_bodies_total", "counter", "Requests refused with 413");
  w.sample("sluice_http_rejected_bodies_total", {}, static_cast<double>(s.rejected_bodies.load()));
  w.header("sluice_http_reply_bytes", "gauge",
           "Bytes of large replies being written (bounded by http-reply-budget)");
  w.sample("sluice_http_reply_bytes", {}, static_cast<double>(impl_->reply_budget.used()));
  w.header("sluice_event_stream_bytes", "gauge",
           "Bytes queued for SSE and /ws clients (bounded by event-stream-budget)");
  w.sample("sluice_event_stream_bytes", {}, static_cast<double>(impl_->event_budget.used()));
}

void HttpServer::Impl::accept() {
  acceptor.async_accept(
      asio::make_strand(io),
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        if (ec) {
          if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
          spdlog::debug("http: accept failed: {}", ec.message());
          return self->backoff.failed(ec, [self] { self->accept(); });
        }
        self->backoff.succeeded();
        self->stats.connections_total.fetch_add(1, std::memory_order_relaxed);
        self->admit(std::move(socket));
        self->accept();
      });
}

void HttpServer::Impl::admit(tcp::socket socket, std::string peer) {
  std::string address = peer;
  if (address.empty()) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    address = remote.address().to_string();
  }
  ConnectionSlot slot;
  const std::size_t max_open = limits.max_connections.load();
  const std::size_t max_from_address = limits.max_connections_per_address.load();
  std::size_t open = 0;
  std::size_t from_address = 0;
  {
    std::lock_guard lock(mutex);
    if (stopping) return;
    open = admitted;
    auto it = admitted_per_address.find(address);
    from_address = it == admitted_per_address.end() ? 0 : it->second;
    if (open < max_open && from_address < max_from_address) {
      slot = ConnectionSlot(shared_from_this(), address);
    }
  }
  if (open >= max_open) {
    const std::string why =
        std::to_string(open) + " HTTP connections are open, the limit (http-max-connections)";
    count(Refusal::kHttpConnections, "connection from " + address + ": " + why);
    return refuse_connection(socket, 503, "Service Unavailable",
                             "Too many connections: " + why + "; retry later");
  }
  if (from_address >= max_from_address) {
    const std::string why = std::to_string(from_address) + " connections from " + address +
                            " are open, the limit per address "
                            "(http-max-connections-per-address)";
    count(Refusal::kHttpConnectionsPerAddress, "connection: " + why);
    return refuse_connection(socket, 429, "Too Many Requests",
                             "Too many connections from your address: " + why);
  }
  start_http_connection(shared_from_this(), std::move(socket), std::move(slot), std::move(peer));
}

void HttpServer::Impl::track(const std::shared_ptr<Closable>& c) {
  std::lock_guard lock(mutex);
  if (stopping) {
    c->close();
    return;
  }
  live.emplace(c.get(), c);
}

void HttpServer::Impl::untrack(Closable* c) {
  std::lock_guard lock(mutex);
  live.erase(c);
}

void HttpServer::Impl::stop() {
  std::vector<std::shared_ptr<Closable>> open;
  {
    std::lock_guard lock(mutex);
    if (stopping) return;
    stopping = true;
    for (auto& [p, weak] : live) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  asio::post(acceptor.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor.close(ec);
    self->backoff.cancel();
  });
  for (auto& c : open)
    c->close();
}

}  // namespace sluice::net
