#pragma once
// Private to src/client: the state behind client::Session and client::Stream (wire_session.cpp,
// wire_stream.cpp). Session::Impl owns the socket (TCP, TLS or WebSocket), the wire::Session and
// every stream's I/O-side state on its one I/O thread; StreamState is shared with user threads
// under its own mutex.
#include "client/wire_session.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "wire/scram.hpp"
#include "wire/session.hpp"
#include "wire/websocket_framing.hpp"

namespace sluice::client {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
namespace flag = wire::flag;

inline constexpr auto kTimerInterval = std::chrono::milliseconds(20);
// send() waits while the hand-off to the I/O thread holds this much payload or this many
// messages (the second keeps a burst of tiny messages within the caches).
inline constexpr std::size_t kHandoffBytes = 1024 * 1024;
inline constexpr std::size_t kHandoffMessages = 8192;
inline constexpr std::uint32_t kCreditBatch = 64 * 1024;
inline constexpr auto kCloseLinger = std::chrono::seconds(2);
struct StreamState {
  wire::OpenRequest open;
  std::weak_ptr<Session::Impl> session;
  std::function<void(const Message&)> handler;
  std::function<Result<std::string>(const Message&)> responder;
  std::function<void(const SubscriptionEvent&)> on_subscription;  // publish streams
  std::function<void(const std::string&)> on_channel_closed;      // subscriptions
  std::size_t buffer_bytes = 16 * 1024 * 1024;

  // I/O thread
  std::uint32_t wire_id = 0;
  std::uint64_t sequence = 0;
  std::deque<std::promise<Result<std::size_t>>> acks;

  // shared
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::pair<Message, std::uint32_t>> inbox;  // message, credit to return
  // Written under `mutex` (waiters use `changed`); atomic so send() can skip the lock while
  // neither is set.
  std::atomic<bool> blocked{false};
  std::atomic<bool> closed{false};
  std::optional<Error> reset_error;  // why the server reset the stream
  std::atomic<std::uint32_t> unreturned{0};
};

// A REPLY (or REPLY|ERROR, "<status> <reason>") answering `token`.
inline wire::OutMessage reply_message(std::uint64_t token, const Result<std::string>& answer) {
  wire::OutMessage out = answer ? wire::copy_message(*answer)
                                : wire::copy_message(wire::error_reply_body(answer.error().status,
                                                                            answer.error().detail));
  out.flags = answer ? flag::kReply : flag::kReply | flag::kError;
  out.token = token;
  return out;
}

struct Session::Impl final : wire::SessionEvents, std::enable_shared_from_this<Session::Impl> {
  explicit Impl(WireOptions o) : options(std::move(o)), backoff(options.reconnect_initial) {}

  WireOptions options;
  asio::io_context io{1};
  std::thread thread;
  using TlsStream = asio::ssl::stream<tcp::socket>;
  using WsStream = websocket::stream<tcp::socket>;
  std::unique_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<TlsStream> stream;  // TCP and TLS; plain TCP uses stream->next_layer()
  std::unique_ptr<WsStream> ws;       // options.websocket instead of `stream`
  websocket::response_type ws_response;
  tcp::socket& socket() { return ws ? ws->next_layer() : stream->next_layer(); }
  bool has_socket() const { return ws || stream; }
  asio::steady_timer connect_timer{io};
  asio::steady_timer tick_timer{io};
  std::unique_ptr<wire::Session> core;
  std::unique_ptr<wire::scram::ClientExchange> scram;
  std::vector<asio::const_buffer> buffers;
  std::vector<asio::const_buffer> message;  // WebSocket: the part of `buffers` being written
  std::size_t message_offset = 0;
  std::size_t message_total = 0;
  bool writing = false;
  std::chrono::milliseconds backoff;

  std::atomic<bool> is_connected{false};
  std::atomic<bool> closing{false};
  std::atomic<std::uint64_t> reconnect_count{0};
  std::atomic<std::int64_t> rtt_ns{-1};
  std::promise<Status> first_connect;
  bool first_done = false;

  std::vector<std::shared_ptr<StreamState>> streams;
  std::unordered_map<std::uint32_t, std::shared_ptr<StreamState>> by_wire;
  // By channel and timeout (see Session::request).
  std::unordered_map<std::string, std::shared_ptr<StreamState>> request_streams;
  std::unordered_map<std::uint64_t, std::shared_ptr<std::promise<Result<std::string>>>> requests;
  std::atomic<std::uint64_t> next_token{1};  // request tokens, taken by user threads
  // Messages sent while offline, for the next connection; a stream blocks its sender once its
  // held bytes reach its buffer_bytes.
  std::deque<std::pair<std::shared_ptr<StreamState>, wire::OutMessage>> held;
  std::unordered_map<StreamState*, std::size_t> held_bytes;

  std::mutex handoff_mutex;
  std::condition_variable handoff_room;
  // Messages from user threads, in order. `stream` stays valid while the batch is alive:
  // `handoff_keep` holds a reference for every run of entries of one stream, so a long run of
  // sends on one stream costs no reference-count traffic per message.
  struct HandoffEntry {
    StreamState* stream;
    wire::OutMessage message;
  };
  struct HandoffBatch {
    std::vector<HandoffEntry> entries;
    std::vector<std::shared_ptr<StreamState>> keep;
  };
  HandoffBatch handoff;
  std::size_t handoff_bytes = 0;
  bool drain_posted = false;
  HandoffBatch draining;  // I/O thread: the batch being sent

  // ------------------------------------------------------------------ any thread
  bool on_io_thread() { return io.get_executor().running_in_this_thread(); }

  // Runs fn on the I/O thread and waits for it (inline when already there, e.g. when a
  // callback opens a stream).
  template <class Fn>
  auto call(Fn fn) -> decltype(fn()) {
    if (on_io_thread()) return fn();
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io, [&task] { task(); });
    return f.get();
  }

  void hand_off(const std::shared_ptr<StreamState>& s, wire::OutMessage m) {
    std::unique_lock lock(handoff_mutex);
    handoff_room.wait(lock, [&] {
      return (handoff_bytes < kHandoffBytes && handoff.entries.size() < kHandoffMessages) ||
             closing;
    });
    handoff_bytes += m.bytes().size();
    if (handoff.entries.empty() || handoff.entries.back().stream != s.get()) {
      handoff.keep.push_back(s);
    }
    handoff.entries.push_back({s.get(), std::move(m)});
    if (!drain_posted) {
      drain_posted = true;
      asio::post(io, [self = shared_from_this()] { self->drain(); });
    }
  }

  // ------------------------------------------------------------------ I/O thread
  void drain() {
    {
      std::lock_guard lock(handoff_mutex);
      std::swap(draining, handoff);
      handoff_bytes = 0;
      drain_posted = false;
    }
    handoff_room.notify_all();
    std::size_t keep = 0;
    for (std::size_t i = 0; i < draining.entries.size(); ++i) {
      auto& e = draining.entries[i];
      if (i > 0 && draining.entries[i - 1].stream != e.stream) ++keep;
      send_now(draining.keep[keep], std::move(e.message));
    }
    // Cleared, not freed: the two batches swap back and forth with their capacity.
    draining.entries.clear();
    draining.keep.clear();
    flush();
  }

  void send_now(const std::shared_ptr<StreamState>& s, wire::OutMessage m) {
    if (!core || !core->established() || s->wire_id == 0) {
      auto& bytes = held_bytes[s.get()];
      bytes += m.bytes().size();
      held.emplace_back(s, std::move(m));
      if (bytes >= s->buffer_bytes) {
        std::lock_guard lock(s->mutex);
        s->blocked = true;
      }
      return;
    }
    if (core->send(s->wire_id, std::move(m)) == wire::SendQueue::Offer::kQueuedOverLimit) {
      std::lock_guard lock(s->mutex);
      s->blocked = true;
    }
  }

  void start_connect() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options.host, ec);
    std::vector<tcp::endpoint> endpoints;
    if (!ec) {
      endpoints.emplace_back(address, options.port);
    } else {
      tcp::resolver resolver(io);
      for (const auto& r : resolver.resolve(options.host, std::to_string(options.port), ec))
        endpoints.push_back(r.endpoint());
      if (ec || endpoints.empty()) return connect_failed("cannot resolve " + options.host);
    }
    if (options.tls && !tls_context) {
      tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      SSL_CTX_set_min_proto_version(tls_context->native_handle(), TLS1_3_VERSION);
      boost::system::error_code e;
      if (!options.ca_file.empty()) {
        tls_context->load_verify_file(options.ca_file, e);
      } else {
        tls_context->set_default_verify_paths(e);
      }
      if (e) return connect_failed("cannot load CA certificates: " + e.message());
      tls_context->set_verify_mode(options.verify_peer ? asio::ssl::verify_peer
                                                       : asio::ssl::verify_none);
    }
    if (options.websocket) {
      stream.reset();
      ws = std::make_unique<WsStream>(io);
    } else {
      if (!tls_context)
        tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      stream = std::make_unique<TlsStream>(io, *tls_context);
    }
    if (options.tls) {
      std::string name = options.server_name.empty() ? options.host : options.server_name;
      SSL_set_tlsext_host_name(stream->native_handle(), name.c_str());
      if (options.verify_peer) stream->set_verify_callback(asio::ssl::host_name_verification(name));
    }
    connect_timer.expires_after(options.connect_timeout);
    connect_timer.async_wait([this, self = shared_from_this()](boost::system::error_code e) {
      if (!e && !is_connected && has_socket()) socket().close();
    });
    asio::async_connect(
        socket(), endpoints,
        [this, self = shared_from_this()](boost::system::error_code e, const tcp::endpoint&) {
          if (e) {
            return connect_failed("cannot connect to " + options.host + ":" +
                                  std::to_string(options.port) + ": " + e.message());
          }
          on_connected();
        });
  }

  void on_connected() {
    boost::system::error_code ec;
    socket().set_option(tcp::no_delay(true), ec);
    // Unsent data stays in the session, where priorities can reorder it (wire::Session).
    socket().set_option(asio::detail::socket_option::integer<IPPROTO_TCP, TCP_NOTSENT_LOWAT>(
                            wire::kUnsentLowWatermark),
                        ec);
    if (options.tls) {
      stream->async_handshake(asio::ssl::stream_base::client, [this, self = shared_from_this()](
                                                                  boost::system::error_code e) {
        if (e) {
          return connect_failed("TLS handshake with " + options.host + " failed: " + e.message());
        }
        start_session();
      });
      return;
    }
    if (options.websocket) return websocket_handshake();
    start_session();
  }

  // The upgrade to binary WebSocket messages at options.websocket_path (within connect_timeout).
  void websocket_handshake() {
    ws->set_option(websocket::stream_base::timeout{options.connect_timeout,
                                                   websocket::stream_base::none(), false});
    ws->set_option(websocket::stream_base::decorator(
        [name = options.client_name](websocket::request_type& req) {
          req.set(boost::beast::http::field::user_agent, name);
        }));
    ws->binary(true);
    ws->auto_fragment(false);
    ws->read_message_max(wire::kMaxWebSocketMessage);
    ws->write_buffer_bytes(64 * 1024);  // masking goes through this buffer: fewer, larger writes
    const bool v6 = options.host.find(':') != std::string::npos;
    std::string host =
        (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
    ws_response = {};
    ws->async_handshake(ws_response, host, options.websocket_path,
                        [this, self = shared_from_this(), host](boost::system::error_code e) {
                          if (e) {
                            std::string why = "WebSocket handshake with " + host +
                                              options.websocket_path + " failed: " + e.message();
                            if (e == websocket::error::upgrade_declined) {
                              why += " (HTTP " + std::to_string(ws_response.result_int()) + " " +
                                     ws_response.body().substr(0, 200) + ")";
                            }
                            return connect_failed(std::move(why));
                          }
                          start_session();
                        });
  }

  void start_session() {
    wire::SessionOptions so;
    so.local = options.settings;
    so.manual_credit = true;
    core = std::make_unique<wire::Session>(wire::Side::kClient, so, *this,
                                           std::chrono::steady_clock::now());
    wire::Hello hello;
    hello.client = options.client_name;
    if (!options.token.empty()) {
      hello.mechanism = "token";
      hello.token = options.token;
    } else if (!options.user.empty()) {
      hello.mechanism = "SCRAM-SHA-256";
      scram = std::make_unique<wire::scram::ClientExchange>(options.user, options.password);
      hello.auth_data = scram->client_first();
    }
    core->start(hello);
    read();
    flush();
  }

  void connect_failed(std::string why) {
    if (closing) return;
    if (!first_done) {
      first_done = true;
      first_connect.set_value(fail(Error::unavailable(std::move(why))));
      return;
    }
    schedule_reconnect();
  }

  void schedule_reconnect() {
    if (closing || !options.reconnect) return;
    connect_timer.expires_after(backoff);
    backoff = std::min(backoff * 2, options.reconnect_max);
    connect_timer.async_wait([this, self = shared_from_this()](boost::system::error_code e) {
      if (!e && !closing) start_connect();
    });
  }

  void read() {
    auto space = core->input_space();
    auto on_read = [this, self = shared_from_this(), c = core.get()](boost::system::error_code ec,
                                                                     std::size_t n) {
      if (c != core.get()) return;
      if (ec) return disconnected("connection lost: " + ec.message());
      if (ws && ws->got_text()) return disconnected("the server sent a text WebSocket message");
      core->commit_input(n, std::chrono::steady_clock::now());
      flush();
      if (core && !core->closing()) read();
    };
    auto buffer = asio::buffer(space.data(), space.size());
    if (ws) return ws->async_read_some(buffer, std::move(on_read));
    if (options.tls) return stream->async_read_some(buffer, std::move(on_read));
    socket().async_read_some(buffer, std::move(on_read));
  }

  void flush() {
    if (!core || writing) return;
    auto batch = core->prepare_output(std::chrono::steady_clock::now());
    if (batch.empty()) {
      if (core->done()) disconnected("session closed");
      return;
    }
    buffers.clear();
    for (auto b : batch)
      buffers.emplace_back(b.data(), b.size());
    writing = true;
    if (ws) {
      message_total = asio::buffer_size(buffers);
      message_offset = 0;
      return write_message();
    }
    auto on_written = [this, self = shared_from_this(), c = core.get()](
                          boost::system::error_code ec, std::size_t) { written(ec, c); };
    if (options.tls) return asio::async_write(*stream, buffers, std::move(on_written));
    asio::async_write(socket(), buffers, std::move(on_written));
  }

  // WebSocket: the next binary message of the batch, at most wire::kMaxWebSocketMessage bytes.
  void write_message() {
    const std::size_t n =
        wire::slice_buffers(buffers, message_offset, wire::kMaxWebSocketMessage, message);
    ws->async_write(message, [this, self = shared_from_this(), c = core.get(), n](
                                 boost::system::error_code ec, std::size_t) {
      if (c == core.get() && !ec && (message_offset += n) < message_total) return write_message();
      written(ec, c);
    });
  }

  // The batch in `buffers` was written by session `c` (or failed).
  void written(boost::system::error_code ec, wire::Session* c) {
    if (c != core.get()) return;  // disconnected() already reset `writing` for that session
    writing = false;
    core->output_written();
    if (ec) return disconnected("connection lost: " + ec.message());
    flush();
  }

  // The connection is over (socket error, GOAWAY flushed, lease expired).
  void disconnected(const std::string& why) {
    if (!core) return;
    bool was_established = core->established() || is_connected;
    core.reset();
    writing = false;
    is_connected = false;
    boost::system::error_code ec;
    if (has_socket()) socket().close(ec);
    by_wire.clear();
    request_streams.clear();
    for (auto& s : streams)
      s->wire_id = 0;
    fail_requests(Error::unavailable(why));
    if (!first_done) {
      first_done = true;
      first_connect.set_value(fail(Error::unavailable(why)));
      return;
    }
    if (was_established) reconnect_count++;
    if (!options.reconnect) {  // no second connection: every stream ends, saying why
      for (auto& st : streams) {
        {
          std::lock_guard lock(st->mutex);
          if (!st->reset_error) st->reset_error = Error::unavailable(why);
          st->closed = true;
        }
        st->changed.notify_all();
      }
    }
    schedule_reconnect();
  }

  void linger_then_stop(std::chrono::steady_clock::time_point deadline);

  void fail_requests(const Error& e) {
    for (auto& [token, p] : requests)
      p->set_value(fail(e));
    requests.clear();
    for (auto& s : streams) {
      for (auto& a : s->acks)
        a.set_value(fail(e));
      s->acks.clear();
    }
  }

  void tick() {
    tick_timer.expires_after(kTimerInterval);
    tick_timer.async_wait([this, self = shared_from_this()](boost::system::error_code ec) {
      if (ec || closing) return;
      if (core) {
        core->on_timer(std::chrono::steady_clock::now());
        if (auto r = core->rtt()) rtt_ns = r->count();
        flush();
      }
      tick();
    });
  }

  Result<std::uint32_t> open_now(const std::shared_ptr<StreamState>& s) {
    if (!core || !core->established()) return fail(Error::unavailable("not connected"));
    auto id = core->open_stream(s->open);
    if (!id) return fail(id.error());
    wire::QueueLimits limits;
    limits.max_messages = 1'000'000;
    limits.max_bytes = s->buffer_bytes;
    limits.policy = wire::OverflowPolicy::kBlock;
    core->accept_stream(*id, s->open.priority, limits);
    s->wire_id = *id;
    by_wire[*id] = s;
    flush();
    return *id;
  }

  // ------------------------------------------------------------------ SessionEvents
  wire::HandshakeStep on_auth(std::string_view data) override {
    if (!scram) return wire::HandshakeStep::reject("unexpected AUTH");
    auto next = scram->handle_server_first(data);
    if (!next) return wire::HandshakeStep::reject(next.error().detail);
    return wire::HandshakeStep::next(*next);
  }

  Status on_welcome(const wire::Welcome& w) override {
    if (scram) return scram->verify_server_final(w.auth_data);
    return {};
  }

  void on_established() override {
    is_connected = true;
    backoff = options.reconnect_initial;
    for (auto& s : streams) {
      bool closed;
      {
        std::lock_guard lock(s->mutex);
        closed = s->closed;
      }
      if (!closed) (void)open_now(s);
    }
    // Whatever blocked a sender belonged to the old connection (its queue is gone) or to the
    // held messages, which go now: every sender may go on unless the new queue fills again.
    for (auto& s : streams) {
      {
        std::lock_guard lock(s->mutex);
        s->blocked = false;
      }
      s->changed.notify_all();
    }
    auto waiting = std::move(held);
    held.clear();
    held_bytes.clear();
    for (auto& [s, m] : waiting)
      send_now(s, std::move(m));
    if (!first_done) {
      first_done = true;
      first_connect.set_value({});
    }
  }

  void on_message(const wire::InboundMessage& m) override {
    auto it = by_wire.find(m.stream);
    if (it == by_wire.end()) return core->consume(m.stream, m.credit);
    auto s = it->second;
    if (s->open.role == wire::Role::kRequest) {
      core->consume(m.stream, m.credit);
      auto r = requests.find(m.token);
      if (r == requests.end()) return;
      if (m.flags & flag::kError) {
        r->second->set_value(fail(wire::parse_error_reply(m.body)));
      } else {
        r->second->set_value(std::string(m.body));
      }
      requests.erase(r);
      return;
    }
    Message msg;
    msg.channel = m.subject.empty() ? s->open.channel : std::string(m.subject);
    msg.data.assign(m.body);
    s->sequence += 1 + m.gap;
    msg.sequence = s->sequence;
    msg.gap = m.gap;
    if (m.flags & flag::kRequest) msg.reply_token = m.token;
    if (s->responder) {
      auto answer = s->responder(msg);
      core->consume(m.stream, m.credit);
      if (msg.reply_token) {
        core->send(m.stream, reply_message(msg.reply_token, answer));
      }
      return;
    }
    if (s->handler) {
      s->handler(msg);
      core->consume(m.stream, m.credit);
      return;
    }
    {
      std::lock_guard lock(s->mutex);
      s->inbox.emplace_back(std::move(msg), m.credit);
    }
    s->changed.notify_one();
  }

  void on_event(std::uint32_t stream, std::string_view json) override {
    auto it = by_wire.find(stream);
    if (it == by_wire.end()) return;
    const auto& s = *it->second;
    if (s.on_subscription) {
      if (auto e = wire::decode_subscription_event(json)) s.on_subscription(*e);
    } else if (s.on_channel_closed) {
      if (auto channel = wire::decode_closed_event(json)) s.on_channel_closed(*channel);
    }
  }

  void on_ack(std::uint32_t stream, std::uint64_t delivered) override {
    auto it = by_wire.find(stream);
    if (it == by_wire.end() || it->second->acks.empty()) return;
    it->second->acks.front().set_value(static_cast<std::size_t>(delivered));
    it->second->acks.pop_front();
  }

  void on_drained(std::uint32_t stream) override {
    auto it = by_wire.find(stream);
    if (it == by_wire.end()) return;
    {
      std::lock_guard lock(it->second->mutex);
      it->second->blocked = false;
    }
    it->second->changed.notify_all();
  }

  void on_reset(std::uint32_t stream, wire::ErrorCode code, std::string_view reason,
                bool by_peer) override {
    auto it = by_wire.find(stream);
    if (it == by_wire.end()) return;
    auto s = it->second;
    by_wire.erase(it);
    s->wire_id = 0;
    Error error{code == wire::ErrorCode::kNotFound    ? 404
                : code == wire::ErrorCode::kForbidden ? 403
                : code == wire::ErrorCode::kInvalid   ? 422
                                                      : 409,
                std::string(wire::to_string(code)) + ": " + std::string(reason),
                {}};
    for (auto& a : s->acks)
      a.set_value(fail(error));
    s->acks.clear();
    {
      std::lock_guard lock(s->mutex);
      s->closed = true;
      s->reset_error = error;
    }
    s->changed.notify_all();
    std::erase(streams, s);
  }

  void on_closed(wire::ErrorCode code, std::string_view reason, bool by_peer) override {
    if (!first_done && code == wire::ErrorCode::kAuthFailed) {
      first_done = true;
      first_connect.set_value(fail(Error{401, std::string(reason), {}}));
      options.reconnect = false;
    } else if (code == wire::ErrorCode::kAuthFailed) {
      options.reconnect = false;  // retrying with the same credentials cannot succeed
    }
    asio::post(io, [this, self = shared_from_this()] { flush(); });
  }
};

}  // namespace sluice::client
