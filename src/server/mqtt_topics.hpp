#pragma once
// How MQTT topics meet hub subjects (the MQTT bridge of issue 16, pure functions): levels are
// joined with '.' ('/' ↔ '.'), '+' ↔ '*', '#' ↔ '>'. Maestra's own topics keep Maestra's bridge
// (reference §5.4): MQTT `maestra/x/y` goes to the hub as `maestra.mqtt.maestra.x.y` (in the
// bridge's envelope), and hub `maestra.to_mqtt.x.y` comes to MQTT as `x/y`.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::server {

// With --bus nats://, each MQTT publish that has a hub subject is also published on
// "sluice.mqtt.<subject>", a global channel pattern of the NATS bus, so the other nodes' brokers
// deliver it to their MQTT clients.
inline constexpr std::string_view kMqttNodesPrefix = "sluice.mqtt.";

// The hub subject of an MQTT topic name; nullopt when it has none (an empty level, a level with
// '.', a '$' topic, characters the hub does not take): such topics stay among MQTT clients.
std::optional<std::string> subject_of_topic(std::string_view topic);
// The hub pattern of an MQTT topic filter (a plain one, not "$share/…"); nullopt likewise.
std::optional<std::string> pattern_of_filter(std::string_view filter);
// The MQTT topic of a hub subject.
std::string topic_of_subject(std::string_view subject);

// What a hub subscription made for an MQTT filter carries over.
enum class BridgeKind {
  channel,   // relay channels and other non-reserved subjects, topic = subject with '/'
  to_mqtt,   // maestra.to_mqtt.X → X (registry adverts; Maestra's outbound bridge)
  untyped,   // maestra.to_mqtt.maestra.stream.advertise.{type} → maestra/stream/advertise
  withdraw,  // maestra.stream.withdraw.{id} → maestra/stream/withdraw/{id}
  nodes,     // sluice.mqtt.X from another node → X (and X again on this node's hub)
};
struct BridgePattern {
  BridgeKind kind;
  std::string pattern;
  bool operator==(const BridgePattern&) const = default;
};
// The hub subscriptions an MQTT filter needs so that hub messages reach its subscribers.
std::vector<BridgePattern> bridge_patterns(std::string_view filter);
// The MQTT topic a hub message of `kind` on `subject` becomes; nullopt when that kind does not
// carry the subject (a reserved subject seen by a channel pattern like ">").
std::optional<std::string> bridged_topic(BridgeKind kind, std::string_view subject);

}  // namespace sluice::server
