#pragma once
// STUN (RFC 8489) as ICE-lite needs it (RFC 8445, RFC 7675), sans I/O: reading a Binding request a
// browser sends to sluiced's WebRTC port — its USERNAME ("our-ufrag:their-ufrag"), PRIORITY,
// USE-CANDIDATE, ICE-CONTROLLING/-CONTROLLED, MESSAGE-INTEGRITY and FINGERPRINT — checking its
// integrity with the short-term credential (our ICE password), and writing the success response
// (XOR-MAPPED-ADDRESS: where the request came from, which is how a peer behind an mDNS host
// candidate learns its address) or an error response. Parsing never reads outside the bytes
// given; every length is checked; attributes after MESSAGE-INTEGRITY other than FINGERPRINT are
// ignored as RFC 8489 14.5 says.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sluice::media::webrtc::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;
// Message types (method Binding with its four classes).
inline constexpr std::uint16_t kBindingRequest = 0x0001;
inline constexpr std::uint16_t kBindingIndication = 0x0011;
inline constexpr std::uint16_t kBindingSuccess = 0x0101;
inline constexpr std::uint16_t kBindingError = 0x0111;

using TransactionId = std::array<std::uint8_t, 12>;

// A transport address: IPv4 (4 bytes used) or IPv6 (16), port in host order.
struct Address {
  bool v6 = false;
  std::array<std::uint8_t, 16> ip{};
  std::uint16_t port = 0;
  bool operator==(const Address&) const = default;
};

struct Message {
  std::uint16_t type = 0;
  TransactionId transaction{};
  std::optional<std::string> username;
  std::optional<std::uint32_t> priority;
  bool use_candidate = false;
  std::optional<std::uint64_t> ice_controlling;  // tie-breakers
  std::optional<std::uint64_t> ice_controlled;
  std::optional<Address> xor_mapped_address;
  std::optional<int> error_code;  // error responses: 300..699
  // Where MESSAGE-INTEGRITY starts (offset from the message start); 0 when absent.
  std::size_t integrity_at = 0;
  bool fingerprint = false;  // present (and, since parse() succeeded, correct)
};

// Whether `bytes` can be STUN rather than DTLS or RTP on a shared port (RFC 7983: first byte
// 0..3) and carries the magic cookie.
bool looks_like_stun(std::span<const std::uint8_t> bytes);

// 400 for anything that is not a well-formed STUN message: short, bad cookie, length not the
// datagram's or not a multiple of 4, an attribute running past the end, a FINGERPRINT that does
// not match, MESSAGE-INTEGRITY of the wrong size, a USERNAME over 513 bytes.
Result<Message> parse(std::span<const std::uint8_t> bytes);

// Whether the message's MESSAGE-INTEGRITY is the HMAC-SHA1, keyed with `password`, of the message
// up to that attribute (with the header length covering it). False when it has none.
bool integrity_ok(std::span<const std::uint8_t> bytes, const Message& message,
                  std::string_view password);

// A Binding success response to `request`: XOR-MAPPED-ADDRESS `mapped`, MESSAGE-INTEGRITY keyed
// with `password`, FINGERPRINT.
std::string binding_success(const TransactionId& request, const Address& mapped,
                            std::string_view password);
// A Binding error response (`code` 400, 401, 487 …, with its reason phrase), FINGERPRINT; with
// MESSAGE-INTEGRITY when `password` is not empty.
std::string binding_error(const TransactionId& request, int code, std::string_view reason,
                          std::string_view password = {});

// A Binding request as an ICE agent sends one (tests, and consent checks of our own).
struct RequestFields {
  std::string username;
  std::string password;  // MESSAGE-INTEGRITY key
  std::uint32_t priority = 0;
  bool use_candidate = false;
  std::optional<std::uint64_t> ice_controlling;
  std::optional<std::uint64_t> ice_controlled;
};
std::string binding_request(const TransactionId& transaction, const RequestFields& fields);

// CRC-32 (ISO-HDLC, as zlib) — FINGERPRINT is it XOR 0x5354554E.
std::uint32_t crc32(std::span<const std::uint8_t> bytes);

}  // namespace sluice::media::webrtc::stun
