#pragma once
// ISO-8601 timestamps as Maestra writes them: naive UTC with microseconds and a trailing Z,
// e.g. "2026-03-22T10:30:00.123456Z".
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace sluice {

std::string format_timestamp(WallTime t);

// Parses "YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM]" (also with a space separator, or a date alone).
// A missing offset means UTC.
std::optional<WallTime> parse_timestamp(std::string_view text);

// Seconds since the Unix epoch, with fraction.
double to_unix_seconds(WallTime t);
WallTime from_unix_seconds(double s);

}  // namespace sluice
