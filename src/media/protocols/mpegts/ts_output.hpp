#pragma once
// How the media core maps to MPEG-TS, sans I/O — the way out for SRT readers (the inverse of
// TsIngest): a live path's codec configuration becomes a TsProgram (H.264 or H.265 video, AAC or
// Opus), and each of its packets the transport packets of one PES: video as an Annex B access unit
// (an access unit delimiter first; on keyframes the parameter sets, unless the frame carries its
// own), AAC as one ADTS frame, Opus as one packet with its control header. Timestamps: DTS and PTS
// at 90 kHz from the packet's milliseconds plus a fixed lead over the PCR (kPcrLeadMs), which rides
// on the video PID's PES packets (or the audio's without video). The bytes carry continuity counter
// 0 (TsContinuity numbers a reader's copy), so one build serves every reader of the path
// (MediaPacket's MPEG-TS form).
#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "media/audio_config.hpp"
#include "media/codec_config.hpp"
#include "media/packet.hpp"
#include "media/protocols/mpegts/ts_muxer.hpp"

namespace sluice::media::mpegts {

// How far decoding times run ahead of the clock reference: what a decoder that follows the PCR
// buffers. Small, since SRT readers want low delay; enough for audio interleaved a little late.
inline constexpr std::int64_t kPcrLeadMs = 100;

struct TsTracks {
  TsProgram program;
  std::optional<VideoConfig> video;  // when program.video
  std::optional<AudioConfig> audio;  // when program.audio
};

// The tracks of a path from its configuration packets (either may be null). 415 when neither
// is an H.264/H.265 or AAC/Opus configuration sluiced can carry; a bad record of one stream
// leaves that stream out.
Result<TsTracks> describe_ts(const MediaPacket* video_config, const MediaPacket* audio_config);

// Appends the transport packets of `packet` (nothing for configuration, script data, or a stream
// the tracks lack, or a body that does not parse).
void build_ts_packets(const MediaPacket& packet, const TsTracks& tracks, std::string& out);

}  // namespace sluice::media::mpegts
