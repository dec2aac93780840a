#pragma once
// RTP packets (RFC 3550 §5.1), sans I/O: the fixed header, CSRC list, header extension and padding
// of a packet a UDP socket or an RTSP interleaved frame delivered, and the fixed header written in
// front of a payload sluiced sends. Parsing never reads outside the bytes given; a malformed
// packet is an error (400) naming what is wrong.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.hpp"

namespace sluice::media::rtp {

inline constexpr std::size_t kHeaderSize = 12;
// Payload bytes per packet sluiced writes: with the RTP header, IP/UDP headers and an RTSP
// interleave or SRTP overhead it stays within a 1500-byte Ethernet MTU.
inline constexpr std::size_t kMaxPayload = 1200;

struct Header {
  bool marker = false;
  std::uint8_t payload_type = 0;  // 0..127
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
};

struct Packet {
  Header header;
  std::span<const std::uint8_t> payload;  // into the parsed bytes; padding removed
};

Result<Packet> parse_packet(std::span<const std::uint8_t> bytes);

// Appends the 12-byte fixed header (version 2, no padding, extension or CSRC).
void append_header(const Header& header, std::string& out);

// Whether `bytes` look like RTCP rather than RTP (RFC 5761 §4: payload type 64..95 with the
// marker bit), for demultiplexing one channel or port that carries both.
bool looks_like_rtcp(std::span<const std::uint8_t> bytes);

// Sequence numbers compare modulo 2^16: whether `a` comes after `b`.
inline bool sequence_after(std::uint16_t a, std::uint16_t b) {
  return a != b && static_cast<std::uint16_t>(a - b) < 0x8000;
}

}  // namespace sluice::media::rtp
