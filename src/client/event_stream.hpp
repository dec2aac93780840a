#pragma once
// EventStream — a blocking reader of a Server-Sent Events endpoint of the daemon
// (GET /streams/events?subject=PATTERN, GET /streams/{id}/preview).
//
// Threads: run() blocks the calling thread and invokes on_event on it; stop() may be called
// from any thread (including on_event, or a signal-watching thread) and makes run() return
// promptly. One run() at a time per EventStream; after stop() the object is spent.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "client/client.hpp"

namespace sluice::client {

struct ServerSentEvent {
  std::string event;  // "event:" field; empty means the default "message"
  std::string data;   // "data:" lines joined with '\n'
  std::string id;     // "id:" field
};

// Incremental SSE text parser (no I/O): feed bytes, get complete events.
class SseParser {
 public:
  void feed(std::string_view bytes, const std::function<void(const ServerSentEvent&)>& on_event);

 private:
  void line(std::string_view text, const std::function<void(const ServerSentEvent&)>& on_event);
  std::string partial_line_;
  ServerSentEvent current_;
  bool has_data_ = false;
};

// "/streams/events?subject=<pattern, url-encoded>".
std::string events_target(std::string_view subject_pattern);

class EventStream {
 public:
  explicit EventStream(std::string base_url = std::string(kDefaultBaseUrl));
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Connects (within `connect_timeout`), sends GET `target` and delivers events until the
  // server ends the stream or stop() is called — both return success — or the connection
  // fails (status-0 error) or the server answers non-200 (error with its status and detail).
  Status run(std::string_view target, const std::function<void(const ServerSentEvent&)>& on_event,
             std::chrono::milliseconds connect_timeout = kDefaultTimeout);
  void stop();

  struct Impl;

 private:
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::client
