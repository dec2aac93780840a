#include "mqtt/mqtt_reader.hpp"

#include <algorithm>

#include "mqtt/mqtt_wire.hpp"

namespace sluice::mqtt {
namespace {

// What an idle reader's buffer may keep allocated once a larger packet has gone through.
constexpr std::size_t kIdleBufferCapacity = 16 * 1024;

std::string type_name(int type) {
  return std::string(packet_type_name(static_cast<PacketType>(type)));
}

// The protocol level a CONNECT body declares, when it starts with the name "MQTT" and a level
// this codec speaks; 0 otherwise.
int declared_version(std::string_view connect_body) {
  static constexpr std::string_view kPrefix("\x00\x04MQTT", 6);
  if (connect_body.size() < 7 || !connect_body.starts_with(kPrefix)) return 0;
  const int level = static_cast<std::uint8_t>(connect_body[6]);
  return level == kMqtt311 || level == kMqtt5 ? level : 0;
}

}  // namespace

MqttReader::MqttReader(std::size_t max_packet_size)
    : MqttReader(Role::server, 0, max_packet_size) {}

MqttReader::MqttReader(Role role, int version, std::size_t max_packet_size)
    : role_(role),
      version_(version),
      max_packet_size_(std::clamp(max_packet_size, kMinMaxPacketSize, kMaxPacketSize)) {}

MqttReader MqttReader::for_client(int protocol_version, std::size_t max_packet_size) {
  MqttReader reader(Role::client, protocol_version, max_packet_size);
  if (protocol_version != kMqtt311 && protocol_version != kMqtt5) {
    reader.error_ = ProtocolError{ReasonCode::unsupported_protocol_version,
                                  "protocol version " + std::to_string(protocol_version) +
                                      " is neither 4 (MQTT 3.1.1) nor 5 (MQTT 5.0)"};
  }
  return reader;
}

std::size_t MqttReader::space() const {
  return max_packet_size_ - buffered();
}

std::size_t MqttReader::feed(std::span<const std::uint8_t> bytes) {
  return feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::size_t MqttReader::feed(std::string_view bytes) {
  if (error_) return bytes.size();
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  const std::size_t taken = std::min(bytes.size(), space());
  buffer_.append(bytes.substr(0, taken));
  return taken;
}

ReadResult MqttReader::fail(ProtocolError error) {
  error_ = error;
  buffer_.clear();
  buffer_.shrink_to_fit();
  start_ = 0;
  return ReadResult(std::move(error));
}

std::optional<ProtocolError> MqttReader::refuse_type(int type) const {
  const auto t = static_cast<PacketType>(type);
  if (type == 0 || (type == 15 && version_ == kMqtt311)) return std::nullopt;  // decode refuses
  std::string why;
  if (role_ == Role::server) {
    if (!connected_ && t != PacketType::connect) {
      why = "the first packet is " + type_name(type) + ", not CONNECT (MQTT-3.1.0-1)";
    } else if (connected_ && t == PacketType::connect) {
      why = "a second CONNECT (MQTT-3.1.0-2)";
    } else if (t == PacketType::connack || t == PacketType::suback || t == PacketType::unsuback ||
               t == PacketType::pingresp) {
      why = type_name(type) + " is sent by servers, not clients";
    }
  } else {
    if (t == PacketType::connect || t == PacketType::subscribe || t == PacketType::unsubscribe ||
        t == PacketType::pingreq) {
      why = type_name(type) + " is sent by clients, not servers";
    } else if (!connected_ && t != PacketType::connack && t != PacketType::auth) {
      why = "the first packet is " + type_name(type) + ", not CONNACK";
    } else if (connected_ && t == PacketType::connack) {
      why = "a second CONNACK";
    } else if (t == PacketType::disconnect && version_ == kMqtt311) {
      why = "MQTT 3.1.1 servers do not send DISCONNECT";
    }
  }
  if (why.empty()) return std::nullopt;
  return ProtocolError{ReasonCode::protocol_error, std::move(why)};
}

ReadResult MqttReader::next() {
  if (error_) return ReadResult(*error_);
  const std::string_view data = std::string_view(buffer_).substr(start_);
  if (data.empty()) return {};
  const auto first = static_cast<std::uint8_t>(data[0]);
  if (auto refused = refuse_type(first >> 4)) return fail(std::move(*refused));
  std::uint32_t remaining = 0;
  std::size_t length_bytes = 0;
  switch (wire::read_varint(data.substr(1), remaining, length_bytes)) {
    case wire::VarintRead::incomplete:
      return {};
    case wire::VarintRead::malformed:
      return fail({ReasonCode::malformed_packet,
                   type_name(first >> 4) + ": the Remaining Length is malformed"});
    case wire::VarintRead::complete:
      break;
  }
  const std::size_t total = 1 + length_bytes + remaining;
  if (total > max_packet_size_) {
    return fail({ReasonCode::packet_too_large, type_name(first >> 4) + " of " +
                                                   std::to_string(total) +
                                                   " bytes is over the maximum packet size of " +
                                                   std::to_string(max_packet_size_)});
  }
  if (data.size() < total) return {};
  const std::string_view body = data.substr(1 + length_bytes, remaining);
  auto packet = decode_packet(first, body, version_);
  if (!packet) {
    if (version_ == 0) version_ = declared_version(body);
    return fail(std::move(packet.error()));
  }
  // The packet holds copies; the bytes it came from can go.
  start_ += total;
  if (start_ == buffer_.size()) {  // all taken: an idle connection keeps no large buffer
    buffer_.clear();
    start_ = 0;
    if (buffer_.capacity() > kIdleBufferCapacity) buffer_.shrink_to_fit();
  }
  if (auto* connect = std::get_if<Connect>(&*packet)) version_ = connect->protocol_version;
  if (role_ == Role::server) {
    const auto* publish = std::get_if<Publish>(&*packet);
    if (publish && !publish->properties.subscription_identifiers.empty()) {
      return fail({ReasonCode::protocol_error,
                   "PUBLISH: a client sent a subscription identifier (MQTT-3.3.4-6)"});
    }
  }
  if (std::holds_alternative<Connect>(*packet) || std::holds_alternative<Connack>(*packet)) {
    connected_ = true;
  }
  return ReadResult(std::move(*packet));
}

}  // namespace sluice::mqtt
