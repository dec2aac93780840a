#pragma once
// Codec parameters of the media core, sans I/O, for every protocol that needs them (MPEG-TS for
// HLS, RTP/SDP for RTSP): FLV carries H.264/HEVC as
// length-prefixed NAL units with the parameter sets in a decoder configuration record
// (avcC/hvcC), and AAC as raw frames with an AudioSpecificConfig; MPEG-TS wants Annex B byte
// streams (start codes, parameter sets in-band before every keyframe) and ADTS-framed AAC.
// Every function checks each length against its input and never reads outside it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "media/flv.hpp"

namespace sluice::media {

enum class VideoCodec : std::uint8_t { kNone, kH264, kHevc };

// The codec of an FLV video tag as far as the muxers go (H.264 and HEVC, legacy or Enhanced RTMP
// headers); kNone for any other.
VideoCodec video_codec_of(const VideoTagInfo& info);
// Whether the tag holds coded frames (not a configuration, end of sequence or metadata);
// `body` is the tag body `info` was read from.
bool is_coded_frame(const VideoTagInfo& info, std::span<const std::uint8_t> body);

// Parsed AVCDecoderConfigurationRecord (ISO 14496-15 5.3.3) or
// HEVCDecoderConfigurationRecord (8.3.3): NAL length size and the parameter sets
// (SPS/PPS, or VPS/SPS/PPS), each without start code.
struct VideoConfig {
  VideoCodec codec = VideoCodec::kNone;
  std::size_t nal_length_size = 4;  // 1, 2 or 4
  std::vector<std::string> parameter_sets;
};

// `record` is the tag body after the FLV video header (inspect_video's data_offset).
// Errors (400) for a truncated or inconsistent record, a NAL length size of 3, more than
// 64 parameter sets.
Result<VideoConfig> parse_avc_config(std::span<const std::uint8_t> record);
Result<VideoConfig> parse_hevc_config(std::span<const std::uint8_t> record);

// Appends the Annex B form of one access unit (`nals`: length-prefixed NAL units as in FLV) to
// `out`. When `keyframe` is set and the access unit carries no SPS of its own, the config's
// parameter sets are inserted before the first NAL unit. Errors (400) when a length runs past the
// end or the access unit holds no NAL unit; `out` is then left as it was.
Status append_annexb(const VideoConfig& config, std::span<const std::uint8_t> nals, bool keyframe,
                     std::string& out);

// Parsed AudioSpecificConfig (ISO 14496-3 1.6.2.1), enough to write ADTS headers: the audio
// object type of the core coder (an SBR/PS config gives its underlying AAC type), the
// sampling frequency index and the channel configuration.
struct AacConfig {
  unsigned object_type = 2;  // 1..4 (ADTS profile = object_type - 1)
  unsigned frequency_index = 4;
  unsigned channel_config = 2;
  int sample_rate = 44100;  // of the core coder
};

// Errors (400) for a truncated config, an explicit frequency or channel configuration 0
// (ADTS cannot express either) or an object type above 4 after SBR/PS unwrapping.
Result<AacConfig> parse_aac_config(std::span<const std::uint8_t> asc);

// Appends one ADTS frame (7-byte header, no CRC) holding `raw` to `out`. Errors (400) when the
// frame would exceed ADTS's 8191-byte limit or `raw` is empty.
Status append_adts(const AacConfig& config, std::span<const std::uint8_t> raw, std::string& out);

// The picture size an H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1, the NAL unit with its
// header byte, emulation prevention bytes still in) describes, after frame cropping; nullopt for
// an SPS too short, malformed or outside what sluiced reads (chroma 4:4:4 separate planes are
// read; scaling lists are skipped).
struct PictureSize {
  int width = 0;
  int height = 0;
};
std::optional<PictureSize> h264_picture_size(std::string_view sps);
// The same for an H.265 SPS (ITU-T H.265 7.3.2.2, with its 2-byte NAL header), after the
// conformance window.
std::optional<PictureSize> hevc_picture_size(std::string_view sps);
// The picture size the configuration's SPS describes (nullopt without a readable one), and the
// same from a decoder configuration record (avcC, hvcC) of `codec`.
std::optional<PictureSize> picture_size(const VideoConfig& config);
std::optional<PictureSize> picture_size_of(VideoCodec codec, std::span<const std::uint8_t> record);

}  // namespace sluice::media
