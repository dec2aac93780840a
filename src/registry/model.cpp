#include "registry/model.hpp"

#include "core/time_format.hpp"

namespace sluice::registry {
namespace json = boost::json;
namespace {

json::value opt(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}
json::value opt(const std::optional<int>& i) {
  return i ? json::value(*i) : json::value(nullptr);
}
json::value opt(const std::optional<double>& d) {
  return d ? json::value(*d) : json::value(nullptr);
}

std::string str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}
std::optional<std::string> opt_str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().as_string());
}
std::int64_t num(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return 0;
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64()) return static_cast<std::int64_t>(it->value().as_uint64());
  if (it->value().is_double()) return static_cast<std::int64_t>(it->value().as_double());
  if (it->value().is_string()) {
    try {
      return std::stoll(std::string(it->value().as_string()));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}
std::optional<int> opt_int(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_number()) return std::nullopt;
  return static_cast<int>(num(o, key));
}
json::object obj(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? it->value().as_object() : json::object{};
}
WallTime time_of(const json::object& o, std::string_view key) {
  auto t = parse_timestamp(str(o, key));
  return t ? *t : WallTime{};
}

}  // namespace

json::object to_json(const StreamView& v) {
  const auto& s = v.stream;
  return json::object{
      {"id", s.id},
      {"name", s.name},
      {"stream_type", s.stream_type},
      {"publisher_id", s.publisher_id},
      {"protocol", s.protocol},
      {"address", s.address},
      {"port", s.port},
      {"entity_id", opt(s.entity_id)},
      {"device_id", opt(s.device_id)},
      {"config", s.config},
      {"metadata", s.metadata},
      {"advertised_at", format_timestamp(s.advertised_at)},
      {"last_heartbeat", format_timestamp(s.last_heartbeat)},
      {"active_sessions", v.active_sessions},
      {"active_subscribers", v.active_subscribers},
      {"multicast_group", opt(s.multicast_group)},
      {"multicast_port", opt(s.multicast_port)},
      {"delivery_mode", s.delivery_mode()},
  };
}

json::object to_json(const SessionRecord& s) {
  json::object o{
      {"session_id", s.session_id},
      {"stream_id", s.stream_id},
      {"stream_name", s.stream_name},
      {"stream_type", s.stream_type},
      {"publisher_id", s.publisher_id},
      {"publisher_address", s.publisher_address},
      {"consumer_id", s.consumer_id},
      {"consumer_address", s.consumer_address},
      {"protocol", s.protocol},
      {"transport_config", s.transport_config},
      {"started_at", format_timestamp(s.started_at)},
      {"status", s.status},
      {"last_heartbeat", format_timestamp(s.last_heartbeat)},
      {"bytes_transferred", s.bytes_transferred},
  };
  if (s.auto_offered) o["auto_offer"] = true;  // sluice: no responder; the advertised values
  return o;
}

json::object to_json(const SubscriberRecord& s) {
  return json::object{
      {"subscriber_id", s.subscriber_id},
      {"stream_id", s.stream_id},
      {"stream_name", s.stream_name},
      {"stream_type", s.stream_type},
      {"consumer_id", s.consumer_id},
      {"consumer_address", s.consumer_address},
      {"joined_at", format_timestamp(s.joined_at)},
      {"metadata", s.metadata},
      {"last_heartbeat", format_timestamp(s.last_heartbeat)},
  };
}

json::object to_json(const StreamTypeRecord& t) {
  return json::object{
      {"id", t.id},
      {"name", t.name},
      {"display_name", t.display_name},
      {"description", opt(t.description)},
      {"icon", opt(t.icon)},
      {"default_config", t.default_config},
      {"metadata", t.metadata},
      {"config_schema", t.config_schema},
      {"builtin", t.builtin},
      {"created_at", format_timestamp(t.created_at)},
      {"updated_at", format_timestamp(t.updated_at)},
  };
}

json::object to_json(const StreamOffer& o) {
  json::object out{
      {"session_id", o.session_id},
      {"stream_id", o.stream_id},
      {"stream_name", o.stream_name},
      {"stream_type", o.stream_type},
      {"protocol", o.protocol},
      {"publisher_address", o.publisher_address},
      {"publisher_port", o.publisher_port},
      {"transport_config", o.transport_config},
  };
  if (o.auto_offered) out["auto_offer"] = true;  // sluice: no responder; the advertised values
  return out;
}

json::object to_json(const JoinResult& j) {
  return json::object{
      {"subscriber_id", j.subscriber_id},
      {"stream_id", j.stream_id},
      {"stream_name", j.stream_name},
      {"stream_type", j.stream_type},
      {"protocol", j.protocol},
      {"multicast_group", j.multicast_group},
      {"multicast_port", j.multicast_port},
      {"config", j.config},
  };
}

json::object to_json(const SessionHistoryRow& h) {
  return json::object{
      {"time", format_timestamp(h.time)},
      {"session_id", h.session_id},
      {"stream_id", h.stream_id},
      {"stream_name", h.stream_name},
      {"stream_type", h.stream_type},
      {"publisher_id", h.publisher_id},
      {"consumer_id", h.consumer_id},
      {"protocol", h.protocol},
      {"status", h.status},
      {"duration_seconds", opt(h.duration_seconds)},
      {"bytes_transferred", h.bytes_transferred},
      {"error_message", opt(h.error_message)},
      {"ended_at", h.ended_at ? json::value(format_timestamp(*h.ended_at)) : json::value(nullptr)},
  };
}

json::object to_json(const AdvertiseRequest& a) {
  json::object o{
      {"name", a.name},         {"stream_type", a.stream_type}, {"publisher_id", a.publisher_id},
      {"protocol", a.protocol}, {"address", a.address},         {"port", a.port},
      {"config", a.config},     {"metadata", a.metadata},
  };
  if (a.entity_id) o["entity_id"] = *a.entity_id;
  if (a.device_id) o["device_id"] = *a.device_id;
  if (a.multicast_group) o["multicast_group"] = *a.multicast_group;
  if (a.multicast_port) o["multicast_port"] = *a.multicast_port;
  return o;
}

json::object to_json(const StreamRequest& r) {
  return json::object{{"consumer_id", r.consumer_id},
                      {"consumer_address", r.consumer_address},
                      {"consumer_port", opt(r.consumer_port)},
                      {"config", r.config}};
}

json::object to_json(const JoinRequest& r) {
  return json::object{{"consumer_id", r.consumer_id},
                      {"consumer_address", r.consumer_address},
                      {"metadata", r.metadata}};
}

json::object to_json(const StreamTypeSpec& t) {
  json::object o{{"name", t.name},
                 {"display_name", t.display_name},
                 {"default_config", t.default_config},
                 {"metadata", t.metadata}};
  if (t.description) o["description"] = *t.description;
  if (t.icon) o["icon"] = *t.icon;
  if (!t.config_schema.empty()) o["config_schema"] = t.config_schema;
  return o;
}

StreamView stream_from_json(const json::object& o) {
  StreamView v;
  auto& s = v.stream;
  s.id = str(o, "id");
  s.name = str(o, "name");
  s.stream_type = str(o, "stream_type");
  s.publisher_id = str(o, "publisher_id");
  s.protocol = str(o, "protocol");
  s.address = str(o, "address");
  s.port = static_cast<int>(num(o, "port"));
  s.entity_id = opt_str(o, "entity_id");
  s.device_id = opt_str(o, "device_id");
  s.config = obj(o, "config");
  s.metadata = obj(o, "metadata");
  s.multicast_group = opt_str(o, "multicast_group");
  s.multicast_port = opt_int(o, "multicast_port");
  s.advertised_at = time_of(o, "advertised_at");
  s.last_heartbeat = time_of(o, "last_heartbeat");
  v.active_sessions = static_cast<std::size_t>(num(o, "active_sessions"));
  v.active_subscribers = static_cast<std::size_t>(num(o, "active_subscribers"));
  return v;
}

SessionRecord session_from_json(const json::object& o) {
  SessionRecord s;
  s.session_id = str(o, "session_id");
  s.stream_id = str(o, "stream_id");
  s.stream_name = str(o, "stream_name");
  s.stream_type = str(o, "stream_type");
  s.publisher_id = str(o, "publisher_id");
  s.publisher_address = str(o, "publisher_address");
  s.publisher_port = static_cast<int>(num(o, "publisher_port"));
  s.consumer_id = str(o, "consumer_id");
  s.consumer_address = str(o, "consumer_address");
  s.protocol = str(o, "protocol");
  s.transport_config = obj(o, "transport_config");
  if (const auto* a = o.if_contains("auto_offer"); a && a->is_bool()) s.auto_offered = a->as_bool();
  s.started_at = time_of(o, "started_at");
  s.last_heartbeat = time_of(o, "last_heartbeat");
  s.status = str(o, "status");
  s.bytes_transferred = num(o, "bytes_transferred");
  return s;
}

SubscriberRecord subscriber_from_json(const json::object& o) {
  SubscriberRecord s;
  s.subscriber_id = str(o, "subscriber_id");
  s.stream_id = str(o, "stream_id");
  s.stream_name = str(o, "stream_name");
  s.stream_type = str(o, "stream_type");
  s.consumer_id = str(o, "consumer_id");
  s.consumer_address = str(o, "consumer_address");
  s.joined_at = time_of(o, "joined_at");
  s.last_heartbeat = time_of(o, "last_heartbeat");
  s.metadata = obj(o, "metadata");
  return s;
}

StreamTypeRecord type_from_json(const json::object& o) {
  StreamTypeRecord t;
  t.id = str(o, "id");
  t.name = str(o, "name");
  t.display_name = str(o, "display_name");
  t.description = opt_str(o, "description");
  t.icon = opt_str(o, "icon");
  t.default_config = obj(o, "default_config");
  t.metadata = obj(o, "metadata");
  t.config_schema = obj(o, "config_schema");
  auto b = o.find("builtin");
  t.builtin = b != o.end() && b->value().is_bool() && b->value().as_bool();
  t.created_at = time_of(o, "created_at");
  t.updated_at = time_of(o, "updated_at");
  return t;
}

StreamOffer offer_from_json(const json::object& o) {
  StreamOffer f;
  f.session_id = str(o, "session_id");
  f.stream_id = str(o, "stream_id");
  f.stream_name = str(o, "stream_name");
  f.stream_type = str(o, "stream_type");
  f.protocol = str(o, "protocol");
  f.publisher_address = str(o, "publisher_address");
  f.publisher_port = static_cast<int>(num(o, "publisher_port"));
  f.transport_config = obj(o, "transport_config");
  if (const auto* a = o.if_contains("auto_offer"); a && a->is_bool()) f.auto_offered = a->as_bool();
  return f;
}

JoinResult join_from_json(const json::object& o) {
  JoinResult j;
  j.subscriber_id = str(o, "subscriber_id");
  j.stream_id = str(o, "stream_id");
  j.stream_name = str(o, "stream_name");
  j.stream_type = str(o, "stream_type");
  j.protocol = str(o, "protocol");
  j.multicast_group = str(o, "multicast_group");
  j.multicast_port = static_cast<int>(num(o, "multicast_port"));
  j.config = obj(o, "config");
  return j;
}

SessionHistoryRow history_from_json(const json::object& o) {
  SessionHistoryRow h;
  h.time = time_of(o, "time");
  h.session_id = str(o, "session_id");
  h.stream_id = str(o, "stream_id");
  h.stream_name = str(o, "stream_name");
  h.stream_type = str(o, "stream_type");
  h.publisher_id = str(o, "publisher_id");
  h.consumer_id = str(o, "consumer_id");
  h.protocol = str(o, "protocol");
  h.status = str(o, "status");
  if (auto it = o.find("duration_seconds"); it != o.end() && it->value().is_number()) {
    h.duration_seconds = it->value().to_number<double>();
  }
  h.bytes_transferred = num(o, "bytes_transferred");
  h.error_message = opt_str(o, "error_message");
  if (auto e = opt_str(o, "ended_at")) h.ended_at = parse_timestamp(*e);
  return h;
}

}  // namespace sluice::registry
