#include "media/servers/webrtc/ice_tcp.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <deque>
#include <system_error>

#include "media/servers/webrtc/webrtc_server.hpp"

namespace sluice::media {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

constexpr std::size_t kMaxQueuedBytes = 512 * 1024;             // per connection
constexpr std::size_t kMaxQueuedBytesInAll = 64 * 1024 * 1024;  // every connection together
constexpr std::size_t kMaxLinksPerAddress = 64;
constexpr auto kCheckDeadline = std::chrono::seconds(10);

// One ICE-TCP connection: RFC 4571 frames in and out.
class Link : public FramedLink, public std::enable_shared_from_this<Link> {
 public:
  Link(tcp::socket socket, std::shared_ptr<WebrtcServer> server,
       std::shared_ptr<std::size_t> queued_in_all)
      : socket_(std::move(socket)),
        server_(std::move(server)),
        deadline_(socket_.get_executor()),
        queued_in_all_(std::move(queued_in_all)) {
    boost::system::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    key_ = udp::endpoint(remote.address(), remote.port());
  }

  void start() {
    server_->add_link(key_, shared_from_this());
    deadline_.expires_after(kCheckDeadline);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && !self->server_->routed(self->key_)) self->close();
    });
    read_length();
  }

  bool write(std::span<const std::uint8_t> datagram) override {
    if (closed_ || datagram.size() > 0xFFFF || queued_ + datagram.size() > kMaxQueuedBytes ||
        *queued_in_all_ + datagram.size() > kMaxQueuedBytesInAll) {
      return false;
    }
    std::string frame;
    frame.reserve(datagram.size() + 2);
    frame.push_back(static_cast<char>(datagram.size() >> 8));
    frame.push_back(static_cast<char>(datagram.size() & 0xFF));
    frame.append(reinterpret_cast<const char*>(datagram.data()), datagram.size());
    queued_ += frame.size();
    *queued_in_all_ += frame.size();
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1) write_next();
    return true;
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    deadline_.cancel();
    *queued_in_all_ -= queued_;  // the queue itself goes with the link, once no write uses it
    queued_ = 0;
    server_->remove_link(key_);
  }

 private:
  void read_length() {
    asio::async_read(socket_, asio::buffer(length_),
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       if (ec || self->closed_) return self->close();
                       const std::size_t n =
                           (std::size_t{self->length_[0]} << 8) | self->length_[1];
                       if (n == 0) return self->read_length();
                       self->frame_.resize(n);
                       self->read_frame();
                     });
  }

  void read_frame() {
    asio::async_read(socket_, asio::buffer(frame_),
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       if (ec || self->closed_) return self->close();
                       self->server_->dispatch(self->frame_, self->key_);
                       self->read_length();
                     });
  }

  void write_next() {
    asio::async_write(
        socket_, asio::buffer(queue_.front()),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
          if (ec || self->closed_) return self->close();
          self->queued_ -= self->queue_.front().size();
          *self->queued_in_all_ -= self->queue_.front().size();
          self->queue_.pop_front();
          if (!self->queue_.empty()) self->write_next();
        });
  }

  tcp::socket socket_;
  std::shared_ptr<WebrtcServer> server_;
  asio::steady_timer deadline_;
  udp::endpoint key_;
  std::array<std::uint8_t, 2> length_{};
  std::vector<std::uint8_t> frame_;
  std::deque<std::string> queue_;
  std::size_t queued_ = 0;
  std::shared_ptr<std::size_t> queued_in_all_;  // the listener's: every link's queued bytes
  bool closed_ = false;
};

}  // namespace

IceTcpListener::IceTcpListener(asio::io_context& io, const asio::ip::address& address,
                               std::uint16_t port, std::shared_ptr<WebrtcServer> server,
                               std::size_t max_links)
    : acceptor_(io),
      retry_(io),
      server_(std::move(server)),
      max_links_(max_links),
      queued_in_all_(std::make_shared<std::size_t>(0)) {
  boost::system::error_code ec;
  const tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::system_error(
        ec, "cannot listen for ICE-TCP on " + address.to_string() + ":" + std::to_string(port));
  }
  port_ = acceptor_.local_endpoint().port();
}

void IceTcpListener::start() {
  accept();
}

void IceTcpListener::close() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

void IceTcpListener::accept() {
  acceptor_.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (ec) {  // out of descriptors, say: wait before trying again rather than spin
          self->retry_.expires_after(std::chrono::milliseconds(100));
          self->retry_.async_wait([self](const boost::system::error_code& e) {
            if (!e) self->accept();
          });
          return;
        }
        {
          boost::system::error_code peer_ec;
          const auto peer = socket.remote_endpoint(peer_ec);
          if (!peer_ec && self->server_->links() < self->max_links_ &&
              self->server_->links_from(peer.address()) < kMaxLinksPerAddress) {
            socket.set_option(tcp::no_delay(true), peer_ec);
            std::make_shared<Link>(std::move(socket), self->server_, self->queued_in_all_)->start();
          }  // else: the socket closes as it goes out of scope
        }
        self->accept();
      });
}

}  // namespace sluice::media
