#include "media/codec_config.hpp"

namespace sluice::media {

VideoCodec video_codec_of(const VideoTagInfo& info) {
  const auto name = video_codec_name(info);
  if (name == "h264") return VideoCodec::kH264;
  if (name == "hevc") return VideoCodec::kHevc;
  return VideoCodec::kNone;
}

bool is_coded_frame(const VideoTagInfo& info, std::span<const std::uint8_t> body) {
  if (info.sequence_header || info.end_of_sequence) return false;
  if (info.enhanced) {
    const unsigned packet_type = body[0] & 0x0F;
    return packet_type == 1 || packet_type == 3;  // CodedFrames, CodedFramesX
  }
  return body.size() > 1 && body[1] == 1;
}

namespace {

constexpr std::size_t kMaxParameterSets = 64;
constexpr char kStartCode[4] = {0, 0, 0, 1};

// Reads big-endian fields from a span; every read reports whether it fitted.
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}
  bool u8(unsigned& v) {
    if (at_ + 1 > in_.size()) return false;
    v = in_[at_++];
    return true;
  }
  bool u16(unsigned& v) {
    if (at_ + 2 > in_.size()) return false;
    v = (unsigned{in_[at_]} << 8) | in_[at_ + 1];
    at_ += 2;
    return true;
  }
  bool bytes(std::size_t n, std::string& out) {
    if (n > in_.size() - at_) return false;
    out.assign(reinterpret_cast<const char*>(in_.data() + at_), n);
    at_ += n;
    return true;
  }
  bool skip(std::size_t n) {
    if (n > in_.size() - at_) return false;
    at_ += n;
    return true;
  }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t at_ = 0;
};

class BitReader {
 public:
  explicit BitReader(std::span<const std::uint8_t> in) : in_(in) {}
  // Returns false when fewer than `n` (<= 24) bits remain.
  bool read(unsigned n, unsigned& v) {
    if (n > in_.size() * 8 - bit_) return false;
    v = 0;
    for (unsigned i = 0; i < n; ++i, ++bit_) {
      v = (v << 1) | ((in_[bit_ / 8] >> (7 - bit_ % 8)) & 1u);
    }
    return true;
  }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t bit_ = 0;
};

Status bad(std::string detail) {
  return fail(Error::bad_request(std::move(detail)));
}

bool read_parameter_set(ByteReader& r, VideoConfig& config) {
  unsigned len = 0;
  std::string nal;
  if (!r.u16(len) || !r.bytes(len, nal)) return false;
  if (!nal.empty()) config.parameter_sets.push_back(std::move(nal));
  return true;
}

constexpr int kSampleRates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                  22050, 16000, 12000, 11025, 8000,  7350};

}  // namespace

Result<VideoConfig> parse_avc_config(std::span<const std::uint8_t> record) {
  ByteReader r(record);
  unsigned version = 0, length_byte = 0, count = 0;
  if (!r.u8(version) || version != 1) return fail(Error::bad_request("avcC: bad version"));
  if (!r.skip(3) || !r.u8(length_byte) || !r.u8(count)) {
    return fail(Error::bad_request("avcC: truncated header"));
  }
  VideoConfig config;
  config.codec = VideoCodec::kH264;
  config.nal_length_size = (length_byte & 3) + 1;
  if (config.nal_length_size == 3) return fail(Error::bad_request("avcC: NAL length size 3"));
  for (unsigned i = 0; i < (count & 0x1F); ++i) {
    if (!read_parameter_set(r, config)) return fail(Error::bad_request("avcC: truncated SPS"));
  }
  if (!r.u8(count)) return fail(Error::bad_request("avcC: truncated PPS count"));
  for (unsigned i = 0; i < count; ++i) {
    if (!read_parameter_set(r, config)) return fail(Error::bad_request("avcC: truncated PPS"));
  }
  if (config.parameter_sets.empty()) return fail(Error::bad_request("avcC: no parameter sets"));
  return config;
}

Result<VideoConfig> parse_hevc_config(std::span<const std::uint8_t> record) {
  ByteReader r(record);
  unsigned version = 0, length_byte = 0, arrays = 0;
  if (!r.u8(version) || version != 1) return fail(Error::bad_request("hvcC: bad version"));
  if (!r.skip(20) || !r.u8(length_byte) || !r.u8(arrays)) {
    return fail(Error::bad_request("hvcC: truncated header"));
  }
  VideoConfig config;
  config.codec = VideoCodec::kHevc;
  config.nal_length_size = (length_byte & 3) + 1;
  if (config.nal_length_size == 3) return fail(Error::bad_request("hvcC: NAL length size 3"));
  for (unsigned a = 0; a < arrays; ++a) {
    unsigned type = 0, count = 0;
    if (!r.u8(type) || !r.u16(count)) return fail(Error::bad_request("hvcC: truncated array"));
    if (config.parameter_sets.size() + count > kMaxParameterSets) {
      return fail(Error::bad_request("hvcC: too many parameter sets"));
    }
    for (unsigned i = 0; i < count; ++i) {
      if (!read_parameter_set(r, config)) return fail(Error::bad_request("hvcC: truncated NAL"));
    }
  }
  if (config.parameter_sets.empty()) return fail(Error::bad_request("hvcC: no parameter sets"));
  return config;
}

Status append_annexb(const VideoConfig& config, std::span<const std::uint8_t> nals, bool keyframe,
                     std::string& out) {
  const std::size_t n = config.nal_length_size;
  // First pass: validate the lengths and look for in-band parameter sets.
  bool has_sps = false;
  std::size_t units = 0;
  for (std::size_t at = 0; at < nals.size();) {
    if (nals.size() - at < n) return bad("video: truncated NAL length");
    std::size_t len = 0;
    for (std::size_t i = 0; i < n; ++i)
      len = (len << 8) | nals[at + i];
    at += n;
    if (len > nals.size() - at) return bad("video: NAL unit runs past the packet");
    if (len == 0) continue;
    const std::uint8_t head = nals[at];
    if (config.codec == VideoCodec::kH264 ? (head & 0x1F) == 7 : ((head >> 1) & 0x3F) == 33) {
      has_sps = true;
    }
    ++units;
    at += len;
  }
  if (units == 0) return bad("video: packet holds no NAL unit");
  if (keyframe && !has_sps) {
    for (const auto& ps : config.parameter_sets) {
      out.append(kStartCode, sizeof kStartCode);
      out += ps;
    }
  }
  for (std::size_t at = 0; at < nals.size();) {
    std::size_t len = 0;
    for (std::size_t i = 0; i < n; ++i)
      len = (len << 8) | nals[at + i];
    at += n;
    if (len == 0) continue;
    out.append(kStartCode, sizeof kStartCode);
    out.append(reinterpret_cast<const char*>(nals.data() + at), len);
    at += len;
  }
  return {};
}

Result<AacConfig> parse_aac_config(std::span<const std::uint8_t> asc) {
  BitReader r(asc);
  AacConfig config;
  auto object_type = [&r](unsigned& type) {
    if (!r.read(5, type)) return false;
    if (type == 31) {
      unsigned ext = 0;
      if (!r.read(6, ext)) return false;
      type = 32 + ext;
    }
    return true;
  };
  auto frequency = [&r](unsigned& index) {
    if (!r.read(4, index)) return false;
    return index != 15 && index < 13;  // explicit 24-bit rates have no ADTS index
  };
  unsigned type = 0, index = 0, channels = 0;
  if (!object_type(type)) return fail(Error::bad_request("AAC config: truncated"));
  if (!frequency(index)) return fail(Error::bad_request("AAC config: unsupported sample rate"));
  if (!r.read(4, channels)) return fail(Error::bad_request("AAC config: truncated"));
  if (type == 5 || type == 29) {  // SBR / PS: extension rate, then the core object type
    unsigned ext_index = 0;
    if (!frequency(ext_index) || !object_type(type)) {
      return fail(Error::bad_request("AAC config: bad SBR extension"));
    }
  }
  if (type < 1 || type > 4) {
    return fail(Error::bad_request("AAC config: object type " + std::to_string(type) +
                                   " cannot be carried in ADTS"));
  }
  if (channels == 0 || channels > 7) {
    return fail(Error::bad_request("AAC config: unsupported channel configuration"));
  }
  config.object_type = type;
  config.frequency_index = index;
  config.channel_config = channels;
  config.sample_rate = kSampleRates[index];
  return config;
}

Status append_adts(const AacConfig& config, std::span<const std::uint8_t> raw, std::string& out) {
  if (raw.empty()) return bad("AAC: empty frame");
  const std::size_t length = raw.size() + 7;
  if (length > 0x1FFF) return bad("AAC: frame too large for ADTS");
  const unsigned profile = config.object_type - 1;
  const std::uint8_t header[7] = {
      0xFF,
      0xF1,  // MPEG-4, layer 0, no CRC
      static_cast<std::uint8_t>((profile << 6) | (config.frequency_index << 2) |
                                (config.channel_config >> 2)),
      static_cast<std::uint8_t>(((config.channel_config & 3) << 6) | (length >> 11)),
      static_cast<std::uint8_t>((length >> 3) & 0xFF),
      static_cast<std::uint8_t>(((length & 7) << 5) | 0x1F),  // buffer fullness 0x7FF
      0xFC,
  };
  out.append(reinterpret_cast<const char*>(header), sizeof header);
  out.append(reinterpret_cast<const char*>(raw.data()), raw.size());
  return {};
}

namespace {

// An RBSP bit reader (emulation prevention removed by the caller) with Exp-Golomb codes; every
// read past the end sets `failed`.
class GolombReader {
 public:
  explicit GolombReader(const std::string& data) : data_(data) {}
  std::uint32_t bits(int n) {
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      if (at_ >= data_.size() * 8) {
        failed = true;
        return 0;
      }
      v = (v << 1) | ((static_cast<unsigned char>(data_[at_ / 8]) >> (7 - at_ % 8)) & 1);
      ++at_;
    }
    return v;
  }
  std::uint32_t ue() {
    int zeros = 0;
    while (bits(1) == 0 && !failed) {
      if (++zeros > 31) {
        failed = true;
        return 0;
      }
    }
    return zeros == 0 ? 0 : ((1u << zeros) - 1 + bits(zeros));
  }
  std::int32_t se() {
    const std::uint32_t k = ue();
    return (k & 1) ? static_cast<std::int32_t>((k + 1) / 2) : -static_cast<std::int32_t>(k / 2);
  }
  bool failed = false;

 private:
  const std::string& data_;
  std::size_t at_ = 0;
};

void skip_scaling_list(GolombReader& r, int size) {
  std::int32_t last = 8, next = 8;
  for (int j = 0; j < size && !r.failed; ++j) {
    if (next != 0) next = (last + r.se() + 256) % 256;
    last = next == 0 ? last : next;
  }
}

}  // namespace

std::optional<PictureSize> h264_picture_size(std::string_view sps) {
  if (sps.size() < 4 || sps.size() > 1024 || (static_cast<unsigned char>(sps[0]) & 0x1F) != 7) {
    return std::nullopt;
  }
  std::string rbsp;  // without the header byte and emulation prevention bytes
  for (std::size_t i = 1; i < sps.size(); ++i) {
    if (i >= 3 && sps[i] == 3 && sps[i - 1] == 0 && sps[i - 2] == 0) continue;
    rbsp += sps[i];
  }
  GolombReader r(rbsp);
  const std::uint32_t profile = r.bits(8);
  r.bits(16);  // constraint flags, level
  r.ue();      // seq_parameter_set_id
  std::uint32_t chroma_format = 1;
  if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 ||
      profile == 83 || profile == 86 || profile == 118 || profile == 128 || profile == 138 ||
      profile == 139 || profile == 134 || profile == 135) {
    chroma_format = r.ue();
    if (chroma_format == 3) r.bits(1);  // separate_colour_plane_flag
    r.ue();                             // bit_depth_luma_minus8
    r.ue();                             // bit_depth_chroma_minus8
    r.bits(1);                          // qpprime_y_zero_transform_bypass_flag
    if (r.bits(1)) {                    // seq_scaling_matrix_present_flag
      for (int i = 0; i < (chroma_format != 3 ? 8 : 12) && !r.failed; ++i) {
        if (r.bits(1)) skip_scaling_list(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.ue();  // log2_max_frame_num_minus4
  const std::uint32_t poc_type = r.ue();
  if (poc_type == 0) {
    r.ue();
  } else if (poc_type == 1) {
    r.bits(1);
    r.se();
    r.se();
    const std::uint32_t cycle = r.ue();
    if (cycle > 255) return std::nullopt;
    for (std::uint32_t i = 0; i < cycle && !r.failed; ++i)
      r.se();
  }
  r.ue();     // max_num_ref_frames
  r.bits(1);  // gaps_in_frame_num_value_allowed_flag
  const std::uint32_t width_mbs = r.ue() + 1;
  const std::uint32_t height_map_units = r.ue() + 1;
  const std::uint32_t frame_mbs_only = r.bits(1);
  if (!frame_mbs_only) r.bits(1);  // mb_adaptive_frame_field_flag
  r.bits(1);                       // direct_8x8_inference_flag
  std::uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (r.bits(1)) {
    crop_left = r.ue();
    crop_right = r.ue();
    crop_top = r.ue();
    crop_bottom = r.ue();
  }
  if (r.failed || width_mbs > 1024 || height_map_units > 1024) return std::nullopt;
  const std::uint32_t crop_x = chroma_format == 0 || chroma_format == 3 ? 1 : 2;
  const std::uint32_t crop_y = (chroma_format == 1 ? 2 : 1) * (2 - frame_mbs_only);
  const std::int64_t width = std::int64_t(width_mbs) * 16 - crop_x * (crop_left + crop_right);
  const std::int64_t height = std::int64_t(height_map_units) * 16 * (2 - frame_mbs_only) -
                              crop_y * (crop_top + crop_bottom);
  if (width <= 0 || height <= 0) return std::nullopt;
  return PictureSize{static_cast<int>(width), static_cast<int>(height)};
}

std::optional<PictureSize> picture_size(const VideoConfig& config) {
  for (const auto& set : config.parameter_sets) {
    if (set.empty()) continue;
    const auto head = static_cast<unsigned char>(set[0]);
    if (config.codec == VideoCodec::kH264 && (head & 0x1F) == 7) return h264_picture_size(set);
    if (config.codec == VideoCodec::kHevc && ((head >> 1) & 0x3F) == 33) {
      return hevc_picture_size(set);
    }
  }
  return std::nullopt;
}

std::optional<PictureSize> picture_size_of(VideoCodec codec, std::span<const std::uint8_t> record) {
  if (codec == VideoCodec::kNone) return std::nullopt;
  auto config = codec == VideoCodec::kH264 ? parse_avc_config(record) : parse_hevc_config(record);
  return config ? picture_size(*config) : std::nullopt;
}

std::optional<PictureSize> hevc_picture_size(std::string_view sps) {
  if (sps.size() < 16 || sps.size() > 1024 ||
      ((static_cast<unsigned char>(sps[0]) >> 1) & 0x3F) != 33) {
    return std::nullopt;
  }
  std::string rbsp;  // without the 2-byte header and emulation prevention bytes
  for (std::size_t i = 2; i < sps.size(); ++i) {
    if (i >= 4 && sps[i] == 3 && sps[i - 1] == 0 && sps[i - 2] == 0) continue;
    rbsp += sps[i];
  }
  GolombReader r(rbsp);
  r.bits(4);                                   // sps_video_parameter_set_id
  const std::uint32_t sub_layers = r.bits(3);  // sps_max_sub_layers_minus1
  r.bits(1);                                   // sps_temporal_id_nesting_flag
  // profile_tier_level(1, sub_layers): the general part, then per sub-layer flags and parts.
  r.bits(8);
  r.bits(32);
  r.bits(16);
  r.bits(32);  // general constraint flags (48 bits with the 16 above)
  r.bits(8);   // general_level_idc
  std::uint32_t profile_present = 0, level_present = 0;
  for (std::uint32_t i = 0; i < sub_layers; ++i) {
    profile_present |= r.bits(1) << i;
    level_present |= r.bits(1) << i;
  }
  if (sub_layers > 0) {
    for (std::uint32_t i = sub_layers; i < 8; ++i)
      r.bits(2);  // reserved_zero_2bits
  }
  for (std::uint32_t i = 0; i < sub_layers; ++i) {
    if (profile_present & (1u << i)) {
      r.bits(32);
      r.bits(32);
      r.bits(24);  // 88 bits of sub-layer profile
    }
    if (level_present & (1u << i)) r.bits(8);
  }
  r.ue();  // sps_seq_parameter_set_id
  const std::uint32_t chroma_format = r.ue();
  if (chroma_format == 3) r.bits(1);  // separate_colour_plane_flag
  const std::uint32_t width = r.ue();
  const std::uint32_t height = r.ue();
  std::uint32_t left = 0, right = 0, top = 0, bottom = 0;
  if (r.bits(1)) {  // conformance_window_flag
    left = r.ue();
    right = r.ue();
    top = r.ue();
    bottom = r.ue();
  }
  if (r.failed || width == 0 || height == 0 || width > 16384 || height > 16384) {
    return std::nullopt;
  }
  const std::uint32_t unit_x = chroma_format == 1 || chroma_format == 2 ? 2 : 1;
  const std::uint32_t unit_y = chroma_format == 1 ? 2 : 1;
  const std::int64_t w = std::int64_t(width) - std::int64_t(unit_x) * (left + right);
  const std::int64_t h = std::int64_t(height) - std::int64_t(unit_y) * (top + bottom);
  if (w <= 0 || h <= 0) return std::nullopt;
  return PictureSize{static_cast<int>(w), static_cast<int>(h)};
}

}  // namespace sluice::media
