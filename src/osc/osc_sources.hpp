#pragma once
// Who sends OSC, sans I/O: SourceTable tracks each sender (address:port) that sent a well-formed
// datagram — first and last seen, datagrams, bytes — expires it after a silence, and limits
// each sender's datagrams per second. OscServer owns one on its thread and turns "appeared" and
// "expired" into callbacks (the daemon advertises one `osc` stream per source).
//
// Bounded: at most `max_sources` senders are tracked. A sender beyond that is not tracked (no
// source appears for it) but its datagrams are still admitted, all such senders together
// sharing one rate window of `datagrams_per_second`; a place frees when a tracked sender
// expires, and the next well-formed datagram of an untracked sender takes it.
//
// Not thread-safe: one owner (OscServer's thread). Time comes from the caller, so tests need
// no clock or sleep.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"

namespace sluice::osc {

// A sender of OSC datagrams.
struct OscSource {
  std::string sender;  // "192.0.2.7:57120", "[2001:db8::7]:57120"
  MonoTime first_seen{};
  MonoTime last_seen{};         // its latest well-formed datagram
  std::uint64_t datagrams = 0;  // well-formed ones
  std::uint64_t bytes = 0;
  bool operator==(const OscSource&) const = default;
};

// At most `per_second` events in each one-second window (a window starts at the first event
// after the previous one ended); 0 or less: none at all.
class RateWindow {
 public:
  explicit RateWindow(int per_second = 0) : limit_(per_second) {}
  // True when the event fits the current window (and counts it); false when it is over.
  bool take(MonoTime now);

 private:
  int limit_;
  int used_ = 0;
  std::optional<MonoTime> start_;
};

struct SourceLimits {
  std::size_t max_sources = 256;
  Duration expiry = std::chrono::seconds(30);  // silence after which a source is gone
  int datagrams_per_second = 1000;             // each sender's (and all untracked ones')
};

class SourceTable {
 public:
  explicit SourceTable(SourceLimits limits = {});

  // Whether a datagram from `sender` that arrived at `now` may be read (before parsing it):
  // checked against the sender's own rate window, or the one untracked senders share.
  bool admit(std::string_view sender, MonoTime now);
  // A well-formed datagram of `bytes` from `sender`: updates its source, or starts tracking it
  // when there is room. Returns the source when it has just appeared, nullopt otherwise.
  std::optional<OscSource> record(std::string_view sender, std::size_t bytes, MonoTime now);
  // The sources whose last datagram is `expiry` or more before `now`, removed from the table.
  std::vector<OscSource> expire(MonoTime now);
  // Every source, removed (the server stopping).
  std::vector<OscSource> clear();

  bool tracks(std::string_view sender) const;
  std::size_t size() const { return sources_.size(); }
  // A copy of every source, in no particular order.
  std::vector<OscSource> snapshot() const;

 private:
  struct Entry {
    OscSource source;
    RateWindow window;
  };
  SourceLimits limits_;
  std::unordered_map<std::string, Entry> sources_;
  RateWindow untracked_;
};

}  // namespace sluice::osc
