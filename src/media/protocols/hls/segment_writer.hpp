#pragma once
// SegmentWriter: libavformat writing a path's HLS media into memory (a custom AVIOContext; no
// files, no network), as MPEG-TS (`mpegts`) or fragmented MP4 (`mp4` with
// movflags=frag_custom+empty_moov+default_base_moof: an initialization section of ftyp+moov,
// then one moof+mdat fragment per flush()). One writer lives for a publisher's whole timeline so
// continuity counters and timestamps run on across segments; the owner cuts segments (and, for
// Low-Latency HLS, parts) with flush() + take(). Internal to sluice_hls (HlsMuxer is the
// interface); single-threaded.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "media/audio_config.hpp"
#include "media/codec_config.hpp"

namespace sluice::media::hls {

enum class Container { kMpegTs, kFragmentedMp4 };

struct SegmentStreams {
  VideoCodec video = VideoCodec::kNone;  // kNone: no video stream
  AudioCodec audio = AudioCodec::kNone;  // kNone: no audio stream
  int sample_rate = 44100;
  int channels = 2;
  // The OpusHead (both containers). Fragmented MP4 only (the moov needs them): the video
  // parameter sets as Annex B, the picture size, and the AAC AudioSpecificConfig.
  std::string audio_config;
  std::string video_parameter_sets;
  int width = 0;
  int height = 0;
};

class SegmentWriter {
 public:
  // Writes the header: nothing for MPEG-TS; the initialization section (take() it) for
  // fragmented MP4. `max_buffered` caps the bytes held between two take() calls; past it the
  // sink refuses and the writer fails.
  static Result<std::unique_ptr<SegmentWriter>> open(Container container,
                                                     const SegmentStreams& streams,
                                                     std::size_t max_buffered);
  ~SegmentWriter();
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;

  Container container() const { return container_; }

  // One access unit: Annex B video; AAC as one ADTS frame (MPEG-TS) or one raw frame (fragmented
  // MP4); Opus as one packet (libavformat writes MPEG-TS's control header); timestamps in ms.
  // `video_duration_ms` (0: unknown) is how long a video frame lasts (the last frame interval: the
  // MP4 muxer needs it for the last sample of a fragment); an AAC frame lasts 1024 samples, an Opus
  // packet what its TOC says. libav's errors come back as 400 (the packet was refused before any
  // byte was written) or 500 (sink failure: the writer is then unusable, see failed()).
  Status write(bool video, std::int64_t dts_ms, std::int64_t pts_ms, bool keyframe,
               std::string_view data, std::int64_t video_duration_ms = 0);
  // Pushes what libavformat still holds into the sink: MPEG-TS's buffered PES data; for
  // fragmented MP4 a fragment (moof+mdat) of everything written since the last flush.
  Status flush();
  // MPEG-TS: the next PES written starts with PAT and PMT again (mpegts_flags=resend_headers).
  // Nothing for fragmented MP4 (every fragment stands on the initialization section).
  void resend_headers();
  // Writes the trailer and flushes; the writer takes no packet afterwards.
  Status close();

  // Bytes that reached the sink since the last take(), and taking them.
  std::size_t buffered() const { return out_.size(); }
  std::string take();
  bool failed() const { return sink_failed_; }

 private:
  SegmentWriter() = default;
  static int on_write(void* opaque, std::uint8_t* buf, int size);

  struct Context;  // libav objects
  std::unique_ptr<Context> av_;
  Container container_ = Container::kMpegTs;
  std::string out_;
  std::size_t max_buffered_ = 0;
  bool sink_failed_ = false;
  bool closed_ = false;
};

}  // namespace sluice::media::hls
