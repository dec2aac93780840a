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

namespace sluice::http {

// Adds every /streams route. `registry` and `hub` must outlive the router.
void add_streams_routes(Router& router, registry::Registry& registry, hub::Hub& hub);

}  // namespace sluice::http
