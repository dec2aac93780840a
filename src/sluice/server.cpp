#include "sluice/server.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/event_loop.hpp"
#include "hub/hub.hpp"
#include "hub/subject.hpp"
#include "relay/relay.hpp"
#include "server/app.hpp"

namespace sluice {

struct Server::Impl {
  explicit Impl(Config c) : app(std::move(c)) {}

  // Runs fn on the relay thread and returns its result: directly when already there, or before
  // start() (no relay thread yet; start() waits for such calls). 503 once the server is
  // stopping, for calls that had not started to run.
  template <class Fn>
  auto on_relay(Fn fn) -> Result<decltype(fn())> {
    if (stopping.load()) return std::unexpected(Error::unavailable("the server is stopped"));
    if (!running.load()) {
      std::lock_guard lock(start_mutex);
      if (!running.load()) return fn();
    }
    auto& loop = app.relay().loop();
    if (loop.in_loop()) return fn();
    auto result = call_on_loop(loop, fn, [this] { return stopping.load(); });
    if (!result) return std::unexpected(Error::unavailable("the server is stopping"));
    return std::move(*result);
  }

  server::App app;
  std::thread io_thread;
  std::mutex start_mutex;             // start() against calls made before it
  std::atomic<bool> running{false};   // start() succeeded: the relay thread runs
  std::atomic<bool> stopping{false};  // stop() began: new calls get 503
  std::mutex stop_mutex;              // concurrent stop() calls wait for the first
  std::mutex mutex;                   // guards stop_complete
  std::condition_variable stopped_cv;
  bool stop_complete = false;
  // Handler registrations live until the server stops (relay thread, or after it is joined).
  std::vector<hub::Hub::Subscription> registrations;
};

Server::Server() : Server(Config{}) {}

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Server::~Server() {
  stop();
}

void Server::start() {
  std::lock_guard lock(impl_->start_mutex);
  if (impl_->running.load() || impl_->stopping.load()) return;
  impl_->app.start();  // throws on failure
  impl_->io_thread = std::thread([impl = impl_.get()] { impl->app.run(); });
  impl_->running = true;
}

void Server::wait() {
  std::unique_lock lock(impl_->mutex);
  impl_->stopped_cv.wait(lock, [this] { return impl_->stop_complete || !impl_->running.load(); });
}

void Server::stop() {
  if (impl_->running.load() && impl_->app.relay().loop().in_loop()) {
    // Joining the relay thread from itself cannot work; the header forbids it.
    spdlog::error("sluice::Server::stop() called from a relay handler; ignored");
    return;
  }
  std::lock_guard stop_lock(impl_->stop_mutex);
  if (!impl_->running.load() || impl_->stop_complete) return;
  impl_->stopping = true;
  impl_->app.stop();
  if (impl_->io_thread.joinable()) impl_->io_thread.join();
  // Every server thread is joined: the registrations can go from here.
  impl_->registrations.clear();
  std::lock_guard lock(impl_->mutex);
  impl_->stop_complete = true;
  impl_->stopped_cv.notify_all();
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
