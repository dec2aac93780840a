#pragma once
// MQTT 5.0 properties (section 2.2.2): every property the spec defines, as one struct of
// optionals, which each v5 packet carries (3.1.1 packets have none; the codec leaves them empty).
// Which properties a packet type may carry is the spec's table (section 2.2.2.2); the codec
// refuses others, unknown ids and repeats of single-valued properties when reading, and refuses
// to write properties the packet type may not carry.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::mqtt {

// Property identifiers (MQTT 5.0 section 2.2.2.2).
enum class PropertyId : std::uint8_t {
  payload_format_indicator = 0x01,
  message_expiry_interval = 0x02,
  content_type = 0x03,
  response_topic = 0x08,
  correlation_data = 0x09,
  subscription_identifier = 0x0B,
  session_expiry_interval = 0x11,
  assigned_client_identifier = 0x12,
  server_keep_alive = 0x13,
  authentication_method = 0x15,
  authentication_data = 0x16,
  request_problem_information = 0x17,
  will_delay_interval = 0x18,
  request_response_information = 0x19,
  response_information = 0x1A,
  server_reference = 0x1C,
  reason_string = 0x1F,
  receive_maximum = 0x21,
  topic_alias_maximum = 0x22,
  topic_alias = 0x23,
  maximum_qos = 0x24,
  retain_available = 0x25,
  user_property = 0x26,
  maximum_packet_size = 0x27,
  wildcard_subscription_available = 0x28,
  subscription_identifier_available = 0x29,
  shared_subscription_available = 0x2A,
};
// The spec's name in snake case ("topic_alias"); "unknown property" for an undefined id.
std::string_view property_name(PropertyId id);

// A user property: a name/value pair of MQTT strings; order and repeats are kept.
struct UserProperty {
  std::string name;
  std::string value;
  bool operator==(const UserProperty&) const = default;
};

// The properties of one packet. Strings are MQTT UTF-8 strings (at most 65535 bytes, no
// U+0000); "binary" fields are at most 65535 bytes of anything. Intervals are in seconds.
// Value rules the codec enforces (a protocol error otherwise): receive_maximum,
// maximum_packet_size, topic_alias and every subscription identifier are non-zero;
// payload_format_indicator and maximum_qos are 0 or 1; subscription identifiers are at most
// kMaxSubscriptionIdentifier; response_topic is a valid topic name.
struct Properties {
  std::optional<std::uint8_t> payload_format_indicator;  // 0: bytes, 1: UTF-8 (PUBLISH, will)
  std::optional<std::uint32_t> message_expiry_interval;  // PUBLISH, will
  std::optional<std::string> content_type;               // PUBLISH, will
  std::optional<std::string> response_topic;             // PUBLISH, will
  std::optional<std::string> correlation_data;           // binary; PUBLISH, will
  // PUBLISH (server to client: one per matching subscription), SUBSCRIBE (at most one).
  std::vector<std::uint32_t> subscription_identifiers;
  std::optional<std::uint32_t> session_expiry_interval;   // CONNECT, CONNACK, DISCONNECT
  std::optional<std::string> assigned_client_identifier;  // CONNACK
  std::optional<std::uint16_t> server_keep_alive;         // CONNACK
  std::optional<std::string> authentication_method;       // CONNECT, CONNACK, AUTH
  std::optional<std::string> authentication_data;         // binary; CONNECT, CONNACK, AUTH
  std::optional<bool> request_problem_information;        // CONNECT
  std::optional<std::uint32_t> will_delay_interval;       // will
  std::optional<bool> request_response_information;       // CONNECT
  std::optional<std::string> response_information;        // CONNACK
  std::optional<std::string> server_reference;            // CONNACK, DISCONNECT
  std::optional<std::string> reason_string;  // CONNACK, acks, SUBACK, UNSUBACK, DISCONNECT, AUTH
  std::optional<std::uint16_t> receive_maximum;           // CONNECT, CONNACK
  std::optional<std::uint16_t> topic_alias_maximum;       // CONNECT, CONNACK
  std::optional<std::uint16_t> topic_alias;               // PUBLISH
  std::optional<std::uint8_t> maximum_qos;                // CONNACK
  std::optional<bool> retain_available;                   // CONNACK
  std::vector<UserProperty> user_properties;              // every v5 packet that has properties
  std::optional<std::uint32_t> maximum_packet_size;       // CONNECT, CONNACK
  std::optional<bool> wildcard_subscription_available;    // CONNACK
  std::optional<bool> subscription_identifier_available;  // CONNACK
  std::optional<bool> shared_subscription_available;      // CONNACK

  // True when no property is set.
  bool empty() const;
  bool operator==(const Properties&) const = default;
};

// The largest subscription identifier (the largest Variable Byte Integer).
inline constexpr std::uint32_t kMaxSubscriptionIdentifier = 268'435'455;

}  // namespace sluice::mqtt
