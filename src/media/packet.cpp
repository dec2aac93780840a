#include "media/packet.hpp"

#include "media/protocols/rtp/aac_rtp.hpp"
#include "media/protocols/rtp/nal_rtp.hpp"
#include "rtmp/chunk.hpp"
#include "rtmp/server_session.hpp"

namespace sluice::media {
namespace {

constexpr std::uint8_t kAac = 10;

// The NAL units of an AVCC/HVCC body (`length_size`-byte big-endian lengths); stops at the first
// length that runs past the end.
std::vector<std::string_view> nal_units_of(std::span<const std::uint8_t> data, int length_size) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (data.size() - at > static_cast<std::size_t>(length_size)) {
    std::size_t n = 0;
    for (int i = 0; i < length_size; ++i)
      n = (n << 8) | data[at + i];
    at += length_size;
    if (n == 0 || n > data.size() - at) break;
    out.emplace_back(reinterpret_cast<const char*>(&data[at]), n);
    at += n;
  }
  return out;
}

}  // namespace

MediaPacket classify_packet(std::uint8_t type, std::uint32_t timestamp, std::string body) {
  MediaPacket p;
  p.type = type;
  p.timestamp = timestamp;
  p.body = std::move(body);
  if (type == tag_type::kVideo) {
    if (auto info = inspect_video(p.bytes())) {
      p.keyframe = info->keyframe && !info->sequence_header;
      p.sequence_header = info->sequence_header;
    }
  } else if (type == tag_type::kAudio) {
    if (auto info = inspect_audio(p.bytes())) p.sequence_header = info->sequence_header;
  }
  return p;
}

const std::string& MediaPacket::rtmp() const {
  if (!rtmp_) {
    rtmp_ = std::make_unique<std::string>();
    const rtmp::ChunkWriter writer(rtmp::kServerChunkSize);
    writer.write(rtmp::play_csid(type), timestamp, type, rtmp::kPlayStreamId, bytes(), *rtmp_);
  }
  return *rtmp_;
}

const std::string& MediaPacket::flv() const {
  if (!flv_) {
    flv_ = std::make_unique<std::string>();
    append_flv_tag(type, timestamp, bytes(), *flv_);
  }
  return *flv_;
}

const std::vector<std::string>& MediaPacket::rtp(
    int nal_length_size, const std::vector<std::string>& parameter_sets) const {
  if (rtp_) return *rtp_;
  rtp_ = std::make_unique<std::vector<std::string>>();
  if (sequence_header) return *rtp_;
  if (type == tag_type::kVideo) {
    auto info = inspect_video(bytes());
    if (!info || info->end_of_sequence) return *rtp_;
    const auto name = video_codec_name(*info);
    if (name != "h264" && name != "hevc") return *rtp_;
    const auto codec = name == "h264" ? rtp::NalCodec::kH264 : rtp::NalCodec::kH265;
    auto units = nal_units_of(bytes().subspan(info->data_offset), nal_length_size);
    if (units.empty()) return *rtp_;
    if (keyframe && !parameter_sets.empty()) {
      // Players that join at this keyframe (or lost the SDP's) get the parameter sets in band.
      std::vector<std::string_view> with(parameter_sets.begin(), parameter_sets.end());
      with.insert(with.end(), units.begin(), units.end());
      units = std::move(with);
    }
    rtp::packetize_nal_units(codec, units, rtp::kMaxPayload, *rtp_);
  } else if (type == tag_type::kAudio) {
    auto info = inspect_audio(bytes());
    if (!info || info->format != kAac || info->sequence_header) return *rtp_;
    const auto raw = body.substr(info->data_offset);
    rtp::packetize_aac(raw, rtp::kMaxPayload, *rtp_);
  }
  return *rtp_;
}

}  // namespace sluice::media
