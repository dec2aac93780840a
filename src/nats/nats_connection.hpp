#pragma once
// The libnats C API behind a small C++ face: one connection to a NATS cluster that connects in
// the background, reconnects forever with backoff and carries subscriptions and publications.
//
// Threads: every method may be called from any thread. Message handlers and the connection
// callbacks run on libnats' threads (one shared delivery thread for messages); they must not
// block. After shutdown() (or the destructor) returns, none of them runs any more.
#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::nats {

struct IncomingMessage {
  std::string_view subject;
  std::string_view reply;  // empty unless the sender expects an answer
  std::string_view data;
  bool no_responders = false;  // the server's "503 no responders" answer to our request
};
using MessageHandler = std::function<void(const IncomingMessage&)>;

struct ConnectionOptions {
  std::vector<std::string> servers;  // nats://[user:pass@]host[:port]
  std::string name = "sluiced";
  bool no_echo = true;  // never receive our own publications
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reconnect_wait_min{250};  // doubled per failed round, up to max
  std::chrono::milliseconds reconnect_wait_max{2000};
  std::chrono::milliseconds ping_interval{5000};  // a silent server is dropped after 2 pings
  // Called on a libnats thread each time the connection is established or lost. May be empty.
  std::function<void()> on_connected;
  std::function<void()> on_disconnected;
};

class NatsConnection {
 public:
  // Starts connecting; an unreachable server is not an error (see connected()/last_error()).
  explicit NatsConnection(ConnectionOptions options);
  ~NatsConnection();
  NatsConnection(const NatsConnection&) = delete;
  NatsConnection& operator=(const NatsConnection&) = delete;

  // Stops every callback (waiting for running ones), then closes the connection. Idempotent.
  void shutdown();

  bool connected() const;
  // Why the connection is not established (libnats' last error), or "" when nothing is known.
  std::string last_error() const;
  // A fresh "_INBOX.<nuid>" subject.
  static std::string new_inbox();

  // Unsubscribes when destroyed or reset(); must not outlive its NatsConnection.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription();
    void reset();
    explicit operator bool() const { return handle_ != nullptr; }

   private:
    friend class NatsConnection;
    explicit Subscription(void* handle) : handle_(handle) {}
    void* handle_ = nullptr;  // natsSubscription*
  };

  // `queue` non-empty: one member of the queue group gets each message. Subscriptions made
  // while disconnected are sent when the connection comes up. Fails with libnats' reason.
  std::expected<Subscription, std::string> subscribe(const std::string& subject,
                                                     const std::string& queue,
                                                     MessageHandler handler);

  // Hands the message to libnats' buffer (never waits for the network). False when not
  // connected (nothing is buffered for later) or when libnats refused it.
  bool publish(std::string_view subject, std::string_view data, std::string_view reply = {});

  struct State;  // shared with libnats' callbacks (nats_connection.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sluice::nats
