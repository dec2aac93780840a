// encode(): the value types written in their wire form, after check_packet() accepted them.
#include <string>

#include "mqtt/mqtt_packet.hpp"
#include "mqtt/mqtt_wire.hpp"

namespace sluice::mqtt {
namespace {

using namespace wire;

std::uint8_t code(ReasonCode c) {
  return static_cast<std::uint8_t>(c);
}

// Writes one packet's body (variable header and payload) into `body`; a PUBLISH's application
// payload is left in `tail` so it is copied once, into the output. Returns the fixed header's
// flag bits.
class BodyWriter {
 public:
  BodyWriter(int version, std::string& body, std::string_view& tail)
      : v5_(version == kMqtt5), body_(body), tail_(tail) {}

  std::uint8_t operator()(const Connect& p) {
    put_prefixed(body_, "MQTT");
    put_u8(body_, static_cast<std::uint8_t>(p.protocol_version));
    std::uint8_t flags = p.clean_start ? 0x02 : 0x00;
    if (p.will) {
      flags |= 0x04 | static_cast<std::uint8_t>(p.will->qos << 3);
      if (p.will->retain) flags |= 0x20;
    }
    if (p.password) flags |= 0x40;
    if (p.username) flags |= 0x80;
    put_u8(body_, flags);
    put_u16(body_, p.keep_alive);
    properties(p.properties);
    put_prefixed(body_, p.client_id);
    if (p.will) {
      properties(p.will->properties);
      put_prefixed(body_, p.will->topic);
      put_prefixed(body_, p.will->payload);
    }
    if (p.username) put_prefixed(body_, *p.username);
    if (p.password) put_prefixed(body_, *p.password);
    return 0;
  }

  std::uint8_t operator()(const Connack& p) {
    put_u8(body_, p.session_present ? 0x01 : 0x00);
    put_u8(body_, v5_ ? code(p.reason_code) : connack_return_code_v311(p.reason_code));
    properties(p.properties);
    return 0;
  }

  std::uint8_t operator()(const Publish& p) {
    put_prefixed(body_, p.topic);
    if (p.qos > 0) put_u16(body_, p.packet_id);
    properties(p.properties);
    tail_ = p.payload;
    return static_cast<std::uint8_t>((p.dup ? 0x08 : 0) | p.qos << 1 | (p.retain ? 0x01 : 0));
  }

  std::uint8_t operator()(const Puback& p) { return ack(p); }
  std::uint8_t operator()(const Pubrec& p) { return ack(p); }
  std::uint8_t operator()(const Pubrel& p) { return ack(p) | 0x02; }
  std::uint8_t operator()(const Pubcomp& p) { return ack(p); }

  std::uint8_t operator()(const Subscribe& p) {
    put_u16(body_, p.packet_id);
    properties(p.properties);
    for (const auto& s : p.subscriptions) {
      put_prefixed(body_, s.filter);
      std::uint8_t options = s.qos;
      if (v5_) {
        if (s.no_local) options |= 0x04;
        if (s.retain_as_published) options |= 0x08;
        options |= static_cast<std::uint8_t>(static_cast<std::uint8_t>(s.retain_handling) << 4);
      }
      put_u8(body_, options);
    }
    return 0x02;
  }

  std::uint8_t operator()(const Suback& p) {
    put_u16(body_, p.packet_id);
    properties(p.properties);
    for (const auto c : p.reason_codes)
      put_u8(body_, v5_ || !is_failure(c) ? code(c) : 0x80);
    return 0;
  }

  std::uint8_t operator()(const Unsubscribe& p) {
    put_u16(body_, p.packet_id);
    properties(p.properties);
    for (const auto& f : p.filters)
      put_prefixed(body_, f);
    return 0x02;
  }

  std::uint8_t operator()(const Unsuback& p) {
    put_u16(body_, p.packet_id);
    if (!v5_) return 0;
    properties(p.properties);
    for (const auto c : p.reason_codes)
      put_u8(body_, code(c));
    return 0;
  }

  std::uint8_t operator()(const Pingreq&) { return 0; }
  std::uint8_t operator()(const Pingresp&) { return 0; }

  // DISCONNECT and AUTH leave out what is default: no body for success and no properties
  // (MQTT 5.0 sections 3.14.2.1 and 3.15.2.1); 3.1.1 DISCONNECT has no body.
  std::uint8_t operator()(const Disconnect& p) {
    if (!v5_ || (p.reason_code == ReasonCode::success && p.properties.empty())) return 0;
    put_u8(body_, code(p.reason_code));
    if (!p.properties.empty()) properties(p.properties);
    return 0;
  }
  std::uint8_t operator()(const Auth& p) {
    if (p.reason_code == ReasonCode::success && p.properties.empty()) return 0;
    put_u8(body_, code(p.reason_code));
    properties(p.properties);
    return 0;
  }

 private:
  // The packet id, and in 5.0 the reason code and properties when they are not the defaults.
  template <class Ack>
  std::uint8_t ack(const Ack& p) {
    put_u16(body_, p.packet_id);
    if (!v5_ || (p.reason_code == ReasonCode::success && p.properties.empty())) return 0;
    put_u8(body_, code(p.reason_code));
    if (!p.properties.empty()) properties(p.properties);
    return 0;
  }

  void properties(const Properties& p) {
    if (v5_) write_properties(body_, p);
  }

  bool v5_;
  std::string& body_;
  std::string_view& tail_;
};

}  // namespace

MqttStatus encode_to(std::string& out, const Packet& packet, int protocol_version) {
  if (auto ok = check_packet(packet, protocol_version); !ok) return ok;
  std::string body;
  std::string_view tail;
  const std::uint8_t flags = std::visit(BodyWriter(protocol_version, body, tail), packet);
  const std::size_t remaining = body.size() + tail.size();
  if (remaining > kMaxRemainingLength) {
    return refuse(ReasonCode::packet_too_large, std::string(packet_type_name(packet_type(packet))) +
                                                    ": " + std::to_string(remaining) +
                                                    " bytes is over the largest MQTT packet");
  }
  out.reserve(out.size() + 5 + remaining);
  put_u8(out,
         static_cast<std::uint8_t>(static_cast<std::uint8_t>(packet_type(packet)) << 4 | flags));
  put_varint(out, static_cast<std::uint32_t>(remaining));
  out += body;
  out += tail;
  return {};
}

MqttResult<std::string> encode(const Packet& packet, int protocol_version) {
  std::string out;
  if (auto ok = encode_to(out, packet, protocol_version); !ok) return std::unexpected(ok.error());
  return out;
}

}  // namespace sluice::mqtt
