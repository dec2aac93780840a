#pragma once
// MQTT reason codes (MQTT 5.0 section 2.4) and the error every part of the codec returns: the
// reason code a broker should answer with (in a CONNACK before the session exists, in a v5
// DISCONNECT after; a 3.1.1 connection is simply closed) and a human detail for logs.
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::mqtt {

// MQTT 5.0 reason codes. 3.1.1 return codes are mapped onto these by the codec (a CONNACK's
// 0..5, a SUBACK's 0x80), so a broker speaks one set of codes to both versions.
enum class ReasonCode : std::uint8_t {
  success = 0x00,  // also "normal disconnection" and "granted QoS 0"
  normal_disconnection = 0x00,
  granted_qos_0 = 0x00,
  granted_qos_1 = 0x01,
  granted_qos_2 = 0x02,
  disconnect_with_will_message = 0x04,
  no_matching_subscribers = 0x10,
  no_subscription_existed = 0x11,
  continue_authentication = 0x18,
  re_authenticate = 0x19,
  unspecified_error = 0x80,
  malformed_packet = 0x81,
  protocol_error = 0x82,
  implementation_specific_error = 0x83,
  unsupported_protocol_version = 0x84,
  client_identifier_not_valid = 0x85,
  bad_user_name_or_password = 0x86,
  not_authorized = 0x87,
  server_unavailable = 0x88,
  server_busy = 0x89,
  banned = 0x8A,
  server_shutting_down = 0x8B,
  bad_authentication_method = 0x8C,
  keep_alive_timeout = 0x8D,
  session_taken_over = 0x8E,
  topic_filter_invalid = 0x8F,
  topic_name_invalid = 0x90,
  packet_identifier_in_use = 0x91,
  packet_identifier_not_found = 0x92,
  receive_maximum_exceeded = 0x93,
  topic_alias_invalid = 0x94,
  packet_too_large = 0x95,
  message_rate_too_high = 0x96,
  quota_exceeded = 0x97,
  administrative_action = 0x98,
  payload_format_invalid = 0x99,
  retain_not_supported = 0x9A,
  qos_not_supported = 0x9B,
  use_another_server = 0x9C,
  server_moved = 0x9D,
  shared_subscriptions_not_supported = 0x9E,
  connection_rate_exceeded = 0x9F,
  maximum_connect_time = 0xA0,
  subscription_identifiers_not_supported = 0xA1,
  wildcard_subscriptions_not_supported = 0xA2,
};

// The spec's name of a code in snake case ("malformed_packet"); "undefined" for a value the
// spec does not define. 0x00 is "success".
std::string_view reason_name(ReasonCode code);
// Codes 0x80 and above report a failure (MQTT 5.0 section 2.4).
inline bool is_failure(ReasonCode code) {
  return static_cast<std::uint8_t>(code) >= 0x80;
}
// A SUBACK's success code for a granted QoS (0, 1 or 2).
inline ReasonCode granted_qos(std::uint8_t qos) {
  return static_cast<ReasonCode>(qos);
}

// Why bytes or a packet were refused: the code to answer with and what exactly was wrong
// ("PUBLISH: topic name contains '+'").
struct ProtocolError {
  ReasonCode reason = ReasonCode::malformed_packet;
  std::string detail;

  bool operator==(const ProtocolError&) const = default;
};

template <class T>
using MqttResult = std::expected<T, ProtocolError>;
using MqttStatus = std::expected<void, ProtocolError>;

inline std::unexpected<ProtocolError> refuse(ReasonCode reason, std::string detail) {
  return std::unexpected<ProtocolError>(ProtocolError{reason, std::move(detail)});
}

}  // namespace sluice::mqtt
