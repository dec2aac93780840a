#include "media/protocols/mpegts/ts_output.hpp"

namespace sluice::media::mpegts {

namespace {

constexpr std::uint8_t kAacFormat = 10;  // FLV SoundFormat

// Access unit delimiters (Annex B, start code included): H.264 primary_pic_type 7 (any slice);
// H.265 AUD_NUT with pic_type 2.
constexpr char kH264Aud[] = {0, 0, 0, 1, 0x09, static_cast<char>(0xF0)};
constexpr char kH265Aud[] = {0, 0, 0, 1, 0x46, 0x01, 0x50};

}  // namespace

Result<TsTracks> describe_ts(const MediaPacket* video_config, const MediaPacket* audio_config) {
  TsTracks tracks;
  if (video_config) {
    const auto body = video_config->bytes();
    if (auto info = inspect_video(body); info && info->sequence_header) {
      const VideoCodec codec = video_codec_of(*info);
      const auto record = body.subspan(info->data_offset);
      Result<VideoConfig> config = fail(Error::bad_request("no video configuration"));
      if (codec == VideoCodec::kH264) config = parse_avc_config(record);
      if (codec == VideoCodec::kHevc) config = parse_hevc_config(record);
      if (config) {
        tracks.program.video = codec == VideoCodec::kH264 ? StreamType::kH264 : StreamType::kH265;
        tracks.video = std::move(*config);
      }
    }
  }
  if (audio_config) {
    const auto body = audio_config->bytes();
    if (auto info = inspect_audio(body);
        info && info->format == kAacFormat && info->sequence_header) {
      if (auto config = parse_aac_config(body.subspan(info->data_offset))) {
        tracks.program.audio = true;
        tracks.audio = *config;
      }
    }
  }
  if (!tracks.video && !tracks.audio) {
    return fail(Error{415, "MPEG-TS carries H.264, H.265 and AAC; this path has none of them", {}});
  }
  return tracks;
}

void build_ts_packets(const MediaPacket& packet, const TsTracks& tracks, std::string& out) {
  if (packet.sequence_header) return;
  const auto body = packet.bytes();
  const std::int64_t dts = (std::int64_t{packet.timestamp} + kPcrLeadMs) * 90;
  if (packet.type == tag_type::kVideo && tracks.video) {
    auto info = inspect_video(body);
    if (!info || !is_coded_frame(*info, body)) return;
    if (video_codec_of(*info) != tracks.video->codec) return;
    std::string annexb;
    if (tracks.video->codec == VideoCodec::kH264) {
      annexb.assign(kH264Aud, sizeof kH264Aud);
    } else {
      annexb.assign(kH265Aud, sizeof kH265Aud);
    }
    if (!append_annexb(*tracks.video, body.subspan(info->data_offset), packet.keyframe, annexb)) {
      return;
    }
    PesPacket pes;
    pes.pid = kVideoPid;
    pes.stream_id = 0xE0;
    pes.dts = dts;
    pes.pts = dts + std::int64_t{info->composition_time} * 90;
    pes.pcr = std::int64_t{packet.timestamp} * 90;
    pes.random_access = packet.keyframe;
    append_pes(pes, {reinterpret_cast<const std::uint8_t*>(annexb.data()), annexb.size()}, out);
  } else if (packet.type == tag_type::kAudio && tracks.audio) {
    auto info = inspect_audio(body);
    if (!info || info->format != kAacFormat || info->sequence_header) return;
    std::string adts;
    if (!append_adts(*tracks.audio, body.subspan(info->data_offset), adts)) return;
    PesPacket pes;
    pes.pid = kAudioPid;
    pes.stream_id = 0xC0;
    pes.pts = dts;
    if (!tracks.video) pes.pcr = std::int64_t{packet.timestamp} * 90;
    pes.random_access = !tracks.video;
    append_pes(pes, {reinterpret_cast<const std::uint8_t*>(adts.data()), adts.size()}, out);
  }
}

}  // namespace sluice::media::mpegts
