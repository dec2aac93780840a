#pragma once
// Open Sound Control 1.0 packets, sans I/O: parse_packet() reads one UDP datagram — a message
// (address, type tag string, arguments) or a `#bundle` (time tag and size-prefixed elements,
// bundles nested in bundles) — and encode_packet() writes one back.
//
// Argument types: the OSC 1.0 core (i f s b) and the common extensions (h d t T F N I c r m S),
// and arrays: '[' and ']' in the type tag string are kept as ArrayBegin / ArrayEnd arguments in
// the flat argument list (exactly as the type tag string has them), balanced and nested at most
// kMaxArrayDepth deep.
//
// Parsing is strict and bounded, and never reads outside the datagram: every string must be
// NUL-terminated inside its element and padded with zero bytes to a multiple of 4, every blob's
// size must fit, a message must end exactly where its element (or the datagram) ends, bundles
// nest at most kMaxBundleDepth deep, and a datagram holds at most kMaxElements messages and
// bundles and kMaxArguments arguments. Because only the canonical encoding is accepted,
// encode_packet(*parse_packet(d)) gives back exactly `d` — with one exception: a message without
// a type tag string (OSC 1.0 asks receivers to tolerate senders that omit it) parses as a
// message without arguments and is written back with an empty type tag string ",".
//
// Bundle time tags are carried, not acted on: nothing here schedules anything.
//
// Thread-safe: pure functions and plain values.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace sluice::osc {

inline constexpr std::size_t kMaxDatagram = 65507;  // the largest UDP payload over IPv4
inline constexpr int kMaxBundleDepth = 8;           // a top-level bundle is depth 1
inline constexpr std::size_t kMaxElements = 1024;   // messages and bundles in one datagram
inline constexpr std::size_t kMaxArguments = 8192;  // arguments in one datagram, array marks too
inline constexpr int kMaxArrayDepth = 8;

// An NTP time stamp: seconds since 1900 in the high 32 bits, fractions of a second in the low
// 32. The value 1 means "immediately".
struct TimeTag {
  std::uint64_t ntp = 1;

  static constexpr std::uint64_t kImmediately = 1;
  std::uint32_t seconds() const { return static_cast<std::uint32_t>(ntp >> 32); }
  std::uint32_t fraction() const { return static_cast<std::uint32_t>(ntp); }
  bool operator==(const TimeTag&) const = default;
};

// 'b': arbitrary bytes.
struct Blob {
  std::vector<std::uint8_t> bytes;
  bool operator==(const Blob&) const = default;
};
// 'S': a symbol (a string some systems treat as a name rather than text).
struct Symbol {
  std::string text;
  bool operator==(const Symbol&) const = default;
};
// 'c': one character, sent as 32 bits; its code (Latin-1) is at most 255.
struct Char {
  std::uint8_t code = 0;
  bool operator==(const Char&) const = default;
};
// 'r': a 32-bit RGBA colour.
struct Rgba {
  std::uint8_t r = 0, g = 0, b = 0, a = 0;
  bool operator==(const Rgba&) const = default;
};
// 'm': a 4-byte MIDI message: port id, status byte, two data bytes.
struct Midi {
  std::uint8_t port = 0, status = 0, data1 = 0, data2 = 0;
  bool operator==(const Midi&) const = default;
};
// 'N': nil. 'I': impulse ("bang"). Neither has data bytes.
struct Nil {
  bool operator==(const Nil&) const = default;
};
struct Impulse {
  bool operator==(const Impulse&) const = default;
};
// '[' and ']': the arguments between them form an array.
struct ArrayBegin {
  bool operator==(const ArrayBegin&) const = default;
};
struct ArrayEnd {
  bool operator==(const ArrayEnd&) const = default;
};

// One argument. Its type tag: int32_t 'i', float 'f', std::string 's', Blob 'b', int64_t 'h',
// double 'd', TimeTag 't', bool 'T' / 'F', Nil 'N', Impulse 'I', Char 'c', Rgba 'r', Midi 'm',
// Symbol 'S', ArrayBegin '[', ArrayEnd ']'. Strings and symbols are bytes without NUL (OSC says
// ASCII; nothing here checks).
using OscArgument =
    std::variant<std::int32_t, float, std::string, Blob, std::int64_t, double, TimeTag, bool, Nil,
                 Impulse, Char, Rgba, Midi, Symbol, ArrayBegin, ArrayEnd>;

// The type tag character of an argument ('T' or 'F' for a bool, by its value).
char type_tag(const OscArgument& argument);

struct OscMessage {
  std::string address;  // begins with '/'; may be a pattern (`/mixer/*/mute`)
  std::vector<OscArgument> arguments;

  // The type tag string without its leading ',' ("ifs" for an int, a float and a string).
  std::string type_tags() const;
  bool operator==(const OscMessage&) const = default;
};

struct OscPacket;

struct OscBundle {
  TimeTag time;
  std::vector<OscPacket> elements;  // messages and bundles, in datagram order
  bool operator==(const OscBundle&) const = default;
};

// What one datagram carries: a message or a bundle.
struct OscPacket {
  std::variant<OscMessage, OscBundle> content;

  bool is_bundle() const { return std::holds_alternative<OscBundle>(content); }
  bool operator==(const OscPacket&) const = default;
};

// 400 naming the byte offset and what is wrong for anything that is not a well-formed OSC
// packet: empty or over kMaxDatagram bytes, neither '/' nor "#bundle\0" at the start of an
// element, a string not NUL-terminated inside its element, padding that runs past the end or is
// not zero, a type tag string not starting with ',', an unknown type tag, an argument or blob
// running past the end, bytes left over after a message's arguments, a bundle element whose size
// is not a positive multiple of 4 or does not fit, unbalanced or too deep arrays, bundles nested
// deeper than kMaxBundleDepth, more than kMaxElements elements or kMaxArguments arguments.
Result<OscPacket> parse_packet(std::span<const std::uint8_t> datagram);

// Every message of a packet in datagram order (depth first through nested bundles); bundle
// time tags are dropped.
std::vector<OscMessage> messages_of(OscPacket packet);
// parse_packet() then messages_of().
Result<std::vector<OscMessage>> parse_messages(std::span<const std::uint8_t> datagram);

// The packet on the wire: whatever it writes, parse_packet() reads back. 400 for an address that
// does not begin with '/', a NUL inside the address, a string or a symbol, unbalanced or too
// deep arrays, bundles nested deeper than kMaxBundleDepth, more than kMaxElements elements or
// kMaxArguments arguments, or a result over kMaxDatagram bytes.
Result<std::vector<std::uint8_t>> encode_packet(const OscPacket& packet);
Result<std::vector<std::uint8_t>> encode_message(const OscMessage& message);

}  // namespace sluice::osc
