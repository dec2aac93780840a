#pragma once
// Errors as values. An Error carries the HTTP status it maps to and a human detail; validation
// errors also carry per-field entries, rendered as FastAPI's `{"detail": [ {loc, msg, type} ]}`
// so Maestra clients see the shape they expect.
#include <expected>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

struct FieldError {
  std::vector<std::string> loc;  // e.g. {"body", "config", "fps"}
  std::string msg;               // e.g. "Input should be a valid integer"
  std::string type;              // e.g. "int_type", "missing", "value_error"
};

struct Error {
  int status = 500;
  std::string detail;
  std::vector<FieldError> fields;  // non-empty only for 422 validation errors

  static Error bad_request(std::string d) { return {400, std::move(d), {}}; }
  static Error forbidden(std::string d) { return {403, std::move(d), {}}; }
  static Error not_found(std::string d) { return {404, std::move(d), {}}; }
  static Error conflict(std::string d) { return {409, std::move(d), {}}; }
  static Error unavailable(std::string d) { return {503, std::move(d), {}}; }
  static Error internal(std::string d) { return {500, std::move(d), {}}; }
  static Error invalid(std::vector<FieldError> f) {
    std::string d = f.empty() ? "Validation error" : f.front().msg;
    return {422, std::move(d), std::move(f)};
  }
  static Error invalid_field(std::vector<std::string> loc, std::string msg,
                             std::string type = "value_error") {
    return invalid({FieldError{std::move(loc), std::move(msg), std::move(type)}});
  }
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Error e) {
  return std::unexpected<Error>(std::move(e));
}

}  // namespace sluice
