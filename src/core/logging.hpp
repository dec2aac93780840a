#pragma once
// Process-wide logging set-up. Everything logs through spdlog's default logger after this call.
#include <string>

namespace sluice {

class LogLimiter;

// `format` is "text" (human) or "json" (one object per line: time, level, msg).
void setup_logging(const std::string& level, const std::string& format);

// Logs `line` (info, or warning when `warning`) unless `limiter` already let a line through in
// its interval (one second); a line that stands for suppressed ones ends with how many
// ("[12 like it since the last such line]"). For what any client can cause once per
// connection — handshake failures, protocol errors — so that a flood of connections cannot
// flood the log.
void log_limited(LogLimiter& limiter, bool warning, const std::string& line);

}  // namespace sluice
