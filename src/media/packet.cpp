#include "media/packet.hpp"

namespace sluice::media {

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

const std::string& MediaPacket::form(Form form, Builder build) const {
  auto& slot = forms_[static_cast<int>(form)];
  if (!slot) {
    slot = std::make_unique<std::string>();
    build(*this, *slot);
  }
  return *slot;
}

const std::string& MediaPacket::stateful_form(
    Form form, const std::function<void(const MediaPacket&, std::string&)>& build) const {
  auto& slot = forms_[static_cast<int>(form)];
  if (!slot) {
    slot = std::make_unique<std::string>();
    build(*this, *slot);
  }
  return *slot;
}

const std::vector<std::string>& MediaPacket::rtp_form(
    const std::function<void(const MediaPacket&, std::vector<std::string>&)>& build) const {
  if (!rtp_) {
    rtp_ = std::make_unique<std::vector<std::string>>();
    build(*this, *rtp_);
  }
  return *rtp_;
}

}  // namespace sluice::media
