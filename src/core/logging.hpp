#pragma once
// Process-wide logging set-up. Everything logs through spdlog's default logger after this call.
#include <string>

namespace sluice {

// `format` is "text" (human) or "json" (one object per line: time, level, msg).
void setup_logging(const std::string& level, const std::string& format);

}  // namespace sluice
