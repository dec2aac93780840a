#include "server/relay_wiring.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>
#include <utility>
#include <vector>

#include "audit/audit_log.hpp"
#include "auth/access_policy.hpp"
#include "auth/directory.hpp"
#include "core/event_loop.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "registry/registry.hpp"
#include "relay/access_files.hpp"
#include "server/hub_access.hpp"
#include "wire/scram.hpp"

namespace sluice::server {
namespace {

// Relay channels with publishers appear in the registry as `sluice` streams.
class RegistryAdvertiser final : public relay::ChannelAdvertiser {
 public:
  RegistryAdvertiser(registry::Registry& registry, std::string host, const std::uint16_t& port)
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
  const std::uint16_t& port_;
};

boost::json::object channel_json(const relay::ChannelInfo& c) {
  return {{"name", c.name},
          {"owner", c.owner},
          {"message_count", c.message_count},
          {"bytes", c.bytes},
          {"dropped", c.dropped},
          {"subscribers", c.subscribers},
          {"publishers", c.publishers},
          {"active", c.active},
          {"stream_id",
           c.registry_id.empty() ? boost::json::value(nullptr) : boost::json::value(c.registry_id)},
          {"created_at", format_timestamp(c.created_at)}};
}

}  // namespace

std::unique_ptr<relay::ChannelAdvertiser> make_registry_advertiser(registry::Registry& registry,
                                                                   std::string host,
                                                                   const std::uint16_t& port) {
  return std::make_unique<RegistryAdvertiser>(registry, std::move(host), port);
}

void connect_relay_identities(relay::AuthConfig& a, auth::Directory& directory,
                              auth::AccessPolicy& policy, registry::Registry& registry,
                              const std::unique_ptr<audit::AuditLog>& audit) {
  a.find_user =
      [&directory](std::string_view name) -> std::optional<wire::scram::StoredCredentials> {
    auto u = directory.find_user(name);
    if (!u) return std::nullopt;
    auto creds = wire::scram::parse_credentials(u->scram);
    if (!creds) return std::nullopt;
    return *creds;
  };
  a.token_name = [&directory](std::string_view token) -> std::optional<std::string> {
    auto m = directory.check_token(token);
    if (!m) return std::nullopt;
    return m->name;
  };
  const bool file_users = !a.users.empty() || !a.tokens.empty();
  a.policy_for = [&directory, &policy, &registry, &audit, file_users](
                     std::string_view kind, std::string_view name,
                     std::string_view address) -> std::shared_ptr<hub::ClientPolicy> {
    // The relay names its peers "ADDRESS:PORT"; ownership goes by the address alone.
    const auto colon = address.rfind(':');
    auth::Identity who = auth::Identity::anonymous(
        std::string(colon == std::string_view::npos ? address : address.substr(0, colon)));
    if (kind != "anonymous") {
      who.kind = kind == "user" ? auth::Identity::Kind::kUser : auth::Identity::Kind::kToken;
      who.name = std::string(name);
      who.role = kind == "user" ? directory.role_of_user(name) : directory.role_of_token(name);
      // Users and tokens of the relay's files predate roles: they publish and subscribe.
      if (!who.role && file_users) who.role = directory.role("publisher");
    }
    return std::make_shared<HubAccess>(policy, registry, std::move(who), audit.get(), "wire");
  };
}

// GET /channels and /channels/{name}: a snapshot taken on the relay thread.
void add_channel_routes(http::Router& router, relay::Relay& relay) {
  // At most 2 s for the relay thread to take the snapshot (it may be stopping or stalled).
  auto on_relay = [&relay](auto fn) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    return call_on_loop(relay.loop(), fn,
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
               return http::json_response(200, to_json_text(out));
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
               return http::json_response(200, to_json_text(channel_json(*info)));
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
  one("sluice_relay_buffered_bytes", "gauge",
      "Bytes queued for relay subscribers (bounded by relay-buffer-budget)", s.buffered_bytes);
  one("sluice_relay_partial_bytes", "gauge",
      "Bytes of partly received relay messages (bounded by relay-partial-budget)", s.partial_bytes);
}

}  // namespace sluice::server
