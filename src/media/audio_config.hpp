#pragma once
// Audio codec parameters of the media core, sans I/O: which codec an FLV audio tag carries and
// its configuration, for every protocol that maps audio (RTP/SDP, MPEG-TS, HLS). The core keeps
// AAC as legacy FLV audio (SoundFormat 10: AudioSpecificConfig, then raw frames) and Opus as
// Enhanced RTMP v2 audio (extended header, FourCC "Opus": a SequenceStart holding the OpusHead of
// RFC 7845 5.1, then CodedFrames holding one Opus packet each). Every function checks each length
// against its input and never reads outside it.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "media/codec_config.hpp"
#include "media/flv.hpp"

namespace sluice::media {

enum class AudioCodec : std::uint8_t { kNone, kAac, kOpus };

// AAC (legacy SoundFormat 10 or Enhanced "mp4a") and Opus (Enhanced "Opus"); kNone for others.
AudioCodec audio_codec_of(const AudioTagInfo& info);

// Opus always runs a 48 kHz clock on the wire (RFC 7587 4.1, RFC 7845 4).
inline constexpr int kOpusClockRate = 48000;

// The fields of an OpusHead (RFC 7845 5.1) the muxers need. Multi-byte fields are little-endian.
struct OpusConfig {
  unsigned channels = 2;  // 1..255 (mapping family 0: 1 or 2)
  unsigned pre_skip = 0;  // samples at 48 kHz
  std::uint32_t input_sample_rate = 48000;
  unsigned mapping_family = 0;
};

// Errors (400) for a head that is short, lacks the "OpusHead" magic, has version > 15, zero
// channels, or mapping family 0 with more than 2 channels.
Result<OpusConfig> parse_opus_head(std::span<const std::uint8_t> head);
// A 19-byte OpusHead of mapping family 0 (`channels` 1 or 2).
std::string opus_head(unsigned channels, unsigned pre_skip = 0);
// How many 48 kHz samples one Opus packet lasts, from its TOC byte and frame count (RFC 6716
// 3.1); 0 for an empty or malformed packet, or one over 120 ms.
unsigned opus_packet_samples(std::span<const std::uint8_t> packet);

// A path's audio configuration, read from its sequence header.
struct AudioConfig {
  AudioCodec codec = AudioCodec::kNone;
  AacConfig aac;       // kAac
  OpusConfig opus;     // kOpus
  std::string record;  // the AudioSpecificConfig or OpusHead as the publisher sent it
  int sample_rate() const { return codec == AudioCodec::kOpus ? kOpusClockRate : aac.sample_rate; }
  int channels() const {
    if (codec == AudioCodec::kOpus) return static_cast<int>(opus.channels);
    return static_cast<int>(aac.channel_config == 7 ? 8 : aac.channel_config);
  }
};

// `body` is an FLV audio tag body. 415 when it is not an AAC or Opus sequence header; 400 for a
// record that does not parse.
Result<AudioConfig> parse_audio_config(std::span<const std::uint8_t> body);

// The coded audio of an FLV audio body of `codec` — the raw AAC frame, the Opus packet; nullopt
// for a configuration, another codec, or an empty frame.
std::optional<std::span<const std::uint8_t>> audio_frame_of(std::span<const std::uint8_t> body,
                                                            AudioCodec codec);

// Whether an audio body uses Enhanced RTMP's extended header (Opus and the other FourCC codecs).
// Legacy FLV players (ffmpeg before 7, VLC 3) cannot read it — ffprobe 5.1 stalls probing it —
// so RTMP and HTTP-FLV readers are not sent such audio; their video plays.
bool is_enhanced_audio(std::span<const std::uint8_t> body);

// FLV audio bodies for publishers that are not RTMP: Opus as Enhanced RTMP audio.
std::string opus_sequence_start_body(std::string_view opus_head);
std::string opus_frame_body(std::string_view packet);

}  // namespace sluice::media
