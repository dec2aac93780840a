#pragma once
// Limits: every bound sluiced puts on what clients may make it hold or do, in one place
// (docs/operations.md, "Limits"). Each is a configuration key — flag, TOML key and SLUICE_*
// variable like every other key (core/config.hpp) — with a default sized for one node with a
// 512 MiB memory budget. The byte budgets left at 0 are derived from `memory_budget` by
// resolved(), so raising the budget alone scales them. Each limit is read by exactly one module
// (named below), so turning one into a live setting later touches that module only.
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

namespace sluice {

inline constexpr std::size_t kKiB = 1024;
inline constexpr std::size_t kMiB = 1024 * kKiB;

struct Limits {
  // The memory the budgets below share (RSS under the attacks of issue 12 stays below it).
  std::size_t memory_budget = 512 * kMiB;

  // ---- HTTP (net::HttpServer)
  std::size_t http_max_connections = 10'000;              // open HTTP, SSE and /ws connections
  std::size_t http_max_connections_per_address = 256;     // the same, from one client address
  std::chrono::milliseconds http_header_timeout{10'000};  // first byte to the end of headers
  std::chrono::milliseconds http_idle_timeout{60'000};    // keep-alive wait; body read
  std::chrono::milliseconds http_write_timeout{30'000};   // a reader taking no byte this long
  std::size_t http_reply_budget = 0;      // bytes of large replies being written; 0: budget / 4
  std::size_t max_event_streams = 1'000;  // open SSE streams plus /ws clients
  std::size_t event_stream_budget = 0;    // bytes queued for SSE and /ws; 0: budget / 8

  // ---- registry (registry::Registry)
  std::size_t max_stream_config_bytes = 64 * kKiB;  // a stream's config and metadata, each
  std::size_t max_stream_types = 1'000;             // custom types (built-ins not counted)
  std::size_t max_streams = 100'000;                // streams in the registry

  // ---- relay (relay::Relay)
  std::size_t relay_max_connections = 10'000;           // wire sessions (TCP, TLS, /wire)
  std::size_t relay_max_connections_per_address = 256;  // the same, from one client address
  std::size_t relay_buffer_max_bytes = 0;  // a subscriber's buffer_bytes; 0: b / 8 in 8..64 MiB
  std::size_t relay_buffer_budget = 0;     // bytes in all subscribers' buffers; 0: budget / 4
  std::size_t relay_partial_budget = 0;    // bytes in all partial messages; 0: budget / 8

  // ---- media (media::MediaServer: RTMP and HTTP-FLV)
  std::size_t media_max_connections_per_address = 64;
  std::chrono::milliseconds rtmp_handshake_timeout{5'000};  // handshake to publish or play
  // Bytes of media access units being reassembled (SRT publishers' PES packets, RTSP publishers'
  // fragmented access units), all connections together; 0: budget / 8.
  std::size_t media_reassembly_budget = 0;

  // These limits with every derived budget filled in (explicitly set ones are kept).
  Limits resolved() const;
  // One line for the start-up log: every resolved value.
  std::string describe() const;
};

struct LimitKey {
  const char* key;
  const char* help;
};
// The configuration keys of Limits, for core/config.cpp.
std::span<const LimitKey> limit_keys();
// Applies `value` to the limit named `key`; false when `key` is not a limit. Throws ConfigError
// for a bad value. Sizes take a B/KiB/MiB/GiB suffix (K, M, G too), durations are seconds.
bool apply_limit(Limits& limits, const std::string& key, const std::string& value);

}  // namespace sluice
