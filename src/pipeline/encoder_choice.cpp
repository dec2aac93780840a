#include "pipeline/encoder_choice.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <filesystem>

namespace sluice::pipeline {
namespace {

bool exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

bool any_video_device() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev", ec)) {
    if (entry.path().filename().string().starts_with("video")) return true;
  }
  return false;
}

bool has_encoder(const std::string& name) {
  return avcodec_find_encoder_by_name(name.c_str()) != nullptr;
}

}  // namespace

EncoderChoice software_encoder(const EncoderSpec& spec, std::string note) {
  return EncoderChoice{spec.codec == "h265" ? "libx265" : "libx264", "software", "",
                       std::move(note)};
}

EncoderChoice choose_encoder(const EncoderSpec& spec) {
  const std::string codec = spec.codec == "h265" ? "hevc" : "h264";
  const std::string render_node =
      spec.hardware_device.empty() ? "/dev/dri/renderD128" : spec.hardware_device;
  const bool want_vaapi = spec.hardware == "vaapi" || spec.hardware == "auto";
  const bool want_m2m = spec.hardware == "v4l2m2m" || spec.hardware == "auto";
  if (spec.hardware == "none") return software_encoder(spec);
  std::string why;
  if (want_vaapi) {
    if (!has_encoder(codec + "_vaapi")) {
      why = "libavcodec here has no " + codec + "_vaapi";
    } else if (!exists(render_node)) {
      why = "no VAAPI render node " + render_node;
    } else {
      return EncoderChoice{codec + "_vaapi", "vaapi", render_node, ""};
    }
  }
  if (want_m2m) {
    std::string m2m_why;
    if (!has_encoder(codec + "_v4l2m2m")) {
      m2m_why = "libavcodec here has no " + codec + "_v4l2m2m";
    } else if (!any_video_device()) {
      m2m_why = "no V4L2 memory-to-memory device (/dev/video*)";
    } else {
      return EncoderChoice{codec + "_v4l2m2m", "v4l2m2m", "", ""};
    }
    why += (why.empty() ? "" : "; ") + m2m_why;
  }
  return software_encoder(spec, "hardware encoder not used (" + why + "): software encoding");
}

}  // namespace sluice::pipeline
