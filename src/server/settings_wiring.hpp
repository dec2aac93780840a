#pragma once
// The daemon's live settings (issue 12, item 5): which options are settings, their types, ranges
// and defaults (from the Config), and what applying each one does. One table, so every live
// option is found in one place.
#include <functional>

#include "core/config.hpp"

namespace sluice::http {
class AllowedOrigins;
}
namespace sluice::registry {
class Registry;
}
namespace sluice::settings {
class Settings;
}

namespace sluice::server {

class MediaWiring;
class OscWiring;

struct SettingTargets {
  registry::Registry& registry;
  http::AllowedOrigins& cors_origins;
  MediaWiring& media;
  OscWiring* osc;  // null with --osc off
  // Called with every limit (config.limits as restored and changed since) when a limit setting
  // is applied, at definition for restored values too: the HTTP server, relay and media server
  // take what they read (docs/operations.md, "Limits").
  std::function<void(const Limits&)> apply_limits;
};

// Defines every setting on `settings` with the configuration's values as defaults; restored
// values are applied to `targets` at once. Targets must outlive `settings`.
void define_settings(settings::Settings& settings, const Config& config, SettingTargets targets);

}  // namespace sluice::server
