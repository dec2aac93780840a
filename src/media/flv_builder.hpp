#pragma once
// FLV bodies for publishers that are not RTMP (RTSP, SRT): the core keeps every access unit as
// an FLV tag body (media/packet.hpp), so these turn a protocol's H.264 access units and AAC
// frames into them, sans I/O.
//
// NalToFlv: H.264 or H.265 access units → a decoder configuration record whenever the parameter
// sets change (given up front, e.g. from an SDP, or seen in band), then each access unit with
// 4-byte NAL lengths and its composition offset (parameter sets and access unit delimiters go
// into the record, not the frame). H.264 as legacy FLV (codec 7, AVCDecoderConfigurationRecord);
// H.265 as Enhanced RTMP `hvc1` (HEVCDecoderConfigurationRecord, its profile, tier, level and
// temporal layering read from the SPS; 4:2:0 8-bit declared, which decoders do not rely on).
// Without a decoding time (RTP carries presentation times only) a frame whose time goes back — a
// B-frame — gets a decoding time just after the previous one. After a loss, frames until the next
// keyframe (H.264 IDR; H.265 IRAP) are dropped.
//
// AdtsToFlv: ADTS frames (MPEG-TS carries AAC so) → an AAC sequence header (AudioSpecificConfig
// from the first header, again when it changes) and the raw frames, 1024 samples apart.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "media/codec_config.hpp"

namespace sluice::media {

struct FlvFrame {
  std::uint8_t type = 0;        // tag_type::kVideo / kAudio
  std::uint32_t timestamp = 0;  // ms (decoding time)
  std::string body;
};

class NalToFlv {
 public:
  explicit NalToFlv(VideoCodec codec = VideoCodec::kH264) : codec_(codec) {}
  // H.264: SPS, PPS; H.265: VPS, SPS, PPS.
  void set_parameter_sets(std::vector<std::string> sets);
  // The sequence header of the parameter sets known so far (and now sent); nullopt when none.
  std::optional<FlvFrame> sequence_header();
  // One access unit: NAL units without start codes, presentation time and (when known) decoding
  // time in ms, whether a packet of it (or before it) was lost.
  void push(const std::vector<std::string_view>& nal_units, std::int64_t pts_ms,
            std::optional<std::int64_t> dts_ms, bool damaged, std::vector<FlvFrame>& out);

 private:
  // The role of a NAL unit type among the parameter sets (0..2), or -1.
  int parameter_set_role(int type) const;
  std::string record() const;

  VideoCodec codec_;
  std::vector<std::string> sets_ = std::vector<std::string>(3), sent_;
  std::int64_t last_dts_ = -1;
  bool waiting_keyframe_ = false;
};
using H264ToFlv = NalToFlv;  // the default codec

// The NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01), as views into it.
std::vector<std::string_view> annexb_nal_units(std::string_view stream);

class AdtsToFlv {
 public:
  // ADTS frames starting at presentation time `pts_ms`; appends the sequence header when the
  // configuration is new, then the frames. 400 for bytes that are not ADTS (what came before
  // stays handed on).
  Status push(std::string_view adts, std::int64_t pts_ms, std::vector<FlvFrame>& out);

 private:
  std::string config_;  // the AudioSpecificConfig last handed on
};

}  // namespace sluice::media
