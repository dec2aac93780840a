#pragma once
// Server-sent-event routes: GET /streams/events (registry events filtered by subject pattern)
// and GET /streams/{stream_id}/preview (the dashboard preview of one stream).
#include "http/router.hpp"

namespace sluice::hub {
class Hub;
}
namespace sluice::registry {
class Registry;
}

namespace sluice::auth {
class AccessPolicy;
}

namespace sluice::http {

void add_event_routes(Router& router, registry::Registry& registry, hub::Hub& hub,
                      const auth::AccessPolicy& policy);

}  // namespace sluice::http
