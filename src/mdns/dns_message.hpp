#pragma once
// DNS messages as Multicast DNS uses them (RFC 1035 section 4, RFC 6762 section 18), sans I/O:
// parse_message() reads a datagram — header, questions (with the unicast-response bit), answer,
// authority and additional records (A, AAAA, PTR, SRV, TXT and NSEC decoded, any other type kept
// as opaque bytes) — and build_message() writes one, compressing names. Parsing never reads
// outside the datagram: every count, length and compression pointer is checked (pointers may only
// point backwards, at most kMaxPointerHops of them per name), labels are at most 63 bytes and
// names at most 255, and a datagram over kMaxDatagram bytes is refused without being read.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace sluice::mdns {

inline constexpr std::size_t kMaxDatagram = 9000;   // RFC 6762 section 17
inline constexpr std::size_t kMaxLabelLength = 63;  // RFC 1035 section 2.3.4
inline constexpr std::size_t kMaxNameLength = 255;  // wire form, root label included
inline constexpr int kMaxPointerHops = 64;
inline constexpr std::size_t kHeaderSize = 12;

// A record or question type; values not named here are valid too (kept, not interpreted).
enum class RecordType : std::uint16_t {
  a = 1,
  ptr = 12,
  txt = 16,
  aaaa = 28,
  srv = 33,
  nsec = 47,
  any = 255,  // questions only
};
inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::uint16_t kClassAny = 255;

// Header flag bits (RFC 1035 section 4.1.1).
inline constexpr std::uint16_t kFlagResponse = 0x8000;       // QR
inline constexpr std::uint16_t kFlagAuthoritative = 0x0400;  // AA
inline constexpr std::uint16_t kFlagTruncated = 0x0200;      // TC

// A domain name as its labels, most specific first ({"_maestra", "_tcp", "local"}); the root
// name has none. Labels are bytes (DNS-SD instance names are UTF-8 and may hold dots and spaces).
// == compares exactly; same_name() compares the way DNS does (ASCII case-insensitively).
struct Name {
  std::vector<std::string> labels;

  // "a.b.local" (a trailing dot is allowed) split at every dot; 400 for an empty label, a label
  // over 63 bytes or a name over 255.
  static Result<Name> from_dotted(std::string_view dotted);
  // The labels joined with dots ("a.b.local"), for logs and errors: a dot or backslash inside a
  // label is written "\." or "\\", bytes outside printable ASCII "\DDD" (RFC 1035 5.1); the
  // root is ".". from_dotted() reads no escapes.
  std::string to_dotted() const;
  // Bytes this name takes on the wire uncompressed: the labels, their length bytes and the root.
  std::size_t wire_length() const;

  bool operator==(const Name&) const = default;
};
bool same_name(const Name& a, const Name& b);
// 400 when a label is empty or over 63 bytes, or the name is over 255 bytes.
Status check_name(const Name& name);

using Ipv4Address = std::array<std::uint8_t, 4>;
using Ipv6Address = std::array<std::uint8_t, 16>;

struct AData {
  Ipv4Address address{};
  bool operator==(const AData&) const = default;
};
struct AaaaData {
  Ipv6Address address{};
  bool operator==(const AaaaData&) const = default;
};
struct PtrData {
  Name target;
  bool operator==(const PtrData&) const = default;
};
struct SrvData {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  Name target;
  bool operator==(const SrvData&) const = default;
};
// Each string at most 255 bytes; DNS-SD writes "key=value" in each (RFC 6763 section 6).
struct TxtData {
  std::vector<std::string> strings;
  bool operator==(const TxtData&) const = default;
};
// The types listed in the bitmap, ascending (RFC 4034 section 4.1; RFC 6762 section 6.1).
struct NsecData {
  Name next;
  std::vector<RecordType> types;
  bool operator==(const NsecData&) const = default;
};
// A record of any other type: its rdata as it came (names inside it are not decompressed).
struct OpaqueData {
  RecordType type{};
  std::string bytes;
  bool operator==(const OpaqueData&) const = default;
};
using RecordData = std::variant<AData, AaaaData, PtrData, SrvData, TxtData, NsecData, OpaqueData>;

struct Question {
  Name name;
  RecordType type{};                   // one named above, or any other value
  std::uint16_t dns_class = kClassIn;  // without the QU bit
  bool unicast_response = false;       // QU: the top bit of the class (RFC 6762 section 5.4)
  bool operator==(const Question&) const = default;
};

struct Record {
  Name name;
  std::uint16_t dns_class = kClassIn;  // without the cache-flush bit
  bool cache_flush = false;            // the top bit of the class (RFC 6762 section 10.2)
  std::uint32_t ttl = 0;               // seconds
  RecordData data;

  // The type the data says (OpaqueData carries its own).
  RecordType type() const;
  // Bytes the record takes on the wire without name compression: an upper bound.
  std::size_t wire_length() const;
  bool operator==(const Record&) const = default;
};

struct Message {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authorities;
  std::vector<Record> additionals;

  bool is_response() const { return (flags & kFlagResponse) != 0; }
  int opcode() const { return (flags >> 11) & 0xF; }
  int rcode() const { return flags & 0xF; }
  bool operator==(const Message&) const = default;
};

// 400 naming what is wrong for anything that is not a well-formed DNS message: shorter than the
// header, longer than kMaxDatagram, counts the datagram cannot hold, a name or record running
// past the end, a compression pointer that does not point backwards or hops too often, a label
// of a reserved kind or over 63 bytes, a name over 255 bytes, rdata of the wrong size for its
// type. Bytes after the last record are ignored.
Result<Message> parse_message(std::span<const std::uint8_t> datagram);

// The message on the wire, names compressed (a name, or its tail, written before is pointed to;
// matching is exact, so names keep their case). 400 for a name check_name() refuses, a TXT string
// over 255 bytes, an NSEC type list that is not ascending, rdata over 65535 bytes or more than
// 65535 entries in a section.
Result<std::vector<std::uint8_t>> build_message(const Message& message);

}  // namespace sluice::mdns
