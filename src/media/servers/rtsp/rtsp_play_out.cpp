#include "media/servers/rtsp/rtsp_play_out.hpp"

#include "media/protocols/rtp/rtp_packet.hpp"
#include "media/servers/rtsp/rtsp_udp.hpp"

namespace sluice::media {
namespace {

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void append_interleaved(std::string& out, int channel, std::size_t length) {
  out += '$';
  out += static_cast<char>(channel);
  out += static_cast<char>(length >> 8);
  out += static_cast<char>(length);
}

}  // namespace

std::pair<std::size_t, std::size_t> PlayOutTracks::send(const MediaPacket& p, std::string& tcp_out,
                                                        RtspUdp* udp) {
  std::pair<std::size_t, std::size_t> sent{0, 0};
  const bool video = p.type == tag_type::kVideo;
  if (!video && p.type != tag_type::kAudio) return sent;
  for (auto& o : tracks) {
    if (!o.setup || o.track.video != video) continue;
    const auto& payloads = p.rtp_form([&track = o.track](const MediaPacket& packet, auto& out) {
      rtsp::build_rtp_payloads(packet, track, out);
    });
    if (payloads.empty()) return sent;
    std::int64_t ms = p.timestamp;
    if (video) {
      if (auto info = inspect_video(p.bytes())) ms += info->composition_time;
    }
    const auto rtp_time = static_cast<std::uint32_t>(
        o.timestamp_base + static_cast<std::uint32_t>(ms * o.track.clock_rate / 1000));
    o.last_rtp_time = rtp_time;
    o.last_ms = ms;
    if (!anchor_) {
      anchor_ = std::pair{ms, std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()};
    }
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      const rtp::Header h{i + 1 == payloads.size(), static_cast<std::uint8_t>(o.track.payload_type),
                          o.sequence++, rtp_time, o.ssrc};
      o.packets++;
      o.octets += static_cast<std::uint32_t>(payloads[i].size());
      if (o.tcp) {
        append_interleaved(tcp_out, o.rtp_channel, rtp::kHeaderSize + payloads[i].size());
        rtp::append_header(h, tcp_out);
        tcp_out += payloads[i];
      } else if (udp) {
        datagram_.clear();
        rtp::append_header(h, datagram_);
        datagram_ += payloads[i];
        udp->send(false, as_bytes(datagram_), o.rtp_to);
        sent.first += datagram_.size();
        sent.second++;
      }
    }
    return sent;
  }
  return sent;
}

void PlayOutTracks::send_reports(std::string& tcp_out, RtspUdp* udp) {
  if (!anchor_) return;
  for (auto& o : tracks) {
    if (!o.setup || o.packets == 0) continue;
    const std::int64_t unix_us = anchor_->second + (o.last_ms - anchor_->first) * 1000;
    std::string sr;
    rtp::append_sender_report(
        {o.ssrc, rtp::ntp_from_unix_us(unix_us), o.last_rtp_time, o.packets, o.octets}, sr);
    if (o.tcp) {
      append_interleaved(tcp_out, o.rtp_channel + 1, sr.size());
      tcp_out += sr;
    } else if (udp) {
      udp->send(true, as_bytes(sr), o.rtcp_to);
    }
  }
}

void PlayOutTracks::on_receiver_report(std::size_t index, std::span<const std::uint8_t> compound) {
  if (index >= tracks.size()) return;
  auto reports = rtp::parse_rtcp(compound);
  if (!reports) return;
  for (const auto& r : reports->reports) {
    if (r.ssrc != tracks[index].ssrc) continue;
    tracks[index].last_report = r;
    tracks[index].reported = true;
  }
}

}  // namespace sluice::media
