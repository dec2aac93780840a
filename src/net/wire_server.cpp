#include "net/wire_server.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <system_error>
#include <thread>
#include <unordered_set>

#include "relay/relay.hpp"
#include "relay/relay_connection.hpp"

namespace sluice::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kTickInterval = std::chrono::milliseconds(5);
}

class WireConnectionBase {
 public:
  virtual ~WireConnectionBase() = default;
  virtual void close() = 0;
};
using TlsSocket = asio::ssl::stream<tcp::socket>;

struct WireServer::Impl final : relay::RelayLoop {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  tcp::acceptor tls_acceptor{io};
  std::unique_ptr<asio::ssl::context> tls;
  asio::steady_timer tick_timer{io};
  std::thread thread;
  std::thread::id thread_id;
  relay::Relay* relay = nullptr;
  std::unordered_set<std::shared_ptr<WireConnectionBase>> connections;
  bool stopping = false;

  void post(std::function<void()> fn) override { asio::post(io, std::move(fn)); }
  bool in_loop() const override { return std::this_thread::get_id() == thread_id; }

  void accept();
  void accept_tls();
  void tick();
};

tcp::socket& lowest(tcp::socket& s) {
  return s;
}
tcp::socket& lowest(TlsSocket& s) {
  return s.next_layer();
}

// One TCP or TLS connection driving one RelayConnection. Relay thread only.
template <class Socket>
class WireConnection final : public relay::Transport,
                             public WireConnectionBase,
                             public std::enable_shared_from_this<WireConnection<Socket>> {
 public:
  static constexpr bool kTls = std::is_same_v<Socket, TlsSocket>;
  using std::enable_shared_from_this<WireConnection<Socket>>::shared_from_this;

  WireConnection(WireServer::Impl& server, Socket socket)
      : server_(server), socket_(std::move(socket)) {
    boost::system::error_code ec;
    auto ep = lowest(socket_).remote_endpoint(ec);
    remote_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
    lowest(socket_).set_option(tcp::no_delay(true), ec);
  }

  void start() {
    if constexpr (kTls) {
      socket_.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](
                                                                  boost::system::error_code ec) {
        if (ec) {
          spdlog::info("relay: TLS handshake with {} failed: {}", self->remote_, ec.message());
          return self->close();
        }
        self->begin();
      });
    } else {
      begin();
    }
  }

  void begin() {
    connection_ = server_.relay->accept(*this);
    if (!connection_) {
      spdlog::warn("relay: refusing {}: connection limit reached", remote_);
      return close();
    }
    read();
  }

  void request_write() override {
    asio::post(server_.io, [self = shared_from_this()] { self->flush(); });
  }
  std::string remote_address() const override { return remote_; }
  bool secure() const override { return kTls; }

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
        close();
      }
      return;
    }
    buffers_.clear();
    for (auto b : batch)
      buffers_.emplace_back(b.data(), b.size());
    writing_ = true;
    asio::async_write(socket_, buffers_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (self->closed_) return;
                        self->connection_->session().output_written();
                        if (ec) return self->close();
                        self->flush();
                      });
  }

  void log_close() {
    spdlog::debug("relay: session {} from {} closed", connection_->id(), remote_);
  }

  WireServer::Impl& server_;
  Socket socket_;
  std::string remote_;
  relay::RelayConnection* connection_ = nullptr;
  std::vector<asio::const_buffer> buffers_;
  bool writing_ = false;
  bool closed_ = false;
};

void WireServer::Impl::accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (!ec) {
      auto c = std::make_shared<WireConnection<tcp::socket>>(*this, std::move(socket));
      connections.insert(c);
      c->start();
    }
    accept();
  });
}

void WireServer::Impl::accept_tls() {
  tls_acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (!ec) {
      auto c =
          std::make_shared<WireConnection<TlsSocket>>(*this, TlsSocket(std::move(socket), *tls));
      connections.insert(c);
      c->start();
    }
    accept_tls();
  });
}

void WireServer::Impl::tick() {
  tick_timer.expires_after(kTickInterval);
  tick_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    relay->tick();
    tick();
  });
}

WireServer::WireServer() : impl_(std::make_shared<Impl>()) {}

WireServer::~WireServer() {
  stop();
}

relay::RelayLoop& WireServer::loop() {
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
      impl->tick_timer.cancel();
      auto open = impl->connections;
      for (auto& c : open)
        c->close();
      impl->io.stop();
    });
  });
  impl_->thread.join();
}

}  // namespace sluice::net
