#include "media/protocols/rtp/rtcp.hpp"

namespace sluice::media::rtp {
namespace {

constexpr std::uint8_t kSenderReport = 200;
constexpr std::uint8_t kReceiverReport = 201;
constexpr std::uint8_t kTransportFeedback = 205;  // RTPFB
constexpr std::uint8_t kPayloadFeedback = 206;    // PSFB
constexpr unsigned kGenericNack = 1;              // RTPFB FMT
constexpr unsigned kTransportWide = 15;           // RTPFB FMT (transport-cc)
constexpr unsigned kPictureLoss = 1;              // PSFB FMT
constexpr unsigned kFullIntraRequest = 4;         // PSFB FMT
constexpr unsigned kApplicationLayer = 15;        // PSFB FMT (REMB)
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

Feedback& feedback_for(RtcpReports& out, std::uint32_t media_ssrc) {
  for (auto& f : out.feedback) {
    if (f.media_ssrc == media_ssrc) return f;
  }
  out.feedback.push_back({media_ssrc, {}, false, false});
  return out.feedback.back();
}

// RTPFB/PSFB packet `p` of `length` bytes (header, sender SSRC, media SSRC, FCI).
Status read_feedback(const std::uint8_t* p, std::size_t length, RtcpReports& out,
                     std::size_t& nacked) {
  if (length < 12) return fail(Error::bad_request("RTCP: feedback packet too short"));
  const unsigned fmt = p[0] & 0x1F;
  const std::uint32_t media_ssrc = u32(p + 8);
  const std::uint8_t* fci = p + 12;
  const std::size_t fci_size = length - 12;
  if (p[1] == kTransportFeedback && fmt == kGenericNack) {
    auto& f = feedback_for(out, media_ssrc);
    for (std::size_t i = 0; i + 4 <= fci_size; i += 4) {
      const auto pid = static_cast<std::uint16_t>((fci[i] << 8) | fci[i + 1]);
      const unsigned mask = (unsigned{fci[i + 2]} << 8) | fci[i + 3];
      for (unsigned bit = 0; bit <= 16; ++bit) {
        if (bit > 0 && !(mask & (1u << (bit - 1)))) continue;
        if (++nacked > kMaxNacked) return fail(Error::bad_request("RTCP: too many NACKed packets"));
        f.nacked.push_back(static_cast<std::uint16_t>(pid + bit));
      }
    }
  } else if (p[1] == kTransportFeedback && fmt == kTransportWide) {
    if (out.transport_feedback.size() >= 16)
      return fail(Error::bad_request("RTCP: too many feedbacks"));
    auto parsed = parse_transport_feedback({fci, fci_size});
    if (!parsed) return fail(parsed.error());
    out.transport_feedback.push_back(std::move(*parsed));
  } else if (p[1] == kPayloadFeedback && fmt == kPictureLoss) {
    feedback_for(out, media_ssrc).picture_loss = true;
  } else if (p[1] == kPayloadFeedback && fmt == kFullIntraRequest) {
    for (std::size_t i = 0; i + 8 <= fci_size; i += 8)
      feedback_for(out, u32(fci + i)).full_intra_request = true;
  } else if (p[1] == kPayloadFeedback && fmt == kApplicationLayer && fci_size >= 8 &&
             fci[0] == 'R' && fci[1] == 'E' && fci[2] == 'M' && fci[3] == 'B') {
    // 'REMB', SSRC count, BR exponent (6 bits) and mantissa (18 bits), the SSRCs.
    const unsigned exponent = fci[5] >> 2;
    const std::uint64_t mantissa =
        (std::uint64_t{fci[5] & 0x03u} << 16) | (std::uint64_t{fci[6]} << 8) | fci[7];
    out.remb_bps = exponent >= 46 ? UINT64_MAX : mantissa << exponent;
  }
  return {};
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
  std::size_t nacked = 0;
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
    } else if (type == kTransportFeedback || type == kPayloadFeedback) {
      if (auto ok = read_feedback(p, length, out, nacked); !ok) return fail(ok.error());
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

void append_nack(std::uint32_t sender_ssrc, std::uint32_t media_ssrc,
                 const std::vector<std::uint16_t>& lost, std::string& out) {
  std::string items;
  std::vector<bool> done(lost.size(), false);
  for (std::size_t i = 0; i < lost.size(); ++i) {
    if (done[i]) continue;
    const std::uint16_t pid = lost[i];
    unsigned mask = 0;
    for (std::size_t j = i; j < lost.size(); ++j) {
      const auto offset = static_cast<std::uint16_t>(lost[j] - pid);
      if (offset == 0) {
        done[j] = true;
      } else if (offset <= 16) {
        mask |= 1u << (offset - 1);
        done[j] = true;
      }
    }
    items.push_back(static_cast<char>(pid >> 8));
    items.push_back(static_cast<char>(pid));
    items.push_back(static_cast<char>(mask >> 8));
    items.push_back(static_cast<char>(mask));
  }
  const std::size_t words = 2 + items.size() / 4;  // SSRCs and items, header excluded
  out.push_back(static_cast<char>(0x80 | kGenericNack));
  out.push_back(static_cast<char>(kTransportFeedback));
  out.push_back(static_cast<char>(words >> 8));
  out.push_back(static_cast<char>(words));
  put32(out, sender_ssrc);
  put32(out, media_ssrc);
  out += items;
}

void append_pli(std::uint32_t sender_ssrc, std::uint32_t media_ssrc, std::string& out) {
  out.push_back(static_cast<char>(0x80 | kPictureLoss));
  out.push_back(static_cast<char>(kPayloadFeedback));
  out.push_back(0);
  out.push_back(2);
  put32(out, sender_ssrc);
  put32(out, media_ssrc);
}

std::uint64_t ntp_from_unix_us(std::int64_t unix_us) {
  constexpr std::uint64_t kNtpUnixOffset = 2208988800ull;  // 1900 -> 1970, seconds
  const std::uint64_t seconds = static_cast<std::uint64_t>(unix_us / 1'000'000) + kNtpUnixOffset;
  const std::uint64_t micros = static_cast<std::uint64_t>(unix_us % 1'000'000);
  return (seconds << 32) | ((micros << 32) / 1'000'000);
}

}  // namespace sluice::media::rtp
