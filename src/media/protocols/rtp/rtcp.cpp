#include "media/protocols/rtp/rtcp.hpp"

namespace sluice::media::rtp {
namespace {

constexpr std::uint8_t kSenderReport = 200;
constexpr std::uint8_t kReceiverReport = 201;
constexpr std::size_t kReportBlock = 24;

std::uint32_t u32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
         std::uint32_t(p[3]);
}
void put32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

ReceptionReport report_at(const std::uint8_t* p) {
  ReceptionReport r;
  r.ssrc = u32(p);
  r.fraction_lost = p[4];
  std::uint32_t lost = (std::uint32_t(p[5]) << 16) | (std::uint32_t(p[6]) << 8) | p[7];
  if (lost & 0x800000) lost |= 0xFF000000;  // 24-bit two's complement
  r.cumulative_lost = static_cast<std::int32_t>(lost);
  r.highest_sequence = u32(p + 8);
  r.jitter = u32(p + 12);
  r.last_sr = u32(p + 16);
  r.delay_since_last_sr = u32(p + 20);
  return r;
}

}  // namespace

Result<RtcpReports> parse_rtcp(std::span<const std::uint8_t> b) {
  RtcpReports out;
  std::size_t at = 0;
  while (at < b.size()) {
    if (b.size() - at < 4) return fail(Error::bad_request("RTCP: truncated packet header"));
    const std::uint8_t* p = &b[at];
    if ((p[0] >> 6) != 2) return fail(Error::bad_request("RTCP: version is not 2"));
    const std::size_t count = p[0] & 0x1F;
    const std::uint8_t type = p[1];
    const std::size_t length = (std::size_t((p[2] << 8) | p[3]) + 1) * 4;
    if (length > b.size() - at) return fail(Error::bad_request("RTCP: packet past the end"));
    std::size_t blocks_at = 0;
    if (type == kSenderReport) {
      if (length < 28) return fail(Error::bad_request("RTCP: sender report too short"));
      SenderInfo s;
      s.ssrc = u32(p + 4);
      s.ntp = (std::uint64_t(u32(p + 8)) << 32) | u32(p + 12);
      s.rtp_timestamp = u32(p + 16);
      s.packets = u32(p + 20);
      s.octets = u32(p + 24);
      out.sender = s;
      blocks_at = 28;
    } else if (type == kReceiverReport) {
      if (length < 8) return fail(Error::bad_request("RTCP: receiver report too short"));
      blocks_at = 8;
    }
    if (blocks_at > 0) {
      if (blocks_at + count * kReportBlock > length) {
        return fail(Error::bad_request("RTCP: report blocks past the end of their packet"));
      }
      for (std::size_t i = 0; i < count; ++i)
        out.reports.push_back(report_at(p + blocks_at + i * kReportBlock));
    }
    at += length;
  }
  return out;
}

void append_sender_report(const SenderInfo& s, std::string& out) {
  out.push_back(static_cast<char>(0x80));  // V=2, no padding, no report blocks
  out.push_back(static_cast<char>(kSenderReport));
  out.push_back(0);
  out.push_back(6);  // 7 words - 1
  put32(out, s.ssrc);
  put32(out, static_cast<std::uint32_t>(s.ntp >> 32));
  put32(out, static_cast<std::uint32_t>(s.ntp));
  put32(out, s.rtp_timestamp);
  put32(out, s.packets);
  put32(out, s.octets);
}

std::uint64_t ntp_from_unix_us(std::int64_t unix_us) {
  constexpr std::uint64_t kNtpUnixOffset = 2208988800ull;  // 1900 -> 1970, seconds
  const std::uint64_t seconds = static_cast<std::uint64_t>(unix_us / 1'000'000) + kNtpUnixOffset;
  const std::uint64_t micros = static_cast<std::uint64_t>(unix_us % 1'000'000);
  return (seconds << 32) | ((micros << 32) / 1'000'000);
}

}  // namespace sluice::media::rtp
