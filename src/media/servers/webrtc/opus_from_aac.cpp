#include "media/servers/webrtc/opus_from_aac.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "media/audio_config.hpp"
#include "media/media_hub.hpp"

namespace sluice::media {

OpusFromAac::OpusFromAac(std::string path, MediaHub& hub) : path_(std::move(path)), hub_(hub) {}

OpusFromAac::~OpusFromAac() {
  if (attached_) {
    if (MediaPath* p = hub_.find(path_)) p->detach(this);
  }
}

void OpusFromAac::add(MediaSink* viewer) {
  if (std::find(viewers_.begin(), viewers_.end(), viewer) != viewers_.end()) return;
  viewers_.push_back(viewer);
  if (!attached_) {
    if (MediaPath* p = hub_.find(path_)) {
      attached_ = true;
      replaying_ = true;  // the GOP cache's audio is old: viewers start at the live edge
      p->attach(this);
      replaying_ = false;
    }
  } else if (opus_config_) {
    viewer->on_packet(opus_config_, false);
  }
}

void OpusFromAac::remove(MediaSink* viewer) {
  viewers_.erase(std::remove(viewers_.begin(), viewers_.end(), viewer), viewers_.end());
  if (viewers_.empty() && attached_) {
    attached_ = false;
    if (MediaPath* p = hub_.find(path_)) p->detach(this);
  }
}

void OpusFromAac::on_packet(const PacketPtr& p, bool) {
  if (p->type != tag_type::kAudio) return;
  if (replaying_ && !p->sequence_header) return;
  if (p->sequence_header) {
    auto config = parse_audio_config(p->bytes());
    if (!config || config->codec != AudioCodec::kAac) {
      transcoder_.reset();
      return;
    }
    auto made = AacToOpus::create(config->record);
    if (!made) {
      spdlog::warn("webrtc {}: no Opus for WebRTC viewers: {}", path_, made.error().detail);
      transcoder_.reset();
      return;
    }
    transcoder_ = std::move(*made);
    opus_config_ = std::make_shared<const MediaPacket>(classify_packet(
        tag_type::kAudio, p->timestamp, opus_sequence_start_body(transcoder_->opus_head())));
    for (auto* v : viewers_)
      v->on_packet(opus_config_, false);
    return;
  }
  const auto frame = audio_frame_of(p->bytes(), AudioCodec::kAac);
  if (!transcoder_ || !frame) return;
  ++frames_in_;
  std::vector<AacToOpus::Packet> out;
  if (!transcoder_->push(*frame, p->timestamp, out)) ++refused_;
  for (auto& o : out) {
    auto packet = std::make_shared<const MediaPacket>(classify_packet(
        tag_type::kAudio, static_cast<std::uint32_t>(o.ms), opus_frame_body(o.data)));
    ++packets_out_;
    for (auto* v : viewers_)
      v->on_packet(packet, false);
  }
}

void OpusFromAac::on_path_end() {
  attached_ = false;
  transcoder_.reset();
}

ReaderInfo OpusFromAac::reader_info() const {
  ReaderInfo info;
  info.id = "opus-" + path_;
  info.kind = "transcode";
  info.packets_out = packets_out_;
  info.dropped = refused_;
  return info;
}

void OpusFromAac::kick() {
  // Ends with its viewers: kicking the transcoder alone would leave them without audio.
}

}  // namespace sluice::media
