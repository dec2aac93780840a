#pragma once
// The access rule of the administrative routes (/keys, kicking media clients): with an admin
// token configured a request needs `Authorization: Bearer <token>` (compared in constant time;
// 401 otherwise); without one only loopback peers (127.0.0.0/8, ::1) are served (403 otherwise).
#include <string>

#include "http/router.hpp"

namespace sluice::http {

// Wraps `inner` in the rule. `area` names the routes in error details, e.g. "/keys".
Handler admin_only(std::string area, std::string admin_token, Handler inner);

}  // namespace sluice::http
