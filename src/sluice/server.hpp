#pragma once
// sluice::Server — the sluice daemon as a library. A C++ program hosts the registry, the HTTP
// API and the relay in-process, owns channels, pushes into them and answers client streams and
// requests (the Conduit server experience). `sluiced` is a thin main() around this class.
//
//   sluice::Server server;                       // embedded defaults (see Config)
//   server.start();                              // binds, serves on background threads
//   server.create_channel("sensors.temp");
//   server.push("sensors.temp", "21.5");         // -> number of subscribers that took it
//   server.on_client_stream("frames.>", [](const sluice::ClientMessage& m) { ... });
//   server.handle("math.add", [](const sluice::ClientMessage& m) { return answer(m.data); });
//   server.wait();                               // until stop() (e.g. from a signal thread)
//
// Threading: every method may be called from any thread, including from inside a handler.
// Handlers run on the relay thread, one at a time, and must not block for long. The relay
// methods wait for the relay thread (a few microseconds when idle). stop() and wait() must not
// be called from a handler. Errors: the constructor and start() throw std::exception for
// start-up failures (unreadable or invalid files, port taken); the rest return Status/Result
// and never throw.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "relay/channel_directory.hpp"

namespace sluice {

namespace server {
class App;
}

using relay::ChannelInfo;
using relay::ChannelOptions;

struct ClientMessage {
  std::string_view client;   // the relay session id of the client that sent it
  std::string_view channel;  // the channel it was published (or requested) on
  std::string_view data;
};
using ClientStreamHandler = std::function<void(const ClientMessage&)>;
// Returns the reply's bytes, or an Error whose detail the requester receives as an error reply
// (client::Session::request() then fails with status 502 and that detail).
using RequestHandler = std::function<Result<std::string>(const ClientMessage&)>;
// `subscriber` is the relay session id; `subscribed` false on unsubscribe or disconnect.
using SubscriptionHandler = std::function<void(std::string_view subscriber, bool subscribed)>;

class Server {
 public:
  // Embedded defaults: HTTP 0.0.0.0:8080, relay 0.0.0.0:7070, history in the data dir.
  Server();
  explicit Server(Config config);
  ~Server();  // stops and joins
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener and starts serving on background threads. Throws on failure.
  void start();
  // Blocks until stop() has completed; returns at once when the server is not running.
  void wait();
  // GOAWAY to wire sessions, closes connections, joins the threads, drops the handlers.
  // Idempotent; a concurrent caller returns once the first one has finished.
  void stop();

  std::uint16_t http_port() const;
  std::uint16_t wire_port() const;
  std::uint16_t wire_tls_port() const;  // 0 without tls-cert

  // ---- channels
  // Creates a server-owned channel (or takes over an existing one); advertised in the registry
  // unless options.advertise is false. 422 for an invalid name.
  Status create_channel(const std::string& name, ChannelOptions options = {});
  // Publishes on `channel` (created or not); returns how many subscribers took the message.
  Result<std::size_t> push(std::string_view channel, std::string_view data);
  // Marks the channel closed: subscribers get a "closed" event, the registry entry goes.
  Status close_channel(std::string_view name);
  std::vector<ChannelInfo> channels();  // empty once the server is stopping
  Result<ChannelInfo> channel(std::string_view name);

  // ---- handlers (kept until stop(); what they capture must stay valid until then — clients
  // disconnecting during shutdown still produce unsubscribe calls)
  // Messages clients publish on channels matching `pattern` ("*" one token, ">" the rest).
  Status on_client_stream(std::string_view pattern, ClientStreamHandler handler);
  // Requests on `method` (a channel name) answered by `handler`; clients call it with
  // Session::request(method, data).
  Status handle(std::string_view method, RequestHandler handler);
  // Subscribe/unsubscribe notifications for subscriptions that match `channel` (whether the
  // channel exists or not): first one call per subscription that already exists, then changes.
  void on_subscription(const std::string& channel, SubscriptionHandler handler);

  // The daemon's modules, for programs that need more (tests, sluiced).
  server::App& app();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
