#include "registry/builtin_types.hpp"

#include <boost/json/parse.hpp>

#include "core/ids.hpp"

namespace sluice::registry {

std::vector<StreamTypeRecord> builtin_types(WallTime created_at) {
  struct Row {
    const char* name;
    const char* display;
    const char* description;
    const char* icon;
    const char* defaults;
  };
  static constexpr Row kRows[] = {
      {"ndi", "NDI Video", "Network Device Interface video stream", "video",
       R"({"codec":"h264","resolution":"1920x1080","fps":30})"},
      {"audio", "Audio", "Real-time audio stream (PCM, encoded)", "headphones",
       R"({"sample_rate":48000,"channels":2,"format":"float32"})"},
      {"video", "Video", "Raw or encoded video stream", "film",
       R"({"codec":"h264","resolution":"1920x1080","fps":30})"},
      {"texture", "Texture/Frame", "GPU texture or frame buffer sharing", "image",
       R"({"format":"rgba8","width":1920,"height":1080})"},
      {"sensor", "Sensor Data", "Continuous sensor telemetry stream", "activity",
       R"({"rate_hz":60,"format":"json"})"},
      {"osc", "OSC", "OpenSoundControl message stream", "radio", R"({"rate_hz":60})"},
      {"midi", "MIDI", "MIDI note and control change stream", "music", R"({})"},
      {"data", "Generic Data", "Arbitrary structured data stream (JSON, binary)", "database",
       R"({"format":"json"})"},
      {"srt", "SRT Video", "Secure Reliable Transport video stream", "shield",
       R"({"latency_ms":120})"},
      {"spout", "Spout", "Spout texture sharing (Windows)", "monitor", R"({"format":"rgba8"})"},
      {"syphon", "Syphon", "Syphon texture sharing (macOS)", "monitor", R"({"format":"rgba8"})"},
  };
  std::vector<StreamTypeRecord> out;
  for (const auto& row : kRows) {
    StreamTypeRecord t;
    t.id = uuid5(kSluiceNamespace, std::string("type:") + row.name);
    t.name = row.name;
    t.display_name = row.display;
    t.description = row.description;
    t.icon = row.icon;
    t.default_config = boost::json::parse(row.defaults).as_object();
    t.builtin = true;
    t.created_at = created_at;
    t.updated_at = created_at;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace sluice::registry
