#include "client/hub_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "client/detail/blocking_io.hpp"
#include "core/json_text.hpp"
#include "core/version.hpp"

namespace sluice::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxMessageBytes = 4u << 20;
constexpr auto kIdleTimeout = std::chrono::seconds(20);  // pings after 10 s of silence

std::string field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

}  // namespace

struct HubConnection::Impl {
  HubConnection* owner = nullptr;  // set before the I/O thread starts
  Callbacks callbacks;
  BaseUrl base;
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer read_buffer;
  std::thread io_thread;

  // I/O thread only.
  std::deque<std::string> write_queue;
  bool writing = false;
  bool close_started = false;

  std::atomic<std::size_t> queued_writes{0};

  mutable std::mutex mutex;  // guards the fields below
  std::condition_variable cv;
  bool open = true;
  bool hello_received = false;
  std::string version;
  std::string close_reason;
  std::map<std::string, std::optional<Status>> pending_acks;

  // --- I/O thread ---

  void start_read() {
    ws.async_read(read_buffer, [this](beast::error_code ec, std::size_t) {
      if (ec)
        return finish(ec == websocket::error::closed ? "closed by server" : detail::describe(ec));
      std::string text = beast::buffers_to_string(read_buffer.data());
      read_buffer.consume(read_buffer.size());
      dispatch(text);
      start_read();
    });
  }

  void dispatch(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return;  // not ours to judge; ignore malformed frames
    const json::object& o = v.as_object();
    const std::string op = field(o, "op");
    if (op == "msg") {
      HubMessage m;
      m.sid = field(o, "sid");
      m.subject = field(o, "subject");
      if (auto it = o.find("data"); it != o.end()) m.data = it->value();
      if (auto it = o.find("reply"); it != o.end() && it->value().is_string()) {
        if (!it->value().as_string().empty()) m.reply = std::string(it->value().as_string());
      }
      if (callbacks.on_message) callbacks.on_message(*owner, m);
    } else if (op == "ok" || op == "err") {
      std::lock_guard lock(mutex);
      auto it = pending_acks.find(field(o, "sid"));
      if (it != pending_acks.end()) {
        if (op == "ok") {
          it->second = Status{};
        } else {
          std::string detail = field(o, "detail");
          it->second = fail(Error{400, detail.empty() ? "subscription refused" : detail, {}});
        }
        cv.notify_all();
      }
    } else if (op == "hello") {
      std::lock_guard lock(mutex);
      hello_received = true;
      version = field(o, "version");
      cv.notify_all();
    } else if (op == "dropped") {
      std::uint64_t count = 0;
      if (auto it = o.find("count"); it != o.end() && it->value().is_number()) {
        count = it->value().to_number<std::uint64_t>();
      }
      if (callbacks.on_dropped) callbacks.on_dropped(count);
    }
  }

  void enqueue(std::string text) {
    if (close_started) {
      --queued_writes;
      return;
    }
    write_queue.push_back(std::move(text));
    if (!writing) start_write();
  }

  void start_write() {
    writing = true;
    ws.text(true);
    ws.async_write(asio::buffer(write_queue.front()), [this](beast::error_code ec, std::size_t) {
      write_queue.pop_front();
      --queued_writes;
      if (ec) return finish(detail::describe(ec));
      if (write_queue.empty()) {
        writing = false;
      } else {
        start_write();
      }
    });
  }

  void start_close() {
    if (close_started) return;
    close_started = true;
    ws.async_close(websocket::close_code::normal,
                   [this](beast::error_code ec) { finish("closed by client"); });
  }

  // Ends the connection once: fails pending subscriptions, tells the owner.
  void finish(const std::string& reason) {
    {
      std::lock_guard lock(mutex);
      if (!open) return;
      open = false;
      close_reason = reason;
      for (auto& [sid, ack] : pending_acks) {
        if (!ack) ack = fail(Error{0, "hub connection closed: " + reason, {}});
      }
      cv.notify_all();
    }
    close_started = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws).socket().close(ignored);
    if (callbacks.on_closed) callbacks.on_closed(reason);
    // Nothing useful is left on the io_context, but the websocket's idle/ping timer may stay
    // armed for seconds; stop so that the I/O thread ends (and close() returns) now.
    ioc.stop();
  }

  // --- any thread ---

  Status send(json::object message) {
    {
      std::lock_guard lock(mutex);
      if (!open) return fail(Error{0, "hub connection closed: " + close_reason, {}});
    }
    if (queued_writes.fetch_add(1) >= kMaxQueuedWrites) {
      --queued_writes;
      return fail(Error{0, "hub connection send queue is full", {}});
    }
    asio::post(ioc, [this, text = to_json_text(message)]() mutable { enqueue(std::move(text)); });
    return {};
  }
};

HubConnection::HubConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HubConnection::~HubConnection() {
  close();
}

Result<std::unique_ptr<HubConnection>> HubConnection::open(std::string_view base_url,
                                                           Callbacks callbacks,
                                                           std::chrono::milliseconds timeout) {
  auto base = parse_base_url(base_url);
  if (!base) return fail(base.error());
  auto impl = std::make_unique<Impl>();
  impl->callbacks = std::move(callbacks);
  impl->base = *base;
  Impl& io = *impl;
  const auto deadline = std::chrono::steady_clock::now() + timeout;

  if (auto ec = detail::connect_stream(io.ioc, beast::get_lowest_layer(io.ws), io.base, deadline)) {
    return fail(detail::connection_error(io.base,
                                         "cannot connect to sluiced hub: " + detail::describe(ec)));
  }
  // The websocket stream has its own timeouts; the tcp_stream's must be off.
  beast::get_lowest_layer(io.ws).expires_never();
  websocket::stream_base::timeout ws_timeout;
  ws_timeout.handshake_timeout = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  if (ws_timeout.handshake_timeout < std::chrono::seconds(1)) {
    ws_timeout.handshake_timeout = std::chrono::seconds(1);
  }
  ws_timeout.idle_timeout = kIdleTimeout;
  ws_timeout.keep_alive_pings = true;
  io.ws.set_option(ws_timeout);
  io.ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "sluice-client/" + std::string(kVersion));
  }));
  io.ws.read_message_max(kMaxMessageBytes);

  beast::error_code handshake_ec;
  io.ws.async_handshake(io.base.host + ":" + io.base.port, io.base.path_prefix + "/ws",
                        [&](beast::error_code ec) { handshake_ec = ec; });
  detail::run_to_completion(io.ioc);
  if (handshake_ec) {
    return fail(detail::connection_error(
        io.base, "WebSocket handshake with sluiced failed: " + detail::describe(handshake_ec)));
  }

  std::unique_ptr<HubConnection> connection(new HubConnection(std::move(impl)));
  io.owner = connection.get();
  io.start_read();
  io.io_thread = std::thread([&io] {
    io.ioc.restart();
    io.ioc.run();
  });
  {
    std::unique_lock lock(io.mutex);
    io.cv.wait_until(lock, deadline, [&] { return io.hello_received || !io.open; });
    if (!io.hello_received) {
      std::string reason = io.open ? "no hello from sluiced within the timeout" : io.close_reason;
      lock.unlock();
      connection->close();
      return fail(detail::connection_error(io.base, "hub connection failed: " + reason));
    }
  }
  return connection;
}

Status HubConnection::subscribe(const std::string& sid, const std::string& subject,
                                std::chrono::milliseconds timeout) {
  Impl& io = *impl_;
  {
    std::lock_guard lock(io.mutex);
    io.pending_acks[sid].reset();
  }
  if (auto sent = io.send(json::object{{"op", "sub"}, {"sid", sid}, {"subject", subject}}); !sent) {
    std::lock_guard lock(io.mutex);
    io.pending_acks.erase(sid);
    return sent;
  }
  std::unique_lock lock(io.mutex);
  const bool answered =
      io.cv.wait_for(lock, timeout, [&] { return io.pending_acks[sid].has_value(); });
  Status result = answered ? *io.pending_acks[sid]
                           : fail(Error{0, "no answer to subscribe '" + subject + "'", {}});
  io.pending_acks.erase(sid);
  return result;
}

Status HubConnection::unsubscribe(const std::string& sid) {
  return impl_->send(json::object{{"op", "unsub"}, {"sid", sid}});
}

Status HubConnection::publish(const std::string& subject, json::value data,
                              std::optional<std::string> reply) {
  json::object message{{"op", "pub"}, {"subject", subject}, {"data", std::move(data)}};
  if (reply) message["reply"] = *reply;
  return impl_->send(std::move(message));
}

Status HubConnection::ping() {
  return impl_->send(json::object{{"op", "ping"}});
}

bool HubConnection::is_open() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->open;
}

std::string HubConnection::server_version() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->version;
}

void HubConnection::close() {
  Impl& io = *impl_;
  if (!io.io_thread.joinable()) return;
  if (std::this_thread::get_id() == io.io_thread.get_id()) {
    io.start_close();
    return;
  }
  asio::post(io.ioc, [&io] { io.start_close(); });
  io.io_thread.join();
}

}  // namespace sluice::client
