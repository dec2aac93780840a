#pragma once
// MPEG-TS demuxer (ISO/IEC 13818-1), sans I/O: what an SRT publisher (or a UDP/file source) sends
// — 188-byte transport packets in any split — becomes PES payloads per elementary stream with
// their timestamps. The PAT and PMT are read to learn each stream's PID and type; H.264 (0x1B),
// H.265 (0x24), AAC in ADTS (0x0F) and Opus (private data 0x06 registered as "Opus", 1 or 2
// channels; media/protocols/mpegts/opus_ts.hpp) are handed on, other streams skipped. A PES ends
// when its PES_packet_length is reached or, unbounded (video), when the next one of its PID
// starts. A lost packet
// (continuity counter gap) drops the PES being gathered; bytes that are not packets are skipped
// until the next sync byte (counted). Bounded: a PES past `max_pes_bytes` is dropped (counted),
// at most 4 elementary streams are followed. Never reads outside the bytes given.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/byte_budget.hpp"
#include "core/error.hpp"

namespace sluice::media::mpegts {

inline constexpr std::size_t kPacketSize = 188;

// The stream_type values followed; kOpus is private data (0x06) that descriptors mark as Opus.
enum class StreamType : std::uint8_t { kH264 = 0x1B, kH265 = 0x24, kAacAdts = 0x0F, kOpus = 0x06 };

struct PesFrame {
  std::uint16_t pid = 0;
  StreamType type = StreamType::kH264;
  std::optional<std::int64_t> pts;  // 90 kHz, as sent (33 bits)
  std::optional<std::int64_t> dts;  // 90 kHz; absent: equal to the PTS
  std::string data;                 // Annex B (video), ADTS frames (AAC), Opus access units
  unsigned channels = 0;            // Opus: 1 or 2, from the PMT
  bool after_loss = false;          // a packet before this PES was lost
};

struct DemuxStats {
  std::uint64_t packets = 0;
  std::uint64_t resyncs = 0;  // bytes skipped to find the next sync byte (times)
  std::uint64_t continuity_errors = 0;
  std::uint64_t oversized = 0;    // PES dropped for passing max_pes_bytes
  std::uint64_t over_budget = 0;  // PES dropped because the shared budget was full
};

class Demuxer {
 public:
  // `budget` (may be null) is shared by every demuxer of the server: the PES bytes being gathered
  // are charged to it, and a PES it cannot take is dropped (counted in over_budget).
  explicit Demuxer(std::size_t max_pes_bytes = 8 << 20, SharedByteBudget* budget = nullptr)
      : max_pes_(max_pes_bytes), charge_(budget) {}

  // Appends the PES payloads `bytes` complete to `out`. Keeps a partial packet for the next call.
  void feed(std::span<const std::uint8_t> bytes, std::vector<PesFrame>& out);
  // The source ended: hands on every PES gathered so far.
  void flush(std::vector<PesFrame>& out);

  const DemuxStats& stats() const { return stats_; }

 private:
  struct Stream {
    StreamType type = StreamType::kH264;
    unsigned channels = 0;  // Opus
    std::string pes;        // the PES packet being gathered (header included)
    std::optional<std::uint8_t> continuity;
    bool after_loss = false;
    bool gathering = false;
  };
  void packet(const std::uint8_t* p);
  void section(std::uint16_t pid, std::span<const std::uint8_t> payload, bool unit_start);
  void finish_pes(std::uint16_t pid, Stream& s, std::vector<PesFrame>& out);
  // Charges what the streams gather to the budget; drops `growing`'s PES when it is refused.
  void settle_budget(Stream& growing);

  std::size_t max_pes_;
  std::string pending_;  // bytes of a packet not complete yet
  std::optional<std::uint16_t> pmt_pid_;
  std::map<std::uint16_t, Stream> streams_;
  std::vector<PesFrame>* out_ = nullptr;
  DemuxStats stats_;
  BudgetCharge charge_;
};

}  // namespace sluice::media::mpegts
