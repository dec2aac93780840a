#pragma once
// Session and subscriber history: one row per session from start to end, kept after the live
// record is gone. Implementations are thread-safe; writes are synchronous so a query right after
// an event sees it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "registry/model.hpp"

namespace sluice::registry {

struct HistoryQuery {
  std::optional<std::string> stream_id;
  std::optional<std::string> publisher_id;
  std::optional<std::string> consumer_id;
  std::optional<std::string> status;
  std::optional<WallTime> since;  // sessions started at or after
  std::optional<WallTime> until;  // sessions started before
  int offset = 0;
  int limit = 50;
};

class History {
 public:
  virtual ~History() = default;
  virtual void session_started(const SessionRecord& session) = 0;
  virtual void session_bytes(const std::string& session_id, std::int64_t bytes) = 0;
  // status: "stopped" (explicit stop or stream withdrawn) or "expired".
  virtual void session_ended(const SessionRecord& session, const std::string& status,
                             WallTime ended_at) = 0;
  virtual void subscriber_joined(const SubscriberRecord& subscriber) = 0;
  virtual void subscriber_left(const SubscriberRecord& subscriber, const std::string& status,
                               WallTime left_at) = 0;
  // Newest first.
  virtual Result<std::vector<SessionHistoryRow>> query_sessions(const HistoryQuery& query) = 0;
  // Empty when healthy, otherwise what is wrong (for /health).
  virtual std::string problem() const = 0;

  // For a history no other node shares (the embedded one): remembers when open sessions and
  // subscribers were last heard (called every few seconds with the live records), and at start
  // closes what a previous run left open — a crash, or records alive at shutdown — with status
  // "interrupted" and the end at the last heartbeat seen. Returns how many rows it closed.
  virtual void records_seen(const std::vector<SessionRecord>&,
                            const std::vector<SubscriberRecord>&) {}
  virtual Result<std::size_t> close_interrupted() { return std::size_t{0}; }
};

}  // namespace sluice::registry
