#include "mqtt/mqtt_topic.hpp"

#include <algorithm>
#include <string>

#include "mqtt/mqtt_utf8.hpp"

namespace sluice::mqtt {
namespace {

constexpr std::string_view kSharePrefix = "$share/";

// Checks the text rules both kinds share; `what` is "topic name" or "topic filter".
MqttStatus check_text(std::string_view text, std::string_view what, ReasonCode reason) {
  if (text.empty()) return refuse(reason, std::string(what) + " is empty");
  if (text.size() > kMaxStringLength) {
    return refuse(reason, std::string(what) + " is over 65535 bytes");
  }
  if (!is_mqtt_string(text)) {
    return refuse(reason, std::string(what) + " is not an MQTT UTF-8 string");
  }
  return {};
}

// The wildcard rules of a plain (not shared) filter whose text is already checked.
MqttStatus check_filter_levels(std::string_view filter) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = std::min(filter.find('/', start), filter.size());
    const std::string_view level = filter.substr(start, end - start);
    const bool last = end == filter.size();
    if (level.find('#') != std::string_view::npos && (level != "#" || !last)) {
      return refuse(ReasonCode::topic_filter_invalid, "topic filter \"" + std::string(filter) +
                                                          "\": '#' must be the whole last level");
    }
    if (level.find('+') != std::string_view::npos && level != "+") {
      return refuse(ReasonCode::topic_filter_invalid,
                    "topic filter \"" + std::string(filter) + "\": '+' must be a whole level");
    }
    if (last) return {};
    start = end + 1;
  }
}

}  // namespace

MqttStatus check_topic_name(std::string_view topic) {
  if (auto ok = check_text(topic, "topic name", ReasonCode::topic_name_invalid); !ok) return ok;
  if (topic.find_first_of("+#") != std::string_view::npos) {
    return refuse(ReasonCode::topic_name_invalid,
                  "topic name \"" + std::string(topic) + "\" contains a wildcard");
  }
  return {};
}

MqttStatus check_topic_filter(std::string_view filter) {
  auto shared = parse_shared_subscription(filter);
  if (!shared) return std::unexpected(shared.error());
  if (*shared) return {};  // parse_shared_subscription() checked the whole of it
  if (auto ok = check_text(filter, "topic filter", ReasonCode::topic_filter_invalid); !ok) {
    return ok;
  }
  return check_filter_levels(filter);
}

bool matches(std::string_view filter, std::string_view topic) {
  if (filter.empty() || topic.empty()) return false;
  if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;
  std::size_t f = 0, t = 0;
  bool topic_done = false;  // every level of the topic has been matched
  for (;;) {
    const std::size_t f_end = std::min(filter.find('/', f), filter.size());
    const std::string_view level = filter.substr(f, f_end - f);
    if (level == "#") return true;  // the rest, or nothing ("sport/#" matches "sport")
    if (topic_done) return false;
    const std::size_t t_end = std::min(topic.find('/', t), topic.size());
    if (level != "+" && level != topic.substr(t, t_end - t)) return false;
    const bool filter_last = f_end == filter.size();
    const bool topic_last = t_end == topic.size();
    if (filter_last) return topic_last;
    f = f_end + 1;
    if (topic_last) {
      topic_done = true;
    } else {
      t = t_end + 1;
    }
  }
}

MqttResult<std::optional<SharedSubscription>> parse_shared_subscription(std::string_view filter) {
  if (!filter.starts_with(kSharePrefix)) return std::nullopt;
  if (auto ok = check_text(filter, "topic filter", ReasonCode::topic_filter_invalid); !ok) {
    return std::unexpected(ok.error());
  }
  const std::string_view rest = filter.substr(kSharePrefix.size());
  const std::size_t slash = rest.find('/');
  const std::string quoted = "shared subscription \"" + std::string(filter) + "\"";
  if (slash == std::string_view::npos) {
    return refuse(ReasonCode::topic_filter_invalid, quoted + " has no topic filter");
  }
  SharedSubscription shared{rest.substr(0, slash), rest.substr(slash + 1)};
  if (shared.share_name.empty()) {
    return refuse(ReasonCode::topic_filter_invalid, quoted + " has an empty share name");
  }
  if (shared.share_name.find_first_of("+#") != std::string_view::npos) {
    return refuse(ReasonCode::topic_filter_invalid, quoted + " has a wildcard in its share name");
  }
  if (shared.filter.empty()) {
    return refuse(ReasonCode::topic_filter_invalid, quoted + " has an empty topic filter");
  }
  if (auto ok = check_filter_levels(shared.filter); !ok) return std::unexpected(ok.error());
  return shared;
}

}  // namespace sluice::mqtt
