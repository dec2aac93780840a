#include "sluice/server.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "hub/hub.hpp"
#include "hub/subject.hpp"
#include "relay/relay.hpp"
#include "server/app.hpp"

namespace sluice {

struct Server::Impl {
  explicit Impl(Config c) : app(std::move(c)) {}

  // Runs fn on the relay thread and returns its result: directly when already there or before
  // start() (no relay thread yet); 503 once the server is stopped (the relay thread no longer
  // runs posted work).
  template <class Fn>
  auto on_relay(Fn fn) -> Result<decltype(fn())> {
    using T = decltype(fn());
    if (stopped.load()) return std::unexpected(Error::unavailable("the server is stopped"));
    if (!running.load()) return fn();
    auto& relay = app.relay();
    if (relay.loop().in_loop()) return fn();
    auto task = std::make_shared<std::packaged_task<T()>>(std::move(fn));
    auto result = task->get_future();
    relay.loop().post([task] { (*task)(); });
    while (result.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (stopped.load()) return std::unexpected(Error::unavailable("the server stopped"));
    }
    return result.get();
  }

  server::App app;
  std::thread io_thread;
  std::atomic<bool> started{false};  // start() was called
  std::atomic<bool> running{false};  // the relay thread runs (start() succeeded)
  std::atomic<bool> stopped{false};
  std::mutex mutex;
  std::condition_variable done;
  bool finished = false;
  // Handler registrations live until the server stops (relay thread only).
  std::vector<hub::Hub::Subscription> registrations;
};

Server::Server() : Server(Config{}) {}

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() {
  stop();
}

void Server::start() {
  if (impl_->started.exchange(true)) return;
  try {
    impl_->app.start();
  } catch (...) {
    impl_->started = false;
    throw;
  }
  impl_->running = true;
  impl_->io_thread = std::thread([impl = impl_.get()] {
    impl->app.run();
    std::lock_guard lock(impl->mutex);
    impl->finished = true;
    impl->done.notify_all();
  });
}

void Server::wait() {
  std::unique_lock lock(impl_->mutex);
  impl_->done.wait(lock, [this] { return impl_->finished || !impl_->started.load(); });
}

void Server::stop() {
  if (!impl_->running.load()) return;
  // Handlers go first, on the relay thread that runs them, while it still runs.
  (void)impl_->on_relay([this] {
    impl_->registrations.clear();
    return true;
  });
  if (impl_->stopped.exchange(true)) return;
  impl_->app.stop();
  if (impl_->io_thread.joinable() && impl_->io_thread.get_id() != std::this_thread::get_id()) {
    impl_->io_thread.join();
  }
}

std::uint16_t Server::http_port() const {
  return impl_->app.http_port();
}
std::uint16_t Server::wire_port() const {
  return impl_->app.wire_port();
}
std::uint16_t Server::wire_tls_port() const {
  return impl_->app.wire_tls_port();
}

Status Server::create_channel(const std::string& name, ChannelOptions options) {
  auto r = impl_->on_relay(
      [this, &name, &options] { return impl_->app.relay().create_channel(name, options); });
  if (!r) return std::unexpected(r.error());
  return *r;
}

Result<std::size_t> Server::push(std::string_view channel, std::string_view data) {
  if (!hub::is_valid_subject(channel)) {
    return std::unexpected(
        Error::invalid_field({"channel"}, "invalid channel name '" + std::string(channel) + "'"));
  }
  return impl_->on_relay([this, channel, data] { return impl_->app.relay().push(channel, data); });
}

Status Server::close_channel(std::string_view name) {
  auto r = impl_->on_relay([this, name] { return impl_->app.relay().close_channel(name); });
  if (!r) return std::unexpected(r.error());
  return *r;
}

std::vector<ChannelInfo> Server::channels() {
  return impl_->on_relay([this] { return impl_->app.relay().channels(); })
      .value_or(std::vector<ChannelInfo>{});
}

Result<ChannelInfo> Server::channel(std::string_view name) {
  auto r = impl_->on_relay([this, name] { return impl_->app.relay().channel(name); });
  if (!r) return std::unexpected(r.error());
  if (!*r) return std::unexpected(Error::not_found("no channel named '" + std::string(name) + "'"));
  return **r;
}

Status Server::on_client_stream(std::string_view pattern, ClientStreamHandler handler) {
  auto r = impl_->on_relay([this, pattern, &handler] {
    auto sub = impl_->app.relay().on_client_stream(
        pattern, [handler = std::move(handler)](const relay::ClientMessage& m) {
          handler(ClientMessage{m.client, m.channel, m.data});
        });
    if (sub) impl_->registrations.push_back(std::move(*sub));
    return sub ? Status{} : Status{std::unexpected(sub.error())};
  });
  if (!r) return std::unexpected(r.error());
  return *r;
}

Status Server::handle(std::string_view method, RequestHandler handler) {
  auto r = impl_->on_relay([this, method, &handler] {
    auto sub = impl_->app.relay().handle_requests(
        method, [handler = std::move(handler)](const relay::ClientMessage& m) {
          return handler(ClientMessage{m.client, m.channel, m.data});
        });
    if (sub) impl_->registrations.push_back(std::move(*sub));
    return sub ? Status{} : Status{std::unexpected(sub.error())};
  });
  if (!r) return std::unexpected(r.error());
  return *r;
}

void Server::on_subscription(const std::string& channel, SubscriptionHandler handler) {
  (void)impl_->on_relay([this, &channel, &handler] {
    impl_->app.relay().on_subscription(channel, std::move(handler));
    return true;
  });
}

server::App& Server::app() {
  return impl_->app;
}

}  // namespace sluice
