#pragma once
// FLV bodies for publishers that are not RTMP (RTSP, SRT): the core keeps every access unit as
// an FLV tag body (media/packet.hpp), so these turn a protocol's H.264 access units and AAC
// frames into them, sans I/O.
//
// H264ToFlv: an AVC sequence header whenever the SPS/PPS change (given up front, e.g. from an
// SDP, or seen in band), then each access unit as AVCC with its composition offset (SPS, PPS and
// access unit delimiters go into the header, not the frame). Without a decoding time (RTP
// carries presentation times only) a frame whose time goes back — a B-frame — gets a decoding
// time just after the previous one. After a loss, frames until the next keyframe are dropped.
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

namespace sluice::media {

struct FlvFrame {
  std::uint8_t type = 0;        // tag_type::kVideo / kAudio
  std::uint32_t timestamp = 0;  // ms (decoding time)
  std::string body;
};

class H264ToFlv {
 public:
  void set_parameter_sets(std::string sps, std::string pps);
  // The sequence header of the parameter sets known so far (and now sent); nullopt when none.
  std::optional<FlvFrame> sequence_header();
  // One access unit: NAL units without start codes, presentation time and (when known) decoding
  // time in ms, whether a packet of it (or before it) was lost.
  void push(const std::vector<std::string_view>& nal_units, std::int64_t pts_ms,
            std::optional<std::int64_t> dts_ms, bool damaged, std::vector<FlvFrame>& out);

 private:
  std::string sps_, pps_, sent_sps_, sent_pps_;
  std::int64_t last_dts_ = -1;
  bool waiting_keyframe_ = false;
};

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
