#include "http/request_params.hpp"

#include <charconv>

#include "core/ids.hpp"
#include "core/time_format.hpp"

namespace sluice::http {
namespace {

Error uuid_error(const char* where, std::string_view name, const std::string& value) {
  return Error::invalid_field({where, std::string(name)},
                              "Input should be a valid UUID, got '" + value + "'", "uuid_parsing");
}

}  // namespace

Result<std::string> path_uuid(const PathParams& params, std::string_view name) {
  auto it = params.find(name);
  std::string raw = it == params.end() ? std::string() : it->second;
  auto id = canonical_uuid(raw);
  if (!id) return fail(uuid_error("path", name, raw));
  return *id;
}

Result<std::optional<std::string>> query_uuid(const HttpRequest& request, std::string_view name) {
  auto raw = request.param(name);
  if (!raw) return std::optional<std::string>{};
  auto id = canonical_uuid(*raw);
  if (!id) return fail(uuid_error("query", name, *raw));
  return std::optional<std::string>(*id);
}

Result<std::optional<long>> query_int(const HttpRequest& request, std::string_view name, long min,
                                      long max) {
  auto raw = request.param(name);
  if (!raw) return std::optional<long>{};
  long v = 0;
  auto [p, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
  if (ec != std::errc{} || p != raw->data() + raw->size()) {
    return fail(Error::invalid_field({"query", std::string(name)},
                                     "Input should be a valid integer, got '" + *raw + "'",
                                     "int_parsing"));
  }
  if (v < min || v > max) {
    return fail(Error::invalid_field({"query", std::string(name)},
                                     "'" + std::string(name) + "' should be between " +
                                         std::to_string(min) + " and " + std::to_string(max),
                                     "range"));
  }
  return std::optional<long>(v);
}

Result<std::optional<WallTime>> query_time(const HttpRequest& request, std::string_view name) {
  auto raw = request.param(name);
  if (!raw) return std::optional<WallTime>{};
  auto t = parse_timestamp(*raw);
  if (!t) {
    return fail(Error::invalid_field({"query", std::string(name)},
                                     "Input should be an ISO-8601 date-time such as "
                                     "2026-03-22T10:30:00Z, got '" +
                                         *raw + "'",
                                     "datetime_parsing"));
  }
  return std::optional<WallTime>(*t);
}

}  // namespace sluice::http
