#pragma once
// Refusals: every time a limit (core/limits.hpp) refuses a connection, a request or a message, or
// ends a client that broke a deadline, it is counted here by kind — /metrics shows
// `sluice_refused_total{kind}` — and logged (warn) at most once a second per kind, with how many
// refusals of that kind the line stands for.
//
// Thread-safe and lock-free: any thread may count. One instance per daemon (owned by the App);
// modules get a pointer, null where nothing is counted (unit tests).
#include <array>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/log_limiter.hpp"

namespace sluice {

enum class Refusal : std::size_t {
  kHttpAcceptFds,               // HTTP accept loop out of file descriptors (EMFILE/ENFILE)
  kRelayAcceptFds,              // relay accept loops likewise
  kMediaAcceptFds,              // RTMP accept loop likewise
  kHttpConnections,             // http-max-connections reached
  kHttpConnectionsPerAddress,   // http-max-connections-per-address reached
  kHttpHeaderTimeout,           // request headers not complete within http-header-timeout
  kHttpWriteTimeout,            // a reader took nothing for http-write-timeout (reply, SSE, /ws)
  kHttpReplyBudget,             // a large reply refused (503): http-reply-budget in flight
  kEventStreams,                // an SSE or /ws client refused: max-event-streams open
  kEventStreamBudget,           // an event not queued for a client: event-stream-budget full
  kStreamConfigSize,            // an advertise whose config/metadata is over max-stream-config
  kStreamTypes,                 // a custom type over max-stream-types
  kStreams,                     // an advertise over max-streams
  kRelayConnections,            // a wire connection over the relay's connection cap
  kRelayConnectionsPerAddress,  // the same, over the cap for one client address
  kRelayBufferBytes,            // a subscription asking for more than relay-buffer-max-bytes
  kRelayBufferBudget,           // a message not queued for a subscriber: relay-buffer-budget full
  kRelayPartialBudget,          // a partial message refused: relay-partial-budget full
  kMediaConnections,            // RTMP/HTTP-FLV: the media server's connection cap
  kMediaConnectionsPerAddress,  // media-max-connections-per-address reached
  kRtmpHandshakeTimeout,        // handshake + connect + publish/play not done in time
  kMediaReassemblyBudget,       // an access unit dropped: media-reassembly-budget full
  kCount
};

// The `kind` label of a refusal in /metrics, e.g. "http_connections_per_address".
std::string_view refusal_name(Refusal kind);

class Refusals {
 public:
  // Counts `n` refusals of `kind`. When a line is due, logs "refused: <what>" with the count
  // since the last line. `describe` (called only then) returns what was refused and why.
  template <std::invocable Describe>
  void count(Refusal kind, Describe&& describe, std::uint64_t n = 1) {
    auto& k = kinds_[static_cast<std::size_t>(kind)];
    k.total.fetch_add(n, std::memory_order_relaxed);
    if (auto due = k.log.event(std::chrono::steady_clock::now(), n)) log(kind, describe(), due);
  }
  void count(Refusal kind, std::string_view what, std::uint64_t n = 1) {
    count(
        kind, [what] { return std::string(what); }, n);
  }
  std::uint64_t total(Refusal kind) const {
    return kinds_[static_cast<std::size_t>(kind)].total.load(std::memory_order_relaxed);
  }

 private:
  static void log(Refusal kind, const std::string& what, std::uint64_t count);
  struct Kind {
    std::atomic<std::uint64_t> total{0};
    LogLimiter log;
  };
  std::array<Kind, static_cast<std::size_t>(Refusal::kCount)> kinds_;
};

}  // namespace sluice
