#pragma once
#include <vector>

#include "core/clock.hpp"
#include "registry/model.hpp"

namespace sluice::registry {

// The 11 built-in stream types with Maestra's display names, icons and default configs
// (reference §3.1). Their ids are name-based, so they are stable across restarts.
std::vector<StreamTypeRecord> builtin_types(WallTime created_at);

// Namespace for sluice's name-based ids (streams and types).
inline constexpr const char* kSluiceNamespace = "5b1c1ce0-5c1e-4d5a-9a0e-57e4a3b1c0de";

}  // namespace sluice::registry
