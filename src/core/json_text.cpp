#include "core/json_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace sluice {
namespace json = boost::json;

namespace {

// Whole numbers below this are written as integers (no exponent); every one of them is exact
// in a double.
constexpr double kPlainIntegerLimit = 1e15;

template <class T>
void append_chars(std::string& out, T number) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, number);
  out.append(buf, ec == std::errc() ? end : buf);
}

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    out += '\\';
    switch (c) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '\b':
        out += 'b';
        break;
      case '\f':
        out += 'f';
        break;
      case '\n':
        out += 'n';
        break;
      case '\r':
        out += 'r';
        break;
      case '\t':
        out += 't';
        break;
      default:
        out += "u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_object(std::string& out, const json::object& o, DoubleStyle style);
void append_array(std::string& out, const json::array& a, DoubleStyle style);

void append_value(std::string& out, const json::value& v, DoubleStyle style) {
  switch (v.kind()) {
    case json::kind::null:
      out += "null";
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      append_chars(out, v.get_int64());
      return;
    case json::kind::uint64:
      append_chars(out, v.get_uint64());
      return;
    case json::kind::double_:
      append_json_number(out, v.get_double(), style);
      return;
    case json::kind::string:
      append_string(out, v.get_string());
      return;
    case json::kind::array:
      append_array(out, v.get_array(), style);
      return;
    case json::kind::object:
      append_object(out, v.get_object(), style);
      return;
  }
}

void append_object(std::string& out, const json::object& o, DoubleStyle style) {
  out += '{';
  bool first = true;
  for (const auto& [key, item] : o) {
    if (!first) out += ',';
    first = false;
    append_string(out, key);
    out += ':';
    append_value(out, item, style);
  }
  out += '}';
}

void append_array(std::string& out, const json::array& a, DoubleStyle style) {
  out += '[';
  bool first = true;
  for (const auto& item : a) {
    if (!first) out += ',';
    first = false;
    append_value(out, item, style);
  }
  out += ']';
}

}  // namespace

void append_json_number(std::string& out, double d, DoubleStyle style) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (d == std::trunc(d) && std::abs(d) < kPlainIntegerLimit) {
    append_chars(out, static_cast<std::int64_t>(d));
    if (style == DoubleStyle::kKeepKind) out += ".0";
    return;
  }
  const std::size_t start = out.size();
  append_chars(out, d);
  if (style == DoubleStyle::kKeepKind && out.find_first_of(".e", start) == std::string::npos) {
    out += ".0";
  }
}

void append_json_text(std::string& out, const json::value& v, DoubleStyle style) {
  append_value(out, v, style);
}

std::string to_json_text(const json::value& v, DoubleStyle style) {
  std::string out;
  append_value(out, v, style);
  return out;
}

std::string to_json_text(const json::object& o, DoubleStyle style) {
  std::string out;
  append_object(out, o, style);
  return out;
}

std::string to_json_text(const json::array& a, DoubleStyle style) {
  std::string out;
  append_array(out, a, style);
  return out;
}

std::string to_json_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_string(out, s);
  return out;
}

}  // namespace sluice
