#include "media/protocols/mpegts/ts_ingest.hpp"

#include "media/audio_config.hpp"
#include "media/protocols/mpegts/opus_ts.hpp"

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
  if (pes.type == StreamType::kOpus) return take_opus(pes, pts, out);
  if (!aac_.push(pes.data, pts, out)) ++rejected_;
}

void TsIngest::take_opus(const PesFrame& pes, std::int64_t pts, std::vector<FlvFrame>& out) {
  std::vector<std::string_view> packets;
  if (!split_opus_access_units(pes.data, packets)) ++rejected_;
  std::int64_t samples = 0;
  for (auto packet : packets) {
    const auto ms = static_cast<std::uint32_t>(pts + samples * 1000 / kOpusClockRate);
    if (pes.channels != opus_channels_) {
      opus_channels_ = pes.channels;
      out.push_back({tag_type::kAudio, ms, opus_sequence_start_body(opus_head(opus_channels_))});
    }
    out.push_back({tag_type::kAudio, ms, opus_frame_body(packet)});
    samples +=
        opus_packet_samples({reinterpret_cast<const std::uint8_t*>(packet.data()), packet.size()});
  }
}

}  // namespace sluice::media::mpegts
