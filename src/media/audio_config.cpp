#include "media/audio_config.hpp"

namespace sluice::media {
namespace {

constexpr std::uint8_t kExtendedAudio = 9 << 4;  // SoundFormat 9: Enhanced RTMP header
constexpr std::uint8_t kSequenceStart = 0;
constexpr std::uint8_t kCodedFrames = 1;
constexpr unsigned kMaxOpusSamples = 5760;  // 120 ms at 48 kHz

std::string extended_audio_body(std::uint8_t packet_type, std::uint32_t codec,
                                std::string_view data) {
  std::string body;
  body.reserve(5 + data.size());
  body.push_back(static_cast<char>(kExtendedAudio | packet_type));
  for (int shift = 24; shift >= 0; shift -= 8)
    body.push_back(static_cast<char>((codec >> shift) & 0xFF));
  body.append(data);
  return body;
}

}  // namespace

AudioCodec audio_codec_of(const AudioTagInfo& info) {
  const auto name = audio_codec_name(info);
  if (name == "aac") return AudioCodec::kAac;
  if (name == "opus") return AudioCodec::kOpus;
  return AudioCodec::kNone;
}

Result<OpusConfig> parse_opus_head(std::span<const std::uint8_t> head) {
  constexpr std::string_view kMagic = "OpusHead";
  if (head.size() < 19) return fail(Error::bad_request("OpusHead: truncated"));
  if (std::string_view(reinterpret_cast<const char*>(head.data()), 8) != kMagic) {
    return fail(Error::bad_request("OpusHead: no OpusHead magic"));
  }
  if (head[8] > 15) return fail(Error::bad_request("OpusHead: unsupported version"));
  OpusConfig config;
  config.channels = head[9];
  config.pre_skip = unsigned{head[10]} | (unsigned{head[11]} << 8);
  config.input_sample_rate = std::uint32_t{head[12]} | (std::uint32_t{head[13]} << 8) |
                             (std::uint32_t{head[14]} << 16) | (std::uint32_t{head[15]} << 24);
  config.mapping_family = head[18];
  if (config.channels == 0) return fail(Error::bad_request("OpusHead: zero channels"));
  if (config.mapping_family == 0 && config.channels > 2) {
    return fail(Error::bad_request("OpusHead: mapping family 0 with more than 2 channels"));
  }
  if (config.mapping_family != 0 && head.size() < 21u + config.channels) {
    return fail(Error::bad_request("OpusHead: truncated channel mapping table"));
  }
  return config;
}

std::string opus_head(unsigned channels, unsigned pre_skip) {
  std::string head = "OpusHead";
  head.push_back(1);  // version
  head.push_back(static_cast<char>(channels));
  head.push_back(static_cast<char>(pre_skip & 0xFF));
  head.push_back(static_cast<char>((pre_skip >> 8) & 0xFF));
  const std::uint32_t rate = kOpusClockRate;
  for (int shift = 0; shift < 32; shift += 8)
    head.push_back(static_cast<char>((rate >> shift) & 0xFF));
  head.append(2, '\0');  // output gain
  head.push_back(0);     // mapping family 0
  return head;
}

unsigned opus_packet_samples(std::span<const std::uint8_t> packet) {
  if (packet.empty()) return 0;
  const unsigned config = packet[0] >> 3;
  unsigned frame = 0;  // samples per frame at 48 kHz
  if (config < 12) {
    static constexpr unsigned kSilk[] = {480, 960, 1920, 2880};
    frame = kSilk[config % 4];
  } else if (config < 16) {
    frame = config % 2 ? 960 : 480;  // hybrid: 10 or 20 ms
  } else {
    static constexpr unsigned kCelt[] = {120, 240, 480, 960};
    frame = kCelt[config % 4];
  }
  unsigned frames = 0;
  switch (packet[0] & 3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default:
      if (packet.size() < 2) return 0;
      frames = packet[1] & 0x3F;
  }
  const unsigned samples = frames * frame;
  return samples > kMaxOpusSamples ? 0 : samples;
}

Result<AudioConfig> parse_audio_config(std::span<const std::uint8_t> body) {
  auto info = inspect_audio(body);
  if (!info) return fail(info.error());
  AudioConfig config;
  config.codec = audio_codec_of(*info);
  if (config.codec == AudioCodec::kNone || !info->sequence_header) {
    return fail(Error{415, "not an AAC or Opus configuration", {}});
  }
  const auto record = body.subspan(info->data_offset);
  config.record.assign(reinterpret_cast<const char*>(record.data()), record.size());
  if (config.codec == AudioCodec::kAac) {
    auto aac = parse_aac_config(record);
    if (!aac) return fail(aac.error());
    config.aac = *aac;
  } else {
    auto opus = parse_opus_head(record);
    if (!opus) return fail(opus.error());
    config.opus = *opus;
  }
  return config;
}

std::optional<std::span<const std::uint8_t>> audio_frame_of(std::span<const std::uint8_t> body,
                                                            AudioCodec codec) {
  auto info = inspect_audio(body);
  if (!info || !info->coded_frame || audio_codec_of(*info) != codec) return std::nullopt;
  const auto frame = body.subspan(info->data_offset);
  if (frame.empty()) return std::nullopt;
  return frame;
}

bool is_enhanced_audio(std::span<const std::uint8_t> body) {
  return !body.empty() && (body[0] & 0xF0) == kExtendedAudio;
}

std::string opus_sequence_start_body(std::string_view head) {
  return extended_audio_body(kSequenceStart, fourcc("Opus"), head);
}

std::string opus_frame_body(std::string_view packet) {
  return extended_audio_body(kCodedFrames, fourcc("Opus"), packet);
}

}  // namespace sluice::media
