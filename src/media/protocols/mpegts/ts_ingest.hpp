#pragma once
// How an MPEG-TS stream (an SRT publisher's) maps to the media core, sans I/O: the Demuxer's PES
// payloads become FLV bodies — H.264 Annex B through H264ToFlv (decoding times from the PES DTS),
// AAC ADTS through AdtsToFlv. Timestamps are milliseconds since the stream's first one (90 kHz,
// 33-bit wraps followed). H.265 streams are counted in `skipped` (not taken yet); so are PES
// without a timestamp. Bad AAC frames are counted in `rejected` and dropped.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "media/flv_builder.hpp"
#include "media/protocols/mpegts/ts_demuxer.hpp"

namespace sluice::media::mpegts {

class TsIngest {
 public:
  void push(std::span<const std::uint8_t> bytes, std::vector<FlvFrame>& out);

  const DemuxStats& demux_stats() const { return demuxer_.stats(); }
  std::uint64_t skipped() const { return skipped_; }
  std::uint64_t rejected() const { return rejected_; }

 private:
  std::int64_t ms_of(std::int64_t ts90k);
  void take(PesFrame& pes, std::vector<FlvFrame>& out);

  Demuxer demuxer_;
  H264ToFlv h264_;
  AdtsToFlv aac_;
  std::optional<std::int64_t> base_;  // the first timestamp, extended
  std::int64_t last_ = 0;             // the last timestamp seen, extended
  std::int64_t epoch_ = 0;            // multiples of 2^33 added
  std::uint64_t skipped_ = 0;
  std::uint64_t rejected_ = 0;
};

}  // namespace sluice::media::mpegts
