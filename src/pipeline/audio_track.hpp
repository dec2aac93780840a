#pragma once
// AudioTrack: a pipeline's sound — a sine tone of `tone_hz` (0: silence), 48 kHz mono, made on the
// pipeline's clock and encoded with libavcodec's AAC (LC) or libopus — as FLV audio tag bodies for
// its paths: AAC as legacy FLV (SoundFormat 10: the AudioSpecificConfig, then raw frames), Opus as
// Enhanced RTMP ("Opus": the OpusHead, then one packet per tag; RTSP, SRT, HLS and WebRTC carry
// it, legacy RTMP players get the video only); the packets themselves (and the codec's
// configuration) for push outputs. until(ms) makes the sound up to `ms` of the pipeline's time, so
// the audio follows the pictures' clock. Single-threaded; heavy headers in the .cpp.
#include <cstdint>
#include <memory>
#include <vector>

#include <string>
#include "core/error.hpp"

#include "pipeline/frame_source.hpp"
#include "pipeline/pipeline_spec.hpp"

namespace sluice::pipeline {

// FLV audio tag bodies: the sequence header of a configuration, and one packet's.
std::string flv_audio_header(bool opus, std::string_view config);
std::string flv_audio_body(bool opus, std::string_view packet);

class AudioTrack {
 public:
  // 422 naming the field the encoder refuses, 500 when libavcodec lacks the encoder.
  static Result<std::unique_ptr<AudioTrack>> create(const AudioSpec& spec);
  ~AudioTrack();
  AudioTrack(const AudioTrack&) = delete;
  AudioTrack& operator=(const AudioTrack&) = delete;

  // The sound from where the last call stopped up to `ms` (a rebuilt pipeline's times go on, so
  // `ms` only rises; a jump back restarts the count there), encoded: appends its packets.
  Status until(std::int64_t ms, std::vector<AudioPacket>& out);

  bool opus() const;
  // The codec's configuration: the AudioSpecificConfig, or the OpusHead.
  std::string config() const;
  // FLV audio tag bodies: the sequence header (of config()), and one packet's.
  std::string flv_sequence_header() const;
  std::string flv_body(const AudioPacket& packet) const;

 private:
  AudioTrack() = default;
  struct Native;
  std::unique_ptr<Native> native_;
};

}  // namespace sluice::pipeline
