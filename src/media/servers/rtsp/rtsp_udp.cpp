#include "media/servers/rtsp/rtsp_udp.hpp"

#include <system_error>

namespace sluice::media {

namespace {

void bind_udp(boost::asio::ip::udp::socket& s, const boost::asio::ip::address& address,
              std::uint16_t port, const char* what) {
  boost::system::error_code ec;
  const boost::asio::ip::udp::endpoint endpoint(address, port);
  s.open(endpoint.protocol(), ec);
  if (!ec) s.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) s.bind(endpoint, ec);
  if (!ec) s.non_blocking(true, ec);
  if (ec) {
    throw std::system_error(ec, std::string("cannot bind the RTSP ") + what + " port " +
                                    address.to_string() + ":" + std::to_string(port));
  }
}

}  // namespace

RtspUdp::RtspUdp(boost::asio::io_context& io, const boost::asio::ip::address& address,
                 std::uint16_t rtp_port)
    : rtp_(io), rtcp_(io), rtp_port_(rtp_port) {
  bind_udp(rtp_, address, rtp_port, "RTP");
  bind_udp(rtcp_, address, static_cast<std::uint16_t>(rtp_port + 1), "RTCP");
}

void RtspUdp::start() {
  receive(false);
  receive(true);
}

void RtspUdp::close() {
  closed_ = true;
  boost::system::error_code ec;
  rtp_.close(ec);
  rtcp_.close(ec);
  receivers_.clear();
}

void RtspUdp::add_receiver(bool rtcp, const udp::endpoint& from, Receiver receiver) {
  receivers_[{rtcp, from}] = std::move(receiver);
}

void RtspUdp::remove_receiver(bool rtcp, const udp::endpoint& from) {
  receivers_.erase({rtcp, from});
}

void RtspUdp::send(bool rtcp, std::span<const std::uint8_t> datagram, const udp::endpoint& to) {
  if (closed_) return;
  boost::system::error_code ec;
  (rtcp ? rtcp_ : rtp_).send_to(boost::asio::buffer(datagram.data(), datagram.size()), to, 0, ec);
  if (ec) ++dropped_out_;
}

void RtspUdp::receive(bool rtcp) {
  if (closed_) return;
  auto& socket = rtcp ? rtcp_ : rtp_;
  auto& buffer = rtcp ? rtcp_buffer_ : rtp_buffer_;
  auto& from = rtcp ? rtcp_from_ : rtp_from_;
  socket.async_receive_from(
      boost::asio::buffer(buffer), from,
      [self = shared_from_this(), rtcp](boost::system::error_code ec, std::size_t n) {
        if (self->closed_ || ec == boost::asio::error::operation_aborted) {
          return;
        }
        if (!ec) {
          auto& b = rtcp ? self->rtcp_buffer_ : self->rtp_buffer_;
          auto& f = rtcp ? self->rtcp_from_ : self->rtp_from_;
          auto it = self->receivers_.find({rtcp, f});
          if (it == self->receivers_.end()) {
            ++self->unknown_in_;
          } else {
            auto receiver = it->second;  // may remove itself
            receiver({b.data(), n});
          }
        }
        self->receive(rtcp);
      });
}

}  // namespace sluice::media
