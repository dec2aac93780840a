#include "media/protocols/mpegts/ts_ingest.hpp"

namespace sluice::media::mpegts {
namespace {
constexpr std::int64_t kWrap = std::int64_t{1} << 33;
}  // namespace

std::int64_t TsIngest::ms_of(std::int64_t ts) {
  std::int64_t extended = ts + epoch_;
  if (base_ && extended < last_ - kWrap / 2) {  // wrapped forward
    epoch_ += kWrap;
    extended += kWrap;
  } else if (base_ && extended > last_ + kWrap / 2) {  // a late one from before a wrap
    extended -= kWrap;
  }
  if (!base_) base_ = extended;
  last_ = std::max(last_, extended);
  return std::max<std::int64_t>(0, (extended - *base_) / 90);
}

void TsIngest::push(std::span<const std::uint8_t> bytes, std::vector<FlvFrame>& out) {
  std::vector<PesFrame> frames;
  demuxer_.feed(bytes, frames);
  for (auto& pes : frames)
    take(pes, out);
}

void TsIngest::take(PesFrame& pes, std::vector<FlvFrame>& out) {
  if (!pes.pts) {
    ++skipped_;
    return;
  }
  const std::int64_t pts = ms_of(*pes.pts);
  if (pes.type == StreamType::kH264 || pes.type == StreamType::kH265) {
    const std::optional<std::int64_t> dts =
        pes.dts ? std::optional<std::int64_t>(ms_of(*pes.dts)) : std::nullopt;
    auto& video = pes.type == StreamType::kH264 ? h264_ : h265_;
    video.push(annexb_nal_units(pes.data), pts, dts, pes.after_loss, out);
    return;
  }
  if (!aac_.push(pes.data, pts, out)) ++rejected_;
}

}  // namespace sluice::media::mpegts
