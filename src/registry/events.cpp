#include "registry/events.hpp"

#include "core/time_format.hpp"

namespace sluice::registry::events {
namespace json = boost::json;

std::string advertise_typed_subject(const std::string& stream_type) {
  return std::string(kAdvertise) + "." + stream_type;
}
std::string withdraw_subject(const std::string& stream_id) {
  return "maestra.stream.withdraw." + stream_id;
}
std::string request_subject(const std::string& stream_id) {
  return "maestra.stream.request." + stream_id;
}
std::string mqtt_advert_subject(const std::string& stream_type) {
  return "maestra.to_mqtt.maestra.stream.advertise." + stream_type;
}

json::object stream_advertised(const StreamRecord& s, WallTime now) {
  return json::object{
      {"type", "stream_advertised"},    {"stream_id", s.id}, {"stream_type", s.stream_type},
      {"publisher_id", s.publisher_id}, {"name", s.name},    {"timestamp", format_timestamp(now)}};
}

json::object mqtt_advert(const StreamRecord& s, bool full) {
  json::object o{{"id", s.id},           {"name", s.name}, {"stream_type", s.stream_type},
                 {"address", s.address}, {"port", s.port}, {"config", s.config}};
  if (full) {
    o["delivery_mode"] = s.delivery_mode();
    if (s.is_multicast()) {
      o["multicast_group"] = *s.multicast_group;
      o["multicast_port"] = s.multicast_port.value_or(0);
    }
  }
  return o;
}

json::object stream_withdrawn(const std::string& stream_id, WallTime now,
                              const std::string& reason) {
  return json::object{{"type", "stream_withdrawn"},
                      {"stream_id", stream_id},
                      {"timestamp", format_timestamp(now)},
                      {"reason", reason}};
}

json::object session_started(const SessionRecord& s) {
  json::object o{{"type", "session_started"},
                 {"session_id", s.session_id},
                 {"stream_id", s.stream_id},
                 {"stream_name", s.stream_name},
                 {"stream_type", s.stream_type},
                 {"publisher_id", s.publisher_id},
                 {"publisher_address", s.publisher_address},
                 {"publisher_port", std::to_string(s.publisher_port)},
                 {"consumer_id", s.consumer_id},
                 {"consumer_address", s.consumer_address},
                 {"protocol", s.protocol},
                 {"transport_config", s.transport_config},
                 {"started_at", format_timestamp(s.started_at)},
                 {"status", "active"}};
  if (s.auto_offered) o["auto_offer"] = true;
  return o;
}

json::object session_stopped(const SessionRecord& s, WallTime now, const std::string& reason) {
  return json::object{{"type", "session_stopped"},
                      {"session_id", s.session_id},
                      {"stream_id", s.stream_id},
                      {"timestamp", format_timestamp(now)},
                      {"reason", reason}};
}

json::object subscriber_joined(const SubscriberRecord& s, WallTime now) {
  return json::object{{"type", "subscriber_joined"},
                      {"subscriber_id", s.subscriber_id},
                      {"stream_id", s.stream_id},
                      {"consumer_id", s.consumer_id},
                      {"consumer_address", s.consumer_address},
                      {"multicast_group", s.multicast_group},
                      {"multicast_port", s.multicast_port},
                      {"timestamp", format_timestamp(now)}};
}

json::object subscriber_left(const SubscriberRecord& s, WallTime now, const std::string& reason) {
  return json::object{{"type", "subscriber_left"},
                      {"subscriber_id", s.subscriber_id},
                      {"stream_id", s.stream_id},
                      {"timestamp", format_timestamp(now)},
                      {"reason", reason}};
}

json::object stream_request(const std::string& stream_id, const StreamRequest& r, WallTime now) {
  return json::object{
      {"stream_id", stream_id},
      {"consumer_id", r.consumer_id},
      {"consumer_address", r.consumer_address},
      {"consumer_port", r.consumer_port ? json::value(*r.consumer_port) : json::value(nullptr)},
      {"config", r.config},
      {"timestamp", format_timestamp(now)}};
}

}  // namespace sluice::registry::events
