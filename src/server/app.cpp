#include "server/app.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <future>
#include <iostream>
#include <thread>
#include <vector>

#include "audit/audit_log.hpp"
#include "auth/access_policy.hpp"
#include "auth/authenticator.hpp"
#include "auth/directory.hpp"
#include "console/embedded_console.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/refusals.hpp"
#include "http/auth_routes.hpp"
#include "http/console_routes.hpp"
#include "http/gate.hpp"
#include "http/key_routes.hpp"
#include "http/metrics.hpp"
#include "http/ops_routes.hpp"
#include "http/router.hpp"
#include "http/settings_routes.hpp"
#include "http/streams_api.hpp"
#include "hub/hub.hpp"
#include "keys/key_format.hpp"
#include "keys/key_secret.hpp"
#include "keys/key_service.hpp"
#include "media/protocols/onvif/soap.hpp"
#include "nats/bus_metrics.hpp"
#include "nats/nats_bus.hpp"
#include "net/http_server.hpp"
#include "net/tls_front_door.hpp"
#include "net/wire_server.hpp"
#include "registry/events.hpp"
#include "registry/registry.hpp"
#include "relay/relay.hpp"
#include "server/backends.hpp"
#include "server/hub_access.hpp"
#include "server/mdns_wiring.hpp"
#include "server/media_wiring.hpp"
#include "server/mqtt_wiring.hpp"
#include "server/osc_wiring.hpp"
#include "server/relay_wiring.hpp"
#include "server/settings_wiring.hpp"
#include "settings/settings.hpp"
#include "state/records_sync.hpp"
#include "state/state_db.hpp"
#include "state/state_journal.hpp"

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

void render_refusals(http::PrometheusWriter& w, const Refusals& refusals) {
  w.header("sluice_refused_total", "counter",
           "Connections, requests and messages refused by a limit, and clients ended for a "
           "deadline, by kind (docs/operations.md, Limits)");
  for (std::size_t k = 0; k < static_cast<std::size_t>(Refusal::kCount); ++k) {
    const auto kind = static_cast<Refusal>(k);
    w.sample("sluice_refused_total", {{"kind", std::string(refusal_name(kind))}},
             static_cast<double>(refusals.total(kind)));
  }
}

// The configuration with every limit resolved (derived budgets filled in), logged once.
Config with_resolved_limits(Config c) {
  c.limits = c.limits.resolved();
  spdlog::info("limits: {}", c.limits.describe());
  return c;
}

registry::RegistryOptions registry_options(const Config& c, Refusals* refusals) {
  registry::RegistryOptions o;
  o.ttl = c.stream_ttl;
  o.request_timeout = c.request_timeout;
  o.max_config_bytes = c.limits.max_stream_config_bytes;
  o.max_custom_types = c.limits.max_stream_types;
  o.max_streams = c.limits.max_streams;
  o.refusals = refusals;
  return o;
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

// The access options a config asks for; warns when `open` leaves a listener on the network.
auth::AccessOptions access_options(const Config& c, bool relay_anonymous) {
  auto mode = auth::parse_mode(c.auth);
  if (!mode) throw ConfigError(mode.error().detail);
  auto loopback = [](const HostPort& a) {
    return a.host == "127.0.0.1" || a.host == "::1" || a.host == "localhost";
  };
  if (*mode == auth::Mode::kOpen) {
    for (const auto& a : {c.http, c.wire, c.rtmp}) {
      if (!loopback(a)) {
        spdlog::warn(
            "auth = open and {} is reachable from the network: any client may withdraw or "
            "take over any stream (docs/security.md); use auth = owner or required",
            a.to_string());
        break;
      }
    }
  }
  return auth::AccessOptions{*mode, relay_anonymous};
}

std::vector<keys::IpNetwork> parse_proxies(const Config& c) {
  std::vector<keys::IpNetwork> out;
  for (const auto& text : c.trusted_proxies) {
    std::string why;
    auto net = keys::parse_ip_rule(text, &why);
    if (!net) throw ConfigError("'trusted-proxies': " + why);
    out.push_back(*net);
  }
  return out;
}

struct App::Impl {
  explicit Impl(Config c)
      : config(with_resolved_limits(std::move(c))),
        state_db(std::make_unique<state::StateDb>(config.state_path())),
        journal(*state_db),
        store(make_store(config, clock, state_db.get(), &journal)),
        shared_records(make_shared_records(config)),
        records(shared_records ? *shared_records : static_cast<state::Records&>(*state_db)),
        bus(make_bus(config, hub, io)),
        history(make_history(config)),
        registry(registry_options(config, &refusals), *store, *history, *bus, clock),
        sweep_timer(io) {
    close_interrupted_history();
    if (auto seeded = registry.seed_builtin_types(); !seeded) {
      spdlog::warn("registry: built-in types not seeded yet ({}); retrying in the background",
                   seeded.error().detail);
      // On the first sweep that reaches the store, not kTypeCheckInterval later: until then
      // every advertise of a built-in type fails with "Unknown stream type".
      sweeps_since_type_check = kTypeCheckInterval / kSweepInterval;
    }
    const std::string server_secret = stream_key_secret(config);
    // The sealed passwords' key: derived, so one file keeps every secret of the server.
    directory = std::make_unique<auth::Directory>(
        &records, clock, crypto::hmac_sha256(server_secret, "sluice password seal v1"));
    authenticator = std::make_unique<auth::Authenticator>(
        *directory, clock, auth::AuthenticatorOptions{config.admin_token, config.loopback_admin});
    relay::RelayConfig rc;
    rc.auth = relay_access(config);
    policy = std::make_unique<auth::AccessPolicy>(access_options(config, rc.auth.allow_anonymous));
    if (policy->mode() == auth::Mode::kRequired) rc.auth.allow_anonymous = false;
    connect_relay_identities(rc.auth, *directory, *policy, registry, audit);
    http::add_streams_routes(router, registry, hub, *policy);
    http::add_auth_routes(router, *directory, *policy);
    keys = std::make_unique<keys::KeyService>(*store, clock, server_secret);
    http::add_key_routes(router, *keys, http::KeyRoutesOptions{[this](std::string_view host) {
                           return media->rtmp_url(host);
                         }});
    media = std::make_unique<MediaWiring>(config, *keys, registry, hub, router,
                                          advertise_host(config), &refusals);
    ops.registry = &registry;
    ops.hub = &hub;
    ops.history = history.get();
    ops.store = store.get();
    ops.bus = bus.get();
    ops.store_name = store_name(config);
    ops.history_name = history_name(config);
    ops.media_health = [this] { return media->health(); };
    http::add_ops_routes(router, ops);
    wire = std::make_unique<net::WireServer>(&refusals);
    advertiser = make_registry_advertiser(registry, advertise_host(config), wire_port);
    rc.advertise_host = advertise_host(config);
    rc.registry_heartbeat = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(10),
        std::chrono::duration_cast<std::chrono::milliseconds>(config.stream_ttl) / 3);
    rc.max_connections = config.limits.relay_max_connections;
    rc.max_connections_per_address = config.limits.relay_max_connections_per_address;
    rc.max_subscriber_buffer = config.limits.relay_buffer_max_bytes;
    rc.buffer_budget = config.limits.relay_buffer_budget;
    rc.partial_budget = config.limits.relay_partial_budget;
    rc.refusals = &refusals;
    relay = std::make_unique<relay::Relay>(hub, wire->loop(), clock, rc, advertiser.get());
    add_channel_routes(router, *relay);
    media->set_pipeline_relay(*relay);
    media->set_pipeline_access(*policy);
    cors_origins = std::make_shared<http::AllowedOrigins>(config.cors_origins);
    settings = std::make_unique<settings::Settings>(&records);
    settings->set_announce([this](const settings::Setting& s, const boost::json::value& previous,
                                  const std::string& by) {
      const auto value = settings::shown_value(*s.spec, s.value);
      const auto was = settings::shown_value(*s.spec, previous);
      spdlog::info("setting {} = {} (was {}) by {}", s.spec->name, to_json_text(value),
                   to_json_text(was), by);
      hub.publish("sluice.settings." + s.spec->name,
                  to_json_text(boost::json::object{
                      {"name", s.spec->name}, {"value", value}, {"previous", was}, {"by", by}}));
    });
    limits_at_start = config.limits;
    if (config.osc_enabled) {
      osc = std::make_unique<OscWiring>(config, registry, *relay, wire->loop(), hub, *policy);
    }
    define_settings(
        *settings, config,
        SettingTargets{registry, *cors_origins, *media, osc.get(), [this](const Limits& l) {
                         if (server) {
                           server->set_limits(l);
                         } else {
                           limits_at_start = l;  // restored values, before serving
                         }
                         relay->set_limits(l);
                         media->set_limits(l);
                       }});
    media->set_media_access([this](std::string_view path, bool write,
                                   std::string_view authorization, std::string_view method,
                                   std::string_view token, std::string_view peer) -> Status {
      auto who = authenticator->authenticate({authorization, token, peer, method});
      if (!who) return fail(who.error());
      return policy->authorize(
          *who, auth::Need{auth::Resource::kMedia,
                           write ? auth::Access::kWrite : auth::Access::kRead, std::string(path)});
    });
    media->set_pipeline_records(state_db.get());
    media->set_onvif_access(
        [this](const media::onvif::UsernameToken* token,
               std::string_view peer) -> Result<std::function<Status(std::string_view)>> {
          auto who = token ? authenticator->username_token(
                                 auth::UsernameToken{token->username, token->password,
                                                     token->digest, token->nonce, token->created},
                                 peer)
                           : authenticator->authenticate({"", "", peer, ""});
          if (!who) return fail(who.error());
          if (!token && who->kind == auth::Identity::Kind::kAnonymous &&
              policy->mode() == auth::Mode::kRequired) {
            return fail(Error{401, "credentials are required", {}});
          }
          return [this, who = *who](std::string_view path) {
            return policy->authorize(
                who, auth::Need{auth::Resource::kMedia, auth::Access::kRead, std::string(path)});
          };
        });
    media->set_challenges([this] {
      return std::vector<std::string>{authenticator->digest_challenge(), "Basic realm=\"sluice\""};
    });
    http::add_settings_routes(router, *settings, *policy);
    http::add_console_routes(router, console::embedded_files());
    if (auto why = console::placeholder_reason(); !why.empty()) {
      spdlog::warn("web console: this build serves a placeholder page at / because {}", why);
    }
    if (records.shared()) {  // what other nodes change: identities and settings
      records_sync = std::make_unique<state::RecordsSync>(
          records, std::vector<state::RecordsSync::Reload>{
                       [this] { return directory->reload(); },
                       [this] { return settings->reload("another node"); }});
    }
    audit = std::make_unique<audit::AuditLog>(
        config.data_dir.empty() ? std::string() : config.data_dir + "/audit.log",
        [this](const std::string& line) { hub.publish("sluice.audit", line); });
    router.set_outcome([this](const http::HttpRequest& req, std::string_view route, int status) {
      const bool mutating = req.method != "GET" && req.method != "HEAD";
      const bool refused = status == 401 || status == 403;
      if (!mutating && !refused) return;
      // Heartbeats keep things alive; they change nothing worth a line each (refusals are kept).
      if (!refused && route.ends_with("/heartbeat")) return;
      audit->record(audit::Entry{req.identity.owner(),
                                 req.identity.address,
                                 "http",
                                 req.method + " " + std::string(route.empty() ? req.path : route),
                                 req.path,
                                 status,
                                 {}});
    });
    http::declare_route_access(router);
    if (auto missing = router.undeclared(); !missing.empty()) {
      throw std::logic_error("routes without an access rule (http/gate.cpp): " + missing.front());
    }
    router.set_gate(http::make_gate(*authenticator, *policy,
                                    http::GateOptions{cors_origins, parse_proxies(config)}));
    metrics = std::make_unique<http::HttpMetrics>(route_names(router));
    ops.http_metrics = metrics.get();
    auto server_options =
        net::HttpServerOptions::from(limits_at_start, config.max_body_bytes, &refusals);
    server_options.cors_origins = cors_origins;
    server_options.ws_policy =
        [this](const http::HttpRequest& req) -> std::shared_ptr<hub::ClientPolicy> {
      if (policy->mode() == auth::Mode::kRequired && !req.identity.authenticated()) return nullptr;
      return std::make_shared<HubAccess>(*policy, registry, req.identity, audit.get(), "ws");
    };
    server = std::make_unique<net::HttpServer>(io, router, *metrics, hub, server_options);
    net::connect_wire_upgrades(*server, *wire);  // WebSocket /wire sessions join the relay
    if (config.mqtt_enabled) {
      mqtt = std::make_unique<MqttWiring>(config, registry, hub, *authenticator, *policy,
                                          audit.get(), io);
    }
    media->connect(*server);  // HTTP-FLV players go to the media thread
    ops.extra_metrics = [this](http::PrometheusWriter& w) {
      server->render_metrics(w);
      render_relay_metrics(w, relay->published_stats());
      const auto& a = authenticator->stats();
      w.header("sluice_auth_failures_total", "counter",
               "Requests refused for wrong or expired credentials");
      w.sample("sluice_auth_failures_total", {}, static_cast<double>(a.failures.load()));
      w.header("sluice_auth_throttled_total", "counter",
               "Credentials refused unchecked during an address's backoff after a failure");
      w.sample("sluice_auth_throttled_total", {}, static_cast<double>(a.throttled.load()));
      http::render_key_metrics(w, keys->stats());
      media->render_metrics(w);
      if (mdns) mdns->render_metrics(w);
      if (osc) osc->render_metrics(w);
      if (mqtt) mqtt->render_metrics(w);
      render_refusals(w, refusals);
      if (auto* nats_bus = dynamic_cast<nats::NatsBus*>(bus.get())) {
        nats::render_bus_metrics(w, *nats_bus);
      }
    };
    listen_heartbeats(registry::events::kStreamHeartbeats, registry::Kind::kStream);
    listen_heartbeats(registry::events::kSessionHeartbeats, registry::Kind::kSession);
    listen_heartbeats(registry::events::kSubscriberHeartbeats, registry::Kind::kSubscriber);
  }

  // --https, --rtmps and --rtsps: TLS front doors handing plaintext pairs to the HTTP, RTMP and
  // RTSP servers.
  void open_tls_front_doors() {
    const auto& c = config;
    if ((c.https_enabled || c.rtmps_enabled || c.rtsps_enabled) && c.tls_cert.empty()) {
      throw std::runtime_error("'https', 'rtmps' and 'rtsps' need tls-cert (and tls-key)");
    }
    const std::string key = c.tls_key.empty() ? c.tls_cert : c.tls_key;
    if (c.https_enabled) {
      https_door = std::make_unique<net::TlsFrontDoor>(
          io, "https", c.tls_cert, key,
          [this](int fd, std::string peer) { server->adopt(fd, std::move(peer)); });
      https_port = https_door->listen(c.https.host, c.https.port);
      spdlog::info("sluiced HTTPS on {}:{}", c.https.host, https_port);
    }
    if (c.rtmps_enabled) {
      if (!c.rtmp_enabled) throw std::runtime_error("'rtmps' needs the RTMP server (rtmp is off)");
      rtmps_door = std::make_unique<net::TlsFrontDoor>(
          io, "rtmps", c.tls_cert, key,
          [this](int fd, std::string peer) { media->adopt_rtmp(fd, std::move(peer)); });
      rtmps_port = rtmps_door->listen(c.rtmps.host, c.rtmps.port);
      spdlog::info("sluiced RTMPS on {}:{}", c.rtmps.host, rtmps_port);
    }
    if (c.rtsps_enabled) {
      if (!c.rtsp_enabled) throw std::runtime_error("'rtsps' needs the RTSP server (rtsp is off)");
      rtsps_door = std::make_unique<net::TlsFrontDoor>(
          io, "rtsps", c.tls_cert, key,
          [this](int fd, std::string peer) { media->adopt_rtsp(fd, std::move(peer)); });
      rtsps_port = rtsps_door->listen(c.rtsps.host, c.rtsps.port);
      spdlog::info("sluiced RTSPS on {}:{}", c.rtsps.host, rtsps_port);
    }
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
      remember_open_records();
    }
    if (!ok && !store_failing) {
      spdlog::warn("registry store failing: {}", ok.error().detail);
    } else if (ok && store_failing) {
      spdlog::info("registry store works again");
      sweeps_since_type_check = kTypeCheckInterval / kSweepInterval;  // check types next sweep
    }
    store_failing = !ok;
  }

  // The embedded history learns when open sessions were last heard, so rows a crash leaves open
  // are closed at the right time on the next start (History::close_interrupted).
  void remember_open_records() {
    if (!config.store.empty()) return;  // a shared store outlives this node: nothing to close
    auto sessions = store->list_sessions(std::nullopt);
    auto subscribers = store->list_subscribers(std::nullopt);
    if (sessions && subscribers) history->records_seen(*sessions, *subscribers);
  }

  void close_interrupted_history() {
    if (!config.store.empty()) return;
    auto closed = history->close_interrupted();
    if (!closed) {
      spdlog::warn("history: rows left open by the last run not closed: {}", closed.error().detail);
    } else if (*closed > 0) {
      spdlog::info(
          "history: closed {} session/subscriber row(s) the last run left open as 'interrupted'",
          *closed);
    }
  }

  void arm_sweep() {
    sweep_timer.expires_after(kSweepInterval);
    sweep_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      sweep_registry();
      if (records_sync) records_sync->poll();
      media->sweep();
      keys->purge_due();
      if (osc) osc->tick();  // the active OSC senders' streams stay alive
      arm_sweep();
    });
  }

  Refusals refusals;  // first: every module counts into it until destroyed
  Config config;
  boost::asio::io_context io;
  SystemClock clock;
  hub::Hub hub;
  std::unique_ptr<state::StateDb> state_db;  // keys, types, owners, identities, settings
  state::StateJournal journal;
  std::unique_ptr<registry::RegistryStore> store;
  std::unique_ptr<state::Records> shared_records;    // Redis, with a Redis store
  state::Records& records;                           // identities and settings: one of the above
  std::unique_ptr<state::RecordsSync> records_sync;  // with shared records: other nodes' changes
  std::unique_ptr<hub::Bus> bus;
  std::unique_ptr<registry::History> history;
  registry::Registry registry;
  std::unique_ptr<auth::Directory> directory;
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<auth::AccessPolicy> policy;
  std::shared_ptr<http::AllowedOrigins> cors_origins;  // the cors_origins setting
  std::unique_ptr<settings::Settings> settings;
  std::unique_ptr<net::TlsFrontDoor> https_door;  // --https: TLS in front of the HTTP server
  std::unique_ptr<net::TlsFrontDoor> rtmps_door;  // --rtmps: TLS in front of the RTMP server
  std::unique_ptr<net::TlsFrontDoor> rtsps_door;  // --rtsps: TLS in front of the RTSP server
  std::uint16_t rtsps_port = 0;
  std::uint16_t https_port = 0;
  std::uint16_t rtmps_port = 0;
  std::unique_ptr<audit::AuditLog> audit;
  std::unique_ptr<keys::KeyService> keys;  // stream keys; the media server checks through it
  http::Router router;
  http::OpsContext ops;
  std::unique_ptr<http::HttpMetrics> metrics;
  std::unique_ptr<net::HttpServer> server;
  Limits limits_at_start;  // config.limits with the stored settings applied, for `server`
  std::unique_ptr<net::WireServer> wire;
  std::unique_ptr<relay::ChannelAdvertiser> advertiser;
  std::unique_ptr<relay::Relay> relay;
  std::unique_ptr<MediaWiring> media;
  std::unique_ptr<MdnsWiring> mdns;  // --mdns on: the responder (started by App::start)
  std::unique_ptr<OscWiring> osc;    // --osc: the OSC gateway (bound by App::start)
  std::unique_ptr<MqttWiring> mqtt;  // --mqtt: the MQTT broker (bound by App::start)
  std::uint16_t mqtt_port = 0;
  std::uint16_t osc_port = 0;
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
  impl_->remember_open_records();
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
  impl_->open_tls_front_doors();
  if (impl_->osc) impl_->osc_port = impl_->osc->start();
  if (impl_->mqtt) impl_->mqtt_port = impl_->mqtt->start(*impl_->server);
  if (impl_->config.mdns_enabled) {
    impl_->mdns = std::make_unique<MdnsWiring>(impl_->config);
    impl_->mdns->start(
        MdnsWiring::Ports{impl_->http_port, impl_->wire_port, impl_->rtmp_port,
                          impl_->media->rtsp_port(), impl_->media->srt_port(), impl_->mqtt_port},
        impl_->media->rtsp_aliases());
    impl_->media->on_rtsp_aliases(
        [mdns = impl_->mdns.get()](const std::vector<std::pair<std::string, std::string>>& a) {
          mdns->set_rtsp_aliases(a);
        });
  }
  impl_->arm_sweep();
  if (impl_->config.dev_key) create_dev_key(*impl_->keys, impl_->config, impl_->rtmp_port);
  auto port_of = [](const HostPort& a, std::uint16_t port) {
    return port ? a.host + ":" + std::to_string(port) : std::string("off");
  };
  const auto& c = impl_->config;
  const auto udp = impl_->media->rtsp_udp_port();
  spdlog::info(
      "sluiced listening http={}:{} wire={}:{} rtmp={} rtsp={} rtsp-udp={} srt={} https={} "
      "rtmps={} rtsps={} osc={} mqtt={} (history {}, stream ttl {}s, auth {})",
      c.http.host, impl_->http_port, c.wire.host, impl_->wire_port,
      port_of(c.rtmp, impl_->rtmp_port), port_of(c.rtsp, impl_->media->rtsp_port()),
      udp ? std::to_string(udp) + "-" + std::to_string(udp + 1) : std::string("off"),
      port_of(c.srt, impl_->media->srt_port()), port_of(c.https, impl_->https_port),
      port_of(c.rtmps, impl_->rtmps_port), port_of(c.rtsps, impl_->rtsps_port),
      port_of(c.osc, impl_->osc_port), port_of(c.mqtt, impl_->mqtt_port), history_name(c),
      c.stream_ttl.count(), c.auth);
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
  if (impl_->mdns) {
    impl_->media->on_rtsp_aliases(nullptr);
    impl_->mdns->stop();  // goodbyes first: nothing answers after this
  }
  if (impl_->osc) impl_->osc->stop();
  if (impl_->mqtt) impl_->mqtt->stop();  // wills published while the registry still runs
  if (impl_->https_door) impl_->https_door->stop();
  if (impl_->rtmps_door) impl_->rtmps_door->stop();
  if (impl_->rtsps_door) impl_->rtsps_door->stop();
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
std::uint16_t App::https_port() const {
  return impl_->https_port;
}
std::uint16_t App::rtmps_port() const {
  return impl_->rtmps_port;
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
