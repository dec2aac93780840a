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

constexpr int kSampleRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                22050, 16000, 12000, 11025, 8000,  7350};

}  // namespace

void H264ToFlv::set_parameter_sets(std::string sps, std::string pps) {
  sps_ = std::move(sps);
  pps_ = std::move(pps);
}

std::optional<FlvFrame> H264ToFlv::sequence_header() {
  if (sps_.empty() || pps_.empty()) return std::nullopt;
  sent_sps_ = sps_;
  sent_pps_ = pps_;
  return FlvFrame{tag_type::kVideo,
                  static_cast<std::uint32_t>(std::max<std::int64_t>(0, last_dts_)),
                  avc_sequence_header(sps_, pps_)};
}

void H264ToFlv::push(const std::vector<std::string_view>& nal_units, std::int64_t pts,
                     std::optional<std::int64_t> dts_given, bool damaged,
                     std::vector<FlvFrame>& out) {
  bool keyframe = false;
  std::string frame;
  for (const auto nal : nal_units) {
    if (nal.empty()) continue;
    const int type = static_cast<unsigned char>(nal[0]) & 0x1F;
    if (type == 7) sps_ = nal;
    if (type == 8) pps_ = nal;
    if (type == 7 || type == 8 || type == 9) continue;  // in the sequence header / not needed
    if (type == 5) keyframe = true;
    append_u32(frame, nal.size());
    frame += nal;
  }
  if (damaged) waiting_keyframe_ = true;
  if (waiting_keyframe_ && !keyframe) return;
  if (keyframe) waiting_keyframe_ = false;
  std::int64_t dts = dts_given ? *dts_given : (pts > last_dts_ ? pts : last_dts_ + 1);
  dts = std::max<std::int64_t>(dts, last_dts_ + 1);  // strictly increasing, whatever was sent
  last_dts_ = dts;
  if (!sps_.empty() && !pps_.empty() && (sps_ != sent_sps_ || pps_ != sent_pps_)) {
    auto header = sequence_header();
    header->timestamp = static_cast<std::uint32_t>(dts);
    out.push_back(std::move(*header));
  }
  if (frame.empty()) return;
  const std::int64_t cts = std::clamp<std::int64_t>(pts - dts, 0, 0x7FFFFF);
  std::string body{keyframe ? '\x17' : '\x27', '\x01', static_cast<char>(cts >> 16),
                   static_cast<char>(cts >> 8), static_cast<char>(cts)};
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
