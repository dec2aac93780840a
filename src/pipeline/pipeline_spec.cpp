#include "pipeline/pipeline_spec.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <set>
#include <span>

#include "core/json.hpp"
#include "hub/subject.hpp"
#include "keys/key_service.hpp"
#include "pipeline/url_source.hpp"

namespace sluice::pipeline {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 9> kPresets = {
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"};
constexpr std::array<std::string_view, 3> kProfiles = {"baseline", "main", "high"};
constexpr std::array<std::string_view, 4> kHardware = {"none", "auto", "vaapi", "v4l2m2m"};
constexpr std::array<std::string_view, 5> kSourceTypes = {"testsrc", "url", "v4l2", "relay",
                                                          "path"};
constexpr std::array<std::string_view, 5> kFilterTypes = {"text", "timestamp", "pip", "scale",
                                                          "fps"};
constexpr std::array<std::string_view, 3> kPatterns = {"testsrc2", "smptebars", "color"};
constexpr std::array<std::string_view, 4> kPositions = {"top-left", "top-right", "bottom-left",
                                                        "bottom-right"};

bool one_of(std::string_view v, std::span<const std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

std::string listed(std::span<const std::string_view> allowed) {
  std::string out;
  for (auto a : allowed)
    out += (out.empty() ? "" : ", ") + std::string(a);
  return out;
}

void read_encoder(FieldReader& f, EncoderSpec& e, bool all) {
  if (auto v = f.string("codec", false, 1, 16)) {
    if (*v != "h264" && *v != "h265") f.add_error("codec", "an encoder sluice has: h264, h265");
    e.codec = *v;
  }
  if (auto v = f.integer("bitrate_kbps", false, 50, kMaxBitrateKbps)) {
    e.bitrate_kbps = static_cast<int>(*v);
  }
  if (auto v = f.string("preset", false, 1, 16)) {
    if (!one_of(*v, kPresets)) f.add_error("preset", "one of " + listed(kPresets));
    e.preset = *v;
  }
  if (auto v = f.integer("gop", false, 0, 3000)) e.gop = static_cast<int>(*v);
  if (!all) return;
  if (auto v = f.string("profile", false, 1, 16)) {
    if (!one_of(*v, kProfiles)) f.add_error("profile", "one of " + listed(kProfiles));
    e.profile = *v;
  }
  if (auto v = f.boolean("zerolatency", false)) e.zerolatency = *v;
  if (auto v = f.string("rate_control", false, 1, 8)) {
    if (*v != "vbv" && *v != "cbr" && *v != "vbr") f.add_error("rate_control", "vbv, cbr or vbr");
    e.rate_control = *v;
  }
  if (auto v = f.string("hardware", false, 1, 16)) {
    if (!one_of(*v, kHardware)) f.add_error("hardware", "one of " + listed(kHardware));
    e.hardware = *v;
  }
  if (auto v = f.string("hardware_device", false, 1, 256)) {
    if (!v->starts_with("/dev/")) f.add_error("hardware_device", "a device under /dev");
    e.hardware_device = *v;
  }
}

bool is_source_name(const std::string& name) {
  return !name.empty() && name.size() <= 32 && name != "main" &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
         });
}

void read_source(FieldReader& f, SourceSpec& s) {
  if (auto v = f.string("type", true, 1, 32)) {
    if (!one_of(*v, kSourceTypes)) f.add_error("type", "one of " + listed(kSourceTypes));
    s.type = *v;
  }
  if (auto v = f.string("device", s.type == "v4l2", 1, 256)) {
    if (!v->starts_with("/dev/")) f.add_error("device", "a device under /dev, e.g. /dev/video0");
    s.device = *v;
  }
  if (auto v = f.string("url", s.type == "url", 1, 2048)) {
    if (!is_pullable_url(*v)) {
      f.add_error("url", "an rtsp://, rtmp://, rtmps://, srt://, http:// or https:// URL");
    }
    s.url = *v;
  }
  if (auto v = f.string("channel", s.type == "relay", 1, 256)) {
    if (!hub::is_valid_subject(*v))
      f.add_error("channel", "a relay channel name, e.g. frames.cam1");
    s.channel = *v;
  }
  if (auto v = f.string("path", s.type == "path", 1, keys::kMaxNameLength)) {
    if (!keys::is_valid_stream_name(*v)) f.add_error("path", "not a valid path name");
    s.path = *v;
  }
  if (auto v = f.string("pattern", false, 1, 16)) {
    if (!one_of(*v, kPatterns)) f.add_error("pattern", "one of " + listed(kPatterns));
    s.pattern = *v;
  }
  if (auto v = f.string("color", false, 1, 32)) {
    const bool plain = std::all_of(v->begin(), v->end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '#';
    });
    if (!plain) f.add_error("color", "a colour name (red) or #RRGGBB");
    s.color = *v;
  }
  if (auto v = f.integer("width", false, 16, kMaxDimension)) s.width = static_cast<int>(*v);
  if (auto v = f.integer("height", false, 16, kMaxDimension)) s.height = static_cast<int>(*v);
  if (auto v = f.integer("fps", false, 1, kMaxFps)) s.fps = static_cast<int>(*v);
  // The wall clock is drawn on a test pattern unless turned off; on others' pictures only if asked.
  s.clock = s.type == "testsrc";
  if (auto v = f.boolean("clock", false)) s.clock = *v;
  if (auto v = f.boolean("on_demand", false)) s.on_demand = *v;
  if (auto v = f.integer("close_after_s", false, 1, 3600)) s.close_after_s = static_cast<int>(*v);
  if (s.width % 2 || s.height % 2) f.add_error("width", "width and height must be even");
}

void read_pip(const json::object& o, FieldReader& f, FilterSpec& filter) {
  if (auto v = f.string("mainSource", false, 1, 32)) filter.main_source = *v;
  if (auto v = f.string("pipSource", true, 1, 32)) filter.pip_source = *v;
  if (auto v = f.string("pipPosition", false, 1, 16)) {
    if (!one_of(*v, kPositions)) f.add_error("pipPosition", "one of " + listed(kPositions));
    filter.position = *v;
  }
  if (auto v = f.number("pipScale", false)) {
    if (*v < 0.05 || *v > 0.5) f.add_error("pipScale", "0.05 to 0.5 of the main picture");
    filter.scale = *v;
  }
  if (const auto* border = o.if_contains("pipBorder")) {
    if (border->is_bool()) {
      filter.border = border->as_bool() ? 4 : 0;
    } else if (border->is_int64() && border->as_int64() >= 0 && border->as_int64() <= 32) {
      filter.border = static_cast<int>(border->as_int64());
    } else {
      f.add_error("pipBorder", "true, false or a width in pixels (0-32)");
    }
  }
}

// The pip filter's sources exist and differ; one pip at most; a path source is not one of the
// pipeline's own renditions (it would read itself).
void check_compositions(const PipelineSpec& spec, std::vector<FieldError>& errors) {
  int pips = 0;
  for (std::size_t i = 0; i < spec.filters.size(); ++i) {
    const auto& f = spec.filters[i];
    if (f.type != "pip") continue;
    const std::vector<std::string> loc{"body", "filters", std::to_string(i)};
    if (++pips > 1) {
      errors.push_back(FieldError{loc, "one pip filter per pipeline", "value_error"});
    }
    for (const auto& [field, name] :
         {std::pair<std::string, std::string>{"mainSource", f.main_source},
          std::pair<std::string, std::string>{"pipSource", f.pip_source}}) {
      if (!source_named(spec, name)) {
        auto l = loc;
        l.push_back(field);
        errors.push_back(FieldError{
            l, "no source named '" + name + "' (\"main\" or one of \"sources\")", "value_error"});
      }
    }
    if (f.main_source == f.pip_source) {
      errors.push_back(FieldError{loc, "mainSource and pipSource must differ", "value_error"});
    }
  }
  std::vector<std::pair<std::string, const SourceSpec*>> all{{"source", &spec.source}};
  for (const auto& [name, s] : spec.sources) {
    all.emplace_back("sources." + name, &s);
    if (s.on_demand) {
      errors.push_back(FieldError{{"body", "sources", name, "on_demand"},
                                  "only the pipeline's \"source\" says on_demand (for all)",
                                  "value_error"});
    }
  }
  for (std::size_t i = 0; spec.source.on_demand && i < spec.outputs.size(); ++i) {
    // Push, record and mjpeg outputs have no path readers: they would keep it asleep.
    errors.push_back(FieldError{{"body", "outputs", std::to_string(i)},
                                "an on_demand pipeline runs only while its paths have readers: "
                                "it has no outputs (make it always-on to push or record)",
                                "value_error"});
  }
  for (const auto& [where, s] : all) {
    if (s->type != "path") continue;
    for (const auto& r : spec.renditions) {
      if (r.path == s->path) {
        errors.push_back(FieldError{{"body", where, "path"},
                                    "'" + s->path + "' is this pipeline's own rendition",
                                    "value_error"});
      }
    }
  }
}

}  // namespace

const FilterSpec* pip_of(const PipelineSpec& spec) {
  for (const auto& f : spec.filters) {
    if (f.type == "pip") return &f;
  }
  return nullptr;
}

const SourceSpec* source_named(const PipelineSpec& spec, const std::string& name) {
  if (name == "main") return &spec.source;
  auto it = spec.sources.find(name);
  return it == spec.sources.end() ? nullptr : &it->second;
}

Result<PipelineSpec> parse_pipeline_spec(const json::object& body) {
  FieldReader r(body, {"body"});
  PipelineSpec spec;
  if (auto v = r.string("name", true, 1, keys::kMaxNameLength)) {
    if (!keys::is_valid_stream_name(*v)) {
      r.add_error("name", "1-128 characters of letters, digits, '.', '_' and '-'");
    }
    spec.name = *v;
  }
  std::vector<FieldError> errors;
  if (auto o = r.object("source", true)) {
    FieldReader f(*o, {"body", "source"});
    read_source(f, spec.source);
    for (auto& e : f.take_errors())
      errors.push_back(std::move(e));
  }
  if (auto o = r.object("sources", false)) {
    if (o->size() > kMaxExtraSources) {
      r.add_error("sources", "at most " + std::to_string(kMaxExtraSources) + " further sources");
    }
    for (const auto& [key, value] : *o) {
      const std::string name(key);
      std::vector<std::string> loc{"body", "sources", name};
      if (!is_source_name(name)) {
        errors.push_back(FieldError{loc, "a name of 1-32 letters, digits, '_' and '-', not 'main'",
                                    "value_error"});
        continue;
      }
      if (!value.is_object()) {
        errors.push_back(FieldError{loc, "a source object {type, ...}", "type_error"});
        continue;
      }
      FieldReader f(value.as_object(), loc);
      read_source(f, spec.sources[name]);
      for (auto& e : f.take_errors())
        errors.push_back(std::move(e));
    }
  }
  if (const auto* a = body.if_contains("audio"); a && !a->is_null()) {
    if (auto o = r.object("audio", false)) {
      FieldReader f(*o, {"body", "audio"});
      spec.audio.from = "tone";
      if (auto v = f.string("from", false, 1, 8)) {
        if (*v != "source" && *v != "tone" && *v != "none") {
          f.add_error("from", "source, tone or none");
        }
        spec.audio.from = *v;
      }
      spec.audio.enabled = spec.audio.from == "tone";
      if (auto v = f.string("codec", false, 1, 8)) {
        if (*v != "aac" && *v != "opus") f.add_error("codec", "aac or opus");
        spec.audio.codec = *v;
      }
      if (auto v = f.integer("bitrate_kbps", false, 16, 320)) {
        spec.audio.bitrate_kbps = static_cast<int>(*v);
      }
      if (auto v = f.integer("tone_hz", false, 0, 20000)) spec.audio.tone_hz = static_cast<int>(*v);
      for (auto& e : f.take_errors())
        errors.push_back(std::move(e));
    }
  }
  if (auto o = r.object("alignment", false)) {
    FieldReader f(*o, {"body", "alignment"});
    if (auto v = f.boolean("enabled", false)) spec.alignment.enabled = *v;
    if (auto v = f.string("method", false, 1, 16)) {
      if (*v != "timestamp") f.add_error("method", "timestamp (capture times) is the method here");
      spec.alignment.method = *v;
    }
    if (auto v = f.integer("maxLatencyMs", false, 1, 5000)) {
      spec.alignment.max_latency_ms = static_cast<int>(*v);
    }
    if (auto v = f.integer("syncTolerance", false, 1, 1000)) {
      spec.alignment.sync_tolerance_ms = static_cast<int>(*v);
    }
    for (auto& e : f.take_errors())
      errors.push_back(std::move(e));
  }
  if (auto o = r.object("encoder", false)) {
    FieldReader f(*o, {"body", "encoder"});
    read_encoder(f, spec.encoder, true);
    for (auto& e : f.take_errors())
      errors.push_back(std::move(e));
  }
  if (const auto* list = body.if_contains("renditions"); list && !list->is_null()) {
    if (!list->is_array() || list->as_array().empty() || list->as_array().size() > kMaxRenditions) {
      r.add_error("renditions", "a list of 1 to " + std::to_string(kMaxRenditions) + " renditions");
    } else {
      std::set<std::string> paths;
      for (std::size_t i = 0; i < list->as_array().size(); ++i) {
        const auto& item = list->as_array()[i];
        std::vector<std::string> loc{"body", "renditions", std::to_string(i)};
        if (!item.is_object()) {
          errors.push_back(FieldError{loc, "an object {path, width, height}", "type_error"});
          continue;
        }
        FieldReader f(item.as_object(), loc);
        RenditionSpec rendition;
        if (auto v = f.string("path", true, 1, keys::kMaxNameLength)) {
          if (!keys::is_valid_stream_name(*v)) f.add_error("path", "not a valid path name");
          if (!paths.insert(*v).second) f.add_error("path", "two renditions on one path");
          rendition.path = *v;
        }
        if (auto v = f.integer("width", false, 16, kMaxDimension)) {
          rendition.width = static_cast<int>(*v);
        }
        if (auto v = f.integer("height", false, 16, kMaxDimension)) {
          rendition.height = static_cast<int>(*v);
        }
        if (auto v = f.integer("bitrate_kbps", false, 50, kMaxBitrateKbps)) {
          rendition.bitrate_kbps = static_cast<int>(*v);
        }
        if (rendition.width % 2 || rendition.height % 2) {
          f.add_error("width", "width and height must be even");
        }
        for (auto& e : f.take_errors())
          errors.push_back(std::move(e));
        spec.renditions.push_back(std::move(rendition));
      }
    }
  }
  if (const auto* list = body.if_contains("filters"); list && !list->is_null()) {
    if (!list->is_array() || list->as_array().size() > kMaxFilters) {
      r.add_error("filters", "a list of at most " + std::to_string(kMaxFilters) + " filters");
    } else {
      for (std::size_t i = 0; i < list->as_array().size(); ++i) {
        const auto& item = list->as_array()[i];
        std::vector<std::string> loc{"body", "filters", std::to_string(i)};
        if (!item.is_object()) {
          errors.push_back(FieldError{loc, "an object {type, ...}", "type_error"});
          continue;
        }
        FieldReader f(item.as_object(), loc);
        FilterSpec filter;
        if (auto v = f.string("type", true, 1, 16)) {
          if (!one_of(*v, kFilterTypes)) f.add_error("type", "one of " + listed(kFilterTypes));
          filter.type = *v;
        }
        if (filter.type == "pip") read_pip(item.as_object(), f, filter);
        const bool scale = filter.type == "scale";
        if (auto v = f.integer("width", scale, 16, kMaxDimension))
          filter.width = static_cast<int>(*v);
        if (auto v = f.integer("height", scale, 16, kMaxDimension)) {
          filter.height = static_cast<int>(*v);
        }
        if (filter.width % 2 || filter.height % 2) {
          f.add_error("width", "width and height must be even");
        }
        if (auto v = f.integer("fps", filter.type == "fps", 1, kMaxFps)) {
          filter.fps = static_cast<int>(*v);
        }
        if (auto v = f.string("text", filter.type == "text", 1, 256)) {
          const bool plain = std::all_of(v->begin(), v->end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) ||
                   std::string_view(" .,_!?()/#+-").find(c) != std::string_view::npos;
          });
          if (!plain) {
            f.add_error("text", "letters, digits, spaces and . , _ ! ? ( ) / # + - only");
          }
          filter.text = *v;
        }
        if (auto v = f.integer("x", false, 0, kMaxDimension)) filter.x = static_cast<int>(*v);
        if (auto v = f.integer("y", false, 0, kMaxDimension)) filter.y = static_cast<int>(*v);
        if (auto v = f.integer("size", false, 6, 512)) filter.size = static_cast<int>(*v);
        for (auto& e : f.take_errors())
          errors.push_back(std::move(e));
        spec.filters.push_back(std::move(filter));
      }
    }
  }
  if (auto o = r.object("adaptive", false)) {
    FieldReader f(*o, {"body", "adaptive"});
    if (auto v = f.boolean("enabled", false)) spec.adaptive.enabled = *v;
    if (auto v = f.integer("min_kbps", false, 50, kMaxBitrateKbps)) {
      spec.adaptive.min_kbps = static_cast<int>(*v);
    }
    if (auto v = f.integer("max_kbps", false, 0, kMaxBitrateKbps)) {  // 0: the start bitrate
      spec.adaptive.max_kbps = static_cast<int>(*v);
    }
    for (auto& e : f.take_errors())
      errors.push_back(std::move(e));
  }
  if (const auto* list = body.if_contains("outputs"); list && !list->is_null()) {
    if (!list->is_array() || list->as_array().size() > kMaxOutputs) {
      r.add_error("outputs", "a list of at most " + std::to_string(kMaxOutputs) + " outputs");
    } else {
      for (std::size_t i = 0; i < list->as_array().size(); ++i) {
        const auto& item = list->as_array()[i];
        std::vector<std::string> loc{"body", "outputs", std::to_string(i)};
        if (!item.is_object()) {
          errors.push_back(FieldError{loc, "an object {type, rendition, url}", "type_error"});
          continue;
        }
        FieldReader f(item.as_object(), loc);
        OutputSpec output;
        if (auto v = f.string("type", true, 1, 16)) {
          if (*v != "push" && *v != "record" && *v != "mjpeg") {
            f.add_error("type", "push, record or mjpeg");
          }
          output.type = *v;
        }
        if (auto v = f.string("rendition", false, 1, keys::kMaxNameLength)) output.rendition = *v;
        if (auto v = f.integer("fps", false, 1, 30)) output.fps = static_cast<int>(*v);
        if (auto v = f.integer("quality", false, 1, 100)) output.quality = static_cast<int>(*v);
        if (auto v = f.boolean("camera", false)) output.camera = *v;
        if (auto v = f.string("url", output.type == "push", 1, 2048)) {
          const bool known = v->starts_with("rtmp://") || v->starts_with("rtmps://") ||
                             v->starts_with("srt://") || v->starts_with("rtsp://") ||
                             v->starts_with("rtsps://");
          if (!known) f.add_error("url", "an rtmp://, rtmps://, srt:// or rtsp:// URL");
          output.url = *v;
        }
        for (auto& e : f.take_errors())
          errors.push_back(std::move(e));
        spec.outputs.push_back(std::move(output));
      }
    }
  }
  for (auto& e : r.take_errors())
    errors.push_back(std::move(e));
  if (spec.renditions.empty()) spec.renditions.push_back(RenditionSpec{spec.name, 0, 0, {}});
  for (std::size_t i = 0; i < spec.outputs.size(); ++i) {
    const auto& o = spec.outputs[i];
    const bool found = o.rendition.empty() ||
                       std::any_of(spec.renditions.begin(), spec.renditions.end(),
                                   [&](const RenditionSpec& r) { return r.path == o.rendition; });
    if (!found) {
      errors.push_back(FieldError{{"body", "outputs", std::to_string(i), "rendition"},
                                  "no rendition has the path '" + o.rendition + "'",
                                  "value_error"});
    }
  }
  check_compositions(spec, errors);
  if (!errors.empty()) return fail(Error::invalid(std::move(errors)));
  const SourceSpec& main = *source_named(spec, pip_of(spec) ? pip_of(spec)->main_source : "main");
  std::pair<int, int> picture{main.type == "testsrc" ? main.width : 0,
                              main.type == "testsrc" ? main.height : 0};
  for (const auto& f : spec.filters) {
    if (f.type == "scale") picture = {f.width, f.height};
  }
  for (auto& rendition : spec.renditions) {  // else 0: the picture's own size
    if (rendition.width == 0) rendition.width = picture.first;
    if (rendition.height == 0) rendition.height = picture.second;
  }
  return spec;
}

namespace {

// A URL may hold credentials or a key: it is shown as scheme://host:port only.
json::object source_json(const SourceSpec& s, bool with_secrets) {
  json::object o{{"type", s.type},
                 {"width", s.width},
                 {"height", s.height},
                 {"fps", s.fps},
                 {"clock", s.clock}};
  if (s.type == "testsrc") {
    o["pattern"] = s.pattern;
    if (s.pattern == "color") o["color"] = s.color;
  }
  if (!s.url.empty()) o["url"] = with_secrets ? s.url : redacted_url(s.url);
  if (!s.device.empty()) o["device"] = s.device;
  if (!s.channel.empty()) o["channel"] = s.channel;
  if (!s.path.empty()) o["path"] = s.path;
  if (s.on_demand) {
    o["on_demand"] = true;
    o["close_after_s"] = s.close_after_s;
  }
  return o;
}

}  // namespace

Result<PipelineSpec> merge_encoder(const PipelineSpec& spec, const json::object& patch) {
  PipelineSpec out = spec;
  FieldReader f(patch, {"body", "encoder"});
  for (const auto& [key, value] : patch) {
    if (key != "bitrate_kbps") f.add_error(key, "cannot change while running (only bitrate_kbps)");
  }
  read_encoder(f, out.encoder, false);
  if (!f.ok()) return fail(Error::invalid(f.take_errors()));
  // A new encoder bitrate applies to the renditions that follow it.
  return out;
}

json::object to_json(const PipelineSpec& spec, bool with_secrets) {
  json::array outputs;
  for (const auto& o : spec.outputs) {
    json::object out{{"type", o.type}};
    if (!o.rendition.empty()) out["rendition"] = o.rendition;
    if (o.type == "mjpeg") {
      out["fps"] = o.fps;
      out["quality"] = o.quality;
    }
    if (o.camera) out["camera"] = true;
    if (!o.url.empty()) out["url"] = with_secrets ? o.url : redacted_url(o.url);  // keys hidden
    outputs.push_back(std::move(out));
  }
  json::array filters;
  for (const auto& f : spec.filters) {
    if (f.type == "scale" || f.type == "fps") {
      filters.push_back(
          f.type == "scale"
              ? json::object{{"type", f.type}, {"width", f.width}, {"height", f.height}}
              : json::object{{"type", f.type}, {"fps", f.fps}});
      continue;
    }
    if (f.type == "pip") {
      filters.push_back(json::object{{"type", f.type},
                                     {"mainSource", f.main_source},
                                     {"pipSource", f.pip_source},
                                     {"pipPosition", f.position},
                                     {"pipScale", f.scale},
                                     {"pipBorder", f.border}});
      continue;
    }
    json::object o{{"type", f.type}, {"x", f.x}, {"y", f.y}, {"size", f.size}};
    if (!f.text.empty()) o["text"] = f.text;
    filters.push_back(std::move(o));
  }
  json::array renditions;
  for (const auto& r : spec.renditions) {
    json::object o{{"path", r.path}, {"width", r.width}, {"height", r.height}};
    if (r.bitrate_kbps) o["bitrate_kbps"] = *r.bitrate_kbps;
    renditions.push_back(std::move(o));
  }
  json::object out{{"name", spec.name},
                   {"source", source_json(spec.source, with_secrets)},
                   {"encoder",
                    {{"codec", spec.encoder.codec},
                     {"bitrate_kbps", spec.encoder.bitrate_kbps},
                     {"preset", spec.encoder.preset},
                     {"profile", spec.encoder.profile},
                     {"gop", spec.encoder.gop},
                     {"zerolatency", spec.encoder.zerolatency},
                     {"rate_control", spec.encoder.rate_control},
                     {"hardware", spec.encoder.hardware}}},
                   {"renditions", std::move(renditions)},
                   {"filters", std::move(filters)},
                   {"outputs", std::move(outputs)},
                   {"adaptive",
                    {{"enabled", spec.adaptive.enabled},
                     {"min_kbps", spec.adaptive.min_kbps},
                     {"max_kbps", spec.adaptive.max_kbps}}}};
  if (!spec.audio.enabled) {
    out["audio"] = json::object{{"from", spec.audio.from}};
  } else {
    out["audio"] = json::object{{"from", "tone"},
                                {"codec", spec.audio.codec},
                                {"bitrate_kbps", spec.audio.bitrate_kbps},
                                {"tone_hz", spec.audio.tone_hz}};
  }
  if (!spec.encoder.hardware_device.empty()) {
    out["encoder"].as_object()["hardware_device"] = spec.encoder.hardware_device;
  }
  if (!spec.sources.empty()) {
    json::object sources;
    for (const auto& [name, source] : spec.sources)
      sources[name] = source_json(source, with_secrets);
    out["sources"] = std::move(sources);
    out["alignment"] = json::object{{"enabled", spec.alignment.enabled},
                                    {"method", spec.alignment.method},
                                    {"maxLatencyMs", spec.alignment.max_latency_ms},
                                    {"syncTolerance", spec.alignment.sync_tolerance_ms}};
  }
  return out;
}

std::size_t rendition_of(const PipelineSpec& spec, const OutputSpec& o) {
  for (std::size_t i = 0; i < spec.renditions.size(); ++i) {
    if (spec.renditions[i].path == o.rendition) return i;
  }
  return 0;
}

std::optional<std::pair<int, int>> parse_resolution(std::string_view text) {
  const auto x = text.find('x');
  if (x == std::string_view::npos) return std::nullopt;
  int w = 0, h = 0;
  auto number = [](std::string_view t, int& out) {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return !t.empty() && ec == std::errc{} && end == t.data() + t.size();
  };
  if (!number(text.substr(0, x), w) || !number(text.substr(x + 1), h)) return std::nullopt;
  if (w < 16 || h < 16 || w > kMaxDimension || h > kMaxDimension || w % 2 || h % 2) {
    return std::nullopt;
  }
  return std::pair{w, h};
}

std::optional<PipelineSpec> with_camera_settings(const PipelineSpec& spec,
                                                 const CameraSettings& camera) {
  auto primary = std::find_if(spec.renditions.begin(), spec.renditions.end(),
                              [](const RenditionSpec& r) { return r.path == kCameraPrimaryPath; });
  if (primary == spec.renditions.end()) return std::nullopt;
  PipelineSpec out = spec;
  auto& r = out.renditions[static_cast<std::size_t>(primary - spec.renditions.begin())];
  r.width = camera.width;
  r.height = camera.height;
  if (out.source.type == "testsrc") {
    out.source.width = camera.width;
    out.source.height = camera.height;
  }
  out.source.fps = camera.fps;
  if (r.bitrate_kbps) {
    r.bitrate_kbps = camera.bitrate_kbps;
  } else {
    out.encoder.bitrate_kbps = camera.bitrate_kbps;
  }
  out.encoder.codec = camera.encoder == "mjpeg" ? "h264" : camera.encoder;
  std::erase_if(out.outputs, [](const OutputSpec& o) { return o.camera; });
  if (camera.encoder == "mjpeg" && !out.source.on_demand) {  // (on demand: no outputs)
    OutputSpec mjpeg;
    mjpeg.type = "mjpeg";
    mjpeg.rendition = std::string(kCameraPrimaryPath);
    mjpeg.fps = std::min(camera.fps, 30);
    mjpeg.camera = true;
    const bool has = std::any_of(out.outputs.begin(), out.outputs.end(), [](const OutputSpec& o) {
      return o.type == "mjpeg" && o.rendition == kCameraPrimaryPath;
    });
    if (!has && out.outputs.size() < kMaxOutputs) out.outputs.push_back(std::move(mjpeg));
  }
  out.encoder.profile = camera.profile;
  out.encoder.preset = camera.preset;
  out.encoder.zerolatency = camera.latency_mode == "low";
  out.encoder.gop = camera.fps * (camera.latency_mode == "low"      ? 1
                                  : camera.latency_mode == "normal" ? 2
                                                                    : 4);
  if (to_json(out) == to_json(spec)) return std::nullopt;
  return out;
}

std::string redacted_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  auto rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  return url.substr(0, scheme + 3) + rest;
}

int bitrate_of(const PipelineSpec& spec, std::size_t i) {
  return spec.renditions.at(i).bitrate_kbps.value_or(spec.encoder.bitrate_kbps);
}

}  // namespace sluice::pipeline
