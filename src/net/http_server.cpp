#include "net/http_server.hpp"

#include <spdlog/spdlog.h>

#include <system_error>

#include "http/metrics.hpp"
#include "net/server_impl.hpp"

namespace sluice::net {

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
  start_http_connection(impl, std::move(socket), std::move(peer));
}

void HttpServer::set_wire_upgrade(WireUpgradeHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->wire_upgrade = std::move(handler);
}

void HttpServer::set_media_handoff(WireUpgradeHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->media_handoff = std::move(handler);
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
}

void HttpServer::Impl::accept() {
  acceptor.async_accept(
      asio::make_strand(io),
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        if (ec) {
          if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
          spdlog::warn("accept failed: {}", ec.message());
        } else {
          self->stats.connections_total.fetch_add(1, std::memory_order_relaxed);
          start_http_connection(self, std::move(socket));
        }
        self->accept();
      });
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
  });
  for (auto& c : open)
    c->close();
}

}  // namespace sluice::net
