#include "media/servers/media_server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <system_error>

#include "media/servers/media_server_impl.hpp"
#include "media/servers/rtsp/rtsp_udp.hpp"
#include "media/servers/srt/srt_server.hpp"
#include "media/servers/webrtc/ice_tcp.hpp"
#include "media/servers/webrtc/webrtc_server.hpp"

namespace sluice::media {

namespace {
constexpr auto kTick = std::chrono::seconds(1);
}

std::pair<std::string, std::string> peer_of(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return {"unknown", "unknown"};
  auto address = ep.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  std::string ip = address.to_string();
  std::string full = address.is_v6() ? "[" + ip + "]" : ip;
  return {ip, full + ":" + std::to_string(ep.port())};
}

bool MediaServer::Impl::admit(const std::string& ip, const char* protocol) {
  if (connections.size() >= options.max_connections) {
    stats.refused_total++;
    count(Refusal::kMediaConnections, std::string(protocol) + " connection from " + ip + ": " +
                                          std::to_string(connections.size()) +
                                          " media connections are open, the limit");
    return false;
  }
  auto it = per_address.find(ip);
  if (it != per_address.end() && it->second >= options.max_connections_per_address) {
    stats.refused_total++;
    count(Refusal::kMediaConnectionsPerAddress,
          std::string(protocol) + " connection: " + std::to_string(it->second) +
              " media connections from " + ip +
              " are open, the limit per address (media-max-connections-per-address)");
    return false;
  }
  return true;
}

void MediaServer::Impl::accept_on(tcp::acceptor& listener, AcceptBackoff& backoff,
                                  const char* protocol, StartConnection start) {
  listener.async_accept([self = shared_from_this(), &listener, &backoff, protocol, start](
                            boost::system::error_code ec, tcp::socket socket) {
    if (self->stopping) return;
    if (ec) {
      return backoff.failed(ec, [self, &listener, &backoff, protocol, start] {
        self->accept_on(listener, backoff, protocol, start);
      });
    }
    backoff.succeeded();
    if (self->admit(peer_of(socket).first, protocol)) {
      start(*self, std::move(socket), {});
    } else {
      boost::system::error_code ignored;
      socket.close(ignored);  // neither RTMP nor RTSP can say why before their first exchange
    }
    self->accept_on(listener, backoff, protocol, start);
  });
}

void MediaServer::Impl::adopt(int fd, std::string peer, const char* protocol,
                              StartConnection start) {
  asio::post(
      io, [self = shared_from_this(), fd, peer = std::move(peer), protocol, start]() mutable {
        if (self->stopping) {
          ::close(fd);
          return;
        }
        tcp::socket socket(self->io);
        boost::system::error_code ec;
        socket.assign(tcp::v4(), fd, ec);  // a local socket pair: the protocol value is not used
        if (ec) {
          ::close(fd);
          return;
        }
        if (!self->admit(peer, protocol)) return;  // counted and logged by admit; `socket` closes
        start(*self, std::move(socket), std::move(peer));
      });
}

void MediaServer::adopt_rtmp(int fd, std::string peer) {
  impl_->adopt(fd, std::move(peer), "rtmps", &start_rtmp_connection);
}

void MediaServer::adopt_rtsp(int fd, std::string peer) {
  impl_->adopt(fd, std::move(peer), "rtsps", &start_rtsp_connection);
}

void MediaServer::Impl::adopt_flv(std::unique_ptr<WireUpgrade> handoff) {
  if (stopping) return;  // `handoff` closes the socket
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.assign(handoff->protocol, handoff->fd, ec);
  if (ec) {
    spdlog::warn("media: cannot take over an HTTP-FLV socket: {}", ec.message());
    return;
  }
  handoff->release();
  const bool admitted =
      admit(handoff->peer.empty() ? peer_of(socket).first : handoff->peer, "http-flv");
  start_flv_connection(*this, std::move(socket), std::move(handoff->request),
                       std::move(handoff->on_status), admitted, handoff->peer);
}

void MediaServer::Impl::tick() {
  tick_timer.expires_after(kTick);
  tick_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->stopping) return;
    const auto now = std::chrono::steady_clock::now();
    auto open = self->connections;  // tick may close (and remove) connections
    for (auto& [id, c] : open)
      c->tick(now);
    for (auto& fn : self->tickers)
      fn();
    self->tick();
  });
}

MediaServer::MediaServer(MediaServerOptions options, media::MediaPolicy& policy,
                         media::PathObserver* observer)
    : impl_(std::make_shared<Impl>(std::move(options), policy, observer)) {}

MediaServer::~MediaServer() {
  stop();
}

namespace {

// Opens, binds and listens; returns the bound port. Throws std::system_error naming `what`.
std::uint16_t open_listener(tcp::acceptor& a, const std::string& host, std::uint16_t port,
                            const char* what) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::system_error(ec, std::string(what) + " address " + host);
  tcp::endpoint endpoint(address, port);
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(
        ec, "cannot listen for " + std::string(what) + " on " + host + ":" + std::to_string(port));
  }
  return a.local_endpoint().port();
}

}  // namespace

std::uint16_t MediaServer::listen(const std::string& host, std::uint16_t port) {
  return open_listener(impl_->acceptor, host, port, "RTMP");
}

std::uint16_t MediaServer::listen_rtsp(const std::string& host, std::uint16_t port) {
  return open_listener(impl_->rtsp_acceptor, host, port, "RTSP");
}

std::uint16_t MediaServer::listen_rtsp_udp(const std::string& host, std::uint16_t rtp_port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::system_error(ec, "RTSP UDP address " + host);
  if (rtp_port != 0) {
    impl_->rtsp_udp = std::make_shared<RtspUdp>(impl_->io, address, rtp_port);
    return rtp_port;
  }
  // Any free even/odd pair: ask the kernel for a port, try it and the next.
  for (int attempt = 0; attempt < 50 && !impl_->rtsp_udp; ++attempt) {
    asio::ip::udp::socket probe(impl_->io, asio::ip::udp::endpoint(address, 0));
    auto port = static_cast<std::uint16_t>(probe.local_endpoint().port() & ~1u);
    probe.close();
    try {
      impl_->rtsp_udp = std::make_shared<RtspUdp>(impl_->io, address, port);
    } catch (const std::system_error&) {
    }
  }
  if (!impl_->rtsp_udp) {
    throw std::system_error(std::make_error_code(std::errc::address_in_use),
                            "no free UDP port pair for RTSP");
  }
  return impl_->rtsp_udp->rtp_port();
}

std::uint16_t MediaServer::listen_webrtc(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::system_error(ec, "WebRTC UDP address " + host);
  impl_->webrtc = std::make_shared<WebrtcServer>(impl_->io, address, port);
  try {  // ICE-TCP on the same number: a fallback, so a taken TCP port only loses it
    impl_->ice_tcp =
        std::make_shared<IceTcpListener>(impl_->io, address, impl_->webrtc->port(), impl_->webrtc);
  } catch (const std::system_error& e) {
    spdlog::warn("webrtc: {}; peers whose UDP is blocked cannot connect", e.what());
  }
  return impl_->webrtc->port();
}

std::uint16_t MediaServer::webrtc_tcp_port() const {
  return impl_->ice_tcp ? impl_->ice_tcp->port() : 0;
}

WebrtcServer* MediaServer::webrtc() {
  return impl_->webrtc.get();
}

SharedByteBudget& MediaServer::reassembly_budget() {
  return impl_->reassembly_budget;
}

std::uint16_t MediaServer::listen_srt(const std::string& host, std::uint16_t port) {
  impl_->srt = std::make_shared<SrtServer>(*impl_, impl_->options.srt);
  return impl_->srt->listen(host, port);
}

const std::map<std::string, std::string>& MediaServer::rtsp_aliases() const {
  return impl_->options.rtsp.aliases;
}

void MediaServer::set_rtsp_aliases(std::map<std::string, std::string> aliases) {
  impl_->post([impl = impl_, aliases = std::move(aliases)]() mutable {
    impl->options.rtsp.aliases = std::move(aliases);
  });
}

void MediaServer::start() {
  if (impl_->thread.joinable()) return;
  impl_->accepting_handoffs = true;
  impl_->thread = std::thread([impl = impl_] {
    impl->thread_id = std::this_thread::get_id();
    if (impl->acceptor.is_open()) {
      impl->accept_on(impl->acceptor, impl->backoff, "rtmp", &start_rtmp_connection);
    }
    if (impl->rtsp_acceptor.is_open()) {
      impl->accept_on(impl->rtsp_acceptor, impl->rtsp_backoff, "rtsp", &start_rtsp_connection);
    }
    if (impl->rtsp_udp) impl->rtsp_udp->start();
    if (impl->webrtc) impl->webrtc->start();
    if (impl->ice_tcp) impl->ice_tcp->start();
    impl->tick();
    impl->io.run();
  });
  while (impl_->thread_id == std::thread::id{})
    std::this_thread::yield();
  if (impl_->srt) impl_->srt->start();  // here, not on the media thread: stop() may follow at once
}

void MediaServer::stop() {
  impl_->accepting_handoffs = false;
  if (impl_->srt) impl_->srt->stop();  // it posts to the media thread: stopped first
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_] {
    impl->stopping = true;
    boost::system::error_code ec;
    impl->acceptor.close(ec);
    impl->rtsp_acceptor.close(ec);
    if (impl->rtsp_udp) impl->rtsp_udp->close();
    if (impl->ice_tcp) impl->ice_tcp->close();
    if (impl->webrtc) impl->webrtc->close();
    impl->backoff.cancel();
    impl->rtsp_backoff.cancel();
    impl->tick_timer.cancel();
    impl->flush_timer.cancel();
    impl->deferred.clear();
    auto open = impl->connections;
    for (auto& [id, c] : open)
      c->close();
    impl->io.stop();
  });
  impl_->thread.join();
}

EventLoop& MediaServer::loop() {
  return *impl_;
}

media::MediaHub& MediaServer::hub() {
  return impl_->hub;
}

void MediaServer::set_on_demand(Demand demand, std::chrono::milliseconds wait) {
  impl_->on_demand = std::move(demand);
  impl_->demand_wait = wait;
}

namespace {

// A reader waiting for a path its on-demand source is starting. Polled rather than hooked into
// the hub: a wait is rare (a reader's first request for a sleeping source) and short. The
// pending timer's handler owns the wait.
struct PathWait : std::enable_shared_from_this<PathWait> {
  PathWait(std::shared_ptr<MediaServer::Impl> s, std::string n, std::function<void(MediaPath*)> t)
      : server(std::move(s)),
        timer(server->io),
        deadline(std::chrono::steady_clock::now() + server->demand_wait),
        name(std::move(n)),
        then(std::move(t)) {}

  void poll() {
    timer.expires_after(std::chrono::milliseconds(100));
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->server->stopping) return;
      if (MediaPath* live = self->server->hub.find(self->name)) return self->then(live);
      if (std::chrono::steady_clock::now() >= self->deadline) return self->then(nullptr);
      self->poll();
    });
  }

  std::shared_ptr<MediaServer::Impl> server;
  asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline;
  std::string name;
  std::function<void(MediaPath*)> then;
};

}  // namespace

void MediaServer::Impl::await_path(const std::string& name, std::function<void(MediaPath*)> then) {
  if (MediaPath* live = hub.find(name)) return then(live);
  if (!demand(name)) return then(nullptr);
  wait_for(name, std::move(then));
}

void MediaServer::Impl::wait_for(const std::string& name, std::function<void(MediaPath*)> then) {
  std::make_shared<PathWait>(shared_from_this(), name, std::move(then))->poll();
}

void MediaServer::await_path(const std::string& name, std::function<void(MediaPath*)> then) {
  impl_->await_path(name, std::move(then));
}

void MediaServer::on_tick(std::function<void()> fn) {
  impl_->tickers.push_back(std::move(fn));
}

const MediaStats& MediaServer::stats() const {
  return impl_->stats;
}

MediaServer::SrtCounters MediaServer::srt_stats() const {
  const auto& srt = impl_->srt;  // set before start, never changed after
  if (!srt) return {};
  const SrtStats s = srt->stats();
  return {s.connections_total, s.refused, s.bytes_in, s.open};
}

std::vector<MediaServer::SrtConnection> MediaServer::srt_connections() const {
  std::vector<SrtConnection> out;
  if (!impl_->srt) return out;
  for (auto& c : impl_->srt->connections())
    out.push_back({std::move(c.id), std::move(c.path), std::move(c.role), c.link});
  return out;
}

void MediaServer::set_srt_handshake(std::optional<std::string> passphrase,
                                    std::optional<int> latency_ms) {
  if (impl_->srt) impl_->srt->set_handshake(std::move(passphrase), latency_ms);
}

void MediaServer::set_limits(const Limits& limits) {
  if (limits.media_reassembly_budget > 0) {
    impl_->reassembly_budget.set_limit(limits.media_reassembly_budget);
  }
  impl_->post([impl = impl_, per_address = limits.media_max_connections_per_address,
               handshake = limits.rtmp_handshake_timeout] {
    impl->options.max_connections_per_address = per_address;
    impl->options.handshake_timeout = handshake;
  });
}

bool MediaServer::kick_reader(const std::string& id) {
  for (const media::MediaPath* path : impl_->hub.paths()) {
    for (media::MediaSink* sink : path->readers()) {
      if (sink->reader_info().id == id) {
        sink->kick();
        return true;
      }
    }
  }
  return false;
}

void connect_media_handoff(net::HttpServer& http, MediaServer& media) {
  std::weak_ptr<MediaServer::Impl> weak = media.impl_;
  http.set_media_handoff([weak](std::unique_ptr<net::WireUpgrade>& handoff) {
    auto impl = weak.lock();
    if (!impl || !impl->accepting_handoffs) return false;
    asio::post(impl->io, [weak, handoff = std::move(handoff)]() mutable {
      if (auto server = weak.lock()) server->adopt_flv(std::move(handoff));
    });
    return true;
  });
}

}  // namespace sluice::media
