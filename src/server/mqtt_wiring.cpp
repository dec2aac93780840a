#include "server/mqtt_wiring.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <map>

#include "audit/audit_log.hpp"
#include "auth/access_policy.hpp"
#include "auth/authenticator.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/log_limiter.hpp"
#include "core/logging.hpp"
#include "core/time_format.hpp"
#include "http/metrics.hpp"
#include "hub/hub.hpp"
#include "mqtt/mqtt_topic.hpp"
#include "mqtt/mqtt_utf8.hpp"
#include "net/mqtt_server.hpp"
#include "registry/registry.hpp"
#include "registry/requests.hpp"
#include "server/hub_access.hpp"
#include "server/mqtt_topics.hpp"

namespace sluice::server {
namespace {

namespace json = boost::json;

constexpr std::string_view kNatsOrigin = "nats";  // nats::NatsBus::kNatsOrigin: other nodes'
constexpr std::string_view kOrigin = "mqtt";      // MessageView::origin of what MQTT publishes
constexpr std::size_t kMaxInbox = 10'000;         // hub messages waiting for the MQTT thread
constexpr std::string_view kAdvertise = "maestra/stream/advertise";
constexpr std::string_view kHeartbeat = "maestra/stream/heartbeat/";
constexpr std::string_view kWithdraw = "maestra/stream/withdraw/";

// A connected client as the wiring knows it (mqtt::ClientInfo::principal).
struct Principal {
  auth::Identity identity;
  registry::Actor actor;  // what it owns in the registry
  std::unique_ptr<HubAccess> access;
};

const Principal& principal_of(const mqtt::ClientInfo& client) {
  return *static_cast<const Principal*>(client.principal.get());
}

bool is_registry_command(std::string_view topic) {
  return topic == kAdvertise ||
         (topic.starts_with(kHeartbeat) && topic.size() > kHeartbeat.size() &&
          topic.find('/', kHeartbeat.size()) == std::string_view::npos) ||
         (topic.starts_with(kWithdraw) && topic.size() > kWithdraw.size() &&
          topic.find('/', kWithdraw.size()) == std::string_view::npos);
}

std::string_view first_level(std::string_view topic) {
  return topic.substr(0, topic.find('/'));
}

void log_refusal(const std::string& what) {
  static LogLimiter limiter;
  log_limited(limiter, true, "mqtt: " + what);
}

}  // namespace

struct MqttWiring::Impl final : mqtt::BrokerHooks, std::enable_shared_from_this<MqttWiring::Impl> {
  Impl(const Config& c, registry::Registry& r, hub::Hub& h, auth::Authenticator& a,
       const auth::AccessPolicy& p, audit::AuditLog* au, boost::asio::io_context& i)
      : config(c), registry(r), hub(h), authenticator(a), policy(p), audit(au), io(i) {}

  // A hub subscription made for MQTT filters: carries messages of its kind to the broker.
  struct Bridge final : hub::Subscriber {
    std::weak_ptr<Impl> impl;
    BridgeKind kind;
    void deliver(const hub::MessagePtr& m) override {
      if (auto self = impl.lock()) self->from_hub(kind, m->subject, m->data, {}, m);
    }
    bool deliver_view(const hub::MessageView& m) override {
      if (m.origin == kOrigin) return true;  // MQTT's own, already delivered
      if (auto self = impl.lock()) self->from_hub(kind, m.subject, m.data, m.origin, m.shared());
      return true;
    }
  };
  struct BridgeEntry {
    std::size_t filters = 0;
    hub::Hub::Subscription subscription;
  };

  // ---- BrokerHooks (the MQTT thread) ----

  void authenticate(const mqtt::AuthRequest& request) override {
    boost::asio::post(io, [weak = weak_from_this(), request] {
      if (auto self = weak.lock()) self->verify(request);
    });
  }

  bool may_publish(const mqtt::ClientInfo& client, std::string_view topic) override {
    const auto& p = principal_of(client);
    const std::string_view first = first_level(topic);
    if (first.starts_with('$') || first == "sluice") return false;  // the server's namespaces
    if (first == "maestra") {
      return policy.allows(p.identity,
                           auth::Need{auth::Resource::kStreams, auth::Access::kWrite, {}});
    }
    if (auto subject = subject_of_topic(topic)) return p.access->publish(*subject).has_value();
    return policy.allows(p.identity, auth::Need{auth::Resource::kChannels, auth::Access::kWrite,
                                                std::string(topic)});
  }

  mqtt::SubscribeVerdict may_subscribe(const mqtt::ClientInfo& client,
                                       std::string_view filter) override {
    const auto& p = principal_of(client);
    const std::string_view first = first_level(filter);
    auto verdict = [](bool ok) {
      return ok ? mqtt::SubscribeVerdict::allowed : mqtt::SubscribeVerdict::refused;
    };
    if (first == "maestra") {
      return verdict(
          policy.allows(p.identity, auth::Need{auth::Resource::kStreams, auth::Access::kRead, {}}));
    }
    if (first.starts_with('$') || first == "sluice") return mqtt::SubscribeVerdict::allowed;
    if (auto pattern = pattern_of_filter(filter)) {
      if (!p.access->subscribe(*pattern)) return mqtt::SubscribeVerdict::refused;
      const bool spans = first == "+" || first == "#" || !auth_covers(*pattern);
      return spans ? mqtt::SubscribeVerdict::per_message : mqtt::SubscribeVerdict::allowed;
    }
    return verdict(policy.allows(p.identity, auth::Need{auth::Resource::kChannels,
                                                        auth::Access::kRead, std::string(filter)}));
  }

  bool may_read(const mqtt::ClientInfo& client, std::string_view topic) override {
    const auto& p = principal_of(client);
    if (first_level(topic) == "maestra") {
      return policy.allows(p.identity,
                           auth::Need{auth::Resource::kStreams, auth::Access::kRead, {}});
    }
    if (auto subject = subject_of_topic(topic)) return p.access->deliver(*subject);
    return policy.allows(
        p.identity, auth::Need{auth::Resource::kChannels, auth::Access::kRead, std::string(topic)});
  }

  bool on_publish(const mqtt::ClientInfo& client, const mqtt::MessagePtr& message) override {
    const std::string_view topic = message->topic;
    if (is_registry_command(topic)) {
      ++commands;
      boost::asio::post(io, [weak = weak_from_this(), client, message] {
        if (auto self = weak.lock()) self->registry_command(client, *message);
      });
      return false;  // the registry's event follows, with the stream's id
    }
    auto subject = subject_of_topic(topic);
    if (!subject) return true;  // stays among MQTT clients
    if (first_level(topic) == "maestra") {
      hub.publish("maestra.mqtt." + *subject, envelope(*message));
    } else {
      to_local_hub(*subject, message->payload);
    }
    if (distributed) {  // the other nodes' brokers (a global channel of the NATS bus)
      const std::string across = std::string(kMqttNodesPrefix) + *subject;
      hub::Route route;
      hub.refresh(across, route);
      hub.publish(route, hub::MessageView(across, {}, message->payload, kOrigin));
    }
    ++to_hub;
    return true;
  }

  void on_filter(std::string_view filter, bool added) override {
    for (auto& b : bridge_patterns(filter)) {
      const std::string key = std::to_string(static_cast<int>(b.kind)) + " " + b.pattern;
      auto& entry = bridges[key];
      if (added && entry.filters++ == 0) {
        auto bridge = std::make_shared<Bridge>();
        bridge->impl = weak_from_this();
        bridge->kind = b.kind;
        auto sub = hub.subscribe(b.pattern, bridge, hub::Interest::kObserver);
        if (sub) entry.subscription = std::move(*sub);
      } else if (!added && entry.filters > 0 && --entry.filters == 0) {
        bridges.erase(key);
      }
    }
  }

  // A message for this node's hub clients (relay channels, /ws), marked as MQTT's own.
  void to_local_hub(const std::string& subject, std::string_view payload) {
    hub::Route route;
    hub.refresh(subject, route);
    if (!route.subscribers.empty()) {
      hub.publish(route, hub::MessageView(subject, {}, payload, kOrigin));
    }
  }

  // ---- the io_context ----

  // The CONNECT's credentials → an identity, answered on the MQTT thread.
  void verify(const mqtt::AuthRequest& request) {
    std::string authorization;
    if (request.password) {
      if (!request.username || request.username->empty() || *request.username == "token") {
        authorization = "Bearer " + *request.password;
      } else {
        authorization =
            "Basic " + crypto::base64_encode(*request.username + ":" + *request.password);
      }
    }
    mqtt::AuthResult result;
    auto who =
        authenticator.authenticate(auth::Credentials{authorization, {}, request.address, {}});
    if (!who) {
      result.reason = who.error().status == 401 ? mqtt::ReasonCode::bad_user_name_or_password
                                                : mqtt::ReasonCode::server_busy;
      log_refusal("refused the credentials of client '" + request.client_id + "' from " +
                  request.address);
    } else if (!policy.allows(*who,
                              auth::Need{auth::Resource::kStreams, auth::Access::kRead, {}}) &&
               !policy.allows(*who,
                              auth::Need{auth::Resource::kChannels, auth::Access::kRead, {}})) {
      result.reason = mqtt::ReasonCode::not_authorized;  // e.g. anonymous in `required` mode
      log_refusal("client '" + request.client_id + "' from " + request.address +
                  " may not connect: credentials are required");
    } else {
      auto p = std::make_shared<Principal>();
      p->identity = *who;
      const bool anonymous = !who->authenticated();
      p->actor = registry::Actor{
          anonymous ? "mqtt:" + request.client_id + "@" + request.address : who->owner(),
          policy.manages_all(*who)};
      p->access = std::make_unique<HubAccess>(policy, registry, *who, audit, "mqtt");
      result.principal = std::move(p);
    }
    if (!server || stopping) return;
    server->loop().post([weak = weak_from_this(), id = request.connection, result] {
      if (auto self = weak.lock()) {
        self->server->broker().authenticated(id, result, std::chrono::steady_clock::now());
      }
    });
  }

  // maestra/stream/advertise, …/heartbeat/{id}, …/withdraw/{id} from `client`.
  void registry_command(const mqtt::ClientInfo& client, const mqtt::Message& message) {
    const auto& p = principal_of(client);
    const std::string_view topic = message.topic;
    Result<json::object> answer = json::object{};
    if (topic == kAdvertise) {
      answer = advertise(client, message.payload);
    } else if (topic.starts_with(kHeartbeat)) {
      const std::string id(topic.substr(kHeartbeat.size()));
      auto done = registry.heartbeat_stream(id, p.actor);
      answer = done ? Result<json::object>(json::object{{"status", "ok"}, {"stream_id", id}})
                    : std::unexpected(done.error());
    } else {
      const std::string id(topic.substr(kWithdraw.size()));
      auto done = registry.withdraw(id, p.actor);
      answer = done ? Result<json::object>(json::object{{"status", "withdrawn"}, {"stream_id", id}})
                    : std::unexpected(done.error());
    }
    if (!answer) {
      ++command_errors;
      log_refusal(std::string(topic) + " from client '" + client.client_id + "' (" +
                  client.address + "): " + answer.error().detail);
    }
    // MQTT 5 request/response: the outcome goes to the response topic.
    if (message.properties.response_topic && server && !stopping) {
      auto reply = std::make_shared<mqtt::Message>();
      reply->topic = *message.properties.response_topic;
      reply->payload = answer ? to_json_text(*answer)
                              : to_json_text(json::object{{"status", answer.error().status},
                                                          {"detail", answer.error().detail}});
      reply->qos = 1;
      reply->properties.correlation_data = message.properties.correlation_data;
      reply->properties.content_type = "application/json";
      reply->received_at = std::chrono::steady_clock::now();
      server->loop().post([weak = weak_from_this(), reply = mqtt::MessagePtr(reply)] {
        if (auto self = weak.lock()) {
          self->server->broker().inject(reply, std::chrono::steady_clock::now());
        }
      });
    }
  }

  Result<json::object> advertise(const mqtt::ClientInfo& client, const std::string& payload) {
    const auto& p = principal_of(client);
    if (auto ok = policy.authorize(p.identity,
                                   auth::Need{auth::Resource::kStreams, auth::Access::kWrite, {}});
        !ok) {
      return std::unexpected(ok.error());
    }
    auto body = parse_json_object(payload);
    if (!body) return std::unexpected(body.error());
    // The Arduino SDK sends {name, stream_type, publisher_id, protocol, address, port}; the
    // device's own client id and address stand in for what it leaves out.
    auto missing = [&](const char* key) {
      auto* v = body->if_contains(key);
      return !v || (v->is_string() && v->as_string().empty());
    };
    if (missing("publisher_id")) (*body)["publisher_id"] = client.client_id;
    if (missing("address")) (*body)["address"] = client.address;
    auto request = registry::parse_advertise(*body);
    if (!request) return std::unexpected(request.error());
    auto view = registry.advertise(*request, p.actor);
    if (!view) return std::unexpected(view.error());
    return registry::to_json(*view);
  }

  // Maestra's MQTT bridge envelope (reference §5.4).
  static std::string envelope(const mqtt::Message& m) {
    json::object e{{"source", "mqtt"},
                   {"topic", m.topic},
                   {"qos", m.qos},
                   {"timestamp", format_timestamp(std::chrono::system_clock::now())}};
    const bool text = mqtt::is_well_formed_utf8(m.payload);
    e["payload"] = text ? m.payload : crypto::base64_encode(m.payload);
    if (auto parsed = parse_json_object(m.payload); parsed && text) {
      e["data"] = std::move(*parsed);
    } else {
      e["data"] = text ? json::value(m.payload) : json::value(crypto::base64_encode(m.payload));
    }
    return to_json_text(e);
  }

  // ---- any thread (hub deliveries) ----

  void from_hub(BridgeKind kind, std::string_view subject, std::string_view data,
                std::string_view origin, const hub::MessagePtr& shared) {
    auto topic = bridged_topic(kind, subject);
    if (!topic || !server || stopping) return;
    if (kind == BridgeKind::nodes) {
      if (origin != kNatsOrigin) return;  // this node's own, on its way out
      to_local_hub(std::string(subject.substr(kMqttNodesPrefix.size())), data);
    }
    // Overlapping hub patterns (filters "a/#" and "a/b") deliver one message to several
    // bridges: the broker routes it once to every matching MQTT subscriber.
    thread_local std::array<hub::MessagePtr, 5> last;
    auto& seen = last[static_cast<std::size_t>(kind)];
    if (seen.get() == shared.get()) return;
    seen = shared;
    if (inbox.fetch_add(1) >= kMaxInbox) {
      inbox.fetch_sub(1);
      ++inbox_dropped;  // overflow policy: drop-newest
      return;
    }
    auto m = std::make_shared<mqtt::Message>();
    m->topic = std::move(*topic);
    m->payload = payload_for(kind, subject, data);
    m->qos = kind == BridgeKind::channel || kind == BridgeKind::nodes ? 0 : 1;
    m->received_at = std::chrono::steady_clock::now();
    server->loop().post([weak = weak_from_this(), m = mqtt::MessagePtr(std::move(m))] {
      auto self = weak.lock();
      if (!self) return;
      self->inbox.fetch_sub(1);
      ++self->from_hub_count;
      self->server->broker().inject(m, std::chrono::steady_clock::now());
    });
  }

  static std::string payload_for(BridgeKind kind, std::string_view subject, std::string_view data) {
    if (kind == BridgeKind::channel || kind == BridgeKind::nodes) return std::string(data);
    auto parsed = parse_json_object(data);
    if (!parsed) return std::string(data);
    if (kind == BridgeKind::withdraw) {  // the event, with the stream's `id` like an advert
      (*parsed)["id"] = std::string(subject.substr(subject.rfind('.') + 1));
      return to_json_text(*parsed);
    }
    if (auto* payload = parsed->if_contains("payload")) {  // Maestra: the JSON or its payload
      return payload->is_string() ? std::string(payload->as_string()) : to_json_text(*payload);
    }
    return std::string(data);
  }

  // Whether HubAccess's subscribe check covers every subject the pattern matches (a channel
  // pattern) or only some (one spanning reserved namespaces: checked per message).
  static bool auth_covers(const std::string& pattern) {
    return !pattern.starts_with(">") && !pattern.starts_with("*");
  }

  const Config& config;
  registry::Registry& registry;
  hub::Hub& hub;
  auth::Authenticator& authenticator;
  const auth::AccessPolicy& policy;
  audit::AuditLog* audit;
  boost::asio::io_context& io;
  // Set once by start() before any client can connect, kept until the wiring goes (stop()
  // stops its thread), so hub and io threads may read it without a lock.
  std::unique_ptr<net::MqttServer> server;
  std::atomic<bool> stopping{false};
  std::uint16_t port = 0;
  const bool distributed = config.bus.starts_with("nats://");
  hub::Hub::Subscription from_nodes;           // sluice.mqtt.> with --bus nats://
  std::map<std::string, BridgeEntry> bridges;  // MQTT thread
  std::atomic<std::size_t> inbox{0};
  std::atomic<std::uint64_t> inbox_dropped{0}, from_hub_count{0}, to_hub{0}, commands{0},
      command_errors{0};
};

MqttWiring::MqttWiring(const Config& config, registry::Registry& registry, hub::Hub& hub,
                       auth::Authenticator& authenticator, const auth::AccessPolicy& policy,
                       audit::AuditLog* audit, boost::asio::io_context& io)
    : impl_(std::make_shared<Impl>(config, registry, hub, authenticator, policy, audit, io)) {}

MqttWiring::~MqttWiring() {
  stop();
}

std::uint16_t MqttWiring::start(net::HttpServer& http) {
  mqtt::BrokerOptions options;
  auto server = std::make_unique<net::MqttServer>(*impl_, options, net::MqttServerOptions{});
  try {
    impl_->port = server->listen(impl_->config.mqtt.host, impl_->config.mqtt.port);
  } catch (const std::exception& e) {
    throw ConfigError(std::string("--mqtt: ") + e.what());
  }
  impl_->server = std::move(server);
  impl_->server->start();
  if (impl_->distributed) {
    auto bridge = std::make_shared<Impl::Bridge>();
    bridge->impl = impl_;
    bridge->kind = BridgeKind::nodes;
    auto sub =
        impl_->hub.subscribe(std::string(kMqttNodesPrefix) + ">", bridge, hub::Interest::kObserver);
    if (sub) impl_->from_nodes = std::move(*sub);
  }
  net::connect_mqtt_upgrades(http, *impl_->server);
  return impl_->port;
}

void MqttWiring::stop() {
  if (!impl_->server || impl_->stopping.exchange(true)) return;
  impl_->server->stop();   // the MQTT thread ends: nothing else touches the bridges
  impl_->bridges.clear();  // no more hub deliveries after this
  impl_->from_nodes.reset();
}

void MqttWiring::render_metrics(http::PrometheusWriter& w) const {
  if (!impl_->server) return;
  const auto s = impl_->server->stats();
  w.header("sluice_mqtt_clients", "gauge", "MQTT clients connected now");
  w.sample("sluice_mqtt_clients", {}, static_cast<double>(s.connections));
  w.header("sluice_mqtt_sessions", "gauge", "MQTT sessions kept (connected or not)");
  w.sample("sluice_mqtt_sessions", {}, static_cast<double>(s.sessions));
  w.header("sluice_mqtt_subscriptions", "gauge", "MQTT subscriptions");
  w.sample("sluice_mqtt_subscriptions", {}, static_cast<double>(s.subscriptions));
  w.header("sluice_mqtt_retained", "gauge", "MQTT retained messages");
  w.sample("sluice_mqtt_retained", {}, static_cast<double>(s.retained));
  w.header("sluice_mqtt_messages_total", "counter", "MQTT messages by way");
  for (const auto& [way, value] : {std::pair<const char*, std::uint64_t>{"received", s.received},
                                   {"delivered", s.delivered},
                                   {"from_hub", impl_->from_hub_count.load()},
                                   {"to_hub", impl_->to_hub.load()},
                                   {"registry_commands", impl_->commands.load()},
                                   {"registry_command_errors", impl_->command_errors.load()},
                                   {"wills", s.wills_published}}) {
    w.sample("sluice_mqtt_messages_total", {{"way", way}}, static_cast<double>(value));
  }
  w.header("sluice_mqtt_dropped_total", "counter", "MQTT messages dropped, by reason");
  for (const auto& [reason, value] :
       {std::pair<const char*, std::uint64_t>{"client_backlog", s.dropped_backlog},
        {"session_queue", s.dropped_queue},
        {"expired", s.dropped_expired},
        {"hub_inbox", impl_->inbox_dropped.load()}}) {
    w.sample("sluice_mqtt_dropped_total", {{"reason", reason}}, static_cast<double>(value));
  }
  w.header("sluice_mqtt_refused_total", "counter", "MQTT refusals, by what was refused");
  for (const auto& [what, value] :
       {std::pair<const char*, std::uint64_t>{"connect", s.refused_connects},
        {"connection", impl_->server->refused_connections()},
        {"publish", s.refused_publishes},
        {"subscribe", s.refused_subscribes},
        {"protocol_error", s.protocol_errors},
        {"keep_alive", s.keep_alive_timeouts}}) {
    w.sample("sluice_mqtt_refused_total", {{"what", what}}, static_cast<double>(value));
  }
}

}  // namespace sluice::server
