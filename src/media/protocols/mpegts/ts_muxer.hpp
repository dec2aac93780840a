#pragma once
// MPEG-TS muxer pieces (ISO/IEC 13818-1), sans I/O: the program tables (PAT, PMT) and one PES
// packet as 188-byte transport packets. What an SRT reader receives is built from these.
//
// Continuity counters: the bytes these functions write carry counter 0 in every packet, so one
// access unit's packets can be built once and shared by every reader of a path
// (media/packet.hpp, the MPEG-TS form); each reader then numbers its own copy with a
// TsContinuity, which gives every PID its own running counter as MPEG-TS requires.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "media/protocols/mpegts/ts_demuxer.hpp"

namespace sluice::media::mpegts {

// The PIDs sluiced writes (the ones ffmpeg's muxer uses too).
inline constexpr std::uint16_t kPmtPid = 0x1000;
inline constexpr std::uint16_t kVideoPid = 0x100;
inline constexpr std::uint16_t kAudioPid = 0x101;

// The elementary streams of the one program: a video stream (H.264 or H.265) and/or an audio
// stream (AAC in ADTS, or Opus of `audio_channels` 1 or 2 with its descriptors). The PCR is
// carried on the video PID when there is video, else on the audio one.
struct TsProgram {
  std::optional<StreamType> video;
  std::optional<StreamType> audio;
  unsigned audio_channels = 2;  // Opus
  std::uint16_t pcr_pid() const { return video ? kVideoPid : kAudioPid; }
  bool operator==(const TsProgram&) const = default;
};

// Appends the PAT and the PMT (two transport packets; `version` 0..31 is the PMT's
// version_number, to be raised when the program changes).
void append_program_tables(const TsProgram& program, std::uint8_t version, std::string& out);

// One PES packet: its PID and stream_id (0xE0 video, 0xC0 audio), timestamps at 90 kHz (33 bits
// are kept), a PCR to carry in the first transport packet (90 kHz base), and whether a decoder
// can start here (random_access_indicator).
struct PesPacket {
  std::uint16_t pid = kVideoPid;
  std::uint8_t stream_id = 0xE0;
  std::int64_t pts = 0;
  std::optional<std::int64_t> dts;  // written only when it differs from the PTS
  std::optional<std::int64_t> pcr;
  bool random_access = false;
};

// Appends the transport packets of one PES packet carrying `payload`. Video PES packets longer
// than 65,535 bytes are written with PES_packet_length 0 (allowed for video); the last transport
// packet is padded with adaptation-field stuffing.
void append_pes(const PesPacket& pes, std::span<const std::uint8_t> payload, std::string& out);

// The continuity counters of one output stream: number() sets each transport packet's counter,
// per PID, counting only packets that carry a payload. `bytes` is whole transport packets.
class TsContinuity {
 public:
  void number(std::span<std::uint8_t> bytes);

 private:
  std::uint8_t& counter(std::uint16_t pid);
  std::array<std::pair<std::uint16_t, std::uint8_t>, 8> counters_{};
  std::size_t used_ = 0;
};

// CRC-32/MPEG-2 of a PSI section (polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection).
std::uint32_t crc32_mpeg2(std::span<const std::uint8_t> bytes);

}  // namespace sluice::media::mpegts
