// decode_packet(): the wire form of each packet type (MQTT 5.0 chapter 3, 3.1.1 chapter 3) read
// into the value types; check_packet() then applies the field rules.
#include <string>

#include "mqtt/mqtt_packet.hpp"
#include "mqtt/mqtt_utf8.hpp"
#include "mqtt/mqtt_wire.hpp"

namespace sluice::mqtt {
namespace {

using wire::ByteReader;

std::unexpected<ProtocolError> malformed(PacketType type, std::string what) {
  return refuse(ReasonCode::malformed_packet, std::string(packet_type_name(type)) + ": " + what);
}
std::unexpected<ProtocolError> cut_short(PacketType type) {
  return malformed(type, "the packet ends early");
}

// Reads a v5 packet's properties into `out`; a no-op in 3.1.1.
MqttStatus read_properties(ByteReader& in, PacketType type, int version, Properties& out) {
  if (version != kMqtt5) return {};
  auto p = wire::read_properties(in, wire::allowed_properties(type), packet_type_name(type));
  if (!p) return std::unexpected(p.error());
  out = std::move(*p);
  return {};
}

MqttResult<Packet> read_connect(ByteReader& in) {
  const auto type = PacketType::connect;
  Connect c;
  std::string name;
  std::uint8_t level = 0, flags = 0;
  if (!in.prefixed(name) || !in.u8(level)) return cut_short(type);
  if (name != "MQTT") {
    const std::string said = name == "MQIsdp"                            ? "MQIsdp (MQTT 3.1)"
                             : is_mqtt_string(name) && name.size() <= 32 ? "\"" + name + "\""
                                                                         : "not text";
    return refuse(ReasonCode::unsupported_protocol_version,
                  "CONNECT: protocol name is " + said + ", not MQTT");
  }
  if (level != kMqtt311 && level != kMqtt5) {
    return refuse(ReasonCode::unsupported_protocol_version,
                  "CONNECT: protocol level " + std::to_string(level) +
                      " is neither 4 (MQTT 3.1.1) nor 5 (MQTT 5.0)");
  }
  c.protocol_version = level;
  if (!in.u8(flags) || !in.u16(c.keep_alive)) return cut_short(type);
  const bool will = flags & 0x04, will_retain = flags & 0x20;
  const std::uint8_t will_qos = (flags >> 3) & 0x03;
  if (flags & 0x01) return malformed(type, "the reserved flag bit is set (MQTT-3.1.2-3)");
  if (!will && (will_qos != 0 || will_retain)) {
    return malformed(type, "will QoS or retain set without a will (MQTT-3.1.2-11)");
  }
  if (will_qos == 3) return malformed(type, "will QoS is 3");
  c.clean_start = flags & 0x02;
  if (auto ok = read_properties(in, type, level, c.properties); !ok) {
    return std::unexpected(ok.error());
  }
  if (!in.prefixed(c.client_id)) return cut_short(type);
  if (will) {
    Will& w = c.will.emplace();
    w.qos = will_qos;
    w.retain = will_retain;
    if (level == kMqtt5) {
      auto p = wire::read_properties(in, wire::kWillProperties, "CONNECT will");
      if (!p) return std::unexpected(p.error());
      w.properties = std::move(*p);
    }
    if (!in.prefixed(w.topic) || !in.prefixed(w.payload)) return cut_short(type);
  }
  if ((flags & 0x80) && !in.prefixed(c.username.emplace())) return cut_short(type);
  if ((flags & 0x40) && !in.prefixed(c.password.emplace())) return cut_short(type);
  return c;
}

MqttResult<Packet> read_connack(ByteReader& in, int version) {
  const auto type = PacketType::connack;
  Connack c;
  std::uint8_t flags = 0, code = 0;
  if (!in.u8(flags) || !in.u8(code)) return cut_short(type);
  if (flags & 0xFE) return malformed(type, "reserved acknowledge flag bits are set");
  c.session_present = flags & 0x01;
  if (version == kMqtt5) {
    c.reason_code = static_cast<ReasonCode>(code);
  } else {
    static constexpr ReasonCode kV311[] = {ReasonCode::success,
                                           ReasonCode::unsupported_protocol_version,
                                           ReasonCode::client_identifier_not_valid,
                                           ReasonCode::server_unavailable,
                                           ReasonCode::bad_user_name_or_password,
                                           ReasonCode::not_authorized};
    if (code >= std::size(kV311)) {
      return refuse(ReasonCode::protocol_error,
                    "CONNACK: return code " + std::to_string(code) + " is reserved");
    }
    c.reason_code = kV311[code];
  }
  if (auto ok = read_properties(in, type, version, c.properties); !ok) {
    return std::unexpected(ok.error());
  }
  return c;
}

MqttResult<Packet> read_publish(ByteReader& in, std::uint8_t flags, int version) {
  const auto type = PacketType::publish;
  Publish p;
  p.dup = flags & 0x08;
  p.qos = (flags >> 1) & 0x03;
  p.retain = flags & 0x01;
  if (p.qos == 3) return malformed(type, "QoS 3");
  if (!in.prefixed(p.topic)) return cut_short(type);
  if (p.qos > 0 && !in.u16(p.packet_id)) return cut_short(type);
  if (auto ok = read_properties(in, type, version, p.properties); !ok) {
    return std::unexpected(ok.error());
  }
  p.payload.assign(in.rest());
  return p;
}

// PUBACK, PUBREC, PUBREL and PUBCOMP: a packet id, then (5.0) an optional reason code and
// optional properties (MQTT 5.0 section 3.4.2.1: absent means success and none).
template <class Ack>
MqttResult<Packet> read_ack(ByteReader& in, PacketType type, int version) {
  Ack a;
  if (!in.u16(a.packet_id)) return cut_short(type);
  if (version != kMqtt5 || in.done()) return a;
  std::uint8_t code = 0;
  in.u8(code);
  a.reason_code = static_cast<ReasonCode>(code);
  if (in.done()) return a;
  if (auto ok = read_properties(in, type, version, a.properties); !ok) {
    return std::unexpected(ok.error());
  }
  return a;
}

MqttResult<Packet> read_subscribe(ByteReader& in, int version) {
  const auto type = PacketType::subscribe;
  Subscribe s;
  if (!in.u16(s.packet_id)) return cut_short(type);
  if (auto ok = read_properties(in, type, version, s.properties); !ok) {
    return std::unexpected(ok.error());
  }
  while (!in.done()) {
    Subscription& sub = s.subscriptions.emplace_back();
    std::uint8_t options = 0;
    if (!in.prefixed(sub.filter) || !in.u8(options)) return cut_short(type);
    const std::uint8_t reserved = version == kMqtt5 ? 0xC0 : 0xFC;
    if (options & reserved) {
      return malformed(type, "reserved subscription option bits are set (MQTT-3.8.3-5)");
    }
    sub.qos = options & 0x03;
    if (sub.qos == 3) return malformed(type, "QoS 3 for \"" + sub.filter + "\"");
    sub.no_local = options & 0x04;
    sub.retain_as_published = options & 0x08;
    const std::uint8_t handling = (options >> 4) & 0x03;
    if (handling == 3) {
      return refuse(ReasonCode::protocol_error,
                    "SUBSCRIBE: retain handling 3 for \"" + sub.filter + "\"");
    }
    sub.retain_handling = static_cast<RetainHandling>(handling);
  }
  return s;
}

MqttResult<Packet> read_suback(ByteReader& in, int version) {
  const auto type = PacketType::suback;
  Suback s;
  if (!in.u16(s.packet_id)) return cut_short(type);
  if (auto ok = read_properties(in, type, version, s.properties); !ok) {
    return std::unexpected(ok.error());
  }
  for (const char c : in.rest()) {
    const auto code = static_cast<std::uint8_t>(c);
    if (version != kMqtt5 && code > 2 && code != 0x80) {
      return refuse(ReasonCode::protocol_error,
                    "SUBACK: return code " + std::to_string(code) + " is reserved in MQTT 3.1.1");
    }
    s.reason_codes.push_back(static_cast<ReasonCode>(code));
  }
  return s;
}

MqttResult<Packet> read_unsubscribe(ByteReader& in, int version) {
  const auto type = PacketType::unsubscribe;
  Unsubscribe u;
  if (!in.u16(u.packet_id)) return cut_short(type);
  if (auto ok = read_properties(in, type, version, u.properties); !ok) {
    return std::unexpected(ok.error());
  }
  while (!in.done()) {
    if (!in.prefixed(u.filters.emplace_back())) return cut_short(type);
  }
  return u;
}

MqttResult<Packet> read_unsuback(ByteReader& in, int version) {
  const auto type = PacketType::unsuback;
  Unsuback u;
  if (!in.u16(u.packet_id)) return cut_short(type);
  if (version != kMqtt5) return u;
  if (auto ok = read_properties(in, type, version, u.properties); !ok) {
    return std::unexpected(ok.error());
  }
  for (const char c : in.rest())
    u.reason_codes.push_back(static_cast<ReasonCode>(static_cast<std::uint8_t>(c)));
  return u;
}

// DISCONNECT (5.0) and AUTH: an optional reason code and optional properties.
template <class P>
MqttResult<Packet> read_reason_and_properties(ByteReader& in, PacketType type, int version) {
  P p;
  if (version != kMqtt5 || in.done()) return p;
  std::uint8_t code = 0;
  in.u8(code);
  p.reason_code = static_cast<ReasonCode>(code);
  if (in.done()) return p;
  if (auto ok = read_properties(in, type, version, p.properties); !ok) {
    return std::unexpected(ok.error());
  }
  return p;
}

// The flags the fixed header must carry for each type but PUBLISH (MQTT 5.0 section 2.1.3).
std::uint8_t required_flags(PacketType type) {
  switch (type) {
    case PacketType::pubrel:
    case PacketType::subscribe:
    case PacketType::unsubscribe:
      return 0x02;
    default:
      return 0x00;
  }
}

}  // namespace

MqttResult<Packet> decode_packet(std::uint8_t first_byte, std::string_view body,
                                 int protocol_version) {
  const int number = first_byte >> 4;
  const std::uint8_t flags = first_byte & 0x0F;
  const auto type = static_cast<PacketType>(number);
  if (number == 0 || (type == PacketType::auth && protocol_version != kMqtt5)) {
    return refuse(ReasonCode::malformed_packet,
                  "packet type " + std::to_string(number) + " is reserved");
  }
  if (type != PacketType::connect && protocol_version != kMqtt311 && protocol_version != kMqtt5) {
    return refuse(ReasonCode::protocol_error, std::string(packet_type_name(type)) +
                                                  " read before the protocol version is known");
  }
  if (type != PacketType::publish && flags != required_flags(type)) {
    return malformed(type, "reserved fixed header flags are " + std::to_string(flags) + ", not " +
                               std::to_string(required_flags(type)));
  }
  ByteReader in(body);
  const int v = protocol_version;
  MqttResult<Packet> packet = [&]() -> MqttResult<Packet> {
    switch (type) {
      case PacketType::connect:
        return read_connect(in);
      case PacketType::connack:
        return read_connack(in, v);
      case PacketType::publish:
        return read_publish(in, flags, v);
      case PacketType::puback:
        return read_ack<Puback>(in, type, v);
      case PacketType::pubrec:
        return read_ack<Pubrec>(in, type, v);
      case PacketType::pubrel:
        return read_ack<Pubrel>(in, type, v);
      case PacketType::pubcomp:
        return read_ack<Pubcomp>(in, type, v);
      case PacketType::subscribe:
        return read_subscribe(in, v);
      case PacketType::suback:
        return read_suback(in, v);
      case PacketType::unsubscribe:
        return read_unsubscribe(in, v);
      case PacketType::unsuback:
        return read_unsuback(in, v);
      case PacketType::pingreq:
        return Pingreq{};
      case PacketType::pingresp:
        return Pingresp{};
      case PacketType::disconnect:
        return read_reason_and_properties<Disconnect>(in, type, v);
      case PacketType::auth:
        return read_reason_and_properties<Auth>(in, type, v);
    }
    return malformed(type, "unknown packet type");
  }();
  if (!packet) return packet;
  if (!in.done()) {
    return malformed(type, std::to_string(in.left()) + " bytes after the end of the packet");
  }
  const int version =
      type == PacketType::connect ? std::get<Connect>(*packet).protocol_version : protocol_version;
  if (auto ok = check_packet(*packet, version); !ok) return std::unexpected(ok.error());
  return packet;
}

}  // namespace sluice::mqtt
