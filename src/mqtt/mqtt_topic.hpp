#pragma once
// MQTT topic names and topic filters (MQTT 5.0 section 4.7, 3.1.1 section 4.7): validation,
// matching a topic name against a filter, and the shared-subscription form
// "$share/{ShareName}/{filter}" (MQTT 5.0 section 4.8.2). Pure functions on string views.
#include <optional>
#include <string_view>

#include "mqtt/mqtt_error.hpp"

namespace sluice::mqtt {

// A topic name as a PUBLISH (or will, or response topic) carries it: 1..65535 bytes, an MQTT
// string (mqtt_utf8.hpp), no '+' or '#'. Empty levels ("a//b", "/a") are allowed. Refused
// with topic_name_invalid.
MqttStatus check_topic_name(std::string_view topic);

// A topic filter as SUBSCRIBE/UNSUBSCRIBE carry it: 1..65535 bytes, an MQTT string; '#' only
// as the whole last level ("a/#", "#"), '+' only as a whole level ("+/a/+"). A filter starting
// with "$share/" must also be a valid shared subscription (parse_shared_subscription()).
// Refused with topic_filter_invalid.
MqttStatus check_topic_filter(std::string_view filter);

// Whether the topic name `topic` matches the topic filter `filter` (both assumed valid; an
// invalid one just fails to match as it reads). '+' matches exactly one level, '#' the
// remaining levels including none ("sport/#" matches "sport"). Topics starting with '$' are
// not matched by a filter starting with '+' or '#' (MQTT-4.7.2-1). A shared subscription
// filter is matched literally: match its `filter` part instead.
bool matches(std::string_view filter, std::string_view topic);

// "$share/group/sport/#" as {group "group", filter "sport/#"}; views into the argument.
struct SharedSubscription {
  std::string_view share_name;
  std::string_view filter;
};
// nullopt for a filter that does not start with "$share/"; the parts of one that does; refused
// (topic_filter_invalid) when the share name is empty or holds '+', '#' (or '/', which ends
// it), or the filter after it is missing or not a valid topic filter.
MqttResult<std::optional<SharedSubscription>> parse_shared_subscription(std::string_view filter);

}  // namespace sluice::mqtt
