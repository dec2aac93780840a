#pragma once
// The C++ client of the relay (docs/protocol.md): one Session is one connection to sluiced (TCP
// or TLS to its wire port, or a WebSocket at `/wire` on its HTTP port) carrying many Streams —
// publishers, subscriptions and requests — with flow control, priorities and reconnection (with
// backoff; streams are re-opened and subscriptions re-established, messages sent meanwhile wait
// within the stream's buffer).
//
// Threading: every method may be called from any thread. Each Session runs one I/O thread;
// subscription callbacks run on it and must not block for long (use receive() otherwise).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "wire/control.hpp"

namespace sluice::client {

struct WireOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;
  std::string client_name = "sluice-cpp";
  // Authentication: a token, or user + password (SCRAM-SHA-256), or neither (anonymous).
  std::string token;  // sent only over TLS unless allow_token_without_tls
  bool allow_token_without_tls = false;
  std::string user;
  std::string password;
  // TLS 1.3: the server's certificate is checked against `ca_file` (or the system store) and
  // `server_name` (default: host) unless verify_peer is false.
  bool tls = false;
  std::string ca_file;
  std::string server_name;
  bool verify_peer = true;
  // WebSocket: binary messages at `websocket_path` on sluiced's HTTP port (`port` is then the
  // HTTP port, 8080 by default). Not with `tls`: the HTTP port has no TLS.
  bool websocket = false;
  std::string websocket_path = "/wire";
  std::chrono::milliseconds connect_timeout{5000};
  bool reconnect = true;
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{5000};
  wire::Settings settings;  // windows and limits this side announces
};

using wire::SubscriptionEvent;

struct Message {
  std::string channel;  // the channel it was published on
  std::string data;
  std::uint64_t sequence = 0;     // per stream, counting dropped messages too
  std::uint64_t gap = 0;          // messages the server dropped just before this one
  std::uint64_t reply_token = 0;  // non-zero: a request; answer with Stream::reply()
};

struct StreamStatistics {
  std::uint32_t stream_id = 0;
  std::uint16_t priority = 500;
  bool active = false;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t gaps = 0;  // messages lost to the server's overflow policy
  std::int64_t send_window = 0;
  std::int64_t receive_window = 0;
  std::optional<std::chrono::nanoseconds> rtt;
};

struct PublishOptions {
  std::uint16_t priority = 500;
  bool keep_last_value = false;
  bool advertise = true;
  std::string stream_type = "data";
  // The channel's metadata: its registry stream's, and what in-process consumers read (a
  // pipeline's relay source takes {"format", "width", "height", "fps"} of raw frames from it).
  boost::json::object metadata;
  std::size_t buffer_bytes = 16 * 1024 * 1024;  // send() blocks while this much is queued
  // The channel's owner (the first publisher) hears about subscriptions that match it — those
  // that existed when it opened, then every change — on the session's I/O thread.
  std::function<void(const SubscriptionEvent&)> on_subscription;
};

struct SubscribeOptions {
  std::uint16_t priority = 500;
  wire::QueueLimits buffer;  // the server-side per-subscriber buffer and overflow policy
  bool last_value = false;
  bool responder = false;
  // A channel matching the subscription was closed by its owner (or the server); the
  // subscription stays and receives again if the channel comes back. On the I/O thread.
  std::function<void(const std::string& channel)> on_channel_closed;
};

class Session;
struct StreamState;

// A handle to one stream; copies refer to the same stream.
class Stream {
 public:
  Stream() = default;
  // Queues one message; blocks while the stream's buffer is full. Fails once closed.
  Status send(std::string_view data);
  // Same as send(): large messages are fragmented and reassembled transparently.
  Status send_all(std::string_view data) { return send(data); }
  // Sends and waits for the number of subscribers that took the message.
  Result<std::size_t> send_acked(std::string_view data,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Next message of a subscription; nullopt on timeout or when the stream is closed.
  std::optional<Message> receive(std::chrono::milliseconds timeout);
  // Answers a request received on a responder subscription.
  Status reply(std::uint64_t token, std::string_view data);
  // Answers it with an error: the requester's request() fails with this status and detail.
  Status reply_error(std::uint64_t token, const Error& error);
  void set_priority(std::uint16_t priority);
  void close();
  bool active() const;
  StreamStatistics statistics() const;
  explicit operator bool() const { return state_ != nullptr; }

 private:
  friend class Session;
  explicit Stream(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}
  std::shared_ptr<StreamState> state_;
};

class Session {
 public:
  // Connects and completes the handshake (fails with the server's reason, or 503 when the
  // server cannot be reached within connect_timeout).
  static Result<std::shared_ptr<Session>> connect(WireOptions options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Result<Stream> publish(std::string_view channel, PublishOptions options = {});
  // Blocking iteration with Stream::receive().
  Result<Stream> subscribe(std::string_view pattern, SubscribeOptions options = {});
  // Callback on the session's I/O thread.
  Result<Stream> subscribe(std::string_view pattern, std::function<void(const Message&)> handler,
                           SubscribeOptions options = {});
  // Answers every request on `channel` with `handler`'s result (on the I/O thread); an Error
  // result reaches the requester as an error with its status and detail.
  Result<Stream> respond(std::string_view channel,
                         std::function<Result<std::string>(const Message&)> handler);
  // One request/reply round trip; not from this session's callbacks (409). 504 on timeout, 503 when
  // nobody answers, 429 when too many requests are in flight, or the responder's error (its status,
  // else 502).
  Result<std::string> request(std::string_view channel, std::string_view data,
                              std::chrono::milliseconds timeout = std::chrono::seconds(5));

  bool connected() const;
  std::uint64_t reconnects() const;
  std::optional<std::chrono::nanoseconds> rtt() const;
  void close();

  struct Impl;

 private:
  explicit Session(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  static Result<Stream> open_stream(Impl& impl, std::shared_ptr<StreamState> s);
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::client
