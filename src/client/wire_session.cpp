#include "client/wire_session.hpp"

#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "wire/scram.hpp"
#include "wire/session.hpp"

namespace sluice::client {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace flag = wire::flag;

namespace {
constexpr auto kTimerInterval = std::chrono::milliseconds(20);
constexpr std::size_t kHandoffBytes = 8 * 1024 * 1024;
constexpr std::uint32_t kCreditBatch = 64 * 1024;
constexpr auto kCloseLinger = std::chrono::seconds(2);
}  // namespace

struct StreamState {
  wire::OpenRequest open;
  std::weak_ptr<Session::Impl> session;
  std::function<void(const Message&)> handler;
  std::function<std::string(const Message&)> responder;
  std::size_t buffer_bytes = 16 * 1024 * 1024;

  // I/O thread
  std::uint32_t wire_id = 0;
  std::uint64_t sequence = 0;
  std::deque<std::promise<Result<std::size_t>>> acks;

  // shared
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::pair<Message, std::uint32_t>> inbox;  // message, credit to return
  bool blocked = false;
  bool closed = false;
  std::optional<Error> reset_error;  // why the server reset the stream
  std::atomic<std::uint32_t> unreturned{0};
};

struct Session::Impl final : wire::SessionEvents, std::enable_shared_from_this<Session::Impl> {
  explicit Impl(WireOptions o) : options(std::move(o)), backoff(options.reconnect_initial) {}

  WireOptions options;
  asio::io_context io{1};
  std::thread thread;
  using TlsStream = asio::ssl::stream<tcp::socket>;
  std::unique_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<TlsStream> stream;  // plain TCP uses stream->next_layer()
  tcp::socket& socket() { return stream->next_layer(); }
  asio::steady_timer connect_timer{io};
  asio::steady_timer tick_timer{io};
  std::unique_ptr<wire::Session> core;
  std::unique_ptr<wire::scram::ClientExchange> scram;
  std::vector<asio::const_buffer> buffers;
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
  std::unordered_map<std::string, std::shared_ptr<StreamState>> request_streams;
  std::unordered_map<std::uint64_t, std::shared_ptr<std::promise<Result<std::string>>>> requests;
  std::uint64_t next_token = 1;
  std::deque<std::pair<std::shared_ptr<StreamState>, wire::OutMessage>> held;  // while offline

  std::mutex handoff_mutex;
  std::condition_variable handoff_room;
  std::vector<std::pair<std::shared_ptr<StreamState>, wire::OutMessage>> handoff;
  std::size_t handoff_bytes = 0;
  bool drain_posted = false;

  // ------------------------------------------------------------------ any thread
  template <class Fn>
  auto call(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io, [&task] { task(); });
    return f.get();
  }

  void hand_off(const std::shared_ptr<StreamState>& s, wire::OutMessage m) {
    std::unique_lock lock(handoff_mutex);
    handoff_room.wait(lock, [&] { return handoff_bytes < kHandoffBytes || closing; });
    handoff_bytes += m.bytes().size();
    handoff.emplace_back(s, std::move(m));
    if (!drain_posted) {
      drain_posted = true;
      asio::post(io, [self = shared_from_this()] { self->drain(); });
    }
  }

  // ------------------------------------------------------------------ I/O thread
  void drain() {
    std::vector<std::pair<std::shared_ptr<StreamState>, wire::OutMessage>> batch;
    {
      std::lock_guard lock(handoff_mutex);
      batch.swap(handoff);
      handoff_bytes = 0;
      drain_posted = false;
    }
    handoff_room.notify_all();
    for (auto& [s, m] : batch)
      send_now(s, std::move(m));
    flush();
  }

  void send_now(const std::shared_ptr<StreamState>& s, wire::OutMessage m) {
    if (!core || !core->established() || s->wire_id == 0) {
      held.emplace_back(s, std::move(m));
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
    if (!tls_context)
      tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    stream = std::make_unique<TlsStream>(io, *tls_context);
    if (options.tls) {
      std::string name = options.server_name.empty() ? options.host : options.server_name;
      SSL_set_tlsext_host_name(stream->native_handle(), name.c_str());
      if (options.verify_peer) stream->set_verify_callback(asio::ssl::host_name_verification(name));
    }
    connect_timer.expires_after(options.connect_timeout);
    connect_timer.async_wait([this, self = shared_from_this()](boost::system::error_code e) {
      if (!e && !is_connected && stream) socket().close();
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
    start_session();
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
      core->commit_input(n, std::chrono::steady_clock::now());
      flush();
      if (core && !core->closing()) read();
    };
    auto buffer = asio::buffer(space.data(), space.size());
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
    auto on_written = [this, self = shared_from_this(), c = core.get()](
                          boost::system::error_code ec, std::size_t) {
      writing = false;
      if (c != core.get()) return;
      core->output_written();
      if (ec) return disconnected("connection lost: " + ec.message());
      flush();
    };
    if (options.tls) return asio::async_write(*stream, buffers, std::move(on_written));
    asio::async_write(socket(), buffers, std::move(on_written));
  }

  // The connection is over (socket error, GOAWAY flushed, lease expired).
  void disconnected(const std::string& why) {
    if (!core) return;
    bool was_established = core->established() || is_connected;
    core.reset();
    writing = false;
    is_connected = false;
    boost::system::error_code ec;
    if (stream) socket().close(ec);
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
    auto waiting = std::move(held);
    held.clear();
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
        std::string text(m.body);
        int status = text.find("timed out") != std::string::npos ? 504 : 503;
        r->second->set_value(fail(Error{status, text, {}}));
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
      std::string answer = s->responder(msg);
      core->consume(m.stream, m.credit);
      if (msg.reply_token) {
        wire::OutMessage out = wire::copy_message(answer);
        out.flags = flag::kReply;
        out.token = msg.reply_token;
        core->send(m.stream, std::move(out));
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
    asio::post(io, [this, self = shared_from_this(), why = std::string(reason)] { flush(); });
  }
};

// -------------------------------------------------------------------------------- Session

Result<std::shared_ptr<Session>> Session::connect(WireOptions options) {
  if (!options.token.empty() && !options.tls && !options.allow_token_without_tls) {
    return fail(Error::bad_request(
        "refusing to send a token over plain TCP: use TLS (or allow_token_without_tls)"));
  }
  auto impl = std::make_shared<Impl>(std::move(options));
  auto connected = impl->first_connect.get_future();
  impl->thread = std::thread([impl] {
    auto guard = asio::make_work_guard(impl->io);
    impl->io.run();
  });
  asio::post(impl->io, [impl] {
    impl->start_connect();
    impl->tick();
  });
  auto status = connected.get();
  std::shared_ptr<Session> session(new Session(impl));
  if (!status) {
    session->close();
    return fail(status.error());
  }
  return session;
}

Session::~Session() {
  close();
}

void Session::close() {
  auto& impl = *impl_;
  if (impl.closing.exchange(true)) return;
  impl.handoff_room.notify_all();
  asio::post(impl.io, [&impl] {
    impl.drain();
    impl.flush();
    impl.linger_then_stop(std::chrono::steady_clock::now() + kCloseLinger);
  });
  if (impl.thread.joinable()) {
    if (impl.thread.get_id() == std::this_thread::get_id()) {
      impl.thread.detach();
    } else {
      impl.thread.join();
    }
  }
}

// What send() accepted goes out before GOAWAY (for at most kCloseLinger, e.g. when the server
// withholds credit); then the GOAWAY gets 20 ms to leave and the I/O thread stops.
void Session::Impl::linger_then_stop(std::chrono::steady_clock::time_point deadline) {
  bool pending = core && core->established() && (writing || core->has_pending_data());
  if (pending && std::chrono::steady_clock::now() < deadline) {
    auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(2));
    t->async_wait([this, t, deadline](boost::system::error_code) { linger_then_stop(deadline); });
    return;
  }
  auto& impl = *this;
  {
    if (impl.core && impl.core->established()) {
      impl.core->goaway(wire::ErrorCode::kNoError, "client closed the session");
      impl.flush();
    }
    auto t = std::make_shared<asio::steady_timer>(impl.io, std::chrono::milliseconds(20));
    t->async_wait([&impl, t](boost::system::error_code) {
      boost::system::error_code ec;
      if (impl.stream) impl.socket().close(ec);
      impl.connect_timer.cancel();
      impl.tick_timer.cancel();
      impl.fail_requests(Error::unavailable("session closed"));
      for (auto& s : impl.streams) {
        {
          std::lock_guard lock(s->mutex);
          s->closed = true;
        }
        s->changed.notify_all();
      }
      impl.io.stop();
    });
  }
}

bool Session::connected() const {
  return impl_->is_connected;
}
std::uint64_t Session::reconnects() const {
  return impl_->reconnect_count;
}
std::optional<std::chrono::nanoseconds> Session::rtt() const {
  auto ns = impl_->rtt_ns.load();
  if (ns < 0) return std::nullopt;
  return std::chrono::nanoseconds(ns);
}

namespace {
Status make_stream(Session::Impl& impl, std::shared_ptr<StreamState> s);
}

Result<Stream> Session::publish(std::string_view channel, PublishOptions options) {
  auto s = std::make_shared<StreamState>();
  s->open.channel = std::string(channel);
  s->open.role = wire::Role::kPublish;
  s->open.priority = options.priority;
  s->open.keep_last_value = options.keep_last_value;
  s->open.advertise = options.advertise;
  s->open.stream_type = options.stream_type;
  s->buffer_bytes = options.buffer_bytes;
  auto r = make_stream(*impl_, s);
  if (!r) return fail(r.error());
  return Stream(s);
}

Result<Stream> Session::subscribe(std::string_view pattern, SubscribeOptions options) {
  return subscribe(pattern, nullptr, options);
}

Result<Stream> Session::subscribe(std::string_view pattern,
                                  std::function<void(const Message&)> handler,
                                  SubscribeOptions options) {
  auto s = std::make_shared<StreamState>();
  s->open.channel = std::string(pattern);
  s->open.role = wire::Role::kSubscribe;
  s->open.priority = options.priority;
  s->open.buffer = options.buffer;
  s->open.last_value = options.last_value;
  s->open.responder = options.responder;
  s->handler = std::move(handler);
  auto r = make_stream(*impl_, s);
  if (!r) return fail(r.error());
  return Stream(s);
}

Result<Stream> Session::respond(std::string_view channel,
                                std::function<std::string(const Message&)> handler) {
  auto s = std::make_shared<StreamState>();
  s->open.channel = std::string(channel);
  s->open.role = wire::Role::kSubscribe;
  s->open.responder = true;
  s->responder = std::move(handler);
  auto r = make_stream(*impl_, s);
  if (!r) return fail(r.error());
  return Stream(s);
}

namespace {
// Opens `s` on the I/O thread and keeps it for re-opening after reconnects.
Status make_stream(Session::Impl& impl, std::shared_ptr<StreamState> s) {
  if (impl.closing) return fail(Error::unavailable("session closed"));
  s->session = impl.weak_from_this();
  return impl.call([&impl, s]() -> Status {
    auto id = impl.open_now(s);
    if (!id) return fail(id.error());
    impl.streams.push_back(s);
    return {};
  });
}
}  // namespace

Result<std::string> Session::request(std::string_view channel, std::string_view data,
                                     std::chrono::milliseconds timeout) {
  auto& impl = *impl_;
  if (impl.closing) return fail(Error::unavailable("session closed"));
  auto promise = std::make_shared<std::promise<Result<std::string>>>();
  auto future = promise->get_future();
  std::uint64_t token = 0;
  auto sent = impl.call([&]() -> Status {
    if (!impl.core || !impl.core->established()) return fail(Error::unavailable("not connected"));
    auto& s = impl.request_streams[std::string(channel)];
    if (!s || s->wire_id == 0) {
      s = std::make_shared<StreamState>();
      s->open.channel = std::string(channel);
      s->open.role = wire::Role::kRequest;
      s->open.timeout_ms = static_cast<std::uint32_t>(std::max<long>(1, timeout.count()));
      auto id = impl.open_now(s);
      if (!id) {
        impl.request_streams.erase(std::string(channel));
        return fail(id.error());
      }
    }
    token = impl.next_token++;
    impl.requests[token] = promise;
    wire::OutMessage m = wire::copy_message(data);
    m.flags = flag::kRequest;
    m.token = token;
    impl.core->send(s->wire_id, std::move(m));
    impl.flush();
    return {};
  });
  if (!sent) return fail(sent.error());
  if (future.wait_for(timeout) != std::future_status::ready) {
    asio::post(impl.io, [&impl, token] { impl.requests.erase(token); });
    return fail(Error{504, "no reply within " + std::to_string(timeout.count()) + " ms", {}});
  }
  return future.get();
}

// -------------------------------------------------------------------------------- Stream

Status Stream::send(std::string_view data) {
  if (!state_) return fail(Error::bad_request("empty stream handle"));
  auto impl = state_->session.lock();
  if (!impl || impl->closing) return fail(Error::unavailable("session closed"));
  {
    std::unique_lock lock(state_->mutex);
    state_->changed.wait(lock, [&] { return !state_->blocked || state_->closed || impl->closing; });
    if (state_->reset_error) return fail(*state_->reset_error);
    if (state_->closed) return fail(Error::bad_request("stream closed"));
  }
  impl->hand_off(state_, wire::copy_message(data));
  return {};
}

Result<std::size_t> Stream::send_acked(std::string_view data, std::chrono::milliseconds timeout) {
  if (!state_) return fail(Error::bad_request("empty stream handle"));
  auto impl = state_->session.lock();
  if (!impl || impl->closing) return fail(Error::unavailable("session closed"));
  std::future<Result<std::size_t>> future;
  auto s = state_;
  auto ok = impl->call([&]() -> Status {
    {
      std::lock_guard lock(s->mutex);
      if (s->reset_error) return fail(*s->reset_error);
    }
    if (!impl->core || s->wire_id == 0) return fail(Error::unavailable("not connected"));
    s->acks.emplace_back();
    future = s->acks.back().get_future();
    wire::OutMessage m = wire::copy_message(data);
    m.flags = flag::kAckRequested;
    impl->core->send(s->wire_id, std::move(m));
    impl->flush();
    return {};
  });
  if (!ok) return fail(ok.error());
  if (future.wait_for(timeout) != std::future_status::ready) {
    return fail(Error{504, "no acknowledgement in time", {}});
  }
  return future.get();
}

std::optional<Message> Stream::receive(std::chrono::milliseconds timeout) {
  if (!state_) return std::nullopt;
  std::pair<Message, std::uint32_t> item;
  {
    std::unique_lock lock(state_->mutex);
    if (!state_->changed.wait_for(lock, timeout,
                                  [&] { return !state_->inbox.empty() || state_->closed; })) {
      return std::nullopt;
    }
    if (state_->inbox.empty()) return std::nullopt;
    item = std::move(state_->inbox.front());
    state_->inbox.pop_front();
  }
  // Give credit back in batches: one post per 64 KiB received, not one per message.
  auto total = state_->unreturned.fetch_add(item.second) + item.second;
  auto impl_for_window = state_->session.lock();
  std::uint32_t batch = impl_for_window
                            ? std::min<std::uint32_t>(
                                  kCreditBatch, impl_for_window->options.settings.stream_window / 4)
                            : kCreditBatch;
  if (total >= batch) {
    auto credit = state_->unreturned.exchange(0);
    if (auto impl = state_->session.lock()) {
      asio::post(impl->io, [impl, s = state_, credit] {
        if (impl->core && s->wire_id) {
          impl->core->consume(s->wire_id, credit);
          impl->flush();
        }
      });
    }
  }
  return std::move(item.first);
}

Status Stream::reply(std::uint64_t token, std::string_view data) {
  if (!state_) return fail(Error::bad_request("empty stream handle"));
  auto impl = state_->session.lock();
  if (!impl) return fail(Error::unavailable("session closed"));
  wire::OutMessage m = wire::copy_message(data);
  m.flags = flag::kReply;
  m.token = token;
  impl->hand_off(state_, std::move(m));
  return {};
}

void Stream::set_priority(std::uint16_t priority) {
  if (!state_) return;
  if (auto impl = state_->session.lock()) {
    asio::post(impl->io, [impl, s = state_, priority] {
      s->open.priority = priority;
      if (impl->core && s->wire_id) impl->core->set_priority(s->wire_id, priority);
    });
  }
}

void Stream::close() {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->closed) return;
    state_->closed = true;
  }
  state_->changed.notify_all();
  if (auto impl = state_->session.lock()) {
    asio::post(impl->io, [impl, s = state_] {
      impl->drain();  // what was sent before close() goes out first
      if (impl->core && s->wire_id) {
        impl->core->finish(s->wire_id);
        impl->by_wire.erase(s->wire_id);
        impl->flush();
      }
      std::erase(impl->streams, s);
    });
  }
}

bool Stream::active() const {
  if (!state_) return false;
  std::lock_guard lock(state_->mutex);
  return !state_->closed;
}

StreamStatistics Stream::statistics() const {
  StreamStatistics out;
  if (!state_) return out;
  auto impl = state_->session.lock();
  if (!impl || impl->closing) return out;
  return impl->call([&]() {
    StreamStatistics st;
    st.active = !state_->closed;
    if (impl->core && state_->wire_id) {
      if (auto s = impl->core->stream_stats(state_->wire_id)) {
        st.stream_id = s->id;
        st.priority = s->priority;
        st.bytes_sent = s->bytes_sent;
        st.bytes_received = s->bytes_received;
        st.messages_sent = s->messages_sent;
        st.messages_received = s->messages_received;
        st.gaps = s->gaps_received;
        st.send_window = s->send_window;
        st.receive_window = s->receive_window;
      }
      if (auto r = impl->core->rtt()) st.rtt = *r;
    }
    return st;
  });
}

}  // namespace sluice::client
