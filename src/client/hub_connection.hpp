#pragma once
// HubConnection — a client of the daemon's event hub over WebSocket (GET /ws).
//
// Protocol (text frames, one JSON object each):
//   client → server  {"op":"sub","sid":S,"subject":P}  → {"op":"ok","sid":S} | {"op":"err",...}
//                    {"op":"unsub","sid":S}
//                    {"op":"pub","subject":X,"data":<json>,"reply":"<optional inbox>"}
//                    {"op":"ping"}                       → {"op":"pong"}
//   server → client  {"op":"hello","version":V} on connect
//                    {"op":"msg","sid":S,"subject":X,"data":<json>,"reply":"<inbox, optional>"}
//                    {"op":"dropped","count":N} when the server dropped messages for us
//
// Threads: the connection owns one I/O thread. Callbacks run on that thread, one at a time;
// they may call publish()/unsubscribe() but must not call subscribe() (it waits for the I/O
// thread) nor destroy the connection. All public methods may be called from any other thread.
// Writes are queued (bounded, kMaxQueuedWrites) and sent one at a time, in call order.
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "client/client.hpp"

namespace sluice::client {

struct HubMessage {
  std::string sid;
  std::string subject;
  boost::json::value data;
  std::optional<std::string> reply;  // set when the sender expects an answer on this inbox
};

class HubConnection {
 public:
  static constexpr std::size_t kMaxQueuedWrites = 1024;

  struct Callbacks {
    // `self` is the connection the message arrived on, e.g. to publish a reply.
    std::function<void(HubConnection& self, const HubMessage&)> on_message;
    std::function<void(std::uint64_t count)> on_dropped;
    // Called once when the connection ends for any reason (including close()).
    std::function<void(const std::string& reason)> on_closed;
  };

  // Connects to <base_url>/ws and waits for the server's hello, all within `timeout`.
  static Result<std::unique_ptr<HubConnection>> open(
      std::string_view base_url, Callbacks callbacks,
      std::chrono::milliseconds timeout = kDefaultTimeout);
  ~HubConnection();  // close()
  HubConnection(const HubConnection&) = delete;
  HubConnection& operator=(const HubConnection&) = delete;

  // Subscribes `sid` to `subject` (wildcards `*` and `>`), waiting for the server's ok/err.
  Status subscribe(const std::string& sid, const std::string& subject,
                   std::chrono::milliseconds timeout = kDefaultTimeout);
  Status unsubscribe(const std::string& sid);
  Status publish(const std::string& subject, boost::json::value data,
                 std::optional<std::string> reply = {});
  Status ping();

  bool is_open() const;
  std::string server_version() const;
  // Ends the connection (close handshake, bounded) and joins the I/O thread. Idempotent.
  // From a callback it only starts the close; the destructor then joins.
  void close();

  struct Impl;

 private:
  explicit HubConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::client
