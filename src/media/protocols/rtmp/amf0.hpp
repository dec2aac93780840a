#pragma once
// AMF0 (Action Message Format 0), the encoding of RTMP command and data messages. Sans-I/O:
// decoders read a byte span and never look past it; encode() appends to a caller string.
//
// Supported markers: number, boolean, string, object, null, undefined, ECMA array, object end
// (only as a terminator), strict array, date, long string. Everything else (movieclip,
// reference, recordset, XML document, typed object, AVM+ switch, unsupported) is rejected with
// an error: RTMP peers (OBS, ffmpeg) never send them in the commands we accept.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace sluice::rtmp::amf0 {

// Type markers (AMF0 specification, section 2.1).
enum class Marker : std::uint8_t {
  kNumber = 0x00,
  kBoolean = 0x01,
  kString = 0x02,
  kObject = 0x03,
  kMovieClip = 0x04,  // reserved, rejected
  kNull = 0x05,
  kUndefined = 0x06,
  kReference = 0x07,  // rejected
  kEcmaArray = 0x08,
  kObjectEnd = 0x09,
  kStrictArray = 0x0A,
  kDate = 0x0B,
  kLongString = 0x0C,
  kUnsupported = 0x0D,  // rejected
  kRecordSet = 0x0E,    // reserved, rejected
  kXmlDocument = 0x0F,  // rejected
  kTypedObject = 0x10,  // rejected
  kAvmPlus = 0x11,      // rejected
};

// Nesting deeper than this (objects, ECMA arrays, strict arrays inside each other) is an error.
inline constexpr int kMaxDepth = 32;

struct Property;
using Properties = std::vector<Property>;  // keeps wire order; duplicate keys are kept as sent

// One AMF0 value. `type` selects which member is meaningful:
//   kNumber → number; kBoolean → boolean; kString / kLongString → string;
//   kObject / kEcmaArray → properties (ECMA arrays also keep the sent count in ecma_count);
//   kStrictArray → items; kDate → number (ms since epoch) and timezone; kNull / kUndefined → none.
// encode() writes a kString whose text exceeds 65535 bytes as a long string (and decodes back
// as kLongString).
struct Value {
  Marker type = Marker::kNull;
  double number = 0;
  bool boolean = false;
  std::int16_t timezone = 0;
  std::uint32_t ecma_count = 0;
  std::string string;
  Properties properties;
  std::vector<Value> items;

  static Value num(double v);
  static Value boolean_value(bool v);
  static Value str(std::string v);
  static Value long_str(std::string v);
  static Value null();
  static Value undefined();
  static Value object(Properties p);
  static Value ecma_array(Properties p);  // ecma_count = p.size()
  static Value strict_array(std::vector<Value> items);
  static Value date(double ms, std::int16_t tz = 0);

  // The first property named `key` of an object or ECMA array, or nullptr.
  const Value* find(std::string_view key) const;

  // Structural equality; numbers compare bitwise-equal or equal (so NaN == NaN with the same
  // bits, which round-trip checks need).
  friend bool operator==(const Value& a, const Value& b);
};

struct Property {
  std::string key;
  Value value;
  friend bool operator==(const Property&, const Property&) = default;
};

// Decodes one value starting at `in[0]`. On success `consumed` (if given) receives the number of
// bytes used. Errors (status 400, detail names the problem and its byte offset within `in`):
// truncated input, unsupported or unknown marker, nesting deeper than kMaxDepth, a length that
// does not fit in the remaining bytes, a strict array count larger than the remaining bytes
// could hold. Never reads outside `in`; memory use is bounded by a small multiple of in.size().
Result<Value> decode_one(std::span<const std::uint8_t> in, std::size_t* consumed = nullptr);

// Decodes values back to back until `in` is used up (an RTMP command message body). Empty
// input gives an empty vector. Any error in any value fails the whole call.
Result<std::vector<Value>> decode_all(std::span<const std::uint8_t> in);

// Appends the AMF0 encoding of `v` to `out`. A kString longer than 65535 bytes is written as a
// long string; object/ECMA keys longer than 65535 bytes are truncated to 65535 (AMF0 cannot
// express them); ECMA arrays write properties.size() as their count. Marker values that are not
// supported are written as null.
void encode(const Value& v, std::string& out);
std::string encode(std::span<const Value> values);

}  // namespace sluice::rtmp::amf0
