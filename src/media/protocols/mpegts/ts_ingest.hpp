#pragma once
// How an MPEG-TS stream (an SRT publisher's) maps to the media core, sans I/O: the Demuxer's PES
// payloads become FLV bodies — H.264 and H.265 Annex B through NalToFlv (decoding times from the
// PES DTS; H.265 as Enhanced RTMP `hvc1`), AAC ADTS through AdtsToFlv, Opus access units as
// Enhanced RTMP Opus (an OpusHead of the PMT's channel count, then one packet per frame, each at
// the PES time plus the samples before it). Timestamps are
// milliseconds since the stream's first one (90 kHz, 33-bit wraps followed). PES without a
// timestamp are counted in `skipped`. Bad AAC frames are counted in `rejected` and dropped.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "media/flv_builder.hpp"
#include "media/protocols/mpegts/ts_demuxer.hpp"

namespace sluice::media::mpegts {

class TsIngest {
 public:
  // `budget` (may be null): the server-wide reassembly budget the demuxer charges (Demuxer).
  explicit TsIngest(SharedByteBudget* budget = nullptr) : demuxer_(8 << 20, budget) {}
  void push(std::span<const std::uint8_t> bytes, std::vector<FlvFrame>& out);

  const DemuxStats& demux_stats() const { return demuxer_.stats(); }
  std::uint64_t skipped() const { return skipped_; }
  std::uint64_t rejected() const { return rejected_; }

 private:
  std::int64_t ms_of(std::int64_t ts90k);
  void take(PesFrame& pes, std::vector<FlvFrame>& out);
  void take_opus(const PesFrame& pes, std::int64_t pts_ms, std::vector<FlvFrame>& out);

  Demuxer demuxer_;
  NalToFlv h264_{VideoCodec::kH264};
  NalToFlv h265_{VideoCodec::kHevc};
  AdtsToFlv aac_;
  unsigned opus_channels_ = 0;        // of the OpusHead last handed on
  std::optional<std::int64_t> base_;  // the first timestamp, extended
  std::int64_t last_ = 0;             // the last timestamp seen, extended
  std::int64_t epoch_ = 0;            // multiples of 2^33 added
  std::uint64_t skipped_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace sluice::media::mpegts
