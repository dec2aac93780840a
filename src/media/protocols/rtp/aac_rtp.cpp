#include "media/protocols/rtp/aac_rtp.hpp"

#include <algorithm>
#include <cstdio>

namespace sluice::media::rtp {
namespace {

constexpr std::size_t kMaxFrame = 1 << 16;  // far above any AAC frame (6144 bits per channel)
constexpr std::size_t kMaxFramesPerPacket = 64;

Error malformed(std::string what) {
  return Error::bad_request("RTP AAC: " + std::move(what));
}

// Reads `bits` bits MSB first from `data` at bit `at`; false past the end.
bool read_bits(std::span<const std::uint8_t> data, std::size_t& at, int bits, std::uint32_t& v) {
  v = 0;
  for (int i = 0; i < bits; ++i, ++at) {
    if (at / 8 >= data.size()) return false;
    v = (v << 1) | ((data[at / 8] >> (7 - at % 8)) & 1);
  }
  return true;
}

}  // namespace

void packetize_aac(std::string_view frame, std::size_t max_payload, std::vector<std::string>& out) {
  constexpr std::size_t kHeaders = 4;  // AU-headers-length (16 bits) + one 16-bit AU-header
  if (frame.empty() || frame.size() >= (1u << 13)) return;  // not expressible in 13 bits
  max_payload = std::max(max_payload, kHeaders + 1);
  const std::uint16_t au_header = static_cast<std::uint16_t>(frame.size() << 3);  // index 0
  const char head[kHeaders] = {0x00, 0x10, static_cast<char>(au_header >> 8),
                               static_cast<char>(au_header & 0xFF)};
  for (std::size_t at = 0; at < frame.size();) {
    const std::size_t n = std::min(max_payload - kHeaders, frame.size() - at);
    std::string payload(head, kHeaders);
    payload.append(frame.substr(at, n));
    out.push_back(std::move(payload));
    at += n;
  }
}

std::string aac_fmtp(int payload_type, std::span<const std::uint8_t> config) {
  std::string hex;
  char byte[3];
  for (auto b : config) {
    std::snprintf(byte, sizeof byte, "%02x", b);
    hex += byte;
  }
  return std::to_string(payload_type) +
         " streamtype=5; profile-level-id=1; mode=AAC-hbr; sizelength=13; indexlength=3; "
         "indexdeltalength=3; config=" +
         hex;
}

Status AacDepacketizer::push(const Packet& packet, std::vector<AudioFrame>& out) {
  const auto& h = packet.header;
  if (have_sequence_ && h.sequence != static_cast<std::uint16_t>(last_sequence_ + 1)) {
    if (static_cast<std::uint16_t>(last_sequence_ - h.sequence) < 128) return {};  // late
    partial_.clear();  // a fragment was lost: the frame cannot be rebuilt
    partial_size_ = 0;
  }
  have_sequence_ = true;
  last_sequence_ = h.sequence;

  const auto p = packet.payload;
  if (p.size() < 2) return fail(malformed("payload without its AU-headers-length"));
  const std::size_t header_bits = (std::size_t(p[0]) << 8) | p[1];
  const std::size_t header_bytes = (header_bits + 7) / 8;
  if (2 + header_bytes > p.size()) return fail(malformed("AU headers past the end of the packet"));
  const auto headers = p.subspan(2, header_bytes);
  auto data = p.subspan(2 + header_bytes);

  std::vector<std::size_t> sizes;
  std::size_t bit = 0;
  while (bit < header_bits) {
    std::uint32_t size = 0, index = 0;
    const int index_bits = sizes.empty() ? layout_.index_length : layout_.index_delta_length;
    if (!read_bits(headers, bit, layout_.size_length, size) ||
        !read_bits(headers, bit, index_bits, index) || bit > header_bits) {
      return fail(malformed("truncated AU header"));
    }
    if (size == 0 || size > kMaxFrame) return fail(malformed("AU size out of range"));
    if (sizes.size() == kMaxFramesPerPacket) return fail(malformed("too many AUs in a packet"));
    sizes.push_back(size);
  }
  if (sizes.empty()) return fail(malformed("no AU header"));

  // A fragment: one AU header whose size is more than the data (or a frame in progress).
  if (sizes.size() == 1 && (sizes[0] > data.size() || !partial_.empty())) {
    if (partial_.empty()) {
      partial_size_ = sizes[0];
      partial_timestamp_ = h.timestamp;
    } else if (sizes[0] != partial_size_ || h.timestamp != partial_timestamp_) {
      partial_.clear();  // another frame began: the old one is incomplete
      partial_size_ = sizes[0];
      partial_timestamp_ = h.timestamp;
    }
    if (partial_.size() + data.size() > partial_size_) {
      partial_.clear();
      return fail(malformed("fragments longer than their AU size"));
    }
    partial_.append(reinterpret_cast<const char*>(data.data()), data.size());
    if (partial_.size() == partial_size_) {
      out.push_back({partial_timestamp_, std::move(partial_)});
      partial_.clear();
    }
    return {};
  }
  std::uint32_t ts = h.timestamp;
  for (std::size_t size : sizes) {
    if (size > data.size()) return fail(malformed("AU data past the end of the packet"));
    out.push_back({ts, std::string(reinterpret_cast<const char*>(data.data()), size)});
    data = data.subspan(size);
    ts += kAacFrameSamples;
  }
  return {};
}

}  // namespace sluice::media::rtp
