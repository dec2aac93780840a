#include "server/app.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <thread>
#include <vector>

#include "http/metrics.hpp"
#include "http/ops_routes.hpp"
#include "http/router.hpp"
#include "http/streams_api.hpp"
#include "hub/hub.hpp"
#include "net/http_server.hpp"
#include "registry/events.hpp"
#include "registry/memory_store.hpp"
#include "registry/registry.hpp"
#include "registry/sqlite_history.hpp"
#include "server/local_bus.hpp"

namespace sluice::server {
namespace {

constexpr auto kSweepInterval = std::chrono::milliseconds(250);

std::vector<std::string> route_names(const http::Router& router) {
  std::vector<std::string> names;
  for (const auto& r : router.routes())
    names.push_back(r.method + " " + r.pattern);
  return names;
}

// Heartbeats published on the hub (by /ws clients, later NATS devices) refresh the registry
// like the HTTP endpoints do. The id is the subject's last token.
class HeartbeatListener final : public hub::Subscriber {
 public:
  HeartbeatListener(registry::Registry& registry, registry::Kind kind)
      : registry_(registry), kind_(kind) {}
  void deliver(const hub::MessagePtr& m) override {
    auto dot = m->subject.rfind('.');
    std::string id = m->subject.substr(dot + 1);
    switch (kind_) {
      case registry::Kind::kStream:
        (void)registry_.heartbeat_stream(id);
        break;
      case registry::Kind::kSession:
        (void)registry_.heartbeat_session(id, std::nullopt);
        break;
      case registry::Kind::kSubscriber:
        (void)registry_.heartbeat_subscriber(id);
        break;
    }
  }

 private:
  registry::Registry& registry_;
  registry::Kind kind_;
};

}  // namespace

struct App::Impl {
  explicit Impl(Config c)
      : config(std::move(c)),
        bus(hub, io),
        history(config.history_path()),
        registry(registry::RegistryOptions{config.stream_ttl, config.request_timeout}, store,
                 history, bus, clock),
        sweep_timer(io) {
    registry.seed_builtin_types();
    http::add_streams_routes(router, registry, hub);
    ops.registry = &registry;
    ops.hub = &hub;
    ops.history = &history;
    ops.store_name = "memory";
    ops.history_name = config.history_path();
    http::add_ops_routes(router, ops);
    metrics = std::make_unique<http::HttpMetrics>(route_names(router));
    ops.http_metrics = metrics.get();
    server = std::make_unique<net::HttpServer>(io, router, *metrics, hub,
                                               net::HttpServerOptions{config.max_body_bytes});
    ops.extra_metrics = [this](http::PrometheusWriter& w) { server->render_metrics(w); };
    listen_heartbeats(registry::events::kStreamHeartbeats, registry::Kind::kStream);
    listen_heartbeats(registry::events::kSessionHeartbeats, registry::Kind::kSession);
    listen_heartbeats(registry::events::kSubscriberHeartbeats, registry::Kind::kSubscriber);
  }

  void listen_heartbeats(const char* pattern, registry::Kind kind) {
    auto sub = hub.subscribe(pattern, std::make_shared<HeartbeatListener>(registry, kind),
                             hub::Interest::kObserver);
    if (sub) heartbeat_subscriptions.push_back(std::move(*sub));
  }

  void arm_sweep() {
    sweep_timer.expires_after(kSweepInterval);
    sweep_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      registry.expire_due();
      arm_sweep();
    });
  }

  Config config;
  boost::asio::io_context io;
  SystemClock clock;
  hub::Hub hub;
  LocalBus bus;
  registry::MemoryStore store;
  registry::SqliteHistory history;
  registry::Registry registry;
  http::Router router;
  http::OpsContext ops;
  std::unique_ptr<http::HttpMetrics> metrics;
  std::unique_ptr<net::HttpServer> server;
  std::vector<hub::Hub::Subscription> heartbeat_subscriptions;
  boost::asio::steady_timer sweep_timer;
  std::uint16_t http_port = 0;
  std::atomic<bool> stopped{false};
};

App::App(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

App::~App() {
  stop();
  impl_->heartbeat_subscriptions.clear();
}

std::uint16_t App::start() {
  impl_->http_port = impl_->server->listen(impl_->config.http.host, impl_->config.http.port);
  impl_->arm_sweep();
  spdlog::info("sluiced listening http={}:{} (history {}, stream ttl {}s)", impl_->config.http.host,
               impl_->http_port, impl_->config.history_path(), impl_->config.stream_ttl.count());
  return impl_->http_port;
}

void App::run() {
  unsigned n = impl_->config.threads ? impl_->config.threads
                                     : std::max(1u, std::thread::hardware_concurrency());
  auto guard = boost::asio::make_work_guard(impl_->io);
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i)
    threads.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (auto& t : threads)
    t.join();
}

void App::stop() {
  if (impl_->stopped.exchange(true)) return;
  impl_->server->stop();
  boost::asio::post(impl_->io, [this] {
    impl_->sweep_timer.cancel();
    impl_->io.stop();
  });
}

std::uint16_t App::http_port() const {
  return impl_->http_port;
}
const std::vector<http::RouteInfo>& App::routes() const {
  return impl_->router.routes();
}
registry::Registry& App::registry() {
  return impl_->registry;
}
hub::Hub& App::hub() {
  return impl_->hub;
}

}  // namespace sluice::server
