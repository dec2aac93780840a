#pragma once
// ICE-TCP (RFC 6544), the fallback for peers whose UDP is blocked: a passive TCP listener on the
// WebRTC port's address and number, on the media thread. Each accepted connection carries
// RFC 4571 frames (a 16-bit length, then one STUN, DTLS or SRTP datagram), which go to the
// WebrtcServer exactly as UDP datagrams from the connection's address would; what the server
// sends to that address goes back framed on the connection. Bounds: at most `max_links`
// connections (64 from one address), frames up to 65535 bytes, a connection that has not passed a
// STUN check within 10 s is closed, a connection ends with its session (and a session whose
// media went over a connection ends with it), and each connection queues at most 512 KiB to send,
// all of them together 64 MiB — overflow policy **drop** (newest; RTP is loss-tolerant and
// NACKed), counted as the port's dropped_out. A failed accept (out of descriptors) is retried
// after 100 ms.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>

namespace sluice::media {

class WebrtcServer;

class IceTcpListener : public std::enable_shared_from_this<IceTcpListener> {
 public:
  using tcp = boost::asio::ip::tcp;
  // Binds `address`:`port` (TCP). Throws std::system_error naming it.
  IceTcpListener(boost::asio::io_context& io, const boost::asio::ip::address& address,
                 std::uint16_t port, std::shared_ptr<WebrtcServer> server,
                 std::size_t max_links = 1024);
  std::uint16_t port() const { return port_; }
  void start();
  void close();

 private:
  void accept();
  tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  std::uint16_t port_ = 0;
  std::shared_ptr<WebrtcServer> server_;
  std::size_t max_links_;
  std::shared_ptr<std::size_t> queued_in_all_;  // media thread only
};

}  // namespace sluice::media
