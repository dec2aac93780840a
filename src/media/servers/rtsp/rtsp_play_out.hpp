#pragma once
// What an RTSP reader receives, per track and for all its tracks: RTP packets of the path's
// packets (the shared RTP payloads of MediaPacket::rtp_form, with this reader's SSRC, sequence
// numbers and clock), interleaved into its TCP stream ('$', channel, length) or sent on the
// shared UDP socket, and RTCP sender reports; what its receiver reports said. Media thread only.
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "media/packet.hpp"
#include "media/protocols/rtp/rtcp.hpp"
#include "media/protocols/rtsp/rtsp_media.hpp"

namespace sluice::media {

class RtspUdp;

struct PlayOut {
  rtsp::PlayTrack track;
  bool setup = false;
  bool tcp = true;
  int rtp_channel = 0;  // TCP: RTP on this channel, RTCP on the next
  boost::asio::ip::udp::endpoint rtp_to, rtcp_to;
  std::uint32_t ssrc = 0;
  std::uint16_t sequence = 0;
  std::uint32_t timestamp_base = 0;
  std::uint32_t last_rtp_time = 0;
  std::int64_t last_ms = 0;  // media time (PTS, ms) of the last packet sent
  std::uint32_t packets = 0;
  std::uint32_t octets = 0;
  rtp::ReceptionReport last_report;  // from the reader's receiver reports
  bool reported = false;
};

class PlayOutTracks {
 public:
  std::vector<PlayOut> tracks;

  // Sends `packet` on the track of its kind: TCP bytes are appended to `tcp_out`, UDP datagrams
  // go to `udp` at once. Returns the UDP bytes and datagrams sent.
  std::pair<std::size_t, std::size_t> send(const MediaPacket& packet, std::string& tcp_out,
                                           RtspUdp* udp);
  // A sender report per track that sent something. Each maps its last RTP time to the wall clock
  // through one anchor (the first packet's media time and when it was sent), so the tracks'
  // mappings agree even while a GOP replay runs ahead of real time: players synchronise audio and
  // video by them.
  void send_reports(std::string& tcp_out, RtspUdp* udp);
  // A receiver report from the reader about track `index` (RTCP compound).
  void on_receiver_report(std::size_t index, std::span<const std::uint8_t> compound);

 private:
  std::optional<std::pair<std::int64_t, std::int64_t>> anchor_;  // (media ms, unix µs)
  std::string datagram_;
};

}  // namespace sluice::media
