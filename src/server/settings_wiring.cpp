#include "server/settings_wiring.hpp"

#include <cmath>
#include <memory>
#include <mutex>

#include "http/gate.hpp"
#include "media/protocols/webrtc/ice_servers.hpp"
#include "pipeline/pipeline_spec.hpp"
#include "registry/registry.hpp"
#include "server/media_wiring.hpp"
#include "server/osc_wiring.hpp"
#include "server/webhook_sender.hpp"
#include "settings/settings.hpp"

namespace sluice::server {
namespace json = boost::json;
using settings::Spec;
using settings::Type;

namespace {

Spec spec_of(std::string name, Type type, std::string description, std::string unit = {},
             std::optional<double> minimum = {}, std::optional<double> maximum = {}) {
  Spec s;
  s.name = std::move(name);
  s.type = type;
  s.description = std::move(description);
  s.unit = std::move(unit);
  s.minimum = minimum;
  s.maximum = maximum;
  return s;
}

// A limit of core/limits.hpp that is a live setting: a count or size (`count`) or a duration
// in seconds (`duration`).
struct LimitSetting {
  const char* name;
  const char* description;
  const char* unit;
  double minimum;
  double maximum;
  std::size_t Limits::*count = nullptr;
  std::chrono::milliseconds Limits::*duration = nullptr;
};

constexpr double kMaxCount = 100'000'000;
constexpr double kMaxBytes = 64.0 * 1024 * 1024 * 1024 * 1024;

// The registry's limits are settings of their own below (they predate this table).
const LimitSetting kLimitSettings[] = {
    {"http_max_connections", "Open HTTP connections, SSE and /ws included; beyond: 503",
     "connections", 1, kMaxCount, &Limits::http_max_connections},
    {"http_max_connections_per_address",
     "Open HTTP connections from one client address; beyond: 429", "connections", 1, kMaxCount,
     &Limits::http_max_connections_per_address},
    {"http_header_timeout", "Seconds a client has from its first byte to the end of the headers",
     "s", 0.1, 3600, nullptr, &Limits::http_header_timeout},
    {"http_idle_timeout", "Seconds a keep-alive connection may wait for its next request", "s", 0.1,
     86400, nullptr, &Limits::http_idle_timeout},
    {"http_write_timeout",
     "Seconds a reader of a reply, an SSE stream or /ws may take no data before it is "
     "disconnected",
     "s", 0.1, 3600, nullptr, &Limits::http_write_timeout},
    {"http_reply_budget", "Bytes of large (>= 64 KiB) replies being written at once; beyond: 503",
     "bytes", 1 << 20, kMaxBytes, &Limits::http_reply_budget},
    {"max_event_streams", "Open SSE streams plus /ws clients; beyond: 503", "clients", 0, kMaxCount,
     &Limits::max_event_streams},
    {"event_stream_budget", "Bytes queued for all SSE and /ws clients together", "bytes", 64 << 10,
     kMaxBytes, &Limits::event_stream_budget},
    {"relay_max_connections", "Open wire sessions over TCP, TLS and /wire; beyond: closed",
     "connections", 1, kMaxCount, &Limits::relay_max_connections},
    {"relay_max_connections_per_address",
     "Open wire sessions from one client address; beyond: closed", "connections", 1, kMaxCount,
     &Limits::relay_max_connections_per_address},
    {"relay_buffer_max_bytes", "Largest buffer_bytes a relay subscriber may ask for", "bytes",
     1 << 10, 4294967296.0, &Limits::relay_buffer_max_bytes},
    {"relay_buffer_budget", "Bytes queued for all relay subscribers together", "bytes", 1 << 20,
     kMaxBytes, &Limits::relay_buffer_budget},
    {"relay_partial_budget", "Bytes of partly received relay messages, all connections together",
     "bytes", 1 << 20, kMaxBytes, &Limits::relay_partial_budget},
    {"media_max_connections_per_address",
     "Open RTMP and HTTP-FLV connections from one client address", "connections", 1, kMaxCount,
     &Limits::media_max_connections_per_address},
    {"rtmp_handshake_timeout", "Seconds an RTMP client has from connecting to publish or play", "s",
     0.1, 600, nullptr, &Limits::rtmp_handshake_timeout},
    {"media_reassembly_budget",
     "Bytes of media access units being reassembled from SRT and RTSP publishers, all together",
     "bytes", 1 << 20, kMaxBytes, &Limits::media_reassembly_budget},
};

// Every limit setting shares one copy of the limits, so each change hands the modules the whole
// set (a module never sees half of one change and half of another).
struct LiveLimits {
  std::mutex mutex;
  Limits limits;
  std::function<void(const Limits&)> apply;
};

void define_limit_settings(settings::Settings& s, const Limits& initial,
                           std::function<void(const Limits&)> apply) {
  auto live = std::make_shared<LiveLimits>();
  live->limits = initial;
  live->apply = std::move(apply);
  for (const LimitSetting& l : kLimitSettings) {
    const bool seconds = l.duration != nullptr;
    Spec spec = spec_of(l.name, seconds ? Type::kNumber : Type::kInteger, l.description, l.unit,
                        l.minimum, l.maximum);
    spec.apply = [live, l](const json::value& v) {
      Limits changed;
      {
        std::lock_guard lock(live->mutex);
        if (l.duration) {
          live->limits.*l.duration = std::chrono::milliseconds(
              static_cast<std::int64_t>(std::llround(v.to_number<double>() * 1000)));
        } else {
          live->limits.*l.count = static_cast<std::size_t>(v.to_number<std::int64_t>());
        }
        changed = live->limits;
      }
      if (live->apply) live->apply(changed);
      return Status{};
    };
    json::value value =
        seconds ? json::value(static_cast<double>((initial.*l.duration).count()) / 1000.0)
                : json::value(static_cast<std::int64_t>(initial.*l.count));
    s.define(std::move(spec), std::move(value));
  }
}

// A setting whose value is one of `choices`.
Spec enum_of(std::string name, std::string description, std::vector<std::string> choices) {
  Spec spec = spec_of(std::move(name), Type::kEnum, std::move(description));
  spec.choices = std::move(choices);
  return spec;
}

// The C Pro camera's stream settings (issue 15), with its names: applied to the pipelines that
// have a `stream1` rendition, rebuilt in place so their readers stay.
void define_camera_settings(settings::Settings& s, MediaWiring& media) {
  auto apply = [&media](std::string name) {
    return [&media, name](const json::value& v) { return media.set_camera_setting(name, v); };
  };
  {
    Spec spec = spec_of("streamResolution", Type::kString,
                        "The camera's primary stream (stream1) size, WIDTHxHEIGHT");
    spec.check = [](const json::value& v) -> Status {
      if (!pipeline::parse_resolution(std::string(v.as_string()))) {
        return fail(Error::invalid_field({"body", "value"},
                                         "streamResolution is WIDTHxHEIGHT, 16-3840, even"));
      }
      return {};
    };
    spec.apply = apply("streamResolution");
    s.define(std::move(spec), "1920x1080");
  }
  {
    Spec spec = spec_of("streamFramerate", Type::kInteger, "The camera's primary stream frame rate",
                        "fps", 1, 120);
    spec.apply = apply("streamFramerate");
    s.define(std::move(spec), 30);
  }
  {
    Spec spec = spec_of("streamBitrate", Type::kInteger, "The camera's primary stream bitrate",
                        "kbit/s", 50, 100000);
    spec.apply = apply("streamBitrate");
    s.define(std::move(spec), 4000);
  }
  {
    Spec spec = enum_of("videoEncoder",
                        "The camera's encoder (mjpeg: stream1 is also served as Motion JPEG at "
                        "/live/stream1/mjpeg; its other doors carry H.264)",
                        {"h264", "h265", "mjpeg"});
    spec.apply = apply("videoEncoder");
    s.define(std::move(spec), "h264");
  }
  {
    Spec spec =
        enum_of("encoderProfile", "The camera's H.264 profile", {"baseline", "main", "high"});
    spec.apply = apply("encoderProfile");
    s.define(std::move(spec), "high");
  }
  {
    Spec spec = enum_of("encoderPreset", "The camera's x264 preset",
                        {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                         "slower", "veryslow"});
    spec.apply = apply("encoderPreset");
    s.define(std::move(spec), "veryfast");
  }
  {
    Spec spec = enum_of("streamLatencyMode",
                        "low: no lookahead or B-frames, 1 s GOP; normal: 2 s GOP; high: 4 s GOP",
                        {"low", "normal", "high"});
    spec.apply = apply("streamLatencyMode");
    s.define(std::move(spec), "low");
  }
}

}  // namespace

void define_settings(settings::Settings& s, const Config& c, SettingTargets t) {
  {
    Spec spec =
        spec_of("stream_ttl", Type::kInteger,
                "Seconds a stream, session or subscriber lives without a heartbeat", "s", 1, 86400);
    spec.apply = [&r = t.registry](const json::value& v) {
      r.set_ttl(std::chrono::seconds(v.to_number<std::int64_t>()));
      return Status{};
    };
    s.define(std::move(spec), c.stream_ttl.count());
  }
  {
    Spec spec =
        spec_of("request_timeout", Type::kNumber,
                "Seconds to wait for a publisher's answer to a stream request", "s", 0.1, 300);
    spec.apply = [&r = t.registry](const json::value& v) {
      r.set_request_timeout(
          std::chrono::milliseconds(static_cast<std::int64_t>(v.to_number<double>() * 1000)));
      return Status{};
    };
    s.define(std::move(spec), static_cast<double>(c.request_timeout.count()) / 1000.0);
  }
  {
    Spec spec = spec_of("auto_offer", Type::kBoolean,
                        "Requests no publisher answers within request_timeout are answered by "
                        "sluiced from the advertised address, port and transport config, for "
                        "every stream (one stream: \"auto_offer\": true in its config or its "
                        "type's default_config)");
    spec.apply = [&r = t.registry](const json::value& v) {
      r.set_auto_offer(v.as_bool());
      return Status{};
    };
    s.define(std::move(spec), false);
  }
  {
    Spec spec = spec_of("cors_origins", Type::kStringList,
                        "Browser origins allowed to use the API, /ws and /wire (exact, like "
                        "https://console.example:8443)");
    spec.check = [](const json::value& v) -> Status {
      for (const auto& o : v.as_array()) {
        std::string_view text = o.as_string();
        if (!text.starts_with("http://") && !text.starts_with("https://")) {
          return fail(Error::invalid_field(
              {"body", "value"}, "cors_origins: each origin is scheme://host[:port], got '" +
                                     std::string(text) + "'"));
        }
      }
      return {};
    };
    spec.apply = [&o = t.cors_origins](const json::value& v) {
      std::vector<std::string> list;
      for (const auto& x : v.as_array())
        list.emplace_back(x.as_string());
      o.set(std::move(list));
      return Status{};
    };
    json::array initial;
    for (const auto& o : c.cors_origins)
      initial.emplace_back(o);
    s.define(std::move(spec), std::move(initial));
  }
  // The registry's limits (docs/operations.md, "Limits"): live, from the next call that checks.
  auto registry_limit = [&s, &r = t.registry](std::string name, std::string description,
                                              std::string unit, double max, std::size_t value,
                                              void (registry::Registry::*set)(std::size_t)) {
    Spec spec =
        spec_of(std::move(name), Type::kInteger, std::move(description), std::move(unit), 1, max);
    spec.apply = [&r, set](const json::value& v) {
      (r.*set)(static_cast<std::size_t>(v.to_number<std::int64_t>()));
      return Status{};
    };
    s.define(std::move(spec), static_cast<std::int64_t>(value));
  };
  registry_limit("max_streams", "Streams the registry holds; a new one beyond is 507", "streams",
                 10'000'000, c.limits.max_streams, &registry::Registry::set_max_streams);
  registry_limit("max_stream_types", "Custom stream types (built-ins not counted); beyond: 507",
                 "types", 1'000'000, c.limits.max_stream_types,
                 &registry::Registry::set_max_custom_types);
  registry_limit("max_stream_config_bytes",
                 "A stream's config and metadata (and a type's JSON fields), each, as JSON text; "
                 "beyond: 422",
                 "bytes", 16 << 20, c.limits.max_stream_config_bytes,
                 &registry::Registry::set_max_config_bytes);
  {
    Spec spec = spec_of("max_streams_per_owner", Type::kInteger,
                        "Live streams one client (without an admin or operator role) may own; 0: "
                        "no cap",
                        "streams", 0, 1000000);
    spec.apply = [&r = t.registry](const json::value& v) {
      r.set_max_streams_per_owner(static_cast<std::size_t>(v.to_number<std::int64_t>()));
      return Status{};
    };
    s.define(std::move(spec), 1000);
  }
  {
    Spec spec =
        spec_of("rtmp_takeover", Type::kBoolean,
                "A second publisher with a valid key takes over a live path instead of being "
                "refused");
    spec.read = auth::Need{auth::Resource::kMedia, auth::Access::kRead, {}};
    spec.write = auth::Need{auth::Resource::kSettings, auth::Access::kWrite, {}};
    spec.apply = [&m = t.media](const json::value& v) {
      m.set_takeover(v.as_bool());
      return Status{};
    };
    s.define(std::move(spec), c.rtmp_takeover);
  }
  {
    Spec spec = spec_of("hls_segment", Type::kNumber,
                        "Seconds of an HLS segment (cut at the first keyframe after it); HLS "
                        "sessions started after a change use it",
                        "s", 1, 10);
    spec.apply = [&m = t.media](const json::value& v) {
      m.set_hls_segment(std::chrono::milliseconds(
          static_cast<std::int64_t>(std::llround(v.to_number<double>() * 1000))));
      return Status{};
    };
    s.define(std::move(spec), static_cast<double>(c.hls_segment.count()) / 1000.0);
  }
  {
    Spec spec = spec_of("media_webhook", Type::kString,
                        "http:// URL that receives every media lifecycle event as a JSON POST; "
                        "empty: none",
                        {}, {}, 2048);
    spec.check = [](const json::value& v) -> Status {
      const std::string url(v.as_string());
      if (url.empty()) return {};
      if (auto problem = WebhookSender::url_problem(url); !problem.empty()) {
        return fail(Error::invalid_field({"body", "value"}, "media_webhook: " + problem));
      }
      return {};
    };
    spec.apply = [&m = t.media](const json::value& v) {
      return m.set_webhook(std::string(v.as_string()));
    };
    s.define(std::move(spec), json::string(c.media_webhook));
  }
  {
    Spec spec = spec_of("rtsp_aliases", Type::kStringList,
                        "Camera aliases ALIAS=PATH: rtsp://HOST:PORT/ALIAS plays live path PATH "
                        "(e.g. stream1=cam)");
    spec.check = [](const json::value& v) -> Status {
      for (const auto& item : v.as_array()) {
        if (!parse_rtsp_alias(std::string(item.as_string()))) {
          return fail(
              Error::invalid_field({"body", "value"},
                                   "rtsp_aliases: each entry is ALIAS=PATH (letters, digits, '_', "
                                   "'-', '.'), got '" +
                                       std::string(item.as_string()) + "'"));
        }
      }
      return {};
    };
    spec.apply = [&m = t.media](const json::value& v) {
      std::vector<std::pair<std::string, std::string>> aliases;
      for (const auto& item : v.as_array())
        aliases.push_back(*parse_rtsp_alias(std::string(item.as_string())));
      m.set_rtsp_aliases(aliases);
      return Status{};
    };
    json::array initial;
    for (const auto& [alias, path] : c.rtsp_aliases)
      initial.emplace_back(alias + "=" + path);
    s.define(std::move(spec), std::move(initial));
  }
  {
    Spec spec = spec_of("webrtc_ice_servers", Type::kStringList,
                        "STUN/TURN servers handed to WebRTC clients (Link headers, the camera "
                        "endpoint's iceServers): stun:HOST:PORT, turn:USER:PASSWORD@HOST:PORT");
    spec.secret = true;  // TURN passwords
    spec.check = [](const json::value& v) -> Status {
      for (const auto& item : v.as_array()) {
        if (auto s = media::webrtc::parse_ice_server(std::string(item.as_string())); !s) {
          return fail(
              Error::invalid_field({"body", "value"}, "webrtc_ice_servers: " + s.error().detail));
        }
      }
      return {};
    };
    spec.apply = [&m = t.media](const json::value& v) {
      std::vector<std::string> servers;
      for (const auto& item : v.as_array())
        servers.emplace_back(item.as_string());
      return m.set_webrtc_ice_servers(servers);
    };
    json::array initial;
    for (const auto& server : c.webrtc_ice_servers)
      initial.emplace_back(server);
    s.define(std::move(spec), std::move(initial));
  }
  {
    Spec spec = spec_of("srt_passphrase", Type::kString,
                        "SRT encryption passphrase every caller must use (AES, 10-79 characters); "
                        "empty: unencrypted. Applies to callers connecting after a change",
                        {}, {}, 79);
    spec.secret = true;
    spec.check = [](const json::value& v) -> Status {
      const auto n = v.as_string().size();
      if (n != 0 && n < 10) {
        return fail(Error::invalid_field({"body", "value"},
                                         "srt_passphrase: empty or 10 to 79 characters"));
      }
      return {};
    };
    spec.apply = [&m = t.media](const json::value& v) {
      m.set_srt_passphrase(std::string(v.as_string()));
      return Status{};
    };
    s.define(std::move(spec), json::string(c.srt_passphrase));
  }
  {
    Spec spec = spec_of("srt_latency", Type::kInteger,
                        "SRT latency (receive buffer for loss recovery) offered to callers; "
                        "applies to callers connecting after a change",
                        "ms", 20, 8000);
    spec.apply = [&m = t.media](const json::value& v) {
      m.set_srt_latency(static_cast<int>(v.to_number<std::int64_t>()));
      return Status{};
    };
    s.define(std::move(spec), c.srt_latency_ms);
  }
  define_camera_settings(s, t.media);
  {
    Spec spec = spec_of("record_paths", Type::kStringList,
                        "Live paths to record, as name patterns ('*' matches any run of "
                        "characters, e.g. cam*); none: nothing is recorded");
    spec.apply = [&m = t.media](const json::value& v) {
      std::vector<std::string> patterns;
      for (const auto& p : v.as_array())
        patterns.emplace_back(p.as_string());
      m.set_record_paths(std::move(patterns));
      return Status{};
    };
    s.define(std::move(spec), json::array{});
  }
  {
    Spec spec = spec_of("record_segment", Type::kNumber,
                        "Recording segment length: cut at the first keyframe after it; for "
                        "recordings started after a change",
                        "s", 1, 600);
    spec.apply = [&m = t.media](const json::value& v) {
      m.set_record_segment(std::chrono::milliseconds(std::llround(v.to_number<double>() * 1000)));
      return Status{};
    };
    s.define(std::move(spec), 10.0);
  }
  {
    Spec spec = spec_of("record_part", Type::kNumber,
                        "How often the segment being recorded is flushed to disk (its parts), so "
                        "the last seconds play back; for recordings started after a change",
                        "s", 0.2, 10);
    spec.apply = [&m = t.media](const json::value& v) {
      m.set_record_part(std::chrono::milliseconds(std::llround(v.to_number<double>() * 1000)));
      return Status{};
    };
    s.define(std::move(spec), 1.0);
  }
  {
    Spec spec = spec_of("record_path_template", Type::kString,
                        "Where each recorded path's segments go under the recording directory: "
                        "directories of letters, digits, . _ - and %path (once), %Y %m %d %H "
                        "(the segment's start, UTC), e.g. %Y-%m-%d/%path; for segments written "
                        "after a change");
    spec.apply = [&m = t.media](const json::value& v) {
      return m.set_record_template(std::string(v.as_string()));
    };
    s.define(std::move(spec), json::string("%path"));
  }
  // Retention: segments older than record_max_age, and the oldest beyond record_max_size in all.
  // Each one's change is applied with the other's value in force (its default before it exists).
  const auto other = [&s](const char* name, double fallback) {
    const auto setting = s.get(name);
    return setting ? setting->value.to_number<double>() : fallback;
  };
  const auto retention = [&m = t.media](double hours, double gib) {
    m.set_record_retention(std::chrono::seconds(std::llround(hours * 3600)),
                           static_cast<std::uint64_t>(gib * 1024 * 1024 * 1024));
  };
  {
    Spec spec = spec_of("record_max_age", Type::kNumber,
                        "Recorded segments older than this are deleted", "h", 1, 87600);
    spec.apply = [retention, other](const json::value& v) {
      retention(v.to_number<double>(), other("record_max_size", 10.0));
      return Status{};
    };
    s.define(std::move(spec), 168.0);
  }
  {
    Spec spec = spec_of("record_max_size", Type::kNumber,
                        "Recordings' disk budget: beyond it the oldest segments are deleted", "GiB",
                        0.001, 100000);
    spec.apply = [retention, other](const json::value& v) {
      retention(other("record_max_age", 168.0), v.to_number<double>());
      return Status{};
    };
    s.define(std::move(spec), 10.0);
  }
  {
    Spec spec = enum_of("osc_payload",
                        "How OSC messages reach relay channels: json ({\"address\", \"args\"}) "
                        "or raw (the datagram as it came); also how channels go out to osc_targets",
                        {"json", "raw"});
    spec.apply = [osc = t.osc](const json::value& v) {
      return osc ? osc->set_payload(std::string(v.as_string())) : Status{};
    };
    s.define(std::move(spec), "json");
  }
  {
    Spec spec = spec_of("osc_targets", Type::kStringList,
                        "Relay channels sent out as OSC: PATTERN=HOST:PORT entries, e.g. "
                        "osc.stage.>=10.0.0.5:9000 (each message on a matching channel, one "
                        "datagram)");
    spec.apply = [osc = t.osc](const json::value& v) -> Status {
      std::vector<std::string> entries;
      for (const auto& e : v.as_array())
        entries.emplace_back(e.as_string());
      if (!osc) {
        if (entries.empty()) return {};
        return fail(Error::invalid_field({"body", "value"}, "osc_targets: OSC is off (--osc off)"));
      }
      return osc->set_targets(entries);
    };
    s.define(std::move(spec), json::array{});
  }
  define_limit_settings(s, c.limits, t.apply_limits);
}

}  // namespace sluice::server
