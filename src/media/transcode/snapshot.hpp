#pragma once
// snapshot_jpeg: one still picture of a live video stream, as JPEG (thumbnails, previews).
// libavcodec decodes one H.264 or H.265 keyframe with the stream's decoder configuration record as
// extradata (one thread, a decoder of its own per call), libswscale converts the picture to
// full-range 4:2:0 (scaling it down when asked), and libavcodec's MJPEG encoder writes a baseline
// JPEG at a fixed quality (qscale 4). Pictures above 8192x8192 are refused before and after
// decoding (libavcodec's max_pixels bounds what it allocates). Errors are values. Heavy headers
// stay in the .cpp.
#include <cstdint>
#include <span>
#include <string>

#include "core/error.hpp"

namespace sluice::media {

struct JpegSnapshot {
  std::string jpeg;  // a baseline JPEG (starts FF D8, ends FF D9)
  int width = 0;
  int height = 0;
};
// Decodes one video keyframe and encodes it as JPEG. Both arguments are FLV video tag bodies as
// the media core keeps them (media/flv.hpp `inspect_video` tells codec and data_offset): the
// codec configuration (AVC sequence header / HEVC, incl. Enhanced RTMP) and a keyframe access
// unit (length-prefixed NAL units). H.264 and H.265. `max_width` > 0 scales down (keeping the
// aspect ratio, even dimensions) when the picture is wider. Errors: 415 for a codec it cannot
// decode (naming it), 400 when libavcodec refuses the data or yields no picture, 500 when
// libavcodec lacks the decoder or the MJPEG encoder. Thread-safe: no shared state (each call has
// its own decoder), so callers may run it off the media thread.
Result<JpegSnapshot> snapshot_jpeg(std::span<const std::uint8_t> config_body,
                                   std::span<const std::uint8_t> keyframe_body, int max_width = 0);

}  // namespace sluice::media
