#include "media/protocols/mpegts/ts_output.hpp"

#include "media/protocols/mpegts/opus_ts.hpp"

namespace sluice::media::mpegts {

namespace {

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
    auto config = parse_audio_config(audio_config->bytes());
    if (config && config->codec == AudioCodec::kAac) {
      tracks.program.audio = StreamType::kAacAdts;
      tracks.audio = std::move(*config);
    } else if (config && config->codec == AudioCodec::kOpus && config->opus.channels <= 2) {
      tracks.program.audio = StreamType::kOpus;
      tracks.program.audio_channels = config->opus.channels;
      tracks.audio = std::move(*config);
    }
  }
  if (!tracks.video && !tracks.audio) {
    return fail(
        Error{415, "MPEG-TS carries H.264, H.265, AAC and Opus; this path has none of them", {}});
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
    const auto frame = audio_frame_of(body, tracks.audio->codec);
    if (!frame) return;
    std::string unit;  // one ADTS frame, or one Opus packet with its control header
    PesPacket pes;
    pes.pid = kAudioPid;
    if (tracks.audio->codec == AudioCodec::kAac) {
      if (!append_adts(tracks.audio->aac, *frame, unit)) return;
      pes.stream_id = 0xC0;
    } else {
      append_opus_access_unit({reinterpret_cast<const char*>(frame->data()), frame->size()}, unit);
      pes.stream_id = kOpusStreamId;
    }
    pes.pts = dts;
    if (!tracks.video) pes.pcr = std::int64_t{packet.timestamp} * 90;
    pes.random_access = !tracks.video;
    append_pes(pes, {reinterpret_cast<const std::uint8_t*>(unit.data()), unit.size()}, out);
  }
}

}  // namespace sluice::media::mpegts
