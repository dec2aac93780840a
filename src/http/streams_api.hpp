#pragma once
// The Maestra Streams HTTP API (reference §2) and sluice's extensions, as routes on a Router.
// Handlers run on connection strands and call the thread-safe Registry and Hub.
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

// Adds every /streams route. `registry` and `hub` must outlive the router.
// `policy` decides which hub messages each SSE client may see.
void add_streams_routes(Router& router, registry::Registry& registry, hub::Hub& hub,
                        const auth::AccessPolicy& policy);

}  // namespace sluice::http
