#pragma once
// Which libavcodec video encoder a pipeline's renditions get, sans I/O but for a look at /dev.
// "hardware": "none" (the default) → libx264 / libx265. "vaapi" → h264_vaapi / hevc_vaapi on a DRM
// render node ("hardware_device", else /dev/dri/renderD128); "v4l2m2m" → h264_v4l2m2m /
// hevc_v4l2m2m (libavcodec finds the memory-to-memory device itself among /dev/video*); "auto" →
// VAAPI when its render node exists, then V4L2 M2M when a /dev/video device exists, else software.
// A hardware encoder that is missing, or that fails to open (video_pipeline.cpp), falls back to
// software: the reason is logged once per build and shown in GET /pipelines/{id}.
#include <string>

#include "pipeline/pipeline_spec.hpp"

namespace sluice::pipeline {

struct EncoderChoice {
  std::string encoder;  // libavcodec's name: libx264, h264_vaapi, ...
  std::string kind;     // "software", "vaapi", "v4l2m2m"
  std::string device;   // the VAAPI render node
  std::string note;     // why software was chosen when hardware was asked for ("" otherwise)
};

EncoderChoice choose_encoder(const EncoderSpec& spec);
// The software encoder of `spec`'s codec, with `note` saying why.
EncoderChoice software_encoder(const EncoderSpec& spec, std::string note = {});

}  // namespace sluice::pipeline
