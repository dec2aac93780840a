// Packet names, CONNACK code mapping and check_packet(): the field rules decoding and encoding
// share. Reading is in mqtt_decode.cpp, writing in mqtt_encode.cpp.
#include "mqtt/mqtt_packet.hpp"

#include <algorithm>
#include <initializer_list>

#include "mqtt/mqtt_topic.hpp"
#include "mqtt/mqtt_utf8.hpp"
#include "mqtt/mqtt_wire.hpp"

namespace sluice::mqtt {
namespace {

using Codes = std::initializer_list<std::uint8_t>;

// The reason codes each v5 packet type may carry (MQTT 5.0 sections 3.2.2.2 to 3.15.2.1).
constexpr Codes kConnackCodes = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
                                 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr Codes kPubackCodes = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
constexpr Codes kPubrelCodes = {0x00, 0x92};
constexpr Codes kSubackCodes = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr Codes kUnsubackCodes = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr Codes kDisconnectCodes = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D,
                                    0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                                    0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr Codes kAuthCodes = {0x00, 0x18, 0x19};

std::string hex(std::uint8_t v) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  return std::string("0x") + kDigits[v >> 4] + kDigits[v & 0xF];
}

// Checks one packet for one version; each method names the packet in its errors.
class Checker {
 public:
  explicit Checker(int version) : v5_(version == kMqtt5), version_(version) {}

  MqttStatus operator()(const Connect& p) const {
    const std::string_view where = "CONNECT";
    if (p.protocol_version != version_) {
      return refuse(ReasonCode::unsupported_protocol_version,
                    "CONNECT: protocol_version " + std::to_string(p.protocol_version) +
                        " is not the version it is encoded in (" + std::to_string(version_) + ")");
    }
    if (!is_mqtt_string(p.client_id)) return malformed(where, "client id is not an MQTT string");
    if (p.will) {
      const Will& will = *p.will;
      if (will.qos > 2) return malformed(where, "will QoS is 3");
      if (auto ok = check_topic_name(will.topic); !ok) {
        return refuse(ok.error().reason, "CONNECT: will " + ok.error().detail);
      }
      if (will.payload.size() > kMaxStringLength) {
        return malformed(where, "will payload is over 65535 bytes");
      }
      if (v5_) {
        if (auto ok =
                wire::check_properties(will.properties, wire::kWillProperties, "CONNECT will");
            !ok) {
          return ok;
        }
      }
    }
    if (p.username && !is_mqtt_string(*p.username)) {
      return malformed(where, "user name is not an MQTT string");
    }
    if (p.password && p.password->size() > kMaxStringLength) {
      return malformed(where, "password is over 65535 bytes");
    }
    if (!v5_ && p.password && !p.username) {
      return malformed(where, "a password without a user name (MQTT-3.1.2-22)");
    }
    if (v5_ && p.properties.authentication_data && !p.properties.authentication_method) {
      return refuse(ReasonCode::protocol_error,
                    "CONNECT: authentication data without an authentication method");
    }
    return properties(PacketType::connect, p.properties);
  }

  MqttStatus operator()(const Connack& p) const {
    if (p.session_present && p.reason_code != ReasonCode::success) {
      return refuse(ReasonCode::protocol_error,
                    "CONNACK: session present with a failure code (MQTT-3.2.2-6)");
    }
    if (auto ok = code(PacketType::connack, p.reason_code, kConnackCodes); !ok) return ok;
    return properties(PacketType::connack, p.properties);
  }

  MqttStatus operator()(const Publish& p) const {
    if (p.qos > 2) return malformed("PUBLISH", "QoS 3");
    if (p.dup && p.qos == 0) return malformed("PUBLISH", "DUP set on a QoS 0 message");
    if (p.qos > 0 && p.packet_id == 0) return zero_packet_id(PacketType::publish);
    if (!(v5_ && p.topic.empty() && p.properties.topic_alias)) {
      if (auto ok = check_topic_name(p.topic); !ok) {
        return refuse(ok.error().reason, "PUBLISH: " + ok.error().detail);
      }
    }
    return properties(PacketType::publish, p.properties);
  }

  MqttStatus operator()(const Puback& p) const { return ack(PacketType::puback, p, kPubackCodes); }
  MqttStatus operator()(const Pubrec& p) const { return ack(PacketType::pubrec, p, kPubackCodes); }
  MqttStatus operator()(const Pubrel& p) const { return ack(PacketType::pubrel, p, kPubrelCodes); }
  MqttStatus operator()(const Pubcomp& p) const {
    return ack(PacketType::pubcomp, p, kPubrelCodes);
  }

  MqttStatus operator()(const Subscribe& p) const {
    const std::string_view where = "SUBSCRIBE";
    if (p.packet_id == 0) return zero_packet_id(PacketType::subscribe);
    if (p.subscriptions.empty()) return protocol(where, "no topic filters (MQTT-3.8.3-2)");
    for (const auto& s : p.subscriptions) {
      if (!is_mqtt_string(s.filter)) return malformed(where, "a topic filter is not UTF-8");
      if (s.qos > 2) return malformed(where, "QoS 3 for \"" + s.filter + "\"");
      if (!v5_) continue;
      if (static_cast<std::uint8_t>(s.retain_handling) > 2) {
        return protocol(where, "retain handling 3 for \"" + s.filter + "\"");
      }
      if (s.no_local && s.filter.starts_with("$share/")) {
        return protocol(where, "no local on shared subscription \"" + s.filter + "\"");
      }
    }
    if (v5_ && p.properties.subscription_identifiers.size() > 1) {
      return protocol(where, "more than one subscription identifier");
    }
    return properties(PacketType::subscribe, p.properties);
  }

  MqttStatus operator()(const Suback& p) const {
    if (p.packet_id == 0) return zero_packet_id(PacketType::suback);
    if (p.reason_codes.empty()) return protocol("SUBACK", "no reason codes");
    for (const auto c : p.reason_codes) {
      // 3.1.1 knows granted QoS 0..2 and failure (every v5 failure code is written as 0x80).
      if (!v5_ && !is_failure(c) && static_cast<std::uint8_t>(c) > 2) {
        return protocol("SUBACK", "return code " + hex(static_cast<std::uint8_t>(c)) +
                                      " does not exist in MQTT 3.1.1");
      }
      if (auto ok = code(PacketType::suback, c, kSubackCodes); !ok) return ok;
    }
    return properties(PacketType::suback, p.properties);
  }

  MqttStatus operator()(const Unsubscribe& p) const {
    const std::string_view where = "UNSUBSCRIBE";
    if (p.packet_id == 0) return zero_packet_id(PacketType::unsubscribe);
    if (p.filters.empty()) return protocol(where, "no topic filters (MQTT-3.10.3-2)");
    for (const auto& f : p.filters) {
      if (!is_mqtt_string(f)) return malformed(where, "a topic filter is not UTF-8");
    }
    return properties(PacketType::unsubscribe, p.properties);
  }

  MqttStatus operator()(const Unsuback& p) const {
    if (p.packet_id == 0) return zero_packet_id(PacketType::unsuback);
    if (!v5_) return {};
    if (p.reason_codes.empty()) return protocol("UNSUBACK", "no reason codes");
    for (const auto c : p.reason_codes) {
      if (auto ok = code(PacketType::unsuback, c, kUnsubackCodes); !ok) return ok;
    }
    return properties(PacketType::unsuback, p.properties);
  }

  MqttStatus operator()(const Pingreq&) const { return {}; }
  MqttStatus operator()(const Pingresp&) const { return {}; }

  MqttStatus operator()(const Disconnect& p) const {
    if (!v5_) return {};
    if (auto ok = code(PacketType::disconnect, p.reason_code, kDisconnectCodes); !ok) return ok;
    return properties(PacketType::disconnect, p.properties);
  }

  MqttStatus operator()(const Auth& p) const {
    if (!v5_) return malformed("AUTH", "the packet does not exist in MQTT 3.1.1");
    if (auto ok = code(PacketType::auth, p.reason_code, kAuthCodes); !ok) return ok;
    return properties(PacketType::auth, p.properties);
  }

 private:
  static std::unexpected<ProtocolError> malformed(std::string_view where, std::string what) {
    return refuse(ReasonCode::malformed_packet, std::string(where) + ": " + what);
  }
  static std::unexpected<ProtocolError> protocol(std::string_view where, std::string what) {
    return refuse(ReasonCode::protocol_error, std::string(where) + ": " + what);
  }
  static std::unexpected<ProtocolError> zero_packet_id(PacketType type) {
    return protocol(packet_type_name(type), "packet identifier 0 (MQTT-2.2.1-3)");
  }

  template <class Ack>
  MqttStatus ack(PacketType type, const Ack& p, Codes codes) const {
    if (p.packet_id == 0) return zero_packet_id(type);
    if (auto ok = code(type, p.reason_code, codes); !ok) return ok;
    return properties(type, p.properties);
  }

  // A v5 reason code the packet type defines (3.1.1 codes are mapped when written).
  MqttStatus code(PacketType type, ReasonCode c, Codes codes) const {
    const auto value = static_cast<std::uint8_t>(c);
    if (!v5_ || std::find(codes.begin(), codes.end(), value) != codes.end()) return {};
    return protocol(packet_type_name(type), "reason code " + hex(value) + " is not defined for " +
                                                std::string(packet_type_name(type)));
  }

  MqttStatus properties(PacketType type, const Properties& p) const {
    if (!v5_) return {};
    return wire::check_properties(p, wire::allowed_properties(type), packet_type_name(type));
  }

  bool v5_;
  int version_;
};

}  // namespace

std::string_view packet_type_name(PacketType type) {
  switch (type) {
    case PacketType::connect:
      return "CONNECT";
    case PacketType::connack:
      return "CONNACK";
    case PacketType::publish:
      return "PUBLISH";
    case PacketType::puback:
      return "PUBACK";
    case PacketType::pubrec:
      return "PUBREC";
    case PacketType::pubrel:
      return "PUBREL";
    case PacketType::pubcomp:
      return "PUBCOMP";
    case PacketType::subscribe:
      return "SUBSCRIBE";
    case PacketType::suback:
      return "SUBACK";
    case PacketType::unsubscribe:
      return "UNSUBSCRIBE";
    case PacketType::unsuback:
      return "UNSUBACK";
    case PacketType::pingreq:
      return "PINGREQ";
    case PacketType::pingresp:
      return "PINGRESP";
    case PacketType::disconnect:
      return "DISCONNECT";
    case PacketType::auth:
      return "AUTH";
  }
  return "reserved";
}

std::uint8_t connack_return_code_v311(ReasonCode code) {
  switch (code) {
    case ReasonCode::success:
      return 0;
    case ReasonCode::unsupported_protocol_version:
      return 1;
    case ReasonCode::client_identifier_not_valid:
      return 2;
    case ReasonCode::bad_user_name_or_password:
    case ReasonCode::bad_authentication_method:
      return 4;
    case ReasonCode::not_authorized:
    case ReasonCode::banned:
      return 5;
    default:
      return 3;  // server unavailable
  }
}

MqttStatus check_packet(const Packet& packet, int protocol_version) {
  if (protocol_version != kMqtt311 && protocol_version != kMqtt5) {
    return refuse(ReasonCode::unsupported_protocol_version,
                  "protocol version " + std::to_string(protocol_version) +
                      " is neither 4 (MQTT 3.1.1) nor 5 (MQTT 5.0)");
  }
  return std::visit(Checker(protocol_version), packet);
}

}  // namespace sluice::mqtt
