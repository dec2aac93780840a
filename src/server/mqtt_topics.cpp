#include "server/mqtt_topics.hpp"

#include "auth/subjects.hpp"
#include "hub/subject.hpp"
#include "mqtt/mqtt_topic.hpp"

namespace sluice::server {
namespace {

constexpr std::string_view kToMqtt = "maestra.to_mqtt.";
constexpr std::string_view kUntypedAdvert = "maestra.to_mqtt.maestra.stream.advertise.";
constexpr std::string_view kWithdraw = "maestra.stream.withdraw.";

// Levels joined with '.', each mapped by `level`; nullopt when a level cannot be a token.
template <class Map>
std::optional<std::string> join_levels(std::string_view text, Map level) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = std::min(text.find('/', start), text.size());
    const std::string_view part = text.substr(start, end - start);
    if (part.empty() || part.find('.') != std::string_view::npos) return std::nullopt;
    if (!out.empty()) out += '.';
    out += level(part);
    if (end == text.size()) return out;
    start = end + 1;
  }
}

std::string_view first_level(std::string_view filter) {
  return filter.substr(0, filter.find('/'));
}

}  // namespace

std::optional<std::string> subject_of_topic(std::string_view topic) {
  if (topic.empty() || topic.starts_with('$')) return std::nullopt;
  auto subject = join_levels(topic, [](std::string_view l) { return l; });
  if (!subject || !hub::is_valid_subject(*subject)) return std::nullopt;
  return subject;
}

std::optional<std::string> pattern_of_filter(std::string_view filter) {
  if (filter.empty() || filter.starts_with('$')) return std::nullopt;
  auto pattern = join_levels(filter, [](std::string_view l) -> std::string_view {
    if (l == "+") return "*";
    if (l == "#") return ">";
    return l;
  });
  if (!pattern || !hub::is_valid_pattern(*pattern)) return std::nullopt;
  return pattern;
}

std::string topic_of_subject(std::string_view subject) {
  std::string out(subject);
  for (auto& c : out)
    if (c == '.') c = '/';
  return out;
}

std::vector<BridgePattern> bridge_patterns(std::string_view filter) {
  std::vector<BridgePattern> out;
  const std::string_view first = first_level(filter);
  const bool wildcard_first = first == "+" || first == "#";
  if (first == "maestra" || wildcard_first) {
    if (auto p = pattern_of_filter(filter)) {
      out.push_back({BridgeKind::to_mqtt, std::string(kToMqtt) + *p});
    }
    if (mqtt::matches(filter, "maestra/stream/advertise")) {
      out.push_back({BridgeKind::untyped, std::string(kUntypedAdvert) + "*"});
    }
    if (mqtt::matches(filter, "maestra/stream/withdraw/x")) {
      out.push_back({BridgeKind::withdraw, std::string(kWithdraw) + "*"});
    }
  }
  if (first != "maestra" && first != "sluice") {
    if (auto p = pattern_of_filter(filter)) out.push_back({BridgeKind::channel, *p});
  }
  return out;
}

std::optional<std::string> bridged_topic(BridgeKind kind, std::string_view subject) {
  switch (kind) {
    case BridgeKind::channel:
      if (auth::is_reserved_subject(subject) || subject.starts_with("_INBOX.")) {
        return std::nullopt;
      }
      return topic_of_subject(subject);
    case BridgeKind::to_mqtt:
      if (!subject.starts_with(kToMqtt)) return std::nullopt;
      return topic_of_subject(subject.substr(kToMqtt.size()));
    case BridgeKind::untyped:
      if (!subject.starts_with(kUntypedAdvert)) return std::nullopt;
      return std::string("maestra/stream/advertise");
    case BridgeKind::withdraw:
      if (!subject.starts_with(kWithdraw)) return std::nullopt;
      return "maestra/stream/withdraw/" + std::string(subject.substr(kWithdraw.size()));
    case BridgeKind::nodes:
      if (!subject.starts_with(kMqttNodesPrefix)) return std::nullopt;
      return topic_of_subject(subject.substr(kMqttNodesPrefix.size()));
  }
  return std::nullopt;
}

}  // namespace sluice::server
