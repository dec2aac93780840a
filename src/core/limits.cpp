#include "core/limits.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/config.hpp"

namespace sluice {
namespace {

constexpr LimitKey kLimitKeys[] = {
    {"memory-budget",
     "memory the byte budgets share, e.g. 512MiB; the budgets not set explicitly are derived "
     "from it (default 512MiB)"},
    {"http-max-connections", "open HTTP connections, SSE and /ws included (default 10000)"},
    {"http-max-connections-per-address",
     "open HTTP connections from one client address (default 256)"},
    {"http-header-timeout",
     "seconds a client has from its first byte to the end of the request headers (default 10)"},
    {"http-idle-timeout",
     "seconds a keep-alive connection may wait for its next request (default 60)"},
    {"http-write-timeout",
     "seconds a reader of a reply, an SSE stream or /ws may take no data before it is "
     "disconnected (default 30)"},
    {"http-reply-budget",
     "bytes of large (>= 64 KiB) replies being written at once; beyond, 503 (default "
     "memory-budget / 4)"},
    {"max-event-streams", "open SSE streams plus /ws clients (default 1000)"},
    {"event-stream-budget",
     "bytes queued for all SSE and /ws clients together (default memory-budget / 8)"},
    {"max-stream-config", "bytes of a stream's config, and of its metadata (default 64KiB)"},
    {"max-stream-types", "custom stream types, built-ins not counted (default 1000)"},
    {"max-streams", "streams in the registry (default 100000)"},
    {"relay-max-connections", "open wire sessions over TCP, TLS and /wire (default 10000)"},
    {"relay-max-connections-per-address",
     "open wire sessions from one client address (default 256)"},
    {"relay-buffer-max-bytes",
     "largest buffer_bytes a relay subscriber may ask for (default memory-budget / 8, within "
     "8MiB..64MiB)"},
    {"relay-buffer-budget",
     "bytes queued for all relay subscribers together (default memory-budget / 4)"},
    {"relay-partial-budget",
     "bytes of partly received relay messages, all connections together (default "
     "memory-budget / 8)"},
    {"media-max-connections-per-address",
     "open RTMP and HTTP-FLV connections from one client address (default 64)"},
    {"rtmp-handshake-timeout",
     "seconds an RTMP client has from connecting to publish or play (default 5)"},
    {"media-reassembly-budget",
     "bytes of media access units being reassembled from SRT and RTSP publishers, all "
     "connections together (default memory-budget / 8)"},
};

std::size_t parse_size(const std::string& v, const std::string& key, std::size_t min,
                       std::size_t max) {
  double number = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), number);
  std::string unit(p, v.data() + v.size());
  std::erase(unit, ' ');
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  double scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  if (unit == "k" || unit == "kib" || unit == "kb") scale = double(kKiB);
  if (unit == "m" || unit == "mib" || unit == "mb") scale = double(kMiB);
  if (unit == "g" || unit == "gib" || unit == "gb") scale = double(kMiB) * kKiB;
  if (ec != std::errc{} || p == v.data() || scale == 0 || !std::isfinite(number) || number < 0) {
    throw ConfigError("'" + key + "' must be a size such as 65536, 64KiB or 512MiB, got '" + v +
                      "'");
  }
  const double bytes = number * scale;
  if (bytes < double(min) || bytes > double(max)) {
    throw ConfigError(
        fmt::format("'{}' must be between {} and {} bytes, got '{}'", key, min, max, v));
  }
  return static_cast<std::size_t>(bytes);
}

std::size_t parse_count(const std::string& v, const std::string& key, std::size_t min,
                        std::size_t max) {
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || p != v.data() + v.size() || n < min || n > max) {
    throw ConfigError(
        fmt::format("'{}' must be a whole number between {} and {}, got '{}'", key, min, max, v));
  }
  return n;
}

std::chrono::milliseconds parse_seconds(const std::string& v, const std::string& key, double min,
                                        double max) {
  double s = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
  if (ec != std::errc{} || p != v.data() + v.size() || !(s >= min && s <= max)) {
    throw ConfigError(
        fmt::format("'{}' must be between {} and {} seconds, got '{}'", key, min, max, v));
  }
  return std::chrono::milliseconds(static_cast<long>(std::llround(s * 1000)));
}

std::string size_text(std::size_t bytes) {
  if (bytes % kMiB == 0) return fmt::format("{}MiB", bytes / kMiB);
  if (bytes % kKiB == 0) return fmt::format("{}KiB", bytes / kKiB);
  return fmt::format("{}B", bytes);
}

}  // namespace

Limits Limits::resolved() const {
  Limits r = *this;
  auto derive = [](std::size_t& value, std::size_t derived) {
    if (value == 0) value = derived;
  };
  derive(r.http_reply_budget, memory_budget / 4);
  derive(r.event_stream_budget, memory_budget / 8);
  derive(r.relay_buffer_budget, memory_budget / 4);
  derive(r.relay_partial_budget, memory_budget / 8);
  derive(r.media_reassembly_budget, memory_budget / 8);
  // Never below the protocol's default buffer (8 MiB), which clients ask for unless told not to.
  derive(r.relay_buffer_max_bytes, std::clamp<std::size_t>(memory_budget / 8, 8 * kMiB, 64 * kMiB));
  return r;
}

std::string Limits::describe() const {
  return fmt::format(
      "memory-budget {}; http: {} connections, {} per address, header timeout {} ms, idle "
      "timeout {} ms, write timeout {} ms, reply budget {}, {} event streams sharing {}; "
      "registry: config {}, {} custom types, {} streams; relay: {} sessions, {} per address, "
      "buffer_bytes up to {}, buffers {}, partial messages {}; media: {} connections per address, "
      "handshake {} ms, reassembly {}",
      size_text(memory_budget), http_max_connections, http_max_connections_per_address,
      http_header_timeout.count(), http_idle_timeout.count(), http_write_timeout.count(),
      size_text(http_reply_budget), max_event_streams, size_text(event_stream_budget),
      size_text(max_stream_config_bytes), max_stream_types, max_streams, relay_max_connections,
      relay_max_connections_per_address, size_text(relay_buffer_max_bytes),
      size_text(relay_buffer_budget), size_text(relay_partial_budget),
      media_max_connections_per_address, rtmp_handshake_timeout.count(),
      size_text(media_reassembly_budget));
}

std::span<const LimitKey> limit_keys() {
  return kLimitKeys;
}

bool apply_limit(Limits& l, const std::string& key, const std::string& v) {
  constexpr std::size_t kTiB = kMiB * kMiB;
  constexpr std::size_t kMaxCount = 100'000'000;
  if (key == "memory-budget") {
    l.memory_budget = parse_size(v, key, 16 * kMiB, 64 * kTiB);
  } else if (key == "http-max-connections") {
    l.http_max_connections = parse_count(v, key, 1, kMaxCount);
  } else if (key == "http-max-connections-per-address") {
    l.http_max_connections_per_address = parse_count(v, key, 1, kMaxCount);
  } else if (key == "http-header-timeout") {
    l.http_header_timeout = parse_seconds(v, key, 0.1, 3600);
  } else if (key == "http-idle-timeout") {
    l.http_idle_timeout = parse_seconds(v, key, 0.1, 86400);
  } else if (key == "http-write-timeout") {
    l.http_write_timeout = parse_seconds(v, key, 0.1, 3600);
  } else if (key == "http-reply-budget") {
    l.http_reply_budget = parse_size(v, key, kMiB, 64 * kTiB);
  } else if (key == "max-event-streams") {
    l.max_event_streams = parse_count(v, key, 0, kMaxCount);
  } else if (key == "event-stream-budget") {
    l.event_stream_budget = parse_size(v, key, 64 * kKiB, 64 * kTiB);
  } else if (key == "max-stream-config") {
    l.max_stream_config_bytes = parse_size(v, key, 2, 1024 * kMiB);
  } else if (key == "max-stream-types") {
    l.max_stream_types = parse_count(v, key, 0, kMaxCount);
  } else if (key == "max-streams") {
    l.max_streams = parse_count(v, key, 1, kMaxCount);
  } else if (key == "relay-max-connections") {
    l.relay_max_connections = parse_count(v, key, 1, kMaxCount);
  } else if (key == "relay-max-connections-per-address") {
    l.relay_max_connections_per_address = parse_count(v, key, 1, kMaxCount);
  } else if (key == "relay-buffer-max-bytes") {
    l.relay_buffer_max_bytes = parse_size(v, key, kKiB, std::size_t(1) << 32);
  } else if (key == "relay-buffer-budget") {
    l.relay_buffer_budget = parse_size(v, key, kMiB, 64 * kTiB);
  } else if (key == "relay-partial-budget") {
    l.relay_partial_budget = parse_size(v, key, kMiB, 64 * kTiB);
  } else if (key == "media-max-connections-per-address") {
    l.media_max_connections_per_address = parse_count(v, key, 1, kMaxCount);
  } else if (key == "rtmp-handshake-timeout") {
    l.rtmp_handshake_timeout = parse_seconds(v, key, 0.1, 600);
  } else if (key == "media-reassembly-budget") {
    l.media_reassembly_budget = parse_size(v, key, kMiB, 64 * kTiB);
  } else {
    return false;
  }
  return true;
}

}  // namespace sluice
