#include "mqtt/mqtt_wire.hpp"

namespace sluice::mqtt::wire {

VarintRead read_varint(std::string_view bytes, std::uint32_t& value, std::size_t& length) {
  std::uint32_t result = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i >= bytes.size()) return VarintRead::incomplete;
    const auto byte = static_cast<std::uint8_t>(bytes[i]);
    result |= static_cast<std::uint32_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      // A last byte of 0 after others means the value fitted in fewer bytes (MQTT 5.0 1.5.5).
      if (i > 0 && byte == 0) return VarintRead::malformed;
      value = result;
      length = i + 1;
      return VarintRead::complete;
    }
  }
  return VarintRead::malformed;  // a fourth byte with its continuation bit set
}

std::size_t varint_size(std::uint32_t value) {
  std::size_t n = 1;
  while (value >= 128) {
    value >>= 7;
    ++n;
  }
  return n;
}

bool ByteReader::u8(std::uint8_t& v) {
  if (left() < 1) return false;
  v = static_cast<std::uint8_t>(data_[at_++]);
  return true;
}

bool ByteReader::u16(std::uint16_t& v) {
  if (left() < 2) return false;
  v = static_cast<std::uint16_t>(static_cast<std::uint8_t>(data_[at_]) << 8 |
                                 static_cast<std::uint8_t>(data_[at_ + 1]));
  at_ += 2;
  return true;
}

bool ByteReader::u32(std::uint32_t& v) {
  if (left() < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i)
    v = v << 8 | static_cast<std::uint8_t>(data_[at_ + i]);
  at_ += 4;
  return true;
}

MqttResult<bool> ByteReader::varint(std::uint32_t& v) {
  std::size_t length = 0;
  switch (read_varint(data_.substr(at_), v, length)) {
    case VarintRead::complete:
      at_ += length;
      return true;
    case VarintRead::incomplete:
      return false;
    case VarintRead::malformed:
      break;
  }
  return refuse(ReasonCode::malformed_packet, "malformed Variable Byte Integer");
}

bool ByteReader::prefixed(std::string& out) {
  std::uint16_t length = 0;
  const std::size_t start = at_;
  std::string_view bytes;
  if (!u16(length) || !take(length, bytes)) {
    at_ = start;
    return false;
  }
  out.assign(bytes);
  return true;
}

bool ByteReader::take(std::size_t n, std::string_view& out) {
  if (left() < n) return false;
  out = data_.substr(at_, n);
  at_ += n;
  return true;
}

std::string_view ByteReader::rest() {
  std::string_view out = data_.substr(at_);
  at_ = data_.size();
  return out;
}

void put_u8(std::string& out, std::uint8_t v) {
  out += static_cast<char>(v);
}

void put_u16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xFF);
}

void put_u32(std::string& out, std::uint32_t v) {
  put_u16(out, static_cast<std::uint16_t>(v >> 16));
  put_u16(out, static_cast<std::uint16_t>(v & 0xFFFF));
}

void put_varint(std::string& out, std::uint32_t v) {
  do {
    std::uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v > 0) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (v > 0);
}

void put_prefixed(std::string& out, std::string_view bytes) {
  put_u16(out, static_cast<std::uint16_t>(bytes.size()));
  out += bytes;
}

}  // namespace sluice::mqtt::wire
