#pragma once
// AAC over RTP as `mpeg4-generic` (RFC 3640, mode AAC-hbr), sans I/O.
//
// Packetizing: one raw AAC frame (an access unit, no ADTS header) per packet behind a one-entry
// AU-header section (sizeLength 13, indexLength 3); a frame larger than the packet is split into
// fragments that each carry the whole frame's AU-header (§3.2.3). The caller writes RTP headers:
// the frame's timestamp, the marker on its last payload.
//
// Depacketizing: several access units per packet (timestamps advance 1024 samples each, the AAC
// frame length) and fragmented ones (reassembled until their size is reached; a sequence gap
// drops the partial frame). The AU-header layout comes from the SDP fmtp (sizelength,
// indexlength, indexdeltalength); absurd values are refused at construction by the caller's
// check of Mpeg4GenericLayout::valid(). Errors (400) drop the packet; the depacketizer stays
// usable.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "media/protocols/rtp/rtp_packet.hpp"

namespace sluice::media::rtp {

inline constexpr std::uint32_t kAacFrameSamples = 1024;

// Appends the payloads of one AAC frame to `out`.
void packetize_aac(std::string_view frame, std::size_t max_payload, std::vector<std::string>& out);

// The `a=fmtp` line sluiced writes for a track it packetizes (payload type `pt`), from the
// AudioSpecificConfig bytes: "PT streamtype=5; profile-level-id=1; mode=AAC-hbr; sizelength=13;
// indexlength=3; indexdeltalength=3; config=HEX".
std::string aac_fmtp(int payload_type, std::span<const std::uint8_t> audio_specific_config);

struct Mpeg4GenericLayout {
  int size_length = 13;
  int index_length = 3;
  int index_delta_length = 3;
  bool valid() const {
    return size_length >= 1 && size_length <= 16 && index_length >= 0 && index_length <= 8 &&
           index_delta_length >= 0 && index_delta_length <= 8;
  }
};

struct AudioFrame {
  std::uint32_t timestamp = 0;  // RTP timestamp (the sample rate)
  std::string data;
};

class AacDepacketizer {
 public:
  explicit AacDepacketizer(Mpeg4GenericLayout layout = {}) : layout_(layout) {}
  Status push(const Packet& packet, std::vector<AudioFrame>& out);

 private:
  Mpeg4GenericLayout layout_;
  bool have_sequence_ = false;
  std::uint16_t last_sequence_ = 0;
  std::string partial_;  // a fragmented frame being reassembled
  std::size_t partial_size_ = 0;
  std::uint32_t partial_timestamp_ = 0;
};

}  // namespace sluice::media::rtp
