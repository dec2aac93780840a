#include "server/backends.hpp"

#include <stdexcept>

#include "history_pg/postgres_history.hpp"
#include "hub/subject.hpp"
#include "nats/nats_bus.hpp"
#include "redis/redis_records.hpp"
#include "redis/redis_store.hpp"
#include "registry/memory_store.hpp"
#include "registry/sqlite_history.hpp"
#include "server/local_bus.hpp"
#include "server/mqtt_topics.hpp"
#include "state/state_journal.hpp"

namespace sluice::server {

std::unique_ptr<registry::RegistryStore> make_store(const Config& config, const Clock& clock,
                                                    state::StateDb* state,
                                                    registry::StoreJournal* journal) {
  if (config.store.empty()) {
    if (!state || !journal) return std::make_unique<registry::MemoryStore>();
    return std::make_unique<registry::MemoryStore>(journal, state::load_journal(*state));
  }
  auto endpoint = redis::parse_redis_url(config.store);
  if (!endpoint) throw ConfigError("'store': " + endpoint.error().detail);
  return std::make_unique<redis::RedisStore>(*endpoint, clock);
}

std::unique_ptr<state::Records> make_shared_records(const Config& config) {
  if (config.store.empty()) return nullptr;
  auto endpoint = redis::parse_redis_url(config.store);
  if (!endpoint) throw ConfigError("'store': " + endpoint.error().detail);
  return std::make_unique<redis::RedisRecords>(*endpoint);
}

std::unique_ptr<hub::Bus> make_bus(const Config& config, hub::Hub& hub,
                                   boost::asio::io_context& io) {
  for (const auto& pattern : config.global_channels) {
    if (!hub::is_valid_pattern(pattern)) {
      throw ConfigError("'global-channels': invalid pattern '" + pattern +
                        "': use '.'-separated tokens, '*' for one token and a final '>'");
    }
    // The registry's own subjects already cross nodes (events once each, heartbeats to one
    // node); bridging them as channels too would deliver them twice.
    const std::string first = pattern.substr(0, pattern.find('.'));
    if (first == "maestra" || first == "*" || first == ">" || first == "_INBOX") {
      throw ConfigError("'global-channels': pattern '" + pattern +
                        "' would cover the registry's maestra.* subjects; name relay "
                        "channels under a prefix of their own, e.g. 'show.>'");
    }
  }
  if (config.bus.empty()) return std::make_unique<LocalBus>(hub, io);
  nats::NatsBusOptions options;
  options.url = config.bus;
  options.global_channels = config.global_channels;
  // MQTT publishes cross to the other nodes' brokers (server/mqtt_wiring.hpp).
  if (config.mqtt_enabled) options.global_channels.push_back(std::string(kMqttNodesPrefix) + ">");
  options.forward_timeout = config.request_timeout;
  return std::make_unique<nats::NatsBus>(hub, io, std::move(options));
}

std::unique_ptr<registry::History> make_history(const Config& config) {
  const std::string where = config.history_path();
  if (registry::is_postgres_url(where)) return std::make_unique<registry::PostgresHistory>(where);
  return std::make_unique<registry::SqliteHistory>(where);
}

std::string store_name(const Config& config) {
  if (config.store.empty()) return "memory";
  auto endpoint = redis::parse_redis_url(config.store);
  return endpoint ? "redis://" + endpoint->to_string() : config.store;
}

std::string history_name(const Config& config) {
  const std::string where = config.history_path();
  return registry::is_postgres_url(where) ? registry::redact_postgres_url(where) : where;
}

}  // namespace sluice::server
