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

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pipeline/adaptive_bitrate.hpp"

namespace sluice::pipeline {

struct SourceSpec {
  // "testsrc": a made-up picture; "url": pulled from `url`; "v4l2": the capture `device`;
  // "relay": raw frames pushed on relay `channel` (relay_frame_source.hpp); "path": the live
  // path `path` of this sluiced, decoded.
  std::string type = "testsrc";
  std::string url;                   // rtsp://, rtmp(s)://, srt://, http(s):// (HLS)
  std::string device;                // /dev/video0
  std::string channel;               // relay: the channel raw frames come on
  std::string path;                  // path: the live path
  std::string pattern = "testsrc2";  // testsrc: testsrc2, smptebars or color
  std::string color = "blue";        // testsrc "color": a name or #RRGGBB
  int width = 1280;  // testsrc's and v4l2's; other sources' pictures keep their size
  int height = 720;
  int fps = 30;       // testsrc's rate; for others, what encoders plan with unless the source says
  bool clock = true;  // the wall clock drawn on the picture (default: on a test pattern only)
  // "source" only: the pipeline runs only while watched — started when an admitted reader of
  // any door asks for one of its renditions' paths, stopped `close_after_s` seconds after the
  // last reader left (a camera pulled only while someone looks). Default: always.
  bool on_demand = false;
  int close_after_s = 10;
};

// How a composition's sources are aligned (the camera's streamAlignment): the inset picture
// taken is the one whose capture time is closest to the main picture's; one further apart than
// `sync_tolerance_ms` is counted, and an inset whose newest picture is older than
// `max_latency_ms` is stale (shown, and said in the pipeline's state).
struct AlignmentSpec {
  bool enabled = true;
  std::string method = "timestamp";  // by capture time on the monotonic clock
  int max_latency_ms = 100;
  int sync_tolerance_ms = 33;
};

struct EncoderSpec {
  std::string codec = "h264";
  int bitrate_kbps = 2000;
  std::string preset = "veryfast";  // x264's presets
  std::string profile = "high";     // baseline, main, high
  int gop = 0;                      // frames between keyframes; 0: one a second (fps)
  bool zerolatency = true;          // x264 tune zerolatency: no lookahead, no B-frames
  // "vbv": the bitrate on average and never above it over a second (one second of VBV); "cbr":
  // constant, padded with filler (x264 nal-hrd=cbr); "vbr": peaks up to twice the bitrate.
  std::string rate_control = "vbv";
  // "none", "auto", "vaapi" or "v4l2m2m" (encoder_choice.hpp); a missing device falls back to
  // software with a logged note.
  std::string hardware = "none";
  std::string hardware_device;  // VAAPI's render node, default /dev/dri/renderD128
};

// A filter on the source's picture, before the renditions are scaled from it.
//   {"type": "text", "text": "Stage A", "x": 20, "y": 20, "size": 32}   a caption
//   {"type": "timestamp", "x": 20, "y": 60, "size": 24}                 the wall clock with ms
//   {"type": "pip", "mainSource": "main", "pipSource": "cam2", "pipPosition": "bottom-right",
//    "pipScale": 0.25, "pipBorder": true}      picture-in-picture with the camera's pipLayout: the
//                                              picture of source pipSource inset into
//                                              mainSource's ("main": the pipeline's `source`);
//                                              applied before captions, at most one
//   {"type": "scale", "width": 1280, "height": 720}   the picture resized (renditions without a
//                                                     size get this one)
//   {"type": "fps", "fps": 15}                        pictures dropped or repeated to this rate
struct FilterSpec {
  std::string type;
  std::string text;
  int x = 20, y = 20;
  int size = 32;
  int width = 0, height = 0;  // scale
  int fps = 0;                // fps
  std::string main_source = "main";
  std::string pip_source;
  std::string position = "bottom-right";  // top-left, top-right, bottom-left, bottom-right
  double scale = 0.25;                    // of the main picture's width and height
  int border = 4;                         // px of white around the inset (pipBorder true: 4)
};

struct RenditionSpec {
  std::string path;
  int width = 0;
  int height = 0;
  std::optional<int> bitrate_kbps;  // else the encoder's
};

// Where a rendition goes besides its live path. "push": restreamed to `url` (rtmp://,
// rtmps://, srt://, rtsp://; it may hold a stream key, so it is shown redacted). "record": the
// rendition's path is recorded while the pipeline runs (media/servers/record), as with the
// record_paths setting.
// "mjpeg": the rendition's pictures also as Motion JPEG at GET /live/{path}/mjpeg, `fps` (1-30)
// a second at `quality` (1-100).
struct OutputSpec {
  std::string type;       // "push", "record" or "mjpeg"
  std::string rendition;  // the rendition's path; empty: the first rendition
  std::string url;
  int fps = 10;      // mjpeg
  int quality = 80;  // mjpeg
  // Added by the camera's videoEncoder "mjpeg" (and removed when it changes): "camera": true.
  bool camera = false;
};

// A pipeline's sound on every rendition. "from": "source" (the default): the main source's AAC or
// Opus copied as it comes (a URL's, a live path's; none when it has none); "tone": a tone on the
// pipeline's clock ("tone_hz"; 0 Hz: silence) encoded as "codec" AAC or Opus (audio_track.hpp);
// "none". An "audio" object without "from" is a tone.
struct AudioSpec {
  std::string from = "source";
  bool enabled = false;       // a tone is made (from "tone")
  std::string codec = "aac";  // "aac" or "opus"
  int bitrate_kbps = 96;
  int tone_hz = 440;
};

struct PipelineSpec {
  std::string name;
  SourceSpec source;
  // Further sources by name, for compositions ("sources": {"cam2": {...}}); "main" is `source`.
  std::map<std::string, SourceSpec> sources;
  AlignmentSpec alignment;
  AudioSpec audio;
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
inline constexpr std::size_t kMaxExtraSources = 3;

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
  // "h264", "h265", or "mjpeg": H.264 on the path (what its doors carry) and stream1 also
  // served as Motion JPEG (/live/stream1/mjpeg, an mjpeg output the camera adds).
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
// The pip filter of `spec`, if it has one.
const FilterSpec* pip_of(const PipelineSpec& spec);
// The source named `name` ("main": spec.source); null when none.
const SourceSpec* source_named(const PipelineSpec& spec, const std::string& name);
// The index of the rendition output `o` takes.
std::size_t rendition_of(const PipelineSpec& spec, const OutputSpec& o);

}  // namespace sluice::pipeline
