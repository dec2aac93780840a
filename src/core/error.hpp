#pragma once
// Errors as values. An Error carries the HTTP status it maps to and a human detail; validation
// errors also carry per-field entries, rendered as FastAPI's `{"detail": [ {loc, msg, type} ]}`
// so Maestra clients see the shape they expect.
#include <expected>
#include <string>
#include <string_view>
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
  // A 401's WWW-Authenticate challenge when it is not the HTTP API's credentials one (a private
  // stream's read key: keys::kReadKeyChallenge); empty: the default.
  std::string challenge = {};

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

// An error reply travelling as one text (relay REPLY|ERROR bodies, hub replies marked error):
// "<status> <reason>"; a status outside 400..599 is sent as 500.
inline std::string error_reply_body(int status, std::string_view reason) {
  if (status < 400 || status > 599) status = 500;
  std::string body = std::to_string(status);
  body += ' ';
  body += reason;
  return body;
}
// Reads it back; a body without a leading 400..599 status and a space is a 502 whose detail is
// the whole body (a responder that sent plain text).
inline Error parse_error_reply(std::string_view body) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (body.size() >= 4 && digit(body[0]) && digit(body[1]) && digit(body[2]) && body[3] == ' ') {
    int status = (body[0] - '0') * 100 + (body[1] - '0') * 10 + (body[2] - '0');
    if (status >= 400 && status <= 599) return Error{status, std::string(body.substr(4)), {}};
  }
  return Error{502, std::string(body), {}};
}

}  // namespace sluice
