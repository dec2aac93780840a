#pragma once
// MqttReader cuts the byte stream of one MQTT connection into packets, sans I/O: the connection
// feeds it what the socket (or WebSocket binary messages) delivered, and takes whole packets out
// with next(). One reader per connection, used by one thread (the connection's strand) at a time.
//
// Bounded: a packet (fixed header included) over max_packet_size is refused with
// packet_too_large as soon as its header is read, without buffering its body; the reader never
// holds more than max_packet_size unconsumed bytes (feed() takes only what fits); the Remaining
// Length is at most 4 bytes. Decoded packets hold copies of what they carry, at most a small
// multiple of the packet's size.
//
// A server's reader learns the protocol version from the first packet, which must be CONNECT,
// and refuses packets only servers send (CONNACK, SUBACK, UNSUBACK, PINGRESP), a second CONNECT,
// and a PUBLISH with a subscription identifier (MQTT-3.3.4-6). A client's reader is told the
// version it sent and refuses packets only clients send. Errors are final: the connection
// should answer with the error's reason code (CONNACK before the session exists, a v5 DISCONNECT
// after; 3.1.1 just closes) and close.
//
// Typical use, per chunk read from the socket:
//   for (std::string_view rest = chunk; !rest.empty();) {
//     rest.remove_prefix(reader.feed(rest));
//     for (auto r = reader.next(); !r.needs_more(); r = reader.next()) {
//       if (r.has_error()) return close_with(r.error());
//       handle(r.packet());
//     }
//   }
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "mqtt/mqtt_error.hpp"
#include "mqtt/mqtt_packet.hpp"

namespace sluice::mqtt {

inline constexpr std::size_t kDefaultMaxPacketSize = 256 * 1024;
inline constexpr std::size_t kMinMaxPacketSize = 5;  // a whole fixed header always fits

// What next() yields: a packet, nothing yet (more bytes are needed), or the error that ends the
// connection.
class ReadResult {
 public:
  ReadResult() = default;  // more bytes are needed
  explicit ReadResult(Packet packet) : state_(std::move(packet)) {}
  explicit ReadResult(ProtocolError error) : state_(std::move(error)) {}

  bool needs_more() const { return std::holds_alternative<std::monostate>(state_); }
  bool has_packet() const { return std::holds_alternative<Packet>(state_); }
  bool has_error() const { return std::holds_alternative<ProtocolError>(state_); }
  // Only when has_packet().
  Packet& packet() { return std::get<Packet>(state_); }
  const Packet& packet() const { return std::get<Packet>(state_); }
  // Only when has_error().
  const ProtocolError& error() const { return std::get<ProtocolError>(state_); }

 private:
  std::variant<std::monostate, Packet, ProtocolError> state_;
};

class MqttReader {
 public:
  enum class Role { server, client };

  // A server's reader (the version comes from the CONNECT). max_packet_size is clamped to
  // kMinMaxPacketSize..kMaxPacketSize.
  explicit MqttReader(std::size_t max_packet_size = kDefaultMaxPacketSize);
  // A client's reader, for a connection whose CONNECT said `protocol_version` (4 or 5).
  static MqttReader for_client(int protocol_version,
                               std::size_t max_packet_size = kDefaultMaxPacketSize);

  // Buffers as much of `bytes` as fits and returns how many it took: all of them unless the
  // reader already holds complete packets next() has not taken. After an error it takes (and
  // drops) everything.
  [[nodiscard]] std::size_t feed(std::string_view bytes);
  [[nodiscard]] std::size_t feed(std::span<const std::uint8_t> bytes);
  // How many bytes feed() would take now.
  std::size_t space() const;

  // The next whole packet; empty when more bytes are needed; the error once the stream broke
  // a rule (and again on every later call).
  ReadResult next();

  Role role() const { return role_; }
  // 4 or 5; 0 for a server's reader until a CONNECT has been read. A CONNECT that was refused
  // still sets it when it declared 3.1.1 or 5.0, so the refusal can be answered in that version
  // (a v5 CONNACK with the reason code; 3.1.1 defines no code for a malformed CONNECT).
  int protocol_version() const { return version_; }
  std::size_t max_packet_size() const { return max_packet_size_; }
  // Bytes fed and not yet taken as packets.
  std::size_t buffered() const { return buffer_.size() - start_; }
  bool failed() const { return error_.has_value(); }

 private:
  MqttReader(Role role, int version, std::size_t max_packet_size);
  // Refuses a packet this side never receives, from its first byte.
  std::optional<ProtocolError> refuse_type(int type) const;
  ReadResult fail(ProtocolError error);

  Role role_;
  int version_;
  std::size_t max_packet_size_;
  std::string buffer_;      // bytes fed; those before start_ are taken
  std::size_t start_ = 0;   // where the next packet begins
  bool connected_ = false;  // a CONNECT (server) or CONNACK (client) has been read
  std::optional<ProtocolError> error_;
};

}  // namespace sluice::mqtt
