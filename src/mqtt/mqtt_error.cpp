#include "mqtt/mqtt_error.hpp"

namespace sluice::mqtt {

std::string_view reason_name(ReasonCode code) {
  switch (code) {
    case ReasonCode::success:
      return "success";
    case ReasonCode::granted_qos_1:
      return "granted_qos_1";
    case ReasonCode::granted_qos_2:
      return "granted_qos_2";
    case ReasonCode::disconnect_with_will_message:
      return "disconnect_with_will_message";
    case ReasonCode::no_matching_subscribers:
      return "no_matching_subscribers";
    case ReasonCode::no_subscription_existed:
      return "no_subscription_existed";
    case ReasonCode::continue_authentication:
      return "continue_authentication";
    case ReasonCode::re_authenticate:
      return "re_authenticate";
    case ReasonCode::unspecified_error:
      return "unspecified_error";
    case ReasonCode::malformed_packet:
      return "malformed_packet";
    case ReasonCode::protocol_error:
      return "protocol_error";
    case ReasonCode::implementation_specific_error:
      return "implementation_specific_error";
    case ReasonCode::unsupported_protocol_version:
      return "unsupported_protocol_version";
    case ReasonCode::client_identifier_not_valid:
      return "client_identifier_not_valid";
    case ReasonCode::bad_user_name_or_password:
      return "bad_user_name_or_password";
    case ReasonCode::not_authorized:
      return "not_authorized";
    case ReasonCode::server_unavailable:
      return "server_unavailable";
    case ReasonCode::server_busy:
      return "server_busy";
    case ReasonCode::banned:
      return "banned";
    case ReasonCode::server_shutting_down:
      return "server_shutting_down";
    case ReasonCode::bad_authentication_method:
      return "bad_authentication_method";
    case ReasonCode::keep_alive_timeout:
      return "keep_alive_timeout";
    case ReasonCode::session_taken_over:
      return "session_taken_over";
    case ReasonCode::topic_filter_invalid:
      return "topic_filter_invalid";
    case ReasonCode::topic_name_invalid:
      return "topic_name_invalid";
    case ReasonCode::packet_identifier_in_use:
      return "packet_identifier_in_use";
    case ReasonCode::packet_identifier_not_found:
      return "packet_identifier_not_found";
    case ReasonCode::receive_maximum_exceeded:
      return "receive_maximum_exceeded";
    case ReasonCode::topic_alias_invalid:
      return "topic_alias_invalid";
    case ReasonCode::packet_too_large:
      return "packet_too_large";
    case ReasonCode::message_rate_too_high:
      return "message_rate_too_high";
    case ReasonCode::quota_exceeded:
      return "quota_exceeded";
    case ReasonCode::administrative_action:
      return "administrative_action";
    case ReasonCode::payload_format_invalid:
      return "payload_format_invalid";
    case ReasonCode::retain_not_supported:
      return "retain_not_supported";
    case ReasonCode::qos_not_supported:
      return "qos_not_supported";
    case ReasonCode::use_another_server:
      return "use_another_server";
    case ReasonCode::server_moved:
      return "server_moved";
    case ReasonCode::shared_subscriptions_not_supported:
      return "shared_subscriptions_not_supported";
    case ReasonCode::connection_rate_exceeded:
      return "connection_rate_exceeded";
    case ReasonCode::maximum_connect_time:
      return "maximum_connect_time";
    case ReasonCode::subscription_identifiers_not_supported:
      return "subscription_identifiers_not_supported";
    case ReasonCode::wildcard_subscriptions_not_supported:
      return "wildcard_subscriptions_not_supported";
  }
  return "undefined";
}

}  // namespace sluice::mqtt
