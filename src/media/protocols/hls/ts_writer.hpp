#pragma once
// TsWriter: libavformat's `mpegts` muxer writing into memory (a custom AVIOContext; no files,
// no network). One writer lives for the whole life of a path so continuity counters and
// timestamps run on across segments; the owner cuts segments with flush() + take() and
// resend_headers(). Internal to sluice_hls (HlsMuxer is the interface); single-threaded.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "media/codec_config.hpp"

namespace sluice::media::hls {

struct TsStreams {
  VideoCodec video = VideoCodec::kNone;  // kNone: no video stream
  bool audio = false;                    // one AAC stream, ADTS-framed
  int sample_rate = 44100;
  int channels = 2;
};

class TsWriter {
 public:
  // Writes the header (nothing reaches the sink before the first packet). `max_buffered` caps
  // the bytes held between two take() calls; past it the sink refuses and the writer fails.
  static Result<std::unique_ptr<TsWriter>> open(const TsStreams& streams, std::size_t max_buffered);
  ~TsWriter();
  TsWriter(const TsWriter&) = delete;
  TsWriter& operator=(const TsWriter&) = delete;

  // One access unit: Annex B video or one ADTS frame, timestamps in ms. libav's errors come
  // back as 400 (the packet was refused before any byte was written) or 500 (sink failure:
  // the writer is then unusable, see failed()).
  Status write(bool video, std::int64_t dts_ms, std::int64_t pts_ms, bool keyframe,
               std::string_view data);
  // Pushes the PES data libavformat still buffers (audio) and the AVIO buffer into the sink.
  Status flush();
  // The next PES written starts with PAT and PMT again (mpegts_flags=resend_headers).
  void resend_headers();
  // Writes the trailer and flushes; the writer takes no packet afterwards.
  Status close();

  // Bytes that reached the sink since the last take(), and taking them.
  std::size_t buffered() const { return out_.size(); }
  std::string take();
  bool failed() const { return sink_failed_; }

 private:
  TsWriter() = default;
  static int on_write(void* opaque, std::uint8_t* buf, int size);

  struct Context;  // libav objects
  std::unique_ptr<Context> av_;
  std::string out_;
  std::size_t max_buffered_ = 0;
  bool sink_failed_ = false;
  bool closed_ = false;
};

}  // namespace sluice::media::hls
