#pragma once
// MQTT control packets, 3.1.1 (protocol level 4) and 5.0 (level 5), sans I/O: one value type per
// packet, decode_packet() to read one from its fixed-header byte and body, encode() to write one.
// MqttReader (mqtt_reader.hpp) cuts a byte stream into packets and calls decode_packet().
//
// One model serves both versions. A 3.1.1 packet has no properties and no reason codes beyond
// its own: decoding fills the v5 fields with their defaults (and maps a CONNACK return code or a
// SUBACK failure onto the v5 codes); encoding in 3.1.1 leaves out what the version cannot carry
// (properties, subscription options other than QoS, PUBACK/DISCONNECT reason codes and UNSUBACK
// codes) and maps CONNACK codes back (connack_return_code_v311()).
//
// Both directions check the same rules (check_packet()), so whatever decodes also encodes and
// decodes back equal. Not checked here, because they need session state or are a broker's
// choice: topic alias ranges, packet id reuse, SUBACK/UNSUBACK code counts against the request,
// the syntax of SUBSCRIBE/UNSUBSCRIBE topic filters, empty ones included (mqtt_topic.hpp's
// check_topic_filter(), so a broker can refuse one filter with 0x8F and accept the others), empty
// client ids, and whether a payload marked as UTF-8 is (is_well_formed_utf8()).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mqtt/mqtt_error.hpp"
#include "mqtt/mqtt_properties.hpp"

namespace sluice::mqtt {

inline constexpr int kMqtt311 = 4;  // protocol level of MQTT 3.1.1
inline constexpr int kMqtt5 = 5;    // protocol level of MQTT 5.0
// The largest Remaining Length a 4-byte Variable Byte Integer can say, and so the largest packet.
inline constexpr std::size_t kMaxRemainingLength = 268'435'455;
inline constexpr std::size_t kMaxPacketSize = 1 + 4 + kMaxRemainingLength;

enum class PacketType : std::uint8_t {
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  pubrec = 5,
  pubrel = 6,
  pubcomp = 7,
  subscribe = 8,
  suback = 9,
  unsubscribe = 10,
  unsuback = 11,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
  auth = 15,  // 5.0 only
};
// "CONNECT", "PUBLISH", …; "reserved" for 0.
std::string_view packet_type_name(PacketType type);

// QoS levels are plain numbers 0, 1 and 2 throughout (3 is malformed).

struct Will {
  std::string topic;    // a topic name (no wildcards)
  std::string payload;  // binary, at most 65535 bytes
  std::uint8_t qos = 0;
  bool retain = false;
  Properties properties;  // will properties (5.0): delay interval, expiry, content type, …
  bool operator==(const Will&) const = default;
};

struct Connect {
  int protocol_version = kMqtt5;  // the protocol level byte; encode() requires it to match
  bool clean_start = true;        // 3.1.1: Clean Session
  std::uint16_t keep_alive = 60;  // seconds; 0 turns keep-alive off
  std::string client_id;          // may be empty (the server then assigns one or refuses)
  std::optional<Will> will;
  std::optional<std::string> username;
  std::optional<std::string> password;  // binary; 3.1.1 requires a username with it
  Properties properties;
  bool operator==(const Connect&) const = default;
};

// CONNACK's code in 3.1.1 form (0 accepted, 1 bad protocol version, 2 identifier rejected,
// 3 server unavailable, 4 bad user name or password, 5 not authorized): the v5 codes with those
// meanings map to them, banned to 5, bad authentication method to 4, every other failure to 3.
std::uint8_t connack_return_code_v311(ReasonCode code);

struct Connack {
  bool session_present = false;  // only with success
  ReasonCode reason_code = ReasonCode::success;
  Properties properties;
  bool operator==(const Connack&) const = default;
};

struct Publish {
  bool dup = false;  // only with QoS 1 or 2
  std::uint8_t qos = 0;
  bool retain = false;
  // A topic name; empty only in 5.0 with a topic alias property (the alias then names it).
  std::string topic;
  std::uint16_t packet_id = 0;  // non-zero with QoS 1 and 2; not written with QoS 0
  std::string payload;
  Properties properties;
  bool operator==(const Publish&) const = default;
};

// The four QoS 1/2 acknowledgements share one shape; reason codes and properties are 5.0 only.
struct Puback {
  std::uint16_t packet_id = 0;  // non-zero
  ReasonCode reason_code = ReasonCode::success;
  Properties properties;
  bool operator==(const Puback&) const = default;
};
struct Pubrec {
  std::uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::success;
  Properties properties;
  bool operator==(const Pubrec&) const = default;
};
struct Pubrel {
  std::uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::success;
  Properties properties;
  bool operator==(const Pubrel&) const = default;
};
struct Pubcomp {
  std::uint16_t packet_id = 0;
  ReasonCode reason_code = ReasonCode::success;
  Properties properties;
  bool operator==(const Pubcomp&) const = default;
};

// What a subscriber does with retained messages when it subscribes (5.0).
enum class RetainHandling : std::uint8_t {
  send_on_subscribe = 0,
  send_if_new_subscription = 1,
  do_not_send = 2,
};

struct Subscription {
  std::string filter;  // an MQTT string; whether it is a valid filter is check_topic_filter()'s
  std::uint8_t qos = 0;
  bool no_local = false;             // 5.0; not on a shared subscription
  bool retain_as_published = false;  // 5.0
  RetainHandling retain_handling = RetainHandling::send_on_subscribe;  // 5.0
  bool operator==(const Subscription&) const = default;
};

struct Subscribe {
  std::uint16_t packet_id = 0;
  std::vector<Subscription> subscriptions;  // at least one
  Properties properties;                    // subscription identifier (one), user properties
  bool operator==(const Subscribe&) const = default;
};

struct Suback {
  std::uint16_t packet_id = 0;
  // One per subscription: granted_qos(n) or a failure (3.1.1 writes every failure as 0x80).
  std::vector<ReasonCode> reason_codes;
  Properties properties;
  bool operator==(const Suback&) const = default;
};

struct Unsubscribe {
  std::uint16_t packet_id = 0;
  std::vector<std::string> filters;  // at least one; MQTT strings (see Subscription::filter)
  Properties properties;
  bool operator==(const Unsubscribe&) const = default;
};

struct Unsuback {
  std::uint16_t packet_id = 0;
  std::vector<ReasonCode> reason_codes;  // 5.0: one per filter (at least one); 3.1.1: none
  Properties properties;
  bool operator==(const Unsuback&) const = default;
};

struct Pingreq {
  bool operator==(const Pingreq&) const = default;
};
struct Pingresp {
  bool operator==(const Pingresp&) const = default;
};

struct Disconnect {
  ReasonCode reason_code = ReasonCode::normal_disconnection;  // 5.0
  Properties properties;                                      // 5.0
  bool operator==(const Disconnect&) const = default;
};

// 5.0 only: enhanced authentication (success, continue_authentication or re_authenticate).
struct Auth {
  ReasonCode reason_code = ReasonCode::success;
  Properties properties;
  bool operator==(const Auth&) const = default;
};

// One packet; the alternatives are in packet type order, so index() + 1 is the type.
using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe,
                            Suback, Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

inline PacketType packet_type(const Packet& packet) {
  return static_cast<PacketType>(packet.index() + 1);
}

// Reads one packet from its first byte (type and flags) and its body (the Remaining Length
// bytes after the fixed header). `protocol_version` (4 or 5) says how to read it; a CONNECT
// carries its own and is read whatever this says. Refused, with the reason a broker answers:
// malformed_packet for reserved types or flag bits, QoS 3, a body that runs short or has bytes
// left over, strings that are not MQTT strings, a bad Variable Byte Integer, properties with an
// unknown id or one the packet type may not carry; protocol_error for a zero packet id where one
// is needed, a repeated single-valued property or one with a value out of range, a v5 reason code
// the packet type does not define, no subscriptions or filters; topic_name_invalid for a PUBLISH
// (or will) topic that is empty or holds a wildcard; unsupported_protocol_version for a CONNECT
// that is not MQTT 3.1.1 or 5.0.
MqttResult<Packet> decode_packet(std::uint8_t first_byte, std::string_view body,
                                 int protocol_version);

// The rules decode_packet() enforces on the fields of a packet (everything but the wire form),
// for a packet about to be encoded in `protocol_version`; the same refusals.
MqttStatus check_packet(const Packet& packet, int protocol_version);

// Appends the packet in `protocol_version` (4 or 5) to `out`; on failure `out` is unchanged.
// Refused: what check_packet() refuses, AUTH in 3.1.1, a packet over kMaxPacketSize.
MqttStatus encode_to(std::string& out, const Packet& packet, int protocol_version);
MqttResult<std::string> encode(const Packet& packet, int protocol_version);

}  // namespace sluice::mqtt
