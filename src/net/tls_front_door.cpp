#include "net/tls_front_door.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <mutex>
#include <system_error>
#include <unordered_map>

namespace sluice::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr std::size_t kChunk = 16 * 1024;

// One TLS client: the encrypted socket, the plaintext end of its pair, two pumps.
class Tunnel : public std::enable_shared_from_this<Tunnel> {
 public:
  Tunnel(asio::ssl::context& ctx, tcp::socket socket, std::string name)
      : tls_(std::move(socket), ctx),
        plain_(tls_.get_executor()),
        timer_(tls_.get_executor()),
        name_(std::move(name)) {}

  void start(const TlsFrontDoor::Adopt& adopt, std::function<void()> on_close) {
    on_close_ = std::move(on_close);
    boost::system::error_code ec;
    auto ep = tls_.lowest_layer().remote_endpoint(ec);
    if (ec) return close();
    auto address = ep.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    peer_ = address.to_string();
    timer_.expires_after(kHandshakeTimeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e && !self->handshaken_) self->close();
    });
    tls_.async_handshake(asio::ssl::stream_base::server,
                         [self = shared_from_this(), adopt](boost::system::error_code e) {
                           self->handshaken_ = true;
                           self->timer_.cancel();
                           if (e) {
                             spdlog::debug("{}: TLS handshake with {} failed: {}", self->name_,
                                           self->peer_, e.message());
                             return self->close();
                           }
                           self->connected(adopt);
                         });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    timer_.cancel();
    tls_.lowest_layer().close(ec);
    plain_.close(ec);
    if (on_close_) on_close_();
  }

  asio::any_io_executor executor() { return tls_.get_executor(); }

 private:
  void connected(const TlsFrontDoor::Adopt& adopt) {
    asio::local::stream_protocol::socket server_end(tls_.get_executor());
    boost::system::error_code ec;
    asio::local::connect_pair(plain_, server_end, ec);
    if (ec) {
      spdlog::warn("{}: cannot make a socket pair: {}", name_, ec.message());
      return close();
    }
    adopt(server_end.release(), peer_);
    pump_in();
    pump_out();
  }

  // Client → server: decrypted bytes into the plaintext pair.
  void pump_in() {
    tls_.async_read_some(asio::buffer(in_),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           if (ec) return self->close();
                           asio::async_write(self->plain_, asio::buffer(self->in_.data(), n),
                                             [self](boost::system::error_code e, std::size_t) {
                                               if (e) return self->close();
                                               self->pump_in();
                                             });
                         });
  }

  // Server → client: plaintext bytes encrypted to the client.
  void pump_out() {
    plain_.async_read_some(asio::buffer(out_), [self = shared_from_this()](
                                                   boost::system::error_code ec, std::size_t n) {
      if (ec) return self->close();
      asio::async_write(self->tls_, asio::buffer(self->out_.data(), n),
                        [self](boost::system::error_code e, std::size_t) {
                          if (e) return self->close();
                          self->pump_out();
                        });
    });
  }

  asio::ssl::stream<tcp::socket> tls_;
  asio::local::stream_protocol::socket plain_;
  asio::steady_timer timer_;
  std::string name_;
  std::string peer_;
  std::array<char, kChunk> in_{};
  std::array<char, kChunk> out_{};
  bool handshaken_ = false;
  bool closed_ = false;
  std::function<void()> on_close_;
};

}  // namespace

struct TlsFrontDoor::Impl : std::enable_shared_from_this<TlsFrontDoor::Impl> {
  Impl(asio::io_context& io, std::string name, Adopt adopt)
      : io(io),
        name(std::move(name)),
        adopt(std::move(adopt)),
        ctx(asio::ssl::context::tls_server),
        acceptor(io) {}

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](
                                                     boost::system::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (ec) {
        // Out of descriptors and the like: try again a little later instead of spinning.
        auto timer = std::make_shared<asio::steady_timer>(self->io, std::chrono::milliseconds(100));
        timer->async_wait([self, timer](boost::system::error_code) { self->accept(); });
        return;
      }
      auto tunnel = std::make_shared<Tunnel>(self->ctx, std::move(s), self->name);
      {
        std::lock_guard lock(self->mutex);
        if (self->stopping) return;
        self->live.emplace(tunnel.get(), tunnel);
      }
      std::weak_ptr<Impl> weak = self;
      Tunnel* key = tunnel.get();
      asio::dispatch(tunnel->executor(), [tunnel, adopt = self->adopt, weak, key] {
        tunnel->start(adopt, [weak, key] {
          if (auto impl = weak.lock()) {
            std::lock_guard lock(impl->mutex);
            impl->live.erase(key);
          }
        });
      });
      self->accept();
    });
  }

  asio::io_context& io;
  std::string name;
  Adopt adopt;
  asio::ssl::context ctx;
  tcp::acceptor acceptor;
  std::mutex mutex;
  std::unordered_map<Tunnel*, std::weak_ptr<Tunnel>> live;
  bool stopping = false;
};

TlsFrontDoor::TlsFrontDoor(asio::io_context& io, std::string name, const std::string& cert_file,
                           const std::string& key_file, Adopt adopt)
    : impl_(std::make_shared<Impl>(io, std::move(name), std::move(adopt))) {
  auto& ctx = impl_->ctx;
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) throw std::runtime_error("tls-cert " + cert_file + ": " + ec.message());
  ctx.use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("tls-key " + key_file + ": " + ec.message());
}

TlsFrontDoor::~TlsFrontDoor() {
  stop();
}

std::uint16_t TlsFrontDoor::listen(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::system_error(ec, "invalid listen address '" + host + "'");
  tcp::endpoint endpoint(address, port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(
        ec,
        impl_->name + ": cannot listen on " + host + ":" + std::to_string(port) +
            (ec == asio::error::address_in_use ? " (the port is taken by another process)" : ""));
  }
  impl_->accept();
  return a.local_endpoint().port();
}

void TlsFrontDoor::stop() {
  std::vector<std::shared_ptr<Tunnel>> open;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
    for (auto& [p, weak] : impl_->live)
      if (auto t = weak.lock()) open.push_back(std::move(t));
  }
  asio::post(impl_->acceptor.get_executor(), [impl = impl_] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
  for (auto& t : open)
    asio::post(t->executor(), [t] { t->close(); });
}

}  // namespace sluice::net
