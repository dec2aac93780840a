#pragma once
// Internal to sluice_mqtt: the MQTT data representations (section 1.5) — big-endian integers,
// Variable Byte Integers, length-prefixed strings and binary data — read from a bounded view and
// appended to a string, plus the property codec the packet codec shares.
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/mqtt_error.hpp"
#include "mqtt/mqtt_packet.hpp"
#include "mqtt/mqtt_properties.hpp"

namespace sluice::mqtt::wire {

inline constexpr std::uint32_t kMaxVarint = 268'435'455;

// Reads a Variable Byte Integer from the start of `bytes`: complete (value and length set),
// incomplete (bytes ended inside it) or malformed (a fifth byte, or a non-minimal encoding).
enum class VarintRead { complete, incomplete, malformed };
VarintRead read_varint(std::string_view bytes, std::uint32_t& value, std::size_t& length);
std::size_t varint_size(std::uint32_t value);

// Reads fields from one packet body; every read is checked against the end, and a failed read
// leaves the position where it was.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  std::size_t left() const { return data_.size() - at_; }
  bool done() const { return at_ == data_.size(); }

  bool u8(std::uint8_t& v);
  bool u16(std::uint16_t& v);
  bool u32(std::uint32_t& v);
  // false when cut short; a malformed one is reported as malformed_packet.
  MqttResult<bool> varint(std::uint32_t& v);
  // A 16-bit length and that many bytes (no UTF-8 check: the packet checks come later).
  bool prefixed(std::string& out);
  // The next n bytes as a view; false if fewer are left.
  bool take(std::size_t n, std::string_view& out);
  std::string_view rest();

 private:
  std::string_view data_;
  std::size_t at_ = 0;
};

void put_u8(std::string& out, std::uint8_t v);
void put_u16(std::string& out, std::uint16_t v);
void put_u32(std::string& out, std::uint32_t v);
void put_varint(std::string& out, std::uint32_t v);  // v <= kMaxVarint
// A 16-bit length and the bytes; the caller has checked the length is at most 65535.
void put_prefixed(std::string& out, std::string_view bytes);

// One bit per property id (ids are below 64): which properties a packet type may carry.
using PropertyMask = std::uint64_t;
inline constexpr PropertyMask bit(PropertyId id) {
  return PropertyMask{1} << static_cast<unsigned>(id);
}
// The spec's table (MQTT 5.0 section 2.2.2.2); the will's properties have their own set.
PropertyMask allowed_properties(PacketType type);
inline constexpr PropertyMask kWillProperties =
    bit(PropertyId::payload_format_indicator) | bit(PropertyId::message_expiry_interval) |
    bit(PropertyId::content_type) | bit(PropertyId::response_topic) |
    bit(PropertyId::correlation_data) | bit(PropertyId::will_delay_interval) |
    bit(PropertyId::user_property);

// Reads a property length and the properties it covers. `where` names the packet for errors.
MqttResult<Properties> read_properties(ByteReader& in, PropertyMask allowed,
                                       std::string_view where);
// The value rules of mqtt_properties.hpp and `allowed`, for properties about to be written or
// just read.
MqttStatus check_properties(const Properties& properties, PropertyMask allowed,
                            std::string_view where);
// Appends the property length and the properties (checked by check_properties()).
void write_properties(std::string& out, const Properties& properties);

}  // namespace sluice::mqtt::wire
