#include "media/flv_builder.hpp"

#include <algorithm>

#include "media/flv.hpp"

namespace sluice::media {
namespace {

void append_u16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void append_u32(std::string& out, std::size_t v) {
  append_u16(out, v >> 16);
  append_u16(out, v & 0xFFFF);
}

// The AVCDecoderConfigurationRecord of `sps` and `pps` in an FLV video body.
std::string avc_sequence_header(const std::string& sps, const std::string& pps) {
  std::string b{'\x17', '\x00', '\x00', '\x00', '\x00'};
  b += '\x01';
  b += sps.size() > 3 ? sps.substr(1, 3) : std::string(3, '\0');  // profile, compat, level
  b += '\xFF';                                                    // 4-byte NAL lengths
  b += '\xE1';                                                    // one SPS
  append_u16(b, sps.size());
  b += sps;
  b += '\x01';  // one PPS
  append_u16(b, pps.size());
  b += pps;
  return b;
}

// The NAL unit without its emulation prevention bytes (00 00 03 -> 00 00), at most `limit` bytes.
std::string rbsp_of(std::string_view nal, std::size_t limit) {
  std::string out;
  int zeros = 0;
  for (std::size_t i = 0; i < nal.size() && out.size() < limit; ++i) {
    const auto c = static_cast<unsigned char>(nal[i]);
    if (zeros >= 2 && c == 3) {
      zeros = 0;
      continue;
    }
    zeros = c == 0 ? zeros + 1 : 0;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

// The HEVCDecoderConfigurationRecord (ISO 14496-15 8.3.3.1) of `vps`, `sps` and `pps`: general
// profile, tier, compatibility, constraints and level copied from the SPS's profile_tier_level,
// layering from its header; 4-byte NAL lengths; one array per parameter set type.
std::string hevc_record(const std::string& vps, const std::string& sps, const std::string& pps) {
  // sps: 2-byte NAL header, then vps_id(4) max_sub_layers_minus1(3) temporal_id_nesting(1), then
  // the 12-byte general profile_tier_level.
  const std::string head = rbsp_of(sps, 15);
  std::string ptl = head.size() >= 15 ? head.substr(3, 12) : std::string(12, '\x00');
  const unsigned layering = head.size() >= 3 ? static_cast<unsigned char>(head[2]) : 1;
  const unsigned sub_layers = ((layering >> 1) & 0x07) + 1;
  const unsigned nested = layering & 1;
  std::string b;
  b += '\x01';  // configurationVersion
  b += ptl;     // profile space/tier/idc, 32 compatibility flags, 48 constraint flags, level
  append_u16(b, 0xF000);                                          // min_spatial_segmentation_idc 0
  b += '\xFC';                                                    // parallelismType 0
  b += static_cast<char>(0xFD);                                   // chroma_format_idc 1 (4:2:0)
  b += '\xF8';                                                    // bit_depth_luma_minus8 0
  b += '\xF8';                                                    // bit_depth_chroma_minus8 0
  append_u16(b, 0);                                               // avgFrameRate unknown
  b += static_cast<char>((sub_layers << 3) | (nested << 2) | 3);  // constantFrameRate 0; 4-byte
  b += '\x03';                                                    // numOfArrays
  const std::string* sets[] = {&vps, &sps, &pps};
  for (int i = 0; i < 3; ++i) {
    b += static_cast<char>(0x80 | (32 + i));  // array_completeness, NAL unit type
    append_u16(b, 1);
    append_u16(b, sets[i]->size());
    b += *sets[i];
  }
  return b;
}

constexpr int kSampleRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                22050, 16000, 12000, 11025, 8000,  7350};

}  // namespace

void NalToFlv::set_parameter_sets(std::vector<std::string> sets) {
  sets.resize(3);
  sets_ = std::move(sets);
}

int NalToFlv::parameter_set_role(int type) const {
  if (codec_ == VideoCodec::kHevc) return type >= 32 && type <= 34 ? type - 32 : -1;
  return type == 7 ? 0 : type == 8 ? 1 : -1;
}

std::string NalToFlv::record() const {
  if (codec_ == VideoCodec::kHevc) {
    std::string b{static_cast<char>(0x80 | (1 << 4) | 0), 'h', 'v', 'c', '1'};  // SequenceStart
    return b + hevc_record(sets_[0], sets_[1], sets_[2]);
  }
  return avc_sequence_header(sets_[0], sets_[1]);
}

std::optional<FlvFrame> NalToFlv::sequence_header() {
  const std::size_t needed = codec_ == VideoCodec::kHevc ? 3 : 2;
  for (std::size_t i = 0; i < needed; ++i)
    if (sets_[i].empty()) return std::nullopt;
  sent_ = sets_;
  return FlvFrame{tag_type::kVideo,
                  static_cast<std::uint32_t>(std::max<std::int64_t>(0, last_dts_)), record()};
}

void NalToFlv::push(const std::vector<std::string_view>& nal_units, std::int64_t pts,
                    std::optional<std::int64_t> dts_given, bool damaged,
                    std::vector<FlvFrame>& out) {
  const bool hevc = codec_ == VideoCodec::kHevc;
  bool keyframe = false;
  std::string frame;
  for (const auto nal : nal_units) {
    if (nal.empty()) continue;
    const auto head = static_cast<unsigned char>(nal[0]);
    const int type = hevc ? (head >> 1) & 0x3F : head & 0x1F;
    if (const int role = parameter_set_role(type); role >= 0) {
      sets_[role] = nal;
      continue;  // in the configuration record
    }
    if (type == (hevc ? 35 : 9)) continue;  // access unit delimiter: not needed
    if (hevc ? (type >= 16 && type <= 23) : type == 5) keyframe = true;
    append_u32(frame, nal.size());
    frame += nal;
  }
  if (damaged) waiting_keyframe_ = true;
  if (waiting_keyframe_ && !keyframe) return;
  if (keyframe) waiting_keyframe_ = false;
  std::int64_t dts = dts_given ? *dts_given : (pts > last_dts_ ? pts : last_dts_ + 1);
  dts = std::max<std::int64_t>(dts, last_dts_ + 1);  // strictly increasing, whatever was sent
  last_dts_ = dts;
  if (sets_ != sent_) {
    if (auto header = sequence_header()) {
      header->timestamp = static_cast<std::uint32_t>(dts);
      out.push_back(std::move(*header));
    }
  }
  if (frame.empty()) return;
  const std::int64_t cts = std::clamp<std::int64_t>(pts - dts, 0, 0x7FFFFF);
  std::string body;
  if (hevc) {  // Enhanced RTMP: [IsExHeader | FrameType | PacketType=CodedFrames] hvc1 cts
    body = {static_cast<char>(0x80 | ((keyframe ? 1 : 2) << 4) | 1), 'h', 'v', 'c', '1'};
  } else {
    body = {keyframe ? '\x17' : '\x27', '\x01'};
  }
  body += {static_cast<char>(cts >> 16), static_cast<char>(cts >> 8), static_cast<char>(cts)};
  body += frame;
  out.push_back({tag_type::kVideo, static_cast<std::uint32_t>(dts), std::move(body)});
}

std::vector<std::string_view> annexb_nal_units(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = std::string_view::npos;
  std::size_t i = 0;
  while (i + 3 <= s.size()) {
    if (s[i] == 0 && s[i + 1] == 0 && s[i + 2] == 1) {
      if (start != std::string_view::npos) {
        std::size_t end = i;
        while (end > start && s[end - 1] == 0)
          --end;  // trailing zeros of a 4-byte start code
        out.push_back(s.substr(start, end - start));
      }
      i += 3;
      start = i;
      continue;
    }
    ++i;
  }
  if (start != std::string_view::npos && start < s.size()) out.push_back(s.substr(start));
  return out;
}

Status AdtsToFlv::push(std::string_view adts, std::int64_t pts, std::vector<FlvFrame>& out) {
  std::int64_t samples = 0;
  while (!adts.empty()) {
    const auto* b = reinterpret_cast<const std::uint8_t*>(adts.data());
    if (adts.size() < 7 || b[0] != 0xFF || (b[1] & 0xF0) != 0xF0) {
      return fail(Error::bad_request("AAC: not an ADTS frame"));
    }
    const std::size_t header = (b[1] & 0x01) ? 7 : 9;  // protection_absent
    const std::size_t length =
        ((std::size_t(b[3]) & 0x03) << 11) | (std::size_t(b[4]) << 3) | (b[5] >> 5);
    const unsigned profile = (b[2] >> 6) & 0x03;  // object type - 1
    const unsigned rate_index = (b[2] >> 2) & 0x0F;
    const unsigned channels = ((b[2] & 0x01) << 2) | (b[3] >> 6);
    if (length < header || length > adts.size() || rate_index >= std::size(kSampleRates)) {
      return fail(Error::bad_request("AAC: ADTS frame length or sample rate out of range"));
    }
    const unsigned object_type = profile + 1;
    const std::string config{static_cast<char>((object_type << 3) | (rate_index >> 1)),
                             static_cast<char>(((rate_index & 1) << 7) | (channels << 3))};
    const auto ms = pts + samples * 1000 / kSampleRates[rate_index];
    if (config != config_) {
      config_ = config;
      out.push_back({tag_type::kAudio, static_cast<std::uint32_t>(std::max<std::int64_t>(0, ms)),
                     std::string("\xAF\x00", 2) + config});
    }
    out.push_back({tag_type::kAudio, static_cast<std::uint32_t>(std::max<std::int64_t>(0, ms)),
                   std::string("\xAF\x01", 2) + std::string(adts.substr(header, length - header))});
    samples += 1024;
    adts.remove_prefix(length);
  }
  return {};
}

}  // namespace sluice::media
