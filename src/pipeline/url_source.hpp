#pragma once
// UrlSource: pictures pulled from a URL — an RTSP camera, an RTMP, SRT or HLS stream — or read
// from a V4L2 capture device, and decoded, with libavformat and libavcodec (no ffmpeg process).
// Opening connects, finds the video and decodes the first picture (so its size and pixel format are
// known); next() hands out the following ones with their times. Reads block on the network:
// `stopped` is asked while they wait, and a server that sends nothing for 10 s is an error. RTSP
// goes over TCP. Heavy headers stay in the .cpp. Single-threaded (the pipeline's thread).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "pipeline/frame_source.hpp"

struct AVFrame;
struct AVInputFormat;
struct AVDictionary;

namespace sluice::pipeline {

class UrlSource final : public FrameSource {
 public:
  // 502 naming what failed (connect, no video, a codec libavcodec cannot decode).
  static Result<std::unique_ptr<UrlSource>> open(const std::string& url,
                                                 std::function<bool()> stopped);
  // A capture device through libavdevice's V4L2 input (a webcam, an HDMI grabber): `device`
  // like /dev/video0, asked for `width`x`height` at `fps` (0: the device's own). 502 naming the
  // device when it is missing or refuses.
  static Result<std::unique_ptr<UrlSource>> open_device(const std::string& device, int width,
                                                        int height, int fps,
                                                        std::function<bool()> stopped);
  ~UrlSource() override;
  UrlSource(const UrlSource&) = delete;
  UrlSource& operator=(const UrlSource&) = delete;

  int width() const override;
  int height() const override;
  int pixel_format() const override;
  // 502 when the stream ends or fails.
  Result<AVFrame*> next(std::int64_t& ms) override;
  // When the packet completing the last picture was read (a live source's frame path start).
  std::optional<std::chrono::steady_clock::time_point> arrival() const override;
  std::optional<SourceAudio> audio() const override;
  void take_audio(std::vector<AudioPacket>& out) override;

  struct Native;

 private:
  UrlSource() = default;
  // Opens `what` (a URL, or a device with its `format`); takes `options`.
  static Result<std::unique_ptr<UrlSource>> open_input(const std::string& what,
                                                       const AVInputFormat* format,
                                                       AVDictionary* options,
                                                       std::function<bool()> stopped);
  std::unique_ptr<Native> native_;
};

// Whether `url` is one a pipeline can pull (rtsp, rtsps, rtmp, rtmps, srt, http, https).
bool is_pullable_url(const std::string& url);

}  // namespace sluice::pipeline
