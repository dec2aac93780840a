#pragma once
// The /settings routes (issue 12, item 5):
//   GET /settings          the settings the caller may read: [{name, value, default, type, …}]
//   GET /settings/{name}   one (403 when the caller may not read it)
//   PUT /settings/{name}   {"value": …} → 200 with the setting; 422 naming the rule
#include "http/router.hpp"

namespace sluice::auth {
class AccessPolicy;
}
namespace sluice::settings {
class Settings;
}

namespace sluice::http {

// `settings` and `policy` must outlive the router.
void add_settings_routes(Router& router, settings::Settings& settings,
                         const auth::AccessPolicy& policy);

}  // namespace sluice::http
