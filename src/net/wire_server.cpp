#include "net/wire_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "core/log_limiter.hpp"
#include "core/logging.hpp"
#include "net/accept_backoff.hpp"
#include "net/server_impl.hpp"
#include "relay/relay.hpp"
#include "relay/relay_connection.hpp"
#include "wire/websocket_framing.hpp"

namespace sluice::net {

namespace websocket = boost::beast::websocket;

namespace {
constexpr auto kTickInterval = std::chrono::milliseconds(5);
// Without connections only server-side channels' registry heartbeats and the stats snapshot need
// the tick: waking 200 times a second for them cost an idle daemon 1.3% of a core.
constexpr auto kIdleTickInterval = std::chrono::milliseconds(100);
constexpr auto kWsHandshakeTimeout = std::chrono::seconds(10);
}  // namespace

class WireConnectionBase {
 public:
  virtual ~WireConnectionBase() = default;
  virtual void close() = 0;
};
using TlsSocket = asio::ssl::stream<tcp::socket>;
using WsSocket = websocket::stream<tcp::socket>;

struct WireServer::Impl final : EventLoop {
  explicit Impl(Refusals* refusals)
      : refusals(refusals),
        backoff(io.get_executor(), refusals, Refusal::kRelayAcceptFds, "relay"),
        tls_backoff(io.get_executor(), refusals, Refusal::kRelayAcceptFds, "relay TLS") {}

  Refusals* refusals;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  tcp::acceptor tls_acceptor{io};
  AcceptBackoff backoff;
  AcceptBackoff tls_backoff;
  std::unique_ptr<asio::ssl::context> tls;
  asio::steady_timer tick_timer{io};
  std::thread thread;
  std::atomic<std::thread::id> thread_id{};  // set once by the relay thread, read anywhere
  relay::Relay* relay = nullptr;
  std::unordered_set<std::shared_ptr<WireConnectionBase>> connections;
  bool stopping = false;
  std::atomic<bool> accepting_upgrades{false};  // any thread: start() .. stop()

  void post(std::function<void()> fn) override { asio::post(io, std::move(fn)); }
  bool in_loop() const override { return std::this_thread::get_id() == thread_id.load(); }

  void accept();
  void accept_tls();
  // A `/wire` WebSocket handed over by the HTTP server; the socket moves onto this io_context.
  void adopt(std::unique_ptr<WireUpgrade> upgrade);
  void tick();
};

using UnsentLowWatermark = asio::detail::socket_option::integer<IPPROTO_TCP, TCP_NOTSENT_LOWAT>;

tcp::socket& lowest(tcp::socket& s) {
  return s;
}
tcp::socket& lowest(TlsSocket& s) {
  return s.next_layer();
}
tcp::socket& lowest(WsSocket& s) {
  return s.next_layer();
}

// One TCP, TLS or WebSocket connection driving one RelayConnection. Relay thread only.
// Over WebSocket, the wire byte stream is the concatenation of binary message payloads: each
// output batch goes out as one binary message (split at wire::kMaxWebSocketMessage), and a text
// message ends the session with GOAWAY protocol_error.
template <class Socket>
class WireConnection final : public relay::Transport,
                             public WireConnectionBase,
                             public std::enable_shared_from_this<WireConnection<Socket>> {
 public:
  static constexpr bool kTls = std::is_same_v<Socket, TlsSocket>;
  static constexpr bool kWebSocket = std::is_same_v<Socket, WsSocket>;
  using std::enable_shared_from_this<WireConnection<Socket>>::shared_from_this;

  WireConnection(WireServer::Impl& server, Socket socket)
      : server_(server), socket_(std::move(socket)) {
    boost::system::error_code ec;
    auto ep = lowest(socket_).remote_endpoint(ec);
    remote_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
    lowest(socket_).set_option(tcp::no_delay(true), ec);
    lowest(socket_).set_option(UnsentLowWatermark(wire::kUnsentLowWatermark), ec);
  }

  // TCP and TLS.
  void start() {
    if constexpr (kTls) {
      socket_.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](
                                                                  boost::system::error_code ec) {
        if (ec) {
          static LogLimiter limiter;
          log_limited(limiter, false,
                      "relay: TLS handshake with " + self->remote_ + " failed: " + ec.message());
          return self->close();
        }
        self->begin();
      });
    } else {
      begin();
    }
  }

  // WebSocket: answers the upgrade request (kept until the handshake is done), then serves.
  void start(bhttp::request<bhttp::string_body> upgrade) requires kWebSocket {
    upgrade_ = std::move(upgrade);
    // Idle peers are the wire session's business (its lease), not the WebSocket's.
    socket_.set_option(websocket::stream_base::timeout{kWsHandshakeTimeout,
                                                       websocket::stream_base::none(), false});
    socket_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "sluice"); }));
    socket_.binary(true);
    socket_.auto_fragment(false);  // one frame per message: the batch goes out in one gather write
    // wire::kMaxWebSocketMessage is enforced in on_read, so that the refusal is a GOAWAY and a
    // close frame the peer gets to read. Beast's own limit would drop the connection mid-message
    // (its teardown closes with unread input, and the reset can destroy the close frame in flight).
    socket_.read_message_max(0);
    socket_.async_accept(*upgrade_, [self = shared_from_this()](boost::system::error_code ec) {
      self->upgrade_.reset();
      if (self->closed_) return;
      if (ec) {
        static LogLimiter limiter;
        log_limited(
            limiter, false,
            "relay: WebSocket handshake with " + self->remote_ + " failed: " + ec.message());
        return self->close();
      }
      self->begin();
    });
  }

  void begin() {
    connection_ = server_.relay->accept(*this);
    if (!connection_) return close();  // over a connection cap: counted and logged by the relay
    read();
  }

  void request_write() override {
    asio::post(server_.io, [self = shared_from_this()] { self->flush(); });
  }
  std::string remote_address() const override { return remote_; }
  bool secure() const override { return kTls || tls_front_door_; }
  // A /wire upgrade that came through the HTTPS front door: the client's address, and TLS.
  void came_through_tls(const std::string& peer) {
    remote_ = peer + ":0";
    tls_front_door_ = true;
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    lowest(socket_).shutdown(tcp::socket::shutdown_both, ec);
    lowest(socket_).close(ec);
    if (connection_) server_.relay->remove(std::exchange(connection_, nullptr));
    server_.connections.erase(shared_from_this());
  }

 private:
  void read() {
    auto space = connection_->session().input_space();
    socket_.async_read_some(asio::buffer(space.data(), space.size()),
                            [self = shared_from_this()](boost::system::error_code ec,
                                                        std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (closed_) return;
    if constexpr (kWebSocket) {
      if (!ec) {
        if (socket_.got_text()) return refuse_text();
        message_in_ += n;
        if (message_in_ > wire::kMaxWebSocketMessage) return refuse_oversized();
        if (socket_.is_message_done()) message_in_ = 0;
      }
    }
    if (ec) return close();
    auto& session = connection_->session();
    session.commit_input(n, std::chrono::steady_clock::now());
    flush();
    if (closed_) return;
    if (session.closing()) return;  // GOAWAY queued or received: stop reading
    read();
  }

  void flush() {
    if (closed_ || !connection_) return;
    connection_->write_done();
    if (writing_) return;
    auto& session = connection_->session();
    auto batch = session.prepare_output(std::chrono::steady_clock::now());
    if (batch.empty()) {
      if (session.done()) {
        if (session.closing()) log_close();
        finish();
      }
      return;
    }
    buffers_.clear();
    for (auto b : batch)
      buffers_.emplace_back(b.data(), b.size());
    writing_ = true;
    if constexpr (kWebSocket) {
      message_total_ = asio::buffer_size(buffers_);
      message_offset_ = 0;
      write_message();
    } else {
      asio::async_write(socket_, buffers_,
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                          self->written(ec);
                        });
    }
  }

  // The batch in buffers_ is written (or failed).
  void written(boost::system::error_code ec) {
    writing_ = false;
    if (closed_) return;
    connection_->session().output_written();
    if (ec) return close();
    flush();
  }

  // WebSocket: the next binary message of the batch, at most wire::kMaxWebSocketMessage bytes.
  void write_message() {
    const std::size_t n =
        wire::slice_buffers(buffers_, message_offset_, wire::kMaxWebSocketMessage, message_);
    socket_.async_write(
        message_, [self = shared_from_this(), n](boost::system::error_code ec, std::size_t) {
          self->message_offset_ += n;
          if (!ec && !self->closed_ && self->message_offset_ < self->message_total_) {
            return self->write_message();
          }
          self->written(ec);
        });
  }

  // The session is over and everything is flushed. A WebSocket says goodbye with a close frame
  // (answered by the peer, or given up after kWsHandshakeTimeout); TCP and TLS just close.
  void finish() {
    if constexpr (kWebSocket) {
      if (ws_closing_) return;
      ws_closing_ = true;
      socket_.async_close(
          close_code_, [self = shared_from_this()](boost::system::error_code) { self->close(); });
    } else {
      close();
    }
  }

  // A text message: not the protocol (which is binary), so the session ends with GOAWAY. What
  // was read of it is not passed on.
  void refuse_text() {
    static LogLimiter limiter;
    log_limited(limiter, true,
                "relay: " + remote_ +
                    " sent a text WebSocket message on /wire; the protocol is binary messages, "
                    "closing with GOAWAY protocol_error");
    close_code_ = websocket::close_code::unknown_data;
    connection_->session().goaway(wire::ErrorCode::kProtocol,
                                  "text WebSocket messages are not part of the protocol: send "
                                  "binary messages");
    flush();
  }

  // A message past wire::kMaxWebSocketMessage: the session ends with GOAWAY frame_size_error. Its
  // first wire::kMaxWebSocketMessage bytes were passed on; the rest is read and dropped by the
  // closing handshake.
  void refuse_oversized() {
    static LogLimiter limiter;
    log_limited(limiter, true,
                "relay: " + remote_ + " sent a WebSocket message over " +
                    std::to_string(wire::kMaxWebSocketMessage) +
                    " bytes on /wire, closing with GOAWAY frame_size_error");
    close_code_ = websocket::close_code::too_big;
    connection_->session().goaway(wire::ErrorCode::kFrameSize,
                                  "WebSocket message over 1 MiB (1048576 bytes)");
    flush();
  }

  void log_close() {
    spdlog::debug("relay: session {} from {} closed", connection_->id(), remote_);
  }

  WireServer::Impl& server_;
  Socket socket_;
  std::string remote_;
  bool tls_front_door_ = false;
  relay::RelayConnection* connection_ = nullptr;
  std::vector<asio::const_buffer> buffers_;
  bool writing_ = false;
  bool closed_ = false;
  // WebSocket only
  std::optional<bhttp::request<bhttp::string_body>> upgrade_;
  std::vector<asio::const_buffer> message_;  // the part of buffers_ being written
  std::size_t message_offset_ = 0;
  std::size_t message_total_ = 0;
  std::size_t message_in_ = 0;  // bytes of the message being read
  websocket::close_code close_code_ = websocket::close_code::normal;
  bool ws_closing_ = false;
};

void WireServer::Impl::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (ec) return backoff.failed(ec, [this] { accept(); });
    backoff.succeeded();
    auto c = std::make_shared<WireConnection<tcp::socket>>(*this, std::move(socket));
    connections.insert(c);
    c->start();
    accept();
  });
}

void WireServer::Impl::accept_tls() {
  tls_acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (ec) return tls_backoff.failed(ec, [this] { accept_tls(); });
    tls_backoff.succeeded();
    auto c = std::make_shared<WireConnection<TlsSocket>>(*this, TlsSocket(std::move(socket), *tls));
    connections.insert(c);
    c->start();
    accept_tls();
  });
}

void WireServer::Impl::adopt(std::unique_ptr<WireUpgrade> upgrade) {
  if (stopping) return;  // `upgrade` closes the socket
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.assign(upgrade->protocol, upgrade->fd, ec);
  if (ec) {
    spdlog::warn("relay: cannot take over a /wire WebSocket: {}", ec.message());
    return;
  }
  upgrade->release();
  auto c = std::make_shared<WireConnection<WsSocket>>(*this, WsSocket(std::move(socket)));
  if (!upgrade->peer.empty()) c->came_through_tls(upgrade->peer);
  connections.insert(c);
  c->start(std::move(upgrade->request));
}

void WireServer::Impl::tick() {
  tick_timer.expires_after(relay->idle() ? kIdleTickInterval : kTickInterval);
  tick_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    relay->tick();
    tick();
  });
}

WireServer::WireServer(Refusals* refusals) : impl_(std::make_shared<Impl>(refusals)) {}

WireServer::~WireServer() {
  stop();
}

EventLoop& WireServer::loop() {
  return *impl_;
}

namespace {
void open_acceptor(tcp::acceptor& a, const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::system_error(ec, "wire address " + host);
  tcp::endpoint endpoint(address, port);
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(ec,
                            "cannot listen for the relay on " + host + ":" + std::to_string(port));
  }
}
}  // namespace

std::uint16_t WireServer::listen(const std::string& host, std::uint16_t port) {
  open_acceptor(impl_->acceptor, host, port);
  return impl_->acceptor.local_endpoint().port();
}

std::uint16_t WireServer::listen_tls(const std::string& host, std::uint16_t port,
                                     const std::string& cert_file, const std::string& key_file) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::system_error(ec, "TLS certificate " + cert_file);
  ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::system_error(ec, "TLS private key " + key_file);
  impl_->tls = std::move(ctx);
  open_acceptor(impl_->tls_acceptor, host, port);
  return impl_->tls_acceptor.local_endpoint().port();
}

void WireServer::start(relay::Relay& relay) {
  impl_->relay = &relay;
  impl_->accepting_upgrades = true;
  impl_->thread = std::thread([impl = impl_] {
    impl->thread_id = std::this_thread::get_id();
    if (impl->acceptor.is_open()) impl->accept();
    if (impl->tls_acceptor.is_open()) impl->accept_tls();
    impl->tick();
    impl->io.run();
  });
  // in_loop() must be right before anyone posts deliveries.
  while (impl_->thread_id == std::thread::id{})
    std::this_thread::yield();
}

void WireServer::stop() {
  impl_->accepting_upgrades = false;
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_] {
    impl->relay->shutdown();
    // Give sessions a moment to flush GOAWAY, then close everything.
    auto timer = std::make_shared<asio::steady_timer>(impl->io, std::chrono::milliseconds(50));
    timer->async_wait([impl, timer](boost::system::error_code) {
      impl->stopping = true;
      boost::system::error_code ec;
      impl->acceptor.close(ec);
      impl->tls_acceptor.close(ec);
      impl->backoff.cancel();
      impl->tls_backoff.cancel();
      impl->tick_timer.cancel();
      auto open = impl->connections;
      for (auto& c : open)
        c->close();
      impl->io.stop();
    });
  });
  impl_->thread.join();
}

void connect_wire_upgrades(HttpServer& http, WireServer& wire) {
  std::weak_ptr<WireServer::Impl> weak = wire.impl_;
  http.set_wire_upgrade([weak](std::unique_ptr<WireUpgrade>& upgrade) {
    auto impl = weak.lock();
    if (!impl || !impl->accepting_upgrades) return false;
    // Weak again: a handler still queued when the relay stops must not keep it alive.
    asio::post(impl->io, [weak, upgrade = std::move(upgrade)]() mutable {
      if (auto server = weak.lock()) server->adopt(std::move(upgrade));
    });
    return true;
  });
}

}  // namespace sluice::net
