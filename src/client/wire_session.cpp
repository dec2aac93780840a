// client::Session: connecting, closing, opening streams and requests. The I/O side is
// Session::Impl (detail/wire_session_impl.hpp).
#include "client/detail/wire_session_impl.hpp"

namespace sluice::client {

// -------------------------------------------------------------------------------- Session

Result<std::shared_ptr<Session>> Session::connect(WireOptions options) {
  if (options.websocket && options.tls) {
    return fail(Error::bad_request(
        "TLS over WebSocket (wss) is not supported: sluiced's HTTP port has no TLS; use the TLS "
        "wire port instead"));
  }
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
      if (impl.has_socket()) impl.socket().close(ec);
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

// Opens `s` on the I/O thread and keeps it for re-opening after reconnects.
Result<Stream> Session::open_stream(Impl& impl, std::shared_ptr<StreamState> s) {
  if (impl.closing) return fail(Error::unavailable("session closed"));
  s->session = impl.weak_from_this();
  auto opened = impl.call([&impl, s]() -> Status {
    auto id = impl.open_now(s);
    if (!id) return fail(id.error());
    impl.streams.push_back(s);
    return {};
  });
  if (!opened) return fail(opened.error());
  return Stream(std::move(s));
}

Result<Stream> Session::publish(std::string_view channel, PublishOptions options) {
  auto s = std::make_shared<StreamState>();
  s->open.channel = std::string(channel);
  s->open.role = wire::Role::kPublish;
  s->open.priority = options.priority;
  s->open.keep_last_value = options.keep_last_value;
  s->open.advertise = options.advertise;
  s->open.stream_type = options.stream_type;
  s->open.metadata = options.metadata;
  s->buffer_bytes = options.buffer_bytes;
  s->on_subscription = std::move(options.on_subscription);
  return open_stream(*impl_, std::move(s));
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
  s->on_channel_closed = std::move(options.on_channel_closed);
  return open_stream(*impl_, std::move(s));
}

Result<Stream> Session::respond(std::string_view channel,
                                std::function<Result<std::string>(const Message&)> handler) {
  auto s = std::make_shared<StreamState>();
  s->open.channel = std::string(channel);
  s->open.role = wire::Role::kSubscribe;
  s->open.responder = true;
  s->responder = std::move(handler);
  return open_stream(*impl_, std::move(s));
}

namespace {
std::uint32_t request_timeout_bucket(std::chrono::milliseconds timeout) {
  static constexpr std::uint32_t kBuckets[] = {100,    250,    500,    1'000,   2'000,  5'000,
                                               10'000, 30'000, 60'000, 120'000, 300'000};
  for (auto b : kBuckets) {
    if (timeout.count() <= b) return b;
  }
  return 600'000;  // the protocol's maximum
}
}  // namespace

Result<std::string> Session::request(std::string_view channel, std::string_view data,
                                     std::chrono::milliseconds timeout) {
  auto& impl = *impl_;
  if (impl.closing) return fail(Error::unavailable("session closed"));
  if (impl.on_io_thread()) {
    // The reply would arrive on this very thread, which would be busy waiting for it.
    return fail(Error{409, "request() cannot wait inside a callback of the same session", {}});
  }
  auto promise = std::make_shared<std::promise<Result<std::string>>>();
  auto future = promise->get_future();
  const std::uint64_t token = impl.next_token.fetch_add(1, std::memory_order_relaxed);
  wire::OutMessage m = wire::copy_message(data);
  m.flags = flag::kRequest;
  m.token = token;
  // Sent from the I/O thread without waiting for it: the only wait is for the reply.
  asio::post(impl.io, [self = impl_, promise, token, channel = std::string(channel), timeout,
                       m = std::move(m)]() mutable {
    auto& impl = *self;
    if (!impl.core || !impl.core->established()) {
      return promise->set_value(fail(Error::unavailable("not connected")));
    }
    // The server applies the OPEN's timeout to every request on a stream, so each stream
    // serves one timeout bucket of a channel: the server waits at least as long as this
    // caller, who enforces its exact timeout itself, and a channel uses a dozen streams at
    // most whatever timeouts callers pass.
    const std::uint32_t timeout_ms = request_timeout_bucket(timeout);
    const std::string key = channel + '\n' + std::to_string(timeout_ms);
    auto& s = impl.request_streams[key];
    if (!s || s->wire_id == 0) {
      s = std::make_shared<StreamState>();
      s->open.channel = channel;
      s->open.role = wire::Role::kRequest;
      s->open.timeout_ms = timeout_ms;
      auto id = impl.open_now(s);
      if (!id) {
        impl.request_streams.erase(key);
        return promise->set_value(fail(id.error()));
      }
    }
    impl.requests[token] = promise;
    impl.core->send(s->wire_id, std::move(m));
    impl.flush();
  });
  if (future.wait_for(timeout) != std::future_status::ready) {
    asio::post(impl.io, [self = impl_, token] { self->requests.erase(token); });
    return fail(Error{504, "no reply within " + std::to_string(timeout.count()) + " ms", {}});
  }
  return future.get();
}

}  // namespace sluice::client
