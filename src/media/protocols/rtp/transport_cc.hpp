#pragma once
// Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01), the
// feedback browsers send instead of (or beside) REMB, sans I/O: the RTP header extension that
// numbers every packet a session sends, the RTCP feedback (RTPFB, FMT 15) saying which of them
// arrived and when, and an estimate of what the path delivers from the two.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace sluice::media::rtp {

inline constexpr std::string_view kTransportCcUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

// Appends a one-byte-header extension block (RFC 8285) carrying transport-wide sequence
// `sequence` under extension `id` (1-14) to an RTP header that has none, and sets its X bit.
// `header` holds exactly the fixed header (and CSRCs).
void append_transport_sequence(std::string& header, int id, std::uint16_t sequence);

// At most this many packet statuses are read from one feedback packet.
inline constexpr std::size_t kMaxTransportStatuses = 8192;

struct TransportFeedback {
  std::uint16_t base_sequence = 0;
  // Per reported packet, from base_sequence on: its arrival on the receiver's clock (µs, from
  // the feedback's reference time), or nullopt when it did not arrive.
  std::vector<std::optional<std::int64_t>> arrivals;
};

// The FCI of an RTPFB FMT 15 packet (after the media SSRC). 400 when it lies (counts or deltas
// past its end, reserved symbols, more than kMaxTransportStatuses statuses).
Result<TransportFeedback> parse_transport_feedback(std::span<const std::uint8_t> fci);

// What the feedback says of a session's sends: the rate they arrived at over the last second of
// arrivals, and the share reported lost (smoothed; a packet resent on a NACK keeps its number,
// so this is what the viewer still missed after retransmission). Single-threaded.
class DeliveryEstimate {
 public:
  // A packet numbered `sequence` of `bytes` left now.
  void on_sent(std::uint16_t sequence, std::size_t bytes);
  void on_feedback(const TransportFeedback& feedback);
  std::optional<double> delivered_bps() const { return delivered_bps_; }
  std::optional<double> loss() const { return loss_; }

 private:
  struct Sent {
    std::uint16_t sequence = 0;
    std::uint32_t bytes = 0;
    bool known = false;
  };
  std::array<Sent, 2048> sent_{};  // by sequence modulo its size
  // Arrivals (µs on the receiver's clock) and sizes of the last second, oldest first.
  std::deque<std::pair<std::int64_t, std::uint32_t>> arrivals_;
  std::optional<double> delivered_bps_, loss_;
};

}  // namespace sluice::media::rtp
