#pragma once
// MediaPacket: one audio, video or script-data message of a live path — an access unit — as the
// publisher sent it (the RTMP message body, which is also the FLV tag body), classified once.
// Immutable once built and shared by pointer between the path's GOP cache, every reader's queue
// and the HLS muxer.
//
// Output forms: each protocol's bytes for the packet (RTMP chunks, an FLV tag, RTP payloads) are
// built the first time a reader of that form asks, then kept with the packet and shared by every
// other reader of the form — at most once per packet, and never while no reader of the form
// exists. Forms are built on the media thread only (every reader runs there), so the lazy
// members need no lock; the packet's content never changes.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "media/flv.hpp"

namespace sluice::media {

struct MediaPacket {
  MediaPacket() = default;
  // A copy has the same content and builds its own forms when asked.
  MediaPacket(const MediaPacket& other)
      : type(other.type),
        timestamp(other.timestamp),
        keyframe(other.keyframe),
        sequence_header(other.sequence_header),
        body(other.body) {}
  MediaPacket& operator=(const MediaPacket& other) {
    if (this != &other) *this = MediaPacket(other);
    return *this;
  }
  MediaPacket(MediaPacket&&) = default;
  MediaPacket& operator=(MediaPacket&&) = default;

  std::uint8_t type = 0;         // tag_type::kAudio / kVideo / kScript
  std::uint32_t timestamp = 0;   // ms (RTMP timestamp = FLV DTS)
  bool keyframe = false;         // a video frame a decoder can start at
  bool sequence_header = false;  // codec configuration (AVC/HEVC record, AAC config)
  std::string body;              // the tag/message body

  std::span<const std::uint8_t> bytes() const {
    return {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()};
  }

  // The body as RTMP chunks on the play stream (message stream rtmp::kPlayStreamId, chunk size
  // rtmp::kServerChunkSize). Media thread only.
  const std::string& rtmp() const;
  // The body as one FLV tag (header, body, PreviousTagSize). Media thread only.
  const std::string& flv() const;
  // RTP payloads of the access unit (media/protocols/rtp): NAL units for H.264/H.265 (video
  // bodies whose NAL units carry `nal_length_size`-byte lengths, SPS/PPS first on keyframes when
  // `parameter_sets` is given), the raw frame for AAC; empty for configuration and script data.
  // The first caller's arguments build the form (every RTSP reader of a path passes the path's).
  // Media thread only.
  const std::vector<std::string>& rtp(int nal_length_size,
                                      const std::vector<std::string>& parameter_sets) const;

 private:
  mutable std::unique_ptr<std::string> rtmp_;
  mutable std::unique_ptr<std::string> flv_;
  mutable std::unique_ptr<std::vector<std::string>> rtp_;
};

using PacketPtr = std::shared_ptr<const MediaPacket>;

// Classifies `body` (keyframe, sequence header) with inspect_video/inspect_audio; a body those
// reject is kept as a non-key, non-header packet.
MediaPacket classify_packet(std::uint8_t type, std::uint32_t timestamp, std::string body);

}  // namespace sluice::media
