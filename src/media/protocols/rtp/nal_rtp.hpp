#pragma once
// H.264 (RFC 6184, packetization-mode 1) and H.265 (RFC 7798) over RTP, sans I/O.
//
// Packetizing: an access unit's NAL units (no start codes, no length prefixes) become payloads
// of at most `max_payload` bytes — a NAL unit that fits travels alone (Single NAL Unit packet),
// a larger one as fragments (FU-A / FU). The caller writes the RTP headers: one timestamp for the
// access unit, the marker bit on its last payload.
//
// Depacketizing: packets in arrival order (one SSRC) become access units. Single NAL unit,
// aggregation (STAP-A / AP) and fragmentation (FU-A / FU) packets are understood; other types
// (STAP-B, MTAP, FU-B, PACI) are refused (415). An access unit ends at the marker bit, or when a
// packet with another timestamp arrives. A gap in sequence numbers drops the fragmented NAL unit
// being reassembled and marks the access unit `damaged` (a decoder should wait for the next
// keyframe); when nothing of a damaged access unit remains, the next one is marked instead.
// Bounded: an access unit past `max_access_unit_bytes` or 4096 NAL units is dropped (413) whole;
// the depacketizer stays usable after any error.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/byte_budget.hpp"
#include "core/error.hpp"
#include "media/protocols/rtp/rtp_packet.hpp"

namespace sluice::media::rtp {

enum class NalCodec { kH264, kH265 };

// Appends the payloads for one access unit to `out`.
void packetize_nal_units(NalCodec codec, std::span<const std::string_view> nal_units,
                         std::size_t max_payload, std::vector<std::string>& out);

struct NalAccessUnit {
  std::uint32_t timestamp = 0;         // RTP timestamp (90 kHz)
  std::vector<std::string> nal_units;  // in decoding order, without start codes
  bool damaged = false;                // a packet of it was lost
};

class NalDepacketizer {
 public:
  // `budget` (may be null) is shared by every publisher of the server: the bytes of the access
  // unit being gathered are charged to it (an access unit it cannot hold is dropped, 503).
  explicit NalDepacketizer(NalCodec codec, std::size_t max_access_unit_bytes = 8 << 20,
                           SharedByteBudget* budget = nullptr)
      : codec_(codec), max_bytes_(max_access_unit_bytes), charge_(budget) {}
  std::uint64_t over_budget() const { return over_budget_; }

  // Feeds one packet; access units it completes are appended to `out`.
  Status push(const Packet& packet, std::vector<NalAccessUnit>& out);

 private:
  Status add_nal(std::string nal);
  Status single_or_aggregate(std::span<const std::uint8_t> payload, unsigned type);
  Status fragment(std::span<const std::uint8_t> payload);
  void finish(std::vector<NalAccessUnit>& out);
  void reset_access_unit();

  NalCodec codec_;
  std::size_t max_bytes_;
  bool have_sequence_ = false;
  std::uint16_t last_sequence_ = 0;
  NalAccessUnit current_;
  std::size_t current_bytes_ = 0;
  bool in_access_unit_ = false;
  bool oversized_ = false;       // the current access unit went past the bounds: dropped at its end
  bool damage_pending_ = false;  // a damaged access unit was dropped whole: mark the next one
  std::string fragment_;         // the NAL unit being reassembled from fragments
  bool fragmenting_ = false;
  BudgetCharge charge_;
  std::uint64_t over_budget_ = 0;
};

}  // namespace sluice::media::rtp
