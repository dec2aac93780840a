#pragma once
// The three replaceable back ends of a node, chosen by configuration (docs/operations.md,
// "Several nodes"): where registry records live (`store`: memory or Redis), what carries events
// and requests (`bus`: the in-process hub or NATS) and where session history goes (`history`:
// SQLite or PostgreSQL). Each factory returns a ready object; remote services that are down at
// start do not make it fail (the object reports the problem and recovers by itself), only a
// malformed setting does (ConfigError / std::runtime_error: a start-up error).
#include <memory>
#include <string>

#include "core/config.hpp"

namespace boost::asio {
class io_context;
}
namespace sluice::hub {
class Bus;
class Hub;
}  // namespace sluice::hub
namespace sluice::state {
class Records;
class StateDb;
}  // namespace sluice::state
namespace sluice::registry {
class StoreJournal;
class RegistryStore;
class History;
}  // namespace sluice::registry
namespace sluice {
class Clock;
}

namespace sluice::server {

// The embedded store keeps what must survive a restart in `journal` (may be null: nothing
// survives); `state` is what the journal held at start.
std::unique_ptr<registry::RegistryStore> make_store(const Config& config, const Clock& clock,
                                                    state::StateDb* state,
                                                    registry::StoreJournal* journal);
// Where users, tokens, roles and settings live when nodes share them: Redis with a Redis store
// (every node sees every identity and setting); null with the embedded store (the node's
// StateDb keeps them).
std::unique_ptr<state::Records> make_shared_records(const Config& config);
// `hub` and `io` must outlive the bus.
std::unique_ptr<hub::Bus> make_bus(const Config& config, hub::Hub& hub,
                                   boost::asio::io_context& io);
std::unique_ptr<registry::History> make_history(const Config& config);

// How /health names each back end ("memory", "redis://host:6379/0", a SQLite path, ...);
// never includes a password.
std::string store_name(const Config& config);
std::string history_name(const Config& config);

}  // namespace sluice::server
