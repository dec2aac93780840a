#pragma once
// JSON helpers on Boost.JSON: parsing request bodies into values with FastAPI-shaped errors,
// reading typed fields while collecting every field error, and rendering Error as `{"detail":…}`.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice {

// Parses a request body. Empty or malformed text, nesting deeper than 64, or a number beyond a
// double (1e999: it would be stored as infinity and written back as invalid JSON) is a 422 whose
// message says where the JSON broke. The top-level value must be an object.
Result<boost::json::object> parse_json_object(std::string_view body);

// Whether every number in `v` is finite (JSON read back must also write back); false beyond 64
// levels of nesting.
bool all_numbers_finite(const boost::json::value& v, int depth = 0);

// `{"detail": "…"}`, or `{"detail": [{"type", "loc", "msg"}…]}` for field errors.
std::string error_body(const Error& e);

// A hub payload as a JSON value to splice into SSE and /ws frames: the payload itself when it
// is JSON text (registry events, /ws publishers), `null` when empty, otherwise a JSON string
// of it (relay payloads are arbitrary bytes; invalid UTF-8 becomes U+FFFD).
std::string payload_as_json(std::string_view payload);
// Valid UTF-8 copied; each invalid byte sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view in);

// Reads fields of one JSON object, recording a FieldError for every missing or ill-typed field
// instead of stopping at the first. `loc` is the path prefix, e.g. {"body"}.
class FieldReader {
 public:
  FieldReader(const boost::json::object& object, std::vector<std::string> loc);

  std::optional<std::string> string(std::string_view key, bool required, std::size_t min_len = 0,
                                    std::size_t max_len = 1 << 20);
  std::optional<std::int64_t> integer(std::string_view key, bool required, std::int64_t min,
                                      std::int64_t max);
  std::optional<double> number(std::string_view key, bool required);
  std::optional<bool> boolean(std::string_view key, bool required);
  // Missing or null gives an empty object when not required.
  std::optional<boost::json::object> object(std::string_view key, bool required);

  void add_error(std::string_view key, std::string msg, std::string type = "value_error");
  bool ok() const { return errors_.empty(); }
  std::vector<FieldError> take_errors() { return std::move(errors_); }

 private:
  const boost::json::value* find(std::string_view key, bool required);

  const boost::json::object& object_;
  std::vector<std::string> loc_;
  std::vector<FieldError> errors_;
};

// Short name of a JSON value's kind: "string", "integer", "number", "boolean", "object", …
std::string_view json_kind(const boost::json::value& v);

}  // namespace sluice
