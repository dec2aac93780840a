#pragma once
// RTCP (RFC 3550 §6), sans I/O: the sender reports sluiced sends for each track it plays out,
// and the reception report blocks a reader's receiver reports (or a publisher's sender reports)
// carry, read from a compound packet. Other packet types in a compound packet are skipped.
// Parsing never reads outside the bytes given; a malformed packet is an error (400).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"

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

struct RtcpReports {
  std::vector<ReceptionReport> reports;
  std::optional<SenderInfo> sender;  // from an SR, if the compound packet had one
};

Result<RtcpReports> parse_rtcp(std::span<const std::uint8_t> compound);

// Appends a sender report without report blocks (28 bytes).
void append_sender_report(const SenderInfo& info, std::string& out);

// The NTP timestamp of a system_clock time in microseconds since the Unix epoch.
std::uint64_t ntp_from_unix_us(std::int64_t unix_us);

}  // namespace sluice::media::rtp
