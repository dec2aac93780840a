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
