#pragma once
// MediaPacket: one audio, video or script-data message of a live path, as the publisher sent it
// (the RTMP message body, which is also the FLV tag body). Immutable once built and shared by
// pointer between the path's GOP cache, every reader's queue and the HLS muxer; the RTMP chunk
// bytes and the FLV tag bytes are serialised once, when the packet is built, so a reader's
// write is a pointer copy (media/media_path.hpp).
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "media/flv.hpp"

namespace sluice::media {

struct MediaPacket {
  std::uint8_t type = 0;         // tag_type::kAudio / kVideo / kScript
  std::uint32_t timestamp = 0;   // ms (RTMP timestamp = FLV DTS)
  bool keyframe = false;         // a video frame a decoder can start at
  bool sequence_header = false;  // codec configuration (AVC/HEVC record, AAC config)
  std::string body;              // the tag/message body
  std::string rtmp;              // body as RTMP chunks on the play stream (see media_path.hpp)
  std::string flv;               // body as one FLV tag (header, body, PreviousTagSize)

  std::span<const std::uint8_t> bytes() const {
    return {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()};
  }
};

using PacketPtr = std::shared_ptr<const MediaPacket>;

// Classifies `body` (keyframe, sequence header) with inspect_video/inspect_audio; a body those
// reject is kept as a non-key, non-header packet. Serialised forms are left empty.
MediaPacket classify_packet(std::uint8_t type, std::uint32_t timestamp, std::string body);

}  // namespace sluice::media
