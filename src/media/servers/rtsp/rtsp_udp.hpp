#pragma once
// RtspUdp: the two UDP sockets every RTSP session over UDP shares — RTP on an even port, RTCP on
// the next — as MediaMTX does (`rtpAddress`/`rtcpAddress`): one pair of server ports to open in a
// firewall, whatever the number of sessions. Datagrams are handed to the session registered for
// their source address and port (a publisher's RTP and RTCP, a reader's RTCP receiver reports);
// others are dropped and counted. Media thread only.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>

namespace sluice::media {

class RtspUdp : public std::enable_shared_from_this<RtspUdp> {
 public:
  using udp = boost::asio::ip::udp;
  using Receiver = std::function<void(std::span<const std::uint8_t> datagram)>;

  // Binds `address`:`rtp_port` and `address`:`rtp_port + 1`. Throws std::system_error naming the
  // port that cannot be bound.
  RtspUdp(boost::asio::io_context& io, const boost::asio::ip::address& address,
          std::uint16_t rtp_port);

  void start();  // starts receiving on both sockets
  void close();

  std::uint16_t rtp_port() const { return rtp_port_; }
  std::uint16_t rtcp_port() const { return rtp_port_ + 1; }

  // Datagrams from `from` on the RTP (`rtcp` false) or RTCP socket go to `receiver` until
  // remove_receiver(). A later registration for the same source replaces the earlier one.
  void add_receiver(bool rtcp, const udp::endpoint& from, Receiver receiver);
  void remove_receiver(bool rtcp, const udp::endpoint& from);

  // Sends without waiting; a datagram the kernel cannot take now is dropped (counted): RTP is
  // loss-tolerant and a reader's slowness must not stall the media thread.
  void send(bool rtcp, std::span<const std::uint8_t> datagram, const udp::endpoint& to);

  std::uint64_t dropped_out() const { return dropped_out_; }
  std::uint64_t unknown_in() const { return unknown_in_; }

 private:
  void receive(bool rtcp);

  udp::socket rtp_;
  udp::socket rtcp_;
  std::uint16_t rtp_port_ = 0;
  std::array<std::uint8_t, 65536> rtp_buffer_{};
  std::array<std::uint8_t, 65536> rtcp_buffer_{};
  udp::endpoint rtp_from_, rtcp_from_;
  std::map<std::pair<bool, udp::endpoint>, Receiver> receivers_;
  std::uint64_t dropped_out_ = 0;
  std::uint64_t unknown_in_ = 0;
  bool closed_ = false;
};

}  // namespace sluice::media
