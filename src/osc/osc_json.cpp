#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <charconv>
#include <cmath>
#include <limits>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "osc/osc_mapping.hpp"

// The JSON form of OSC messages (to_json, from_json); names and payload forms are in
// osc_mapping.cpp.
namespace sluice::osc {
namespace {

namespace json = boost::json;

// Doubles below this (the midpoint between FLT_MAX and 2^128) round to a finite float: the
// text to_json writes for FLT_MAX ("3.4028235e+38") is a little above FLT_MAX itself.
constexpr double kFloatOverflow = 0x1.ffffffp127;

// A float as the double its shortest decimal text reads as (0.1f → 0.1, not 0.100000001…);
// null when it is not finite.
json::value number_of(float f) {
  if (!std::isfinite(f)) return nullptr;
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, f).ptr;
  double d = 0;
  std::from_chars(text, end, d);
  return d;
}

json::value tagged(std::string_view key, json::value v) {
  json::object o;
  o[key] = std::move(v);
  return o;
}

json::value quad(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return json::array{a, b, c, d};
}

json::value value_of(const OscArgument& argument) {
  return std::visit(
      [](const auto& v) -> json::value {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t> ||
                      std::is_same_v<T, bool>) {
          return v;
        } else if constexpr (std::is_same_v<T, float>) {
          return number_of(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return std::isfinite(v) ? json::value(v) : json::value(nullptr);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return json::string(valid_utf8(v));
        } else if constexpr (std::is_same_v<T, Symbol>) {
          return tagged("symbol", json::string(valid_utf8(v.text)));
        } else if constexpr (std::is_same_v<T, Blob>) {
          return tagged("blob",
                        json::string(crypto::base64_encode(std::string_view(
                            reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size()))));
        } else if constexpr (std::is_same_v<T, TimeTag>) {
          return tagged("timetag",
                        json::object{{"seconds", v.seconds()}, {"fraction", v.fraction()}});
        } else if constexpr (std::is_same_v<T, Char>) {
          std::string utf8;  // U+0000..U+00FF
          if (v.code < 0x80) {
            utf8 += static_cast<char>(v.code);
          } else {
            utf8 += static_cast<char>(0xC0 | (v.code >> 6));
            utf8 += static_cast<char>(0x80 | (v.code & 0x3F));
          }
          return tagged("char", json::string(utf8));
        } else if constexpr (std::is_same_v<T, Rgba>) {
          return tagged("rgba", quad(v.r, v.g, v.b, v.a));
        } else if constexpr (std::is_same_v<T, Midi>) {
          return tagged("midi", quad(v.port, v.status, v.data1, v.data2));
        } else if constexpr (std::is_same_v<T, Impulse>) {
          return tagged("impulse", true);
        } else {  // Nil; the array marks are handled by the caller
          return nullptr;
        }
      },
      argument);
}

// ---------------------------------------------------------------------------------------------
// from_json

std::string where(const std::vector<std::string>& loc) {
  std::string out;
  for (const auto& part : loc) {
    const bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    out += index ? "[" + part + "]" : (out.empty() ? "" : ".") + part;
  }
  return out;
}

std::unexpected<Error> invalid(const std::vector<std::string>& loc, std::string msg,
                               std::string type = "value_error") {
  return fail(Error::invalid_field(loc, where(loc) + ": " + std::move(msg), std::move(type)));
}

// Reads arguments from JSON values, counting them against kMaxArguments.
class ArgumentReader {
 public:
  Status arguments(const json::array& values, std::vector<std::string>& loc, int depth,
                   std::vector<OscArgument>& out) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      loc.push_back(std::to_string(i));
      if (auto ok = argument(values[i], loc, depth, out); !ok) return ok;
      loc.pop_back();
    }
    return {};
  }

 private:
  Status argument(const json::value& v, std::vector<std::string>& loc, int depth,
                  std::vector<OscArgument>& out) {
    if (++count_ > kMaxArguments) {
      return invalid(loc, "more than " + std::to_string(kMaxArguments) + " arguments");
    }
    switch (v.kind()) {
      case json::kind::null:
        out.emplace_back(Nil{});
        return {};
      case json::kind::bool_:
        out.emplace_back(v.get_bool());
        return {};
      case json::kind::int64:
      case json::kind::uint64:
        return integer(v, loc, out, false);
      case json::kind::double_:
        return number(v, loc, out, 0);
      case json::kind::string:
        return text(v, loc, out, false);
      case json::kind::array: {
        if (depth + 1 > kMaxArrayDepth) {
          return invalid(loc, "arrays nested deeper than " + std::to_string(kMaxArrayDepth));
        }
        ++count_;  // the end mark
        out.emplace_back(ArrayBegin{});
        if (auto ok = arguments(v.get_array(), loc, depth + 1, out); !ok) return ok;
        out.emplace_back(ArrayEnd{});
        return {};
      }
      case json::kind::object:
        return typed(v.get_object(), loc, out);
    }
    return {};
  }

  Status typed(const json::object& o, std::vector<std::string>& loc,
               std::vector<OscArgument>& out) {
    if (o.size() != 1) {
      return invalid(loc,
                     "an object argument has exactly one key: blob, char, double, float, impulse, "
                     "int64, midi, rgba, symbol or timetag");
    }
    const std::string key(o.begin()->key());
    const json::value& v = o.begin()->value();
    loc.push_back(key);
    Status ok = typed_value(key, v, loc, out);
    if (ok) loc.pop_back();
    return ok;
  }

  Status typed_value(const std::string& key, const json::value& v, std::vector<std::string>& loc,
                     std::vector<OscArgument>& out) {
    if (key == "int64") return integer(v, loc, out, true);
    if (key == "double") return number(v, loc, out, 'd');
    if (key == "float") return number(v, loc, out, 'f');
    if (key == "symbol") return text(v, loc, out, true);
    if (key == "impulse") {
      if (!v.is_bool() || !v.get_bool()) return invalid(loc, "should be true", "bool_type");
      out.emplace_back(Impulse{});
      return {};
    }
    if (key == "blob") {
      if (!v.is_string()) return invalid(loc, "should be a base64 string", "string_type");
      auto bytes = crypto::base64_decode(v.get_string());
      if (!bytes) return invalid(loc, bytes.error().detail);
      out.emplace_back(Blob{std::vector<std::uint8_t>(bytes->begin(), bytes->end())});
      return {};
    }
    if (key == "char") return character(v, loc, out);
    if (key == "rgba" || key == "midi") {
      std::uint8_t q[4] = {};
      if (auto ok = four_bytes(v, loc, q); !ok) return ok;
      if (key == "rgba") {
        out.emplace_back(Rgba{q[0], q[1], q[2], q[3]});
      } else {
        out.emplace_back(Midi{q[0], q[1], q[2], q[3]});
      }
      return {};
    }
    if (key == "timetag") return time_tag(v, loc, out);
    return invalid(loc,
                   "unknown argument type; expected blob, char, double, float, impulse, int64, "
                   "midi, rgba, symbol or timetag");
  }

  static Status integer(const json::value& v, const std::vector<std::string>& loc,
                        std::vector<OscArgument>& out, bool wide) {
    if (v.is_uint64() || !v.is_int64()) {
      return invalid(loc, v.is_uint64() ? "beyond a 64-bit signed integer" : "should be an integer",
                     "int_type");
    }
    const std::int64_t n = v.get_int64();
    if (!wide && n >= std::numeric_limits<std::int32_t>::min() &&
        n <= std::numeric_limits<std::int32_t>::max()) {
      out.emplace_back(static_cast<std::int32_t>(n));
    } else {
      out.emplace_back(n);
    }
    return {};
  }

  // `tag` 'd' or 'f' as asked; 0: 'f', or 'd' for a number beyond a float.
  static Status number(const json::value& v, const std::vector<std::string>& loc,
                       std::vector<OscArgument>& out, char tag) {
    if (!v.is_number()) return invalid(loc, "should be a number", "float_type");
    const double d = v.to_number<double>();
    if (!std::isfinite(d)) return invalid(loc, "not a finite number", "float_type");
    if (tag == 'd' || (tag == 0 && std::fabs(d) >= kFloatOverflow)) {
      out.emplace_back(d);
    } else if (std::fabs(d) >= kFloatOverflow) {
      return invalid(loc, "beyond a 32-bit float", "float_type");
    } else {
      out.emplace_back(static_cast<float>(d));
    }
    return {};
  }

  static Status text(const json::value& v, const std::vector<std::string>& loc,
                     std::vector<OscArgument>& out, bool symbol) {
    if (!v.is_string()) return invalid(loc, "should be a string", "string_type");
    std::string s(v.get_string());
    if (s.find('\0') != std::string::npos) return invalid(loc, "holds a NUL character");
    if (symbol) {
      out.emplace_back(Symbol{std::move(s)});
    } else {
      out.emplace_back(std::move(s));
    }
    return {};
  }

  static Status character(const json::value& v, const std::vector<std::string>& loc,
                          std::vector<OscArgument>& out) {
    const std::string_view s = v.is_string() ? std::string_view(v.get_string()) : "";
    const unsigned char b0 = s.empty() ? 0 : static_cast<unsigned char>(s[0]);
    if (s.size() == 1 && b0 < 0x80) {
      out.emplace_back(Char{b0});
      return {};
    }
    if (s.size() == 2 && (b0 == 0xC2 || b0 == 0xC3) &&
        (static_cast<unsigned char>(s[1]) & 0xC0) == 0x80) {
      out.emplace_back(Char{static_cast<std::uint8_t>((b0 & 0x1F) << 6 | (s[1] & 0x3F))});
      return {};
    }
    return invalid(loc, "should be a string of one character U+0000..U+00FF", "string_type");
  }

  static Status four_bytes(const json::value& v, std::vector<std::string>& loc,
                           std::uint8_t (&q)[4]) {
    if (!v.is_array() || v.get_array().size() != 4) {
      return invalid(loc, "should be an array of 4 integers 0..255", "list_type");
    }
    for (std::size_t i = 0; i < 4; ++i) {
      const json::value& e = v.get_array()[i];
      if (!e.is_int64() || e.get_int64() < 0 || e.get_int64() > 255) {
        loc.push_back(std::to_string(i));
        return invalid(loc, "should be an integer 0..255", "int_type");
      }
      q[i] = static_cast<std::uint8_t>(e.get_int64());
    }
    return {};
  }

  static Status time_tag(const json::value& v, std::vector<std::string>& loc,
                         std::vector<OscArgument>& out) {
    const json::object* o = v.if_object();
    if (!o || o->size() != 2 || !o->contains("seconds") || !o->contains("fraction")) {
      return invalid(loc, "should be {\"seconds\": s, \"fraction\": f}", "dict_type");
    }
    std::uint64_t parts[2] = {};
    const char* names[2] = {"seconds", "fraction"};
    for (int i = 0; i < 2; ++i) {
      const json::value& e = o->at(names[i]);
      if (!e.is_int64() || e.get_int64() < 0 || e.get_int64() > 0xFFFFFFFF) {
        loc.push_back(names[i]);
        return invalid(loc, "should be an integer 0..4294967295", "int_type");
      }
      parts[i] = static_cast<std::uint64_t>(e.get_int64());
    }
    out.emplace_back(TimeTag{parts[0] << 32 | parts[1]});
    return {};
  }

  std::size_t count_ = 0;
};

Status check_address(std::string_view address) {
  const std::vector<std::string> loc{"address"};
  if (address.empty() || address[0] != '/') return invalid(loc, "should begin with '/'");
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return invalid(loc, "should hold printable ASCII only (no spaces or control characters)");
    }
  }
  return {};
}

}  // namespace

json::object to_json(const OscMessage& message) {
  // stack.front() is "args"; an ArrayBegin opens a nested array, an ArrayEnd closes it (marks
  // that do not balance, possible only in a message built by hand, are closed at the end or
  // ignored).
  std::vector<json::array> stack(1);
  for (const auto& a : message.arguments) {
    if (std::holds_alternative<ArrayBegin>(a)) {
      stack.emplace_back();
    } else if (std::holds_alternative<ArrayEnd>(a)) {
      if (stack.size() == 1) continue;
      json::array inner = std::move(stack.back());
      stack.pop_back();
      stack.back().emplace_back(std::move(inner));
    } else {
      stack.back().push_back(value_of(a));
    }
  }
  while (stack.size() > 1) {
    json::array inner = std::move(stack.back());
    stack.pop_back();
    stack.back().emplace_back(std::move(inner));
  }
  return json::object{{"address", valid_utf8(message.address)}, {"args", std::move(stack.front())}};
}

std::string to_json_text(const OscMessage& message) {
  return sluice::to_json_text(to_json(message), DoubleStyle::kKeepKind);
}

Result<OscMessage> from_json(const json::value& value, std::string_view default_address) {
  OscMessage out;
  bool addressed = false;
  const json::array no_arguments;
  const json::array* args = &no_arguments;
  json::array one;
  std::vector<std::string> loc{"args"};
  if (const json::object* o = value.if_object()) {
    for (const auto& [key, v] : *o) {
      if (key != "address" && key != "args") {
        return invalid({std::string(key)}, "unknown field (expected address and args)",
                       "extra_forbidden");
      }
    }
    if (const json::value* a = o->if_contains("address")) {
      if (!a->is_string()) return invalid({"address"}, "should be a string", "string_type");
      out.address = std::string(a->get_string());
      addressed = true;
    } else if (default_address.empty()) {
      return invalid({"address"}, "missing", "missing");
    }
    if (const json::value* a = o->if_contains("args")) {
      if (!a->is_array()) return invalid(loc, "should be an array", "list_type");
      args = &a->get_array();
    }
  } else if (default_address.empty()) {
    return invalid({"address"}, "missing (a bare value needs a channel with an address)",
                   "missing");
  } else if (const json::array* a = value.if_array()) {
    args = a;
  } else {
    one.push_back(value);
    args = &one;
  }
  if (!addressed) out.address = std::string(default_address);
  if (auto ok = check_address(out.address); !ok) return std::unexpected(std::move(ok.error()));
  if (args->size() > kMaxArguments) {
    return invalid(loc, "more than " + std::to_string(kMaxArguments) + " arguments");
  }
  ArgumentReader reader;
  if (auto ok = reader.arguments(*args, loc, 0, out.arguments); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  return out;
}

Result<OscMessage> from_json_text(std::string_view text, std::string_view default_address) {
  json::parse_options options;
  options.max_depth = kMaxArrayDepth + 8;  // the object, "args", the arrays, a typed value
  boost::system::error_code ec;
  json::value value = json::parse(text, ec, json::storage_ptr(), options);
  if (ec) {
    return fail(
        Error::invalid_field({"payload"}, "payload is not JSON: " + ec.message(), "json_invalid"));
  }
  return from_json(value, default_address);
}

}  // namespace sluice::osc
