#pragma once
// AacToOpus: AAC audio → Opus, for players that take only Opus (browsers over WebRTC): libavcodec
// decodes the AAC frames, libswresample makes 48 kHz stereo of them, and libopus encodes 20 ms
// packets at 64 kbit/s. Timestamps: the first frame's time, then the samples encoded since, so
// the packets are evenly spaced; a gap or jump of more than 200 ms in the input restarts the
// count there. Errors are values; a frame libavcodec refuses is dropped (400) and the stream goes
// on. Single-threaded (its owner's thread). Heavy headers stay in the .cpp.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice::media {

class AacToOpus {
 public:
  // `audio_specific_config`: the AAC configuration (FLV sequence header data). 500 when
  // libavcodec has no AAC decoder or libopus encoder; 400 for a config it refuses.
  static Result<std::unique_ptr<AacToOpus>> create(std::string_view audio_specific_config);
  ~AacToOpus();
  AacToOpus(const AacToOpus&) = delete;
  AacToOpus& operator=(const AacToOpus&) = delete;

  struct Packet {
    std::int64_t ms = 0;
    std::string data;  // one Opus packet
  };
  // One raw AAC frame presented at `ms`; appends the Opus packets it completes.
  Status push(std::span<const std::uint8_t> frame, std::int64_t ms, std::vector<Packet>& out);
  // The OpusHead describing the packets (2 channels, the encoder's pre-skip).
  std::string opus_head() const;

 private:
  AacToOpus() = default;
  Status encode_available(std::vector<Packet>& out);
  struct Native;
  std::unique_ptr<Native> native_;
};

}  // namespace sluice::media
