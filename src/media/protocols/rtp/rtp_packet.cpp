#include "media/protocols/rtp/rtp_packet.hpp"

namespace sluice::media::rtp {
namespace {

std::uint16_t u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t u32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}
Error malformed(std::string what) {
  return Error::bad_request("RTP: " + std::move(what));
}

}  // namespace

Result<Packet> parse_packet(std::span<const std::uint8_t> b) {
  if (b.size() < kHeaderSize) return fail(malformed("packet shorter than its 12-byte header"));
  if ((b[0] >> 6) != 2) return fail(malformed("version is not 2"));
  const bool padding = b[0] & 0x20;
  const bool extension = b[0] & 0x10;
  const std::size_t csrcs = b[0] & 0x0F;
  Packet p;
  p.header.marker = b[1] & 0x80;
  p.header.payload_type = b[1] & 0x7F;
  p.header.sequence = u16(&b[2]);
  p.header.timestamp = u32(&b[4]);
  p.header.ssrc = u32(&b[8]);
  std::size_t offset = kHeaderSize + 4 * csrcs;
  if (offset > b.size()) return fail(malformed("CSRC list past the end of the packet"));
  if (extension) {
    if (offset + 4 > b.size()) return fail(malformed("header extension past the end"));
    const std::size_t words = u16(&b[offset + 2]);
    offset += 4 + 4 * words;
    if (offset > b.size()) return fail(malformed("header extension past the end"));
  }
  std::size_t end = b.size();
  if (padding) {
    const std::size_t pad = b[end - 1];
    if (pad == 0 || pad > end - offset) return fail(malformed("bad padding length"));
    end -= pad;
  }
  p.payload = b.subspan(offset, end - offset);
  return p;
}

void append_header(const Header& h, std::string& out) {
  const char bytes[kHeaderSize] = {
      char(0x80),
      char((h.marker ? 0x80 : 0) | (h.payload_type & 0x7F)),
      char(h.sequence >> 8),
      char(h.sequence),
      char(h.timestamp >> 24),
      char(h.timestamp >> 16),
      char(h.timestamp >> 8),
      char(h.timestamp),
      char(h.ssrc >> 24),
      char(h.ssrc >> 16),
      char(h.ssrc >> 8),
      char(h.ssrc),
  };
  out.append(bytes, kHeaderSize);
}

bool looks_like_rtcp(std::span<const std::uint8_t> b) {
  return b.size() >= 2 && (b[0] >> 6) == 2 && b[1] >= 192 && b[1] <= 223;
}

}  // namespace sluice::media::rtp
