#pragma once
// An application message on its way through the broker: what a PUBLISH (or a will, or the hub
// bridge) carries, shared by pointer among every subscriber it goes to.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "mqtt/mqtt_properties.hpp"

namespace sluice::mqtt {

struct Message {
  std::string topic;     // a valid topic name
  std::string payload;   // bytes
  std::uint8_t qos = 0;  // as published (0, 1 or 2); each subscriber gets at most its grant
  bool retain = false;
  // The v5 properties that travel with the message (MQTT 5.0 section 3.3.2.3): payload format,
  // message expiry, content type, response topic, correlation data, user properties. Never a
  // topic alias or subscription identifier.
  Properties properties;
  MonoTime received_at{};  // for the message expiry interval

  // The expiry interval left at `now`: nullopt when the message does not expire, 0 when it has.
  std::optional<std::uint32_t> expiry_left(MonoTime now) const {
    if (!properties.message_expiry_interval) return std::nullopt;
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - received_at).count();
    const std::int64_t left = std::int64_t{*properties.message_expiry_interval} - age;
    return left <= 0 ? 0u : static_cast<std::uint32_t>(left);
  }
};
using MessagePtr = std::shared_ptr<const Message>;

}  // namespace sluice::mqtt
