#pragma once
// FLV (Adobe FLV file format, version 10, plus Enhanced RTMP's extended video header), sans I/O.
// An RTMP audio/video/data message body is exactly an FLV tag body, so the same inspectors serve
// RTMP ingest, HTTP-FLV output and the HLS muxer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice::media {

// FLV tag types; equal to the RTMP message type ids of the same content.
namespace tag_type {
inline constexpr std::uint8_t kAudio = 8;
inline constexpr std::uint8_t kVideo = 9;
inline constexpr std::uint8_t kScript = 18;
}  // namespace tag_type

// FourCC as a big-endian integer, e.g. fourcc("hvc1").
constexpr std::uint32_t fourcc(const char (&s)[5]) {
  return (std::uint32_t(std::uint8_t(s[0])) << 24) | (std::uint32_t(std::uint8_t(s[1])) << 16) |
         (std::uint32_t(std::uint8_t(s[2])) << 8) | std::uint32_t(std::uint8_t(s[3]));
}

struct VideoTagInfo {
  bool keyframe = false;
  bool sequence_header = false;  // AVC/HEVC decoder configuration, AV1 sequence header
  bool end_of_sequence = false;
  bool enhanced = false;              // Enhanced RTMP header (codec is a FourCC)
  std::uint32_t codec = 0;            // legacy FLV codec id (7 = AVC, 12 = HEVC) or a FourCC
  std::int32_t composition_time = 0;  // ms, pts - dts
  std::size_t data_offset = 0;        // where the codec data (AVCC NAL units, config) starts
};

// Legacy FLV audio ([SoundFormat:4][rate:2][size:1][type:1], AAC adding an AACPacketType byte)
// and Enhanced RTMP v2's extended audio header ([SoundFormat = 9:4][AudioPacketType:4][FourCC:32],
// e.g. "Opus": a sequence start holds the OpusHead, coded frames one Opus packet).
struct AudioTagInfo {
  std::uint8_t format = 0;       // FLV SoundFormat: 10 = AAC, 2 = MP3, 9 = extended header, ...
  bool enhanced = false;         // Enhanced RTMP header (the codec is `fourcc`)
  std::uint32_t fourcc = 0;      // enhanced: the codec FourCC ("Opus", "mp4a", ...)
  bool sequence_header = false;  // AAC AudioSpecificConfig, enhanced SequenceStart
  bool coded_frame = false;      // audio a decoder plays (not a configuration or a signal)
  std::size_t data_offset = 0;
};

// Inspect a video/audio tag body. Errors (400) for bodies too short for their own header;
// never reads outside `body`.
Result<VideoTagInfo> inspect_video(std::span<const std::uint8_t> body);
Result<AudioTagInfo> inspect_audio(std::span<const std::uint8_t> body);

// "h264", "hevc", "av1", "vp9" or "unknown".
std::string_view video_codec_name(const VideoTagInfo& info);
// "aac", "mp3", "opus", "pcm", "speex", "flac", "ac3", "eac3" or "unknown".
std::string_view audio_codec_name(const AudioTagInfo& info);

// The 9-byte FLV file header followed by PreviousTagSize0.
void append_flv_header(bool has_audio, bool has_video, std::string& out);
// One tag: 11-byte header, body, PreviousTagSize. Timestamps wrap modulo 2^32 as FLV specifies
// (24 bits plus an 8-bit extension). Bodies above 16 MiB - 1 cannot be expressed and are
// truncated to that length (RTMP messages never exceed it).
void append_flv_tag(std::uint8_t type, std::uint32_t timestamp, std::span<const std::uint8_t> body,
                    std::string& out);

struct FlvTag {
  std::uint8_t type = 0;
  std::uint32_t timestamp = 0;
  std::vector<std::uint8_t> body;
};

// Parses an FLV byte stream (file header, then tags). feed() accepts any split; complete tags are
// appended to `out`. Errors (400) are permanent: a bad signature, a tag longer than
// `max_tag_bytes`, a tag type other than 8, 9 or 18 (with the filter bit set or unknown).
class FlvReader {
 public:
  explicit FlvReader(std::size_t max_tag_bytes = 16 * 1024 * 1024) : max_tag_(max_tag_bytes) {}
  Status feed(std::span<const std::uint8_t> in, std::vector<FlvTag>& out);
  bool has_audio() const { return flags_ & 0x04; }
  bool has_video() const { return flags_ & 0x01; }

 private:
  std::size_t max_tag_;
  std::vector<std::uint8_t> pending_;  // bytes of the header or tag being read
  bool header_done_ = false;
  std::uint8_t flags_ = 0;
  bool failed_ = false;
  std::string error_;
};

}  // namespace sluice::media
