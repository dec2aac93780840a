#include "server/app.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>

#include <future>
#include <iostream>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/time_format.hpp"
#include "http/key_routes.hpp"
#include "http/metrics.hpp"
#include "http/ops_routes.hpp"
#include "http/router.hpp"
#include "http/streams_api.hpp"
#include "hub/hub.hpp"
#include "keys/key_format.hpp"
#include "keys/key_secret.hpp"
#include "keys/key_service.hpp"
#include "nats/bus_metrics.hpp"
#include "nats/nats_bus.hpp"
#include "net/http_server.hpp"
#include "net/wire_server.hpp"
#include "registry/events.hpp"
#include "registry/registry.hpp"
#include "relay/access_files.hpp"
#include "relay/loop_call.hpp"
#include "relay/relay.hpp"
#include "server/backends.hpp"
#include "server/media_wiring.hpp"

namespace sluice::server {
namespace {

constexpr auto kSweepInterval = std::chrono::milliseconds(250);
constexpr auto kTypeCheckInterval = std::chrono::milliseconds(5000);

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

// Relay channels with publishers appear in the registry as `sluice` streams.
class RegistryAdvertiser final : public relay::ChannelAdvertiser {
 public:
  RegistryAdvertiser(registry::Registry& registry, std::string host, std::uint16_t& port)
      : registry_(registry), host_(std::move(host)), port_(port) {}

  std::optional<std::string> advertise(const relay::ChannelInfo& channel,
                                       const std::string& stream_type,
                                       const boost::json::object& metadata) override {
    registry::AdvertiseRequest r;
    r.name = channel.name;
    r.stream_type = stream_type;
    r.publisher_id = "sluice-relay";
    r.protocol = "sluice";
    r.address = host_;
    r.port = port_;
    r.config = {{"channel", channel.name}, {"owner", channel.owner}};
    r.metadata = metadata;
    auto view = registry_.advertise(r);
    if (!view) {
      spdlog::warn("relay: channel '{}' not advertised: {}", channel.name, view.error().detail);
      return std::nullopt;
    }
    return view->stream.id;
  }
  bool heartbeat(const std::string& id) override { return registry_.keep_alive(id); }
  void withdraw(const std::string& id) override { (void)registry_.withdraw(id); }

 private:
  registry::Registry& registry_;
  std::string host_;
  std::uint16_t& port_;
};

boost::json::object channel_json(const relay::ChannelInfo& c) {
  return {{"name", c.name},
          {"owner", c.owner},
          {"message_count", c.message_count},
          {"bytes", c.bytes},
          {"subscribers", c.subscribers},
          {"publishers", c.publishers},
          {"active", c.active},
          {"stream_id",
           c.registry_id.empty() ? boost::json::value(nullptr) : boost::json::value(c.registry_id)},
          {"created_at", format_timestamp(c.created_at)}};
}

// GET /channels and /channels/{name}: a snapshot taken on the relay thread.
void add_channel_routes(http::Router& router, relay::Relay& relay) {
  // At most 2 s for the relay thread to take the snapshot (it may be stopping or stalled).
  auto on_relay = [&relay](auto fn) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    return relay::call_on_loop(relay.loop(), fn,
                               [deadline] { return std::chrono::steady_clock::now() > deadline; });
  };
  auto unavailable = [] {
    return http::error_response(Error::unavailable("the relay is stopping or not answering"));
  };
  router.add("GET", "/channels",
             [&relay, on_relay, unavailable](const http::HttpRequest&,
                                             const http::PathParams&) -> http::Reply {
               auto list = on_relay([&relay] { return relay.channels(); });
               if (!list) return unavailable();
               boost::json::array out;
               for (const auto& c : *list)
                 out.push_back(channel_json(c));
               return http::json_response(200, boost::json::serialize(out));
             });
  router.add("GET", "/channels/{name}",
             [&relay, on_relay, unavailable](const http::HttpRequest&,
                                             const http::PathParams& p) -> http::Reply {
               std::string name = p.at("name");
               auto found = on_relay([&relay, name] { return relay.channel(name); });
               if (!found) return unavailable();
               auto& info = *found;
               if (!info) {
                 return http::error_response(Error::not_found("no channel named '" + name + "'"));
               }
               return http::json_response(200, boost::json::serialize(channel_json(*info)));
             });
}

relay::AuthConfig relay_access(const Config& c) {
  auto auth = relay::load_access(relay::AccessSettings{
      c.wire_users, c.wire_tokens, c.wire_anonymous, c.wire_tokens_without_tls});
  if (!auth) throw std::runtime_error("relay access: " + auth.error().detail);
  spdlog::info("relay access: {} user(s), {} token(s), anonymous {}", auth->users.size(),
               auth->tokens.size(), auth->allow_anonymous ? "allowed" : "refused");
  auto loopback = [](const HostPort& a) {
    return a.host == "127.0.0.1" || a.host == "::1" || a.host == "localhost";
  };
  // The relay listens on --wire, on /wire of the HTTP port, and on --wire-tls.
  std::vector<HostPort> entries{c.wire, c.http};
  if (!c.tls_cert.empty()) entries.push_back(c.wire_tls);
  for (const auto& a : entries) {
    if (auth->allow_anonymous && !loopback(a)) {
      spdlog::warn(
          "relay accepts anonymous sessions on {}; set wire-users or wire-tokens to "
          "require credentials",
          a.to_string());
    }
  }
  if (!auth->tokens.empty() && c.tls_cert.empty() && !c.wire_tokens_without_tls) {
    spdlog::warn(
        "relay tokens are configured but no TLS listener (tls-cert) is: tokens are "
        "accepted only inside TLS, so no token can be used");
  }
  if (!c.wire_users.empty() && auth->users.empty()) {
    spdlog::warn("relay users file {} lists no users", c.wire_users);
  }
  return std::move(*auth);
}

void render_relay_metrics(http::PrometheusWriter& w, const relay::RelayStats& s) {
  auto one = [&w](const char* name, const char* type, const char* help, std::uint64_t v) {
    w.header(name, type, help);
    w.sample(name, {}, static_cast<double>(v));
  };
  one("sluice_relay_connections_total", "counter", "Wire sessions accepted", s.connections_total);
  one("sluice_relay_connections_open", "gauge", "Open wire sessions", s.connections_active);
  one("sluice_relay_channels", "gauge", "Relay channels in the directory", s.channels);
  one("sluice_relay_messages_in_total", "counter", "Messages published by wire clients",
      s.messages_in);
  one("sluice_relay_bytes_in_total", "counter", "Payload bytes published by wire clients",
      s.bytes_in);
  one("sluice_relay_messages_out_total", "counter", "Messages delivered to wire subscribers",
      s.messages_out);
  one("sluice_relay_dropped_total", "counter",
      "Messages dropped by subscriber overflow policies (each one a gap)", s.dropped);
  one("sluice_relay_protocol_errors_total", "counter",
      "Sessions ended by the server for a protocol violation", s.protocol_errors);
  one("sluice_relay_auth_failures_total", "counter", "Refused wire handshakes", s.auth_failures);
}

std::string advertise_host(const Config& c) {
  if (!c.wire_advertise_host.empty()) return c.wire_advertise_host;
  if (c.wire.host == "0.0.0.0" || c.wire.host == "::") return "127.0.0.1";
  return c.wire.host;
}

// The stream keys' server secret (docs/operations.md, "Stream keys").
std::string stream_key_secret(const Config& c) {
  const std::string path = c.key_secret_path();
  if (!path.empty()) {
    auto secret = keys::load_or_create_secret(path);
    if (secret) return std::move(*secret);
    spdlog::warn(
        "stream keys: {}; using a random secret for this process only: keys created now stop "
        "working when sluiced exits",
        secret.error().detail);
  } else {
    spdlog::info("stream keys: no data-dir or key-secret-file; keys live for this process only");
  }
  return keys::random_bytes(keys::kSecretFileBytes);
}

// --dev-key: one publish key for stream "dev" (alias "dev", 24 h), printed for local testing.
void create_dev_key(keys::KeyService& service, const Config& c, std::uint16_t rtmp_port) {
  keys::CreateKeyRequest request;
  request.stream = "dev";
  request.alias = "dev";
  request.expires_in = 24 * 3600;
  request.note = "--dev-key";
  auto created = service.create(request);
  if (!created) {
    spdlog::warn("dev-key: not created: {}", created.error().detail);
    return;
  }
  std::string host = c.http.host == "0.0.0.0" || c.http.host == "::" ? "127.0.0.1" : c.http.host;
  const std::string rtmp = "rtmp://" + host + ":" + std::to_string(rtmp_port) + "/live";
  std::string line = "dev key: " + created->key + "  stream 'dev', expires in 24 h; OBS server " +
                     rtmp + ", stream key " + created->key + "; play " + rtmp + "/dev";
  std::cout << line << std::endl;
  spdlog::info("{}", line);
}

}  // namespace

struct App::Impl {
  explicit Impl(Config c)
      : config(std::move(c)),
        store(make_store(config, clock)),
        bus(make_bus(config, hub, io)),
        history(make_history(config)),
        registry(registry::RegistryOptions{config.stream_ttl, config.request_timeout}, *store,
                 *history, *bus, clock),
        sweep_timer(io) {
    if (auto seeded = registry.seed_builtin_types(); !seeded) {
      spdlog::warn("registry: built-in types not seeded yet ({}); retrying in the background",
                   seeded.error().detail);
      // On the first sweep that reaches the store, not kTypeCheckInterval later: until then
      // every advertise of a built-in type fails with "Unknown stream type".
      sweeps_since_type_check = kTypeCheckInterval / kSweepInterval;
    }
    http::add_streams_routes(router, registry, hub);
    keys = std::make_unique<keys::KeyService>(*store, clock, stream_key_secret(config));
    http::add_key_routes(router, *keys, http::KeyRoutesOptions{config.admin_token});
    media =
        std::make_unique<MediaWiring>(config, *keys, registry, hub, router, advertise_host(config));
    ops.registry = &registry;
    ops.hub = &hub;
    ops.history = history.get();
    ops.store = store.get();
    ops.bus = bus.get();
    ops.store_name = store_name(config);
    ops.history_name = history_name(config);
    http::add_ops_routes(router, ops);
    wire = std::make_unique<net::WireServer>();
    advertiser = std::make_unique<RegistryAdvertiser>(registry, advertise_host(config), wire_port);
    relay::RelayConfig rc;
    rc.advertise_host = advertise_host(config);
    rc.auth = relay_access(config);
    rc.registry_heartbeat = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(10),
        std::chrono::duration_cast<std::chrono::milliseconds>(config.stream_ttl) / 3);
    relay = std::make_unique<relay::Relay>(hub, wire->loop(), clock, rc, advertiser.get());
    add_channel_routes(router, *relay);
    metrics = std::make_unique<http::HttpMetrics>(route_names(router));
    ops.http_metrics = metrics.get();
    server = std::make_unique<net::HttpServer>(io, router, *metrics, hub,
                                               net::HttpServerOptions{config.max_body_bytes});
    net::connect_wire_upgrades(*server, *wire);  // WebSocket /wire sessions join the relay
    media->connect(*server);                     // HTTP-FLV players go to the media thread
    ops.extra_metrics = [this](http::PrometheusWriter& w) {
      server->render_metrics(w);
      render_relay_metrics(w, relay->published_stats());
      http::render_key_metrics(w, keys->stats());
      media->render_metrics(w);
      if (auto* nats_bus = dynamic_cast<nats::NatsBus*>(bus.get())) {
        nats::render_bus_metrics(w, *nats_bus);
      }
    };
    listen_heartbeats(registry::events::kStreamHeartbeats, registry::Kind::kStream);
    listen_heartbeats(registry::events::kSessionHeartbeats, registry::Kind::kSession);
    listen_heartbeats(registry::events::kSubscriberHeartbeats, registry::Kind::kSubscriber);
  }

  void listen_heartbeats(const char* pattern, registry::Kind kind) {
    auto sub = hub.subscribe(pattern, std::make_shared<HeartbeatListener>(registry, kind),
                             hub::Interest::kObserver);
    if (sub) heartbeat_subscriptions.push_back(std::move(*sub));
  }

  // Expiry and, every few seconds, the built-in types (a store that restarted empty gets them
  // back). A store failure is logged when it starts and when it ends, not on every sweep.
  void sweep_registry() {
    Status ok;
    if (auto expired = registry.expire_due(); !expired) ok = fail(expired.error());
    if (ok && ++sweeps_since_type_check * kSweepInterval >= kTypeCheckInterval) {
      sweeps_since_type_check = 0;
      ok = registry.ensure_builtin_types();
    }
    if (!ok && !store_failing) {
      spdlog::warn("registry store failing: {}", ok.error().detail);
    } else if (ok && store_failing) {
      spdlog::info("registry store works again");
      sweeps_since_type_check = kTypeCheckInterval / kSweepInterval;  // check types next sweep
    }
    store_failing = !ok;
  }

  void arm_sweep() {
    sweep_timer.expires_after(kSweepInterval);
    sweep_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      sweep_registry();
      media->sweep();
      keys->purge_due();
      arm_sweep();
    });
  }

  Config config;
  boost::asio::io_context io;
  SystemClock clock;
  hub::Hub hub;
  std::unique_ptr<registry::RegistryStore> store;
  std::unique_ptr<hub::Bus> bus;
  std::unique_ptr<registry::History> history;
  registry::Registry registry;
  std::unique_ptr<keys::KeyService> keys;  // stream keys; the media server checks through it
  http::Router router;
  http::OpsContext ops;
  std::unique_ptr<http::HttpMetrics> metrics;
  std::unique_ptr<net::HttpServer> server;
  std::unique_ptr<net::WireServer> wire;
  std::unique_ptr<RegistryAdvertiser> advertiser;
  std::unique_ptr<relay::Relay> relay;
  std::unique_ptr<MediaWiring> media;
  std::uint16_t rtmp_port = 0;
  std::uint16_t wire_port = 0;
  std::uint16_t wire_tls_port = 0;
  std::vector<hub::Hub::Subscription> heartbeat_subscriptions;
  boost::asio::steady_timer sweep_timer;
  int sweeps_since_type_check = 0;  // sweep timer only
  bool store_failing = false;       // sweep timer only
  std::uint16_t http_port = 0;
  std::atomic<bool> stopped{false};
};

App::App(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

App::~App() {
  stop();
  // Nothing from other nodes may reach the relay or the servers while they are destroyed; the
  // registry may still publish locally (the relay withdraws its channels on the way out).
  impl_->bus->quiesce();
  impl_->heartbeat_subscriptions.clear();
}

std::uint16_t App::start() {
  impl_->http_port = impl_->server->listen(impl_->config.http.host, impl_->config.http.port);
  impl_->wire_port = impl_->wire->listen(impl_->config.wire.host, impl_->config.wire.port);
  if (!impl_->config.tls_cert.empty()) {
    const auto& c = impl_->config;
    impl_->wire_tls_port = impl_->wire->listen_tls(c.wire_tls.host, c.wire_tls.port, c.tls_cert,
                                                   c.tls_key.empty() ? c.tls_cert : c.tls_key);
    spdlog::info("sluiced relay TLS on {}:{}", c.wire_tls.host, impl_->wire_tls_port);
  }
  impl_->wire->start(*impl_->relay);
  impl_->rtmp_port = impl_->media->start(impl_->http_port);
  impl_->arm_sweep();
  if (impl_->config.dev_key) create_dev_key(*impl_->keys, impl_->config, impl_->rtmp_port);
  spdlog::info("sluiced listening http={}:{} wire={}:{} rtmp={} (history {}, stream ttl {}s)",
               impl_->config.http.host, impl_->http_port, impl_->config.wire.host, impl_->wire_port,
               impl_->rtmp_port ? impl_->config.rtmp.host + ":" + std::to_string(impl_->rtmp_port)
                                : std::string("off"),
               history_name(impl_->config), impl_->config.stream_ttl.count());
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
  impl_->media->stop();
  impl_->wire->stop();
  impl_->server->stop();
  boost::asio::post(impl_->io, [this] {
    impl_->sweep_timer.cancel();
    impl_->io.stop();
  });
}

std::uint16_t App::http_port() const {
  return impl_->http_port;
}
std::uint16_t App::wire_port() const {
  return impl_->wire_port;
}
std::uint16_t App::rtmp_port() const {
  return impl_->rtmp_port;
}
std::uint16_t App::wire_tls_port() const {
  return impl_->wire_tls_port;
}
relay::Relay& App::relay() {
  return *impl_->relay;
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
keys::KeyService& App::keys() {
  return *impl_->keys;
}

}  // namespace sluice::server
