#include "media/media_path.hpp"

#include <algorithm>

#include "media/codec_config.hpp"
#include "media/protocols/rtmp/chunk.hpp"
#include "media/protocols/rtmp/server_session.hpp"

namespace sluice::media {

namespace {

constexpr auto kRateWindow = std::chrono::seconds(2);

double number_field(const rtmp::amf0::Value& v, std::string_view key) {
  const auto* f = v.find(key);
  return f && f->type == rtmp::amf0::Marker::kNumber ? f->number : 0;
}

}  // namespace

MediaPath::MediaPath(std::string name, PublisherInfo publisher, PublisherHandle* handle,
                     PathOptions options)
    : name_(std::move(name)),
      publisher_(std::move(publisher)),
      handle_(handle),
      options_(options),
      started_wall_(std::chrono::system_clock::now()),
      window_start_(Clock::now()) {}

PacketPtr MediaPath::build(MediaPacket p) const {
  return std::make_shared<const MediaPacket>(std::move(p));  // forms are built by their readers
}

bool MediaPath::on_metadata(const rtmp::amf0::Value& metadata) {
  const rtmp::amf0::Value values[] = {rtmp::amf0::Value::str("onMetaData"), metadata};
  metadata_ = build(classify_packet(tag_type::kScript, 0, rtmp::amf0::encode(values)));
  const StreamDescription before = description_;
  description_.width = static_cast<int>(number_field(metadata, "width"));
  description_.height = static_cast<int>(number_field(metadata, "height"));
  description_.fps = number_field(metadata, "framerate");
  description_.video_kbps = number_field(metadata, "videodatarate");
  description_.audio_kbps = number_field(metadata, "audiodatarate");
  if (const auto* enc = metadata.find("encoder"); enc && enc->type == rtmp::amf0::Marker::kString) {
    description_.encoder = enc->string.substr(0, 128);
  }
  deliver(metadata_, false);
  return before.width != description_.width || before.height != description_.height ||
         before.fps != description_.fps || before.video_kbps != description_.video_kbps ||
         before.encoder != description_.encoder;
}

bool MediaPath::restart_point(const MediaPacket& p) const {
  if (p.type == tag_type::kVideo) return p.keyframe;
  return p.type == tag_type::kAudio && !has_video();
}

bool MediaPath::on_media(std::uint8_t type, std::uint32_t timestamp, std::string body) {
  counters_.packets_in++;
  counters_.bytes_in += body.size();
  window_bytes_ += body.size();
  const auto now = Clock::now();
  if (now - window_start_ >= kRateWindow) {
    const double seconds = std::chrono::duration<double>(now - window_start_).count();
    measured_bps_ = static_cast<double>(window_bytes_) * 8 / seconds;
    window_bytes_ = 0;
    window_start_ = now;
  }
  if (continue_after_ && !offset_) {
    constexpr std::uint32_t kGapMs = 40;              // about one frame between the two publishers
    offset_ = *continue_after_ + kGapMs - timestamp;  // unsigned: wraps as timestamps do
  }
  if (offset_) timestamp += *offset_;
  last_timestamp_ = timestamp;
  MediaPacket p = classify_packet(type, timestamp, std::move(body));
  const std::string video_before = description_.video_codec;
  const std::string audio_before = description_.audio_codec;
  const int width_before = description_.width;
  if (type == tag_type::kVideo) {
    if (auto info = inspect_video(p.bytes())) {
      if (description_.video_codec.empty() || p.sequence_header) {
        description_.video_codec = std::string(video_codec_name(*info));
      }
      // The picture size from the SPS, for publishers that send no metadata (RTSP, SRT).
      if (p.sequence_header) {
        if (auto size =
                picture_size_of(video_codec_of(*info), p.bytes().subspan(info->data_offset));
            size && (description_.width == 0 || description_.height == 0)) {
          description_.width = size->width;
          description_.height = size->height;
        }
      }
    }
    if (!p.sequence_header) {
      counters_.video_frames++;
      if (p.keyframe) counters_.keyframes++;
    }
  } else if (type == tag_type::kAudio) {
    if (auto info = inspect_audio(p.bytes())) {
      description_.audio_codec = std::string(audio_codec_name(*info));
    }
  }
  const bool restart = restart_point(p);
  const bool config = p.sequence_header;
  PacketPtr packet = build(std::move(p));
  if (config) {
    (type == tag_type::kVideo ? video_config_ : audio_config_) = packet;
  } else {
    cache(packet);
  }
  deliver(packet, restart);
  return description_.video_codec != video_before || description_.audio_codec != audio_before ||
         description_.width != width_before;
}

void MediaPath::cache(const PacketPtr& p) {
  if (p->type == tag_type::kVideo && p->keyframe) {
    latest_keyframe_ = p;
    gop_.clear();
    gop_bytes_ = 0;
    gop_overflow_ = false;
  } else if (gop_.empty() || gop_overflow_) {
    return;  // the cache always starts at a keyframe
  }
  if (gop_.size() + 1 > options_.gop_max_packets ||
      gop_bytes_ + p->body.size() > options_.gop_max_bytes) {
    gop_.clear();
    gop_bytes_ = 0;
    gop_overflow_ = true;  // a GOP too long to cache: new readers wait for the next keyframe
    return;
  }
  gop_.push_back(p);
  gop_bytes_ += p->body.size();
}

void MediaPath::deliver(const PacketPtr& p, bool restart_point) {
  // A sink may detach itself (and only itself) from inside on_packet.
  for (std::size_t i = 0; i < readers_.size();) {
    MediaSink* sink = readers_[i];
    sink->on_packet(p, restart_point);
    if (i < readers_.size() && readers_[i] == sink) ++i;
  }
}

void MediaPath::attach(MediaSink* sink) {
  if (metadata_) sink->on_packet(metadata_, false);
  if (video_config_) sink->on_packet(video_config_, false);
  if (audio_config_) sink->on_packet(audio_config_, false);
  for (std::size_t i = 0; i < gop_.size(); ++i)
    sink->on_packet(gop_[i], i == 0);
  readers_.push_back(sink);
}

void MediaPath::detach(MediaSink* sink) {
  auto it = std::find(readers_.begin(), readers_.end(), sink);
  if (it == readers_.end()) return;
  const ReaderInfo info = sink->reader_info();
  counters_.bytes_out += info.bytes_out;
  counters_.dropped += info.dropped;
  readers_.erase(it);
}

void MediaPath::end() {
  auto readers = std::move(readers_);
  readers_.clear();
  for (MediaSink* sink : readers) {
    const ReaderInfo info = sink->reader_info();
    counters_.bytes_out += info.bytes_out;
    counters_.dropped += info.dropped;
    sink->on_path_end();
  }
}

}  // namespace sluice::media
