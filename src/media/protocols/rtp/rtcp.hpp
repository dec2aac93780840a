#pragma once
// RTCP (RFC 3550 §6), sans I/O: the sender reports sluiced sends for each track it plays out,
// and the reception report blocks a reader's receiver reports (or a publisher's sender reports)
// carry, read from a compound packet; and the feedback a WebRTC viewer sends (RFC 4585 generic
// NACK and PLI, RFC 5104 FIR, REMB): which packets it lost, that it wants a keyframe, what
// bandwidth it estimates. Other packet types in a compound packet are skipped.
// Parsing never reads outside the bytes given; a malformed packet is an error (400).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "media/protocols/rtp/transport_cc.hpp"

namespace sluice::media::rtp {

// What a receiver says about one source (RFC 3550 §6.4.1).
struct ReceptionReport {
  std::uint32_t ssrc = 0;                 // the source reported on
  std::uint8_t fraction_lost = 0;         // since the previous report, out of 256
  std::int32_t cumulative_lost = 0;       // since the beginning (may be negative: duplicates)
  std::uint32_t highest_sequence = 0;     // extended
  std::uint32_t jitter = 0;               // interarrival jitter, in timestamp units
  std::uint32_t last_sr = 0;              // middle 32 bits of the last SR's NTP time
  std::uint32_t delay_since_last_sr = 0;  // 1/65536 s
};

struct SenderInfo {
  std::uint32_t ssrc = 0;
  std::uint64_t ntp = 0;  // NTP timestamp (seconds << 32 | fraction)
  std::uint32_t rtp_timestamp = 0;
  std::uint32_t packets = 0;
  std::uint32_t octets = 0;
};

// Feedback about one media source (the SSRC sluiced sends).
struct Feedback {
  std::uint32_t media_ssrc = 0;
  std::vector<std::uint16_t> nacked;  // sequence numbers reported lost (generic NACK)
  bool picture_loss = false;          // PLI
  bool full_intra_request = false;    // FIR
};

struct RtcpReports {
  std::vector<ReceptionReport> reports;
  std::optional<SenderInfo> sender;       // from an SR, if the compound packet had one
  std::vector<Feedback> feedback;         // NACK, PLI, FIR (a FIR's SSRC is in its FCI entry)
  std::optional<std::uint64_t> remb_bps;  // receiver estimated maximum bitrate
  std::vector<TransportFeedback> transport_feedback;  // transport-cc (RTPFB FMT 15)
};

// At most this many lost sequence numbers are read from one compound packet (a NACK item names
// 17 with its bitmask; more is a peer that lost everything or lies).
inline constexpr std::size_t kMaxNacked = 1024;

Result<RtcpReports> parse_rtcp(std::span<const std::uint8_t> compound);

// Appends a sender report without report blocks (28 bytes).
void append_sender_report(const SenderInfo& info, std::string& out);
// Appends a generic NACK (RFC 4585 6.2.1) for `lost` (sorted or not) and a PLI (6.3.1): what a
// receiver sends (tests; sluiced's own WHIP ingest).
void append_nack(std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                 const std::vector<std::uint16_t>& lost, std::string& out);
void append_pli(std::uint32_t sender_ssrc, std::uint32_t media_ssrc, std::string& out);

// The NTP timestamp of a system_clock time in microseconds since the Unix epoch.
std::uint64_t ntp_from_unix_us(std::int64_t unix_us);

}  // namespace sluice::media::rtp
