#include "media/flv.hpp"

#include <algorithm>

namespace sluice::media {

namespace {

constexpr std::uint8_t kAvc = 7;
constexpr std::uint8_t kHevc = 12;
constexpr std::uint8_t kAac = 10;
constexpr std::uint8_t kExHeader = 9;       // Enhanced RTMP audio
constexpr std::size_t kFileHeader = 9 + 4;  // header plus PreviousTagSize0
constexpr std::size_t kTagHeader = 11;
constexpr std::uint32_t kMaxTagBody = 0xFFFFFF;

std::int32_t si24(const std::uint8_t* p) {
  std::int32_t v = (std::int32_t{p[0]} << 16) | (std::int32_t{p[1]} << 8) | p[2];
  if (v & 0x800000) v -= 0x1000000;
  return v;
}

void put_be24(std::uint32_t v, std::string& out) {
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void put_be32(std::uint32_t v, std::string& out) {
  out.push_back(static_cast<char>(v >> 24));
  put_be24(v & 0xFFFFFF, out);
}

}  // namespace

Result<VideoTagInfo> inspect_video(std::span<const std::uint8_t> body) {
  if (body.empty()) return fail(Error::bad_request("FLV video tag: empty body"));
  VideoTagInfo info;
  const std::uint8_t b0 = body[0];
  if (b0 & 0x80) {  // Enhanced RTMP: [IsExHeader:1][FrameType:3][PacketType:4][FourCC:32]
    if (body.size() < 5) return fail(Error::bad_request("FLV video tag: short extended header"));
    info.enhanced = true;
    const unsigned frame_type = (b0 >> 4) & 0x07;
    const unsigned packet_type = b0 & 0x0F;
    info.keyframe = frame_type == 1;
    info.codec = (std::uint32_t{body[1]} << 24) | (std::uint32_t{body[2]} << 16) |
                 (std::uint32_t{body[3]} << 8) | body[4];
    info.data_offset = 5;
    info.sequence_header = packet_type == 0;  // SequenceStart
    info.end_of_sequence = packet_type == 2;
    if (packet_type == 1 && (info.codec == fourcc("hvc1") || info.codec == fourcc("avc1"))) {
      if (body.size() < 8) return fail(Error::bad_request("FLV video tag: short composition time"));
      info.composition_time = si24(body.data() + 5);
      info.data_offset = 8;
    }
    return info;
  }
  const unsigned frame_type = b0 >> 4;
  info.codec = b0 & 0x0F;
  info.keyframe = frame_type == 1;
  info.data_offset = 1;
  if (info.codec == kAvc || info.codec == kHevc) {
    if (body.size() < 5) return fail(Error::bad_request("FLV video tag: short AVC header"));
    info.sequence_header = body[1] == 0;
    info.end_of_sequence = body[1] == 2;
    info.composition_time = si24(body.data() + 2);
    info.data_offset = 5;
  }
  return info;
}

Result<AudioTagInfo> inspect_audio(std::span<const std::uint8_t> body) {
  if (body.empty()) return fail(Error::bad_request("FLV audio tag: empty body"));
  AudioTagInfo info;
  info.format = body[0] >> 4;
  info.data_offset = 1;
  if (info.format == kExHeader) {
    if (body.size() < 5) return fail(Error::bad_request("FLV audio tag: short extended header"));
    const unsigned packet_type = body[0] & 0x0F;
    info.enhanced = true;
    info.data_offset = 5;
    if (packet_type > 1) return info;  // end of sequence, multichannel, multitrack, modifiers
    info.fourcc = (std::uint32_t{body[1]} << 24) | (std::uint32_t{body[2]} << 16) |
                  (std::uint32_t{body[3]} << 8) | body[4];
    info.sequence_header = packet_type == 0;  // SequenceStart
    info.coded_frame = packet_type == 1;      // CodedFrames
    return info;
  }
  if (info.format == kAac) {
    if (body.size() < 2) return fail(Error::bad_request("FLV audio tag: short AAC header"));
    info.sequence_header = body[1] == 0;
    info.data_offset = 2;
  }
  info.coded_frame = !info.sequence_header;
  return info;
}

std::string_view video_codec_name(const VideoTagInfo& info) {
  if (!info.enhanced) {
    if (info.codec == kAvc) return "h264";
    if (info.codec == kHevc) return "hevc";
    return "unknown";
  }
  if (info.codec == fourcc("avc1")) return "h264";
  if (info.codec == fourcc("hvc1")) return "hevc";
  if (info.codec == fourcc("av01")) return "av1";
  if (info.codec == fourcc("vp09")) return "vp9";
  return "unknown";
}

std::string_view audio_codec_name(const AudioTagInfo& info) {
  if (info.enhanced) {
    if (info.fourcc == fourcc("Opus")) return "opus";
    if (info.fourcc == fourcc("mp4a")) return "aac";
    if (info.fourcc == fourcc(".mp3")) return "mp3";
    if (info.fourcc == fourcc("fLaC")) return "flac";
    if (info.fourcc == fourcc("ac-3")) return "ac3";
    if (info.fourcc == fourcc("ec-3")) return "eac3";
    return "unknown";
  }
  switch (info.format) {
    case kAac:
      return "aac";
    case 2:
    case 14:
      return "mp3";
    case 0:
    case 3:
      return "pcm";
    case 11:
      return "speex";
    default:
      return "unknown";
  }
}

void append_flv_header(bool has_audio, bool has_video, std::string& out) {
  const char header[kFileHeader] = {
      'F', 'L', 'V', 1, static_cast<char>((has_audio ? 0x04 : 0) | (has_video ? 0x01 : 0)),
      0,   0,   0,   9, 0,
      0,   0,   0};
  out.append(header, sizeof header);
}

void append_flv_tag(std::uint8_t type, std::uint32_t timestamp, std::span<const std::uint8_t> body,
                    std::string& out) {
  const auto size = static_cast<std::uint32_t>(std::min<std::size_t>(body.size(), kMaxTagBody));
  out.reserve(out.size() + kTagHeader + size + 4);
  out.push_back(static_cast<char>(type));
  put_be24(size, out);
  put_be24(timestamp & 0xFFFFFF, out);
  out.push_back(static_cast<char>(timestamp >> 24));
  put_be24(0, out);  // stream id, always 0
  out.append(reinterpret_cast<const char*>(body.data()), size);
  put_be32(size + kTagHeader, out);
}

Status FlvReader::feed(std::span<const std::uint8_t> in, std::vector<FlvTag>& out) {
  auto failure = [this](std::string detail) -> Status {
    failed_ = true;
    error_ = "FLV: " + std::move(detail);
    return fail(Error::bad_request(error_));
  };
  if (failed_) return fail(Error::bad_request(error_));
  while (!in.empty()) {
    if (!header_done_) {
      const std::size_t take = std::min(in.size(), kFileHeader - pending_.size());
      pending_.insert(pending_.end(), in.begin(), in.begin() + take);
      in = in.subspan(take);
      if (pending_.size() < kFileHeader) return {};
      if (pending_[0] != 'F' || pending_[1] != 'L' || pending_[2] != 'V') {
        return failure("not an FLV stream (bad signature)");
      }
      const std::uint32_t offset = (std::uint32_t{pending_[5]} << 24) |
                                   (std::uint32_t{pending_[6]} << 16) |
                                   (std::uint32_t{pending_[7]} << 8) | pending_[8];
      if (offset != 9) return failure("unsupported header size " + std::to_string(offset));
      flags_ = pending_[4];
      header_done_ = true;
      pending_.clear();
      continue;
    }
    if (pending_.size() < kTagHeader) {
      const std::size_t take = std::min(in.size(), kTagHeader - pending_.size());
      pending_.insert(pending_.end(), in.begin(), in.begin() + take);
      in = in.subspan(take);
      if (pending_.size() < kTagHeader) return {};
      const std::uint8_t type = pending_[0];
      const std::uint32_t size =
          (std::uint32_t{pending_[1]} << 16) | (std::uint32_t{pending_[2]} << 8) | pending_[3];
      if (type != tag_type::kAudio && type != tag_type::kVideo && type != tag_type::kScript) {
        return failure("unsupported tag type " + std::to_string(type));
      }
      if (size > max_tag_) return failure("tag of " + std::to_string(size) + " bytes is too large");
      pending_.reserve(kTagHeader + size + 4);
    }
    const std::uint32_t size =
        (std::uint32_t{pending_[1]} << 16) | (std::uint32_t{pending_[2]} << 8) | pending_[3];
    const std::size_t whole = kTagHeader + size + 4;
    const std::size_t take = std::min(in.size(), whole - pending_.size());
    pending_.insert(pending_.end(), in.begin(), in.begin() + take);
    in = in.subspan(take);
    if (pending_.size() < whole) return {};
    FlvTag tag;
    tag.type = pending_[0];
    tag.timestamp = (std::uint32_t{pending_[7]} << 24) | (std::uint32_t{pending_[4]} << 16) |
                    (std::uint32_t{pending_[5]} << 8) | pending_[6];
    tag.body.assign(pending_.begin() + kTagHeader, pending_.begin() + kTagHeader + size);
    out.push_back(std::move(tag));
    pending_.clear();
  }
  return {};
}

}  // namespace sluice::media
