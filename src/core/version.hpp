#pragma once
#include <string_view>

namespace sluice {
inline constexpr std::string_view kVersion = SLUICE_VERSION;
}  // namespace sluice
