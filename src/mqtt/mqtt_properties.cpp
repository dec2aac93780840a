// Properties: names, the per-packet table, and reading, checking and writing them.
#include "mqtt/mqtt_properties.hpp"

#include <string>
#include <type_traits>

#include "mqtt/mqtt_topic.hpp"
#include "mqtt/mqtt_utf8.hpp"
#include "mqtt/mqtt_wire.hpp"

namespace sluice::mqtt {
namespace {

// Calls visit(id, field) for every property field, in id order (the order they are written).
template <class Props, class Visit>
void for_each_property(Props& p, Visit&& visit) {
  visit(PropertyId::payload_format_indicator, p.payload_format_indicator);
  visit(PropertyId::message_expiry_interval, p.message_expiry_interval);
  visit(PropertyId::content_type, p.content_type);
  visit(PropertyId::response_topic, p.response_topic);
  visit(PropertyId::correlation_data, p.correlation_data);
  visit(PropertyId::subscription_identifier, p.subscription_identifiers);
  visit(PropertyId::session_expiry_interval, p.session_expiry_interval);
  visit(PropertyId::assigned_client_identifier, p.assigned_client_identifier);
  visit(PropertyId::server_keep_alive, p.server_keep_alive);
  visit(PropertyId::authentication_method, p.authentication_method);
  visit(PropertyId::authentication_data, p.authentication_data);
  visit(PropertyId::request_problem_information, p.request_problem_information);
  visit(PropertyId::will_delay_interval, p.will_delay_interval);
  visit(PropertyId::request_response_information, p.request_response_information);
  visit(PropertyId::response_information, p.response_information);
  visit(PropertyId::server_reference, p.server_reference);
  visit(PropertyId::reason_string, p.reason_string);
  visit(PropertyId::receive_maximum, p.receive_maximum);
  visit(PropertyId::topic_alias_maximum, p.topic_alias_maximum);
  visit(PropertyId::topic_alias, p.topic_alias);
  visit(PropertyId::maximum_qos, p.maximum_qos);
  visit(PropertyId::retain_available, p.retain_available);
  visit(PropertyId::user_property, p.user_properties);
  visit(PropertyId::maximum_packet_size, p.maximum_packet_size);
  visit(PropertyId::wildcard_subscription_available, p.wildcard_subscription_available);
  visit(PropertyId::subscription_identifier_available, p.subscription_identifier_available);
  visit(PropertyId::shared_subscription_available, p.shared_subscription_available);
}

template <class T>
bool present(const std::optional<T>& v) {
  return v.has_value();
}
template <class T>
bool present(const std::vector<T>& v) {
  return !v.empty();
}

// Binary Data properties (any bytes); every other string-valued property is an MQTT string.
constexpr wire::PropertyMask kBinary =
    wire::bit(PropertyId::correlation_data) | wire::bit(PropertyId::authentication_data);
// Every property id the spec defines.
constexpr wire::PropertyMask kKnown = [] {
  wire::PropertyMask mask = 0;
  for (const auto id :
       {0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19,
        0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A}) {
    mask |= wire::bit(static_cast<PropertyId>(id));
  }
  return mask;
}();
// Properties that may appear more than once in one packet.
constexpr wire::PropertyMask kRepeatable =
    wire::bit(PropertyId::user_property) | wire::bit(PropertyId::subscription_identifier);

std::string named(std::string_view where, PropertyId id) {
  return std::string(where) + ": property " + std::string(property_name(id));
}

// Reading one value of each field type; false when the properties end inside it.
class ValueReader {
 public:
  explicit ValueReader(wire::ByteReader& in) : in_(in) {}
  MqttResult<bool> read(std::optional<std::uint8_t>& v) { return in_.u8(v.emplace()); }
  MqttResult<bool> read(std::optional<std::uint16_t>& v) { return in_.u16(v.emplace()); }
  MqttResult<bool> read(std::optional<std::uint32_t>& v) { return in_.u32(v.emplace()); }
  MqttResult<bool> read(std::optional<std::string>& v) { return in_.prefixed(v.emplace()); }
  MqttResult<bool> read(std::optional<bool>& v) {
    std::uint8_t byte = 0;
    if (!in_.u8(byte)) return false;
    if (byte > 1) return refuse(ReasonCode::protocol_error, "is neither 0 nor 1");
    v = byte == 1;
    return true;
  }
  MqttResult<bool> read(std::vector<std::uint32_t>& v) { return in_.varint(v.emplace_back()); }
  MqttResult<bool> read(std::vector<UserProperty>& v) {
    auto& pair = v.emplace_back();
    return in_.prefixed(pair.name) && in_.prefixed(pair.value);
  }

 private:
  wire::ByteReader& in_;
};

// Writing one value of each field type (present ones only).
void put_value(std::string& out, std::uint8_t v) {
  wire::put_u8(out, v);
}
void put_value(std::string& out, bool v) {
  wire::put_u8(out, v ? 1 : 0);
}
void put_value(std::string& out, std::uint16_t v) {
  wire::put_u16(out, v);
}
void put_value(std::string& out, std::uint32_t v) {
  wire::put_u32(out, v);
}
void put_value(std::string& out, const std::string& v) {
  wire::put_prefixed(out, v);
}

}  // namespace

std::string_view property_name(PropertyId id) {
  switch (id) {
    case PropertyId::payload_format_indicator:
      return "payload_format_indicator";
    case PropertyId::message_expiry_interval:
      return "message_expiry_interval";
    case PropertyId::content_type:
      return "content_type";
    case PropertyId::response_topic:
      return "response_topic";
    case PropertyId::correlation_data:
      return "correlation_data";
    case PropertyId::subscription_identifier:
      return "subscription_identifier";
    case PropertyId::session_expiry_interval:
      return "session_expiry_interval";
    case PropertyId::assigned_client_identifier:
      return "assigned_client_identifier";
    case PropertyId::server_keep_alive:
      return "server_keep_alive";
    case PropertyId::authentication_method:
      return "authentication_method";
    case PropertyId::authentication_data:
      return "authentication_data";
    case PropertyId::request_problem_information:
      return "request_problem_information";
    case PropertyId::will_delay_interval:
      return "will_delay_interval";
    case PropertyId::request_response_information:
      return "request_response_information";
    case PropertyId::response_information:
      return "response_information";
    case PropertyId::server_reference:
      return "server_reference";
    case PropertyId::reason_string:
      return "reason_string";
    case PropertyId::receive_maximum:
      return "receive_maximum";
    case PropertyId::topic_alias_maximum:
      return "topic_alias_maximum";
    case PropertyId::topic_alias:
      return "topic_alias";
    case PropertyId::maximum_qos:
      return "maximum_qos";
    case PropertyId::retain_available:
      return "retain_available";
    case PropertyId::user_property:
      return "user_property";
    case PropertyId::maximum_packet_size:
      return "maximum_packet_size";
    case PropertyId::wildcard_subscription_available:
      return "wildcard_subscription_available";
    case PropertyId::subscription_identifier_available:
      return "subscription_identifier_available";
    case PropertyId::shared_subscription_available:
      return "shared_subscription_available";
  }
  return "unknown property";
}

bool Properties::empty() const {
  bool any = false;
  for_each_property(*this, [&](PropertyId, const auto& field) { any = any || present(field); });
  return !any;
}

namespace wire {

PropertyMask allowed_properties(PacketType type) {
  using P = PropertyId;
  const PropertyMask user = bit(P::user_property);
  const PropertyMask reason = bit(P::reason_string) | user;
  switch (type) {
    case PacketType::connect:
      return bit(P::session_expiry_interval) | bit(P::authentication_method) |
             bit(P::authentication_data) | bit(P::request_problem_information) |
             bit(P::request_response_information) | bit(P::receive_maximum) |
             bit(P::topic_alias_maximum) | bit(P::maximum_packet_size) | user;
    case PacketType::connack:
      return bit(P::session_expiry_interval) | bit(P::assigned_client_identifier) |
             bit(P::server_keep_alive) | bit(P::authentication_method) |
             bit(P::authentication_data) | bit(P::response_information) | bit(P::server_reference) |
             bit(P::receive_maximum) | bit(P::topic_alias_maximum) | bit(P::maximum_qos) |
             bit(P::retain_available) | bit(P::maximum_packet_size) |
             bit(P::wildcard_subscription_available) | bit(P::subscription_identifier_available) |
             bit(P::shared_subscription_available) | reason;
    case PacketType::publish:
      return bit(P::payload_format_indicator) | bit(P::message_expiry_interval) |
             bit(P::content_type) | bit(P::response_topic) | bit(P::correlation_data) |
             bit(P::subscription_identifier) | bit(P::topic_alias) | user;
    case PacketType::puback:
    case PacketType::pubrec:
    case PacketType::pubrel:
    case PacketType::pubcomp:
    case PacketType::suback:
    case PacketType::unsuback:
      return reason;
    case PacketType::subscribe:
      return bit(P::subscription_identifier) | user;
    case PacketType::unsubscribe:
      return user;
    case PacketType::disconnect:
      return bit(P::session_expiry_interval) | bit(P::server_reference) | reason;
    case PacketType::auth:
      return bit(P::authentication_method) | bit(P::authentication_data) | reason;
    case PacketType::pingreq:
    case PacketType::pingresp:
      break;
  }
  return 0;
}

MqttResult<Properties> read_properties(ByteReader& in, PropertyMask allowed,
                                       std::string_view where) {
  const std::string context(where);
  std::uint32_t length = 0;
  auto got = in.varint(length);
  if (!got) return refuse(got.error().reason, context + ": the property length is malformed");
  std::string_view bytes;
  if (!*got || !in.take(length, bytes)) {
    return refuse(ReasonCode::malformed_packet, context + ": properties run past the packet");
  }
  ByteReader props(bytes);
  ValueReader values(props);
  Properties out;
  PropertyMask seen = 0;
  while (!props.done()) {
    std::uint32_t raw = 0;
    auto ok = props.varint(raw);
    if (!ok || !*ok) {
      return refuse(ReasonCode::malformed_packet, context + ": a property id is malformed");
    }
    const auto id = static_cast<PropertyId>(raw);
    if (raw >= 64 || (kKnown & bit(id)) == 0) {
      return refuse(ReasonCode::malformed_packet,
                    context + ": unknown property id " + std::to_string(raw));
    }
    if ((allowed & bit(id)) == 0) {
      return refuse(ReasonCode::malformed_packet, named(where, id) + " is not allowed here");
    }
    if ((seen & bit(id)) != 0 && (kRepeatable & bit(id)) == 0) {
      return refuse(ReasonCode::protocol_error, named(where, id) + " appears more than once");
    }
    seen |= bit(id);
    MqttResult<bool> read = false;
    for_each_property(out, [&](PropertyId field_id, auto& field) {
      if (field_id == id) read = values.read(field);
    });
    if (!read) return refuse(read.error().reason, named(where, id) + " " + read.error().detail);
    if (!*read) {
      return refuse(ReasonCode::malformed_packet, named(where, id) + " runs past the properties");
    }
  }
  return out;
}

MqttStatus check_properties(const Properties& p, PropertyMask allowed, std::string_view where) {
  MqttStatus status;
  auto fail_with = [&](ReasonCode reason, PropertyId id, std::string_view what) {
    if (status) status = refuse(reason, named(where, id) + " " + std::string(what));
  };
  for_each_property(p, [&](PropertyId id, const auto& field) {
    using Field = std::decay_t<decltype(field)>;
    if (!present(field)) return;
    if ((allowed & bit(id)) == 0) {
      fail_with(ReasonCode::malformed_packet, id, "is not allowed here");
    }
    if constexpr (std::is_same_v<Field, std::optional<std::string>>) {
      const bool binary = (kBinary & bit(id)) != 0;
      if (binary ? field->size() > kMaxStringLength : !is_mqtt_string(*field)) {
        fail_with(ReasonCode::malformed_packet, id,
                  binary ? "is over 65535 bytes" : "is not an MQTT UTF-8 string");
      }
    } else if constexpr (std::is_same_v<Field, std::vector<UserProperty>>) {
      for (const auto& pair : field) {
        if (!is_mqtt_string(pair.name) || !is_mqtt_string(pair.value)) {
          fail_with(ReasonCode::malformed_packet, id, "is not a pair of MQTT UTF-8 strings");
        }
      }
    } else if constexpr (std::is_same_v<Field, std::vector<std::uint32_t>>) {
      for (const auto v : field) {
        if (v == 0 || v > kMaxSubscriptionIdentifier) {
          fail_with(ReasonCode::protocol_error, id, "is out of range 1..268435455");
        }
      }
    }
  });
  if (!status) return status;
  using P = PropertyId;
  if (p.payload_format_indicator > 1) {
    fail_with(ReasonCode::protocol_error, P::payload_format_indicator, "is neither 0 nor 1");
  }
  if (p.maximum_qos > 1) fail_with(ReasonCode::protocol_error, P::maximum_qos, "is over 1");
  if (p.receive_maximum == 0) fail_with(ReasonCode::protocol_error, P::receive_maximum, "is 0");
  if (p.maximum_packet_size == 0) {
    fail_with(ReasonCode::protocol_error, P::maximum_packet_size, "is 0");
  }
  if (p.topic_alias == 0) fail_with(ReasonCode::protocol_error, P::topic_alias, "is 0");
  if (status && p.response_topic) {
    if (auto topic = check_topic_name(*p.response_topic); !topic) {
      fail_with(ReasonCode::protocol_error, P::response_topic, topic.error().detail);
    }
  }
  return status;
}

void write_properties(std::string& out, const Properties& properties) {
  std::string body;
  for_each_property(properties, [&](PropertyId id, const auto& field) {
    using Field = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<Field, std::vector<std::uint32_t>>) {
      for (const auto v : field) {
        put_u8(body, static_cast<std::uint8_t>(id));
        put_varint(body, v);
      }
    } else if constexpr (std::is_same_v<Field, std::vector<UserProperty>>) {
      for (const auto& pair : field) {
        put_u8(body, static_cast<std::uint8_t>(id));
        put_prefixed(body, pair.name);
        put_prefixed(body, pair.value);
      }
    } else if (field) {
      put_u8(body, static_cast<std::uint8_t>(id));
      put_value(body, *field);
    }
  });
  put_varint(out, static_cast<std::uint32_t>(body.size()));
  out += body;
}

}  // namespace wire
}  // namespace sluice::mqtt
