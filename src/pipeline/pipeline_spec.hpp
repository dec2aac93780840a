#pragma once
// What a pipeline is asked to do, sans I/O: the JSON of `POST /pipelines` (and the TOML
// `[[pipeline]]` tables) read into a PipelineSpec, every field checked and every problem named
// (422 with one FieldError per field), and written back for `GET /pipelines/{id}`.
//
//   {"name": "cam",
//    "source": {"type": "testsrc", "width": 1280, "height": 720, "fps": 30, "clock": true},
//    "encoder": {"codec": "h264", "bitrate_kbps": 2000, "preset": "veryfast", "gop": 30},
//    "renditions": [{"path": "stream1", "width": 1280, "height": 720},
//                   {"path": "stream2", "width": 640, "height": 360, "bitrate_kbps": 800}],
//    "outputs": [...]}
//
// Without renditions there is one, at the source's size, on the path named like the pipeline.
// A rendition without a bitrate uses the encoder's. Encoder changes (PATCH) are merged into the
// spec with merge_encoder().
#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pipeline/adaptive_bitrate.hpp"

namespace sluice::pipeline {

struct SourceSpec {
  std::string type = "testsrc";  // "testsrc"; "url": pulled from `url`; "v4l2": `device`
  std::string url;               // rtsp://, rtmp(s)://, srt://, http(s):// (HLS)
  std::string device;            // /dev/video0
  int width = 1280;              // testsrc's; a URL's pictures keep their size
  int height = 720;
  int fps = 30;       // testsrc's rate; for a URL, what its encoders plan with
  bool clock = true;  // the wall clock drawn on the picture
};

struct EncoderSpec {
  std::string codec = "h264";
  int bitrate_kbps = 2000;
  std::string preset = "veryfast";  // x264's presets
  std::string profile = "high";     // baseline, main, high
  int gop = 0;                      // frames between keyframes; 0: one a second (fps)
  bool zerolatency = true;          // x264 tune zerolatency: no lookahead, no B-frames
};

// A filter on the source's picture, before the renditions are scaled from it.
//   {"type": "text", "text": "Stage A", "x": 20, "y": 20, "size": 32}   a caption
//   {"type": "timestamp", "x": 20, "y": 60, "size": 24}                 the wall clock with ms
struct FilterSpec {
  std::string type;
  std::string text;
  int x = 20, y = 20;
  int size = 32;
};

struct RenditionSpec {
  std::string path;
  int width = 0;
  int height = 0;
  std::optional<int> bitrate_kbps;  // else the encoder's
};

// Where a rendition goes besides its live path. "push": restreamed to `url` (rtmp://,
// rtmps://, srt://, rtsp://; it may hold a stream key, so it is shown redacted). "record" is
// accepted and reported as not available yet (recording comes with its own part of issue 15).
struct OutputSpec {
  std::string type;       // "push" or "record"
  std::string rendition;  // the rendition's path; empty: the first rendition
  std::string url;
};

struct PipelineSpec {
  std::string name;
  SourceSpec source;
  std::vector<FilterSpec> filters;
  EncoderSpec encoder;
  std::vector<RenditionSpec> renditions;
  std::vector<OutputSpec> outputs;
  // "adaptive": {"enabled", "min_kbps", "max_kbps"}: each rendition's bitrate follows its
  // viewers' feedback (adaptive_bitrate.hpp).
  AdaptiveSettings adaptive;
};

// Bounds every field is checked against.
inline constexpr int kMaxDimension = 3840;
inline constexpr int kMaxFps = 120;
inline constexpr int kMaxBitrateKbps = 100'000;
inline constexpr std::size_t kMaxRenditions = 4;
inline constexpr std::size_t kMaxOutputs = 8;
inline constexpr std::size_t kMaxFilters = 8;

Result<PipelineSpec> parse_pipeline_spec(const boost::json::object& body);
// The changes of a PATCH's "encoder" object applied to `spec` (only bitrate_kbps may change
// while running; renditions with a bitrate of their own keep it); 422 naming what may not.
Result<PipelineSpec> merge_encoder(const PipelineSpec& spec, const boost::json::object& patch);
// The spec as GET shows it: URLs as scheme://host:port only. `with_secrets`: whole URLs, for the
// node's own state database (the pipeline is remade from it at the next start).
boost::json::object to_json(const PipelineSpec& spec, bool with_secrets = false);

// The bitrate rendition `i` is encoded at.
int bitrate_of(const PipelineSpec& spec, std::size_t i);
// The C Pro camera's stream settings (streamResolution, streamFramerate, streamBitrate,
// videoEncoder, encoderProfile, encoderPreset, streamLatencyMode), for its primary stream.
struct CameraSettings {
  int width = 1920, height = 1080;
  int fps = 30;
  int bitrate_kbps = 4000;
  std::string encoder = "h264";
  std::string profile = "high";
  std::string preset = "veryfast";
  std::string latency_mode = "low";  // low: no lookahead, no B-frames, 1 s GOP; normal: B-frames,
                                     // 2 s GOP; high: 4 s GOP
};
inline constexpr std::string_view kCameraPrimaryPath = "stream1";
// `spec` with `camera` applied to its rendition on `stream1` (its size and bitrate), its source's
// rate (and size, for testsrc) and its encoder; nullopt when it has no such rendition or nothing
// changes.
std::optional<PipelineSpec> with_camera_settings(const PipelineSpec& spec,
                                                 const CameraSettings& camera);
// Parses "1920x1080"; nullopt for anything else (16–3840, even).
std::optional<std::pair<int, int>> parse_resolution(std::string_view text);

// "rtmp://host:port" of a URL: no path, query or user (where keys and passwords live).
std::string redacted_url(const std::string& url);
// The index of the rendition output `o` takes.
std::size_t rendition_of(const PipelineSpec& spec, const OutputSpec& o);

}  // namespace sluice::pipeline
