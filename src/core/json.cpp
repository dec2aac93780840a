#include "core/json.hpp"

#include <cmath>

#include <boost/json/parse.hpp>

#include "core/json_text.hpp"

namespace sluice {

Result<boost::json::object> parse_json_object(std::string_view body) {
  if (body.empty()) {
    return fail(
        Error::invalid_field({"body"}, "Field required: the request needs a JSON body", "missing"));
  }
  boost::json::parse_options options;
  options.max_depth = 64;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, {}, options);
  if (ec) {
    return fail(
        Error::invalid_field({"body"}, "JSON decode error: " + ec.message(), "json_invalid"));
  }
  if (!v.is_object()) {
    return fail(Error::invalid_field(
        {"body"}, "Input should be a JSON object, got " + std::string(json_kind(v)),
        "model_attributes_type"));
  }
  if (!all_numbers_finite(v)) {
    return fail(Error::invalid_field(
        {"body"}, "JSON decode error: a number is too large for a double (at most about 1.8e308)",
        "json_invalid"));
  }
  return std::move(v.as_object());
}

bool all_numbers_finite(const boost::json::value& v, int depth) {
  if (depth > 64) return false;
  if (v.is_double()) return std::isfinite(v.get_double());
  if (v.is_object()) {
    for (const auto& [k, item] : v.get_object()) {
      if (!all_numbers_finite(item, depth + 1)) return false;
    }
  }
  if (v.is_array()) {
    for (const auto& item : v.get_array()) {
      if (!all_numbers_finite(item, depth + 1)) return false;
    }
  }
  return true;
}

std::string error_body(const Error& e) {
  boost::json::object out;
  if (e.fields.empty()) {
    out["detail"] = e.detail;
  } else {
    boost::json::array list;
    for (const auto& f : e.fields) {
      boost::json::array loc;
      for (const auto& part : f.loc)
        loc.emplace_back(part);
      list.emplace_back(boost::json::object{{"type", f.type}, {"loc", loc}, {"msg", f.msg}});
    }
    out["detail"] = std::move(list);
  }
  return to_json_text(out);
}

std::string_view json_kind(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "integer";
    case boost::json::kind::double_:
      return "number";
    case boost::json::kind::string:
      return "string";
    case boost::json::kind::array:
      return "array";
    case boost::json::kind::object:
      return "object";
  }
  return "unknown";
}

FieldReader::FieldReader(const boost::json::object& object, std::vector<std::string> loc)
    : object_(object), loc_(std::move(loc)) {}

void FieldReader::add_error(std::string_view key, std::string msg, std::string type) {
  auto loc = loc_;
  loc.emplace_back(key);
  errors_.push_back(FieldError{std::move(loc), std::move(msg), std::move(type)});
}

const boost::json::value* FieldReader::find(std::string_view key, bool required) {
  auto it = object_.find(key);
  if (it == object_.end() || it->value().is_null()) {
    if (required) add_error(key, "Field required: '" + std::string(key) + "'", "missing");
    return nullptr;
  }
  return &it->value();
}

std::optional<std::string> FieldReader::string(std::string_view key, bool required,
                                               std::size_t min_len, std::size_t max_len) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    add_error(key, "'" + std::string(key) + "' should be a valid string", "string_type");
    return std::nullopt;
  }
  std::string s(v->as_string());
  if (s.size() < min_len) {
    add_error(key,
              "'" + std::string(key) + "' should have at least " + std::to_string(min_len) +
                  " character(s)",
              "string_too_short");
    return std::nullopt;
  }
  if (s.size() > max_len) {
    add_error(
        key,
        "'" + std::string(key) + "' should have at most " + std::to_string(max_len) + " characters",
        "string_too_long");
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> FieldReader::integer(std::string_view key, bool required,
                                                 std::int64_t min, std::int64_t max) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->as_int64();
  } else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->as_uint64());
  } else if (v->is_double() && v->as_double() >= -0x1p63 && v->as_double() < 0x1p63 &&
             v->as_double() == static_cast<double>(static_cast<std::int64_t>(v->as_double()))) {
    // (range-checked first: casting an out-of-range double to int64 is undefined)
    n = static_cast<std::int64_t>(v->as_double());
  } else {
    add_error(key, "'" + std::string(key) + "' should be a valid integer", "int_type");
    return std::nullopt;
  }
  if (n < min || n > max) {
    add_error(key,
              "'" + std::string(key) + "' should be between " + std::to_string(min) + " and " +
                  std::to_string(max),
              "range");
    return std::nullopt;
  }
  return n;
}

std::optional<double> FieldReader::number(std::string_view key, bool required) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    add_error(key, "'" + std::string(key) + "' should be a valid number", "float_type");
    return std::nullopt;
  }
  return v->to_number<double>();
}

std::optional<bool> FieldReader::boolean(std::string_view key, bool required) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_bool()) {
    add_error(key, "'" + std::string(key) + "' should be a valid boolean", "bool_type");
    return std::nullopt;
  }
  return v->as_bool();
}

std::optional<boost::json::object> FieldReader::object(std::string_view key, bool required) {
  const auto* v = find(key, required);
  if (!v)
    return required ? std::nullopt : std::optional<boost::json::object>(boost::json::object{});
  if (!v->is_object()) {
    add_error(key, "'" + std::string(key) + "' should be a valid object", "dict_type");
    return std::nullopt;
  }
  return v->as_object();
}

std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    auto c = static_cast<unsigned char>(in[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool ok = n > 0 && i + n <= in.size();
    for (std::size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    if (ok && n > 1) {
      // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
      std::uint32_t cp = c & (0x7F >> n);
      for (std::size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(in[i + k]) & 0x3F);
      static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[n] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok) {
      out.append(in.substr(i, n));
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

std::string payload_as_json(std::string_view payload) {
  if (payload.empty()) return "null";
  boost::system::error_code ec;
  (void)boost::json::parse(payload, ec);
  if (!ec) return std::string(payload);
  return to_json_text(valid_utf8(payload));
}

}  // namespace sluice
