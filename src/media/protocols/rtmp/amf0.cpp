#include "media/protocols/rtmp/amf0.hpp"

#include <bit>
#include <cstring>

namespace sluice::rtmp::amf0 {

namespace {

std::unexpected<Error> broken(std::string what, std::size_t offset) {
  return fail(
      Error::bad_request("AMF0: " + std::move(what) + " at offset " + std::to_string(offset)));
}

class Decoder {
 public:
  explicit Decoder(std::span<const std::uint8_t> in) : in_(in) {}

  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ >= in_.size(); }

  Result<Value> value(int depth) {
    if (depth > kMaxDepth) return broken("nesting deeper than " + std::to_string(kMaxDepth), pos_);
    if (at_end()) return broken("truncated (expected a type marker)", pos_);
    const std::size_t start = pos_;
    const auto marker = static_cast<Marker>(in_[pos_++]);
    Value v;
    v.type = marker;
    switch (marker) {
      case Marker::kNumber:
      case Marker::kDate: {
        auto d = f64();
        if (!d) return fail(d.error());
        v.number = *d;
        if (marker == Marker::kDate) {
          auto tz = u16();
          if (!tz) return fail(tz.error());
          v.timezone = static_cast<std::int16_t>(*tz);
        }
        return v;
      }
      case Marker::kBoolean: {
        if (!need(1)) return broken("truncated boolean", pos_);
        v.boolean = in_[pos_++] != 0;
        return v;
      }
      case Marker::kString: {
        auto s = short_string();
        if (!s) return fail(s.error());
        v.string = std::move(*s);
        return v;
      }
      case Marker::kLongString: {
        auto n = u32();
        if (!n) return fail(n.error());
        if (!need(*n))
          return broken("long string length " + std::to_string(*n) + " past end", pos_);
        v.string.assign(reinterpret_cast<const char*>(in_.data() + pos_), *n);
        pos_ += *n;
        return v;
      }
      case Marker::kNull:
      case Marker::kUndefined:
        return v;
      case Marker::kEcmaArray: {
        auto n = u32();
        if (!n) return fail(n.error());
        v.ecma_count = *n;  // informational only; the end marker terminates the array
        auto props = properties(depth);
        if (!props) return fail(props.error());
        v.properties = std::move(*props);
        return v;
      }
      case Marker::kObject: {
        auto props = properties(depth);
        if (!props) return fail(props.error());
        v.properties = std::move(*props);
        return v;
      }
      case Marker::kStrictArray: {
        auto n = u32();
        if (!n) return fail(n.error());
        // Every item takes at least one byte, so a count above the remaining bytes is a lie;
        // checking before reserving bounds memory by the input size.
        if (*n > in_.size() - pos_) {
          return broken("strict array count " + std::to_string(*n) + " past end", pos_);
        }
        v.items.reserve(*n);
        for (std::uint32_t i = 0; i < *n; ++i) {
          auto item = value(depth + 1);
          if (!item) return fail(item.error());
          v.items.push_back(std::move(*item));
        }
        return v;
      }
      case Marker::kObjectEnd:
        return broken("object end marker outside an object", start);
      case Marker::kMovieClip:
      case Marker::kReference:
      case Marker::kUnsupported:
      case Marker::kRecordSet:
      case Marker::kXmlDocument:
      case Marker::kTypedObject:
      case Marker::kAvmPlus:
        return broken("unsupported type marker 0x" + hex(static_cast<std::uint8_t>(marker)), start);
    }
    return broken("unknown type marker 0x" + hex(static_cast<std::uint8_t>(marker)), start);
  }

 private:
  static std::string hex(std::uint8_t b) {
    static constexpr char digits[] = "0123456789abcdef";
    return {digits[b >> 4], digits[b & 15]};
  }

  bool need(std::size_t n) const { return n <= in_.size() - pos_; }

  Result<std::uint16_t> u16() {
    if (!need(2)) return broken("truncated u16", pos_);
    std::uint16_t v = static_cast<std::uint16_t>((in_[pos_] << 8) | in_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<std::uint32_t> u32() {
    if (!need(4)) return broken("truncated u32", pos_);
    std::uint32_t v = (std::uint32_t{in_[pos_]} << 24) | (std::uint32_t{in_[pos_ + 1]} << 16) |
                      (std::uint32_t{in_[pos_ + 2]} << 8) | std::uint32_t{in_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  Result<double> f64() {
    if (!need(8)) return broken("truncated number", pos_);
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits = (bits << 8) | in_[pos_ + i];
    pos_ += 8;
    return std::bit_cast<double>(bits);
  }
  Result<std::string> short_string() {
    auto n = u16();
    if (!n) return fail(n.error());
    if (!need(*n)) return broken("string length " + std::to_string(*n) + " past end", pos_);
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), *n);
    pos_ += *n;
    return s;
  }

  // Key/value pairs up to the empty key followed by the object end marker.
  Result<Properties> properties(int depth) {
    Properties props;
    for (;;) {
      auto key = short_string();
      if (!key) return fail(key.error());
      if (key->empty()) {
        if (!need(1)) return broken("truncated object (expected end marker)", pos_);
        if (in_[pos_] == static_cast<std::uint8_t>(Marker::kObjectEnd)) {
          ++pos_;
          return props;
        }
        // An empty key with a value is legal AMF0; keep it.
      }
      auto v = value(depth + 1);
      if (!v) return fail(v.error());
      props.push_back(Property{std::move(*key), std::move(*v)});
    }
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    out.push_back(static_cast<char>(v >> s));
}
void put_f64(std::string& out, double d) {
  auto bits = std::bit_cast<std::uint64_t>(d);
  for (int s = 56; s >= 0; s -= 8)
    out.push_back(static_cast<char>(bits >> s));
}
void put_key(std::string& out, std::string_view key) {
  if (key.size() > 0xFFFF) key = key.substr(0, 0xFFFF);
  put_u16(out, static_cast<std::uint16_t>(key.size()));
  out.append(key);
}
void put_properties(std::string& out, const Properties& props) {
  for (const auto& [k, v] : props) {
    put_key(out, k);
    encode(v, out);
  }
  put_u16(out, 0);
  out.push_back(static_cast<char>(Marker::kObjectEnd));
}

}  // namespace

namespace {
Value typed(Marker type) {
  Value v;
  v.type = type;
  return v;
}
}  // namespace

Value Value::num(double d) {
  Value v = typed(Marker::kNumber);
  v.number = d;
  return v;
}
Value Value::boolean_value(bool b) {
  Value v = typed(Marker::kBoolean);
  v.boolean = b;
  return v;
}
Value Value::str(std::string s) {
  Value v = typed(Marker::kString);
  v.string = std::move(s);
  return v;
}
Value Value::long_str(std::string s) {
  Value v = typed(Marker::kLongString);
  v.string = std::move(s);
  return v;
}
Value Value::null() {
  return typed(Marker::kNull);
}
Value Value::undefined() {
  return typed(Marker::kUndefined);
}
Value Value::object(Properties p) {
  Value v = typed(Marker::kObject);
  v.properties = std::move(p);
  return v;
}
Value Value::ecma_array(Properties p) {
  Value v = typed(Marker::kEcmaArray);
  v.ecma_count = static_cast<std::uint32_t>(p.size());
  v.properties = std::move(p);
  return v;
}
Value Value::strict_array(std::vector<Value> items) {
  Value v = typed(Marker::kStrictArray);
  v.items = std::move(items);
  return v;
}
Value Value::date(double ms, std::int16_t tz) {
  Value v = typed(Marker::kDate);
  v.number = ms;
  v.timezone = tz;
  return v;
}

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : properties) {
    if (k == key) return &v;
  }
  return nullptr;
}

bool operator==(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  auto same_number = [](double x, double y) {
    return x == y || std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y);
  };
  switch (a.type) {
    case Marker::kNumber:
      return same_number(a.number, b.number);
    case Marker::kDate:
      return same_number(a.number, b.number) && a.timezone == b.timezone;
    case Marker::kBoolean:
      return a.boolean == b.boolean;
    case Marker::kString:
    case Marker::kLongString:
      return a.string == b.string;
    case Marker::kObject:
    case Marker::kEcmaArray:
      return a.properties == b.properties;
    case Marker::kStrictArray:
      return a.items == b.items;
    default:
      return true;
  }
}

Result<Value> decode_one(std::span<const std::uint8_t> in, std::size_t* consumed) {
  Decoder d(in);
  auto v = d.value(0);
  if (v && consumed) *consumed = d.pos();
  return v;
}

Result<std::vector<Value>> decode_all(std::span<const std::uint8_t> in) {
  std::vector<Value> out;
  Decoder d(in);
  while (!d.at_end()) {
    auto v = d.value(0);
    if (!v) return fail(v.error());
    out.push_back(std::move(*v));
  }
  return out;
}

void encode(const Value& v, std::string& out) {
  switch (v.type) {
    case Marker::kNumber:
      out.push_back(static_cast<char>(Marker::kNumber));
      put_f64(out, v.number);
      return;
    case Marker::kDate:
      out.push_back(static_cast<char>(Marker::kDate));
      put_f64(out, v.number);
      put_u16(out, static_cast<std::uint16_t>(v.timezone));
      return;
    case Marker::kBoolean:
      out.push_back(static_cast<char>(Marker::kBoolean));
      out.push_back(v.boolean ? 1 : 0);
      return;
    case Marker::kString:
    case Marker::kLongString:
      if (v.type == Marker::kString && v.string.size() <= 0xFFFF) {
        out.push_back(static_cast<char>(Marker::kString));
        put_u16(out, static_cast<std::uint16_t>(v.string.size()));
      } else {
        out.push_back(static_cast<char>(Marker::kLongString));
        put_u32(out, static_cast<std::uint32_t>(v.string.size()));
      }
      out.append(v.string);
      return;
    case Marker::kUndefined:
      out.push_back(static_cast<char>(Marker::kUndefined));
      return;
    case Marker::kObject:
      out.push_back(static_cast<char>(Marker::kObject));
      put_properties(out, v.properties);
      return;
    case Marker::kEcmaArray:
      out.push_back(static_cast<char>(Marker::kEcmaArray));
      put_u32(out, static_cast<std::uint32_t>(v.properties.size()));
      put_properties(out, v.properties);
      return;
    case Marker::kStrictArray:
      out.push_back(static_cast<char>(Marker::kStrictArray));
      put_u32(out, static_cast<std::uint32_t>(v.items.size()));
      for (const auto& item : v.items)
        encode(item, out);
      return;
    default:
      out.push_back(static_cast<char>(Marker::kNull));
      return;
  }
}

std::string encode(std::span<const Value> values) {
  std::string out;
  for (const auto& v : values)
    encode(v, out);
  return out;
}

}  // namespace sluice::rtmp::amf0
