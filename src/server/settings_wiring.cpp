#include "server/settings_wiring.hpp"

#include "http/gate.hpp"
#include "registry/registry.hpp"
#include "server/media_wiring.hpp"
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
}

}  // namespace sluice::server
