#pragma once
// MediaPacket: one audio, video or script-data message of a live path — an access unit — as the
// publisher sent it (the RTMP message body, which is also the FLV tag body), classified once.
// Immutable once built and shared by pointer between the path's GOP cache, every reader's queue
// and the HLS muxer.
//
// Output forms: each protocol's bytes for the packet (RTMP chunks, an FLV tag, RTP payloads) are
// built the first time a reader of that form asks — by the protocol's own builder — then kept
// with the packet and shared by every other reader of the form: at most once per packet, and
// never while no reader of the form exists. Forms are built on the media thread only (every
// reader runs there), so the lazy members need no lock; the packet's content never changes.
#include <cstdint>
#include <functional>
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

  // Output forms. Each protocol names its form and how it is built (the protocol's code, not
  // the core's); the first reader of a form builds it and every other reader gets the same
  // bytes. Media thread only.
  enum class Form { kRtmpChunks, kFlvTag, kMpegTs, kCount };
  using Builder = void (*)(const MediaPacket& packet, std::string& out);
  const std::string& form(Form form, Builder build) const;
  // The same for forms whose builder needs the path's state (the MPEG-TS form needs its codec
  // configuration); every reader of a path passes an equivalent builder.
  const std::string& stateful_form(
      Form form, const std::function<void(const MediaPacket&, std::string&)>& build) const;
  // The RTP payloads of the access unit, built by `build` for the first RTP reader (every RTSP
  // reader of a path builds them alike). Media thread only.
  const std::vector<std::string>& rtp_form(
      const std::function<void(const MediaPacket&, std::vector<std::string>&)>& build) const;

 private:
  mutable std::unique_ptr<std::string> forms_[static_cast<int>(Form::kCount)];
  mutable std::unique_ptr<std::vector<std::string>> rtp_;
};

using PacketPtr = std::shared_ptr<const MediaPacket>;

// Classifies `body` (keyframe, sequence header) with inspect_video/inspect_audio; a body those
// reject is kept as a non-key, non-header packet.
MediaPacket classify_packet(std::uint8_t type, std::uint32_t timestamp, std::string body);

}  // namespace sluice::media
