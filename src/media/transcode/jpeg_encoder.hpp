#pragma once
// JpegEncoder: pictures (any format libswscale reads, limited or full range) as baseline JPEGs —
// libswscale makes full-range 4:2:0 of them at the asked size, libavcodec's MJPEG encoder writes
// them at a fixed quantiser. Its contexts are kept from one picture to the next (an MJPEG stream
// costs one conversion and one encode per picture), remade when the size or format changes.
// Errors are values; single-threaded; heavy headers in the .cpp.
#include <memory>
#include <string>

#include "core/error.hpp"

struct AVFrame;

namespace sluice::media {

class JpegEncoder {
 public:
  // `qscale`: 2 (near lossless) to 31 (coarsest).
  explicit JpegEncoder(int qscale = 4);
  ~JpegEncoder();
  JpegEncoder(const JpegEncoder&) = delete;
  JpegEncoder& operator=(const JpegEncoder&) = delete;

  // `picture` at width x height as one JPEG; 500 when libswscale or the encoder refuses.
  Result<std::string> encode(const AVFrame& picture, int width, int height);

 private:
  struct Native;
  int qscale_;
  std::unique_ptr<Native> native_;
};

// The quantiser of a JPEG quality in percent (100: 2, near lossless; 1: 31, the coarsest).
int jpeg_qscale(int quality);

}  // namespace sluice::media
