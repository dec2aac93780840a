#pragma once
// Validation of path and query parameters into typed values, with FastAPI-shaped 422 errors
// (loc = ["path", name] or ["query", name]).
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/router.hpp"

namespace sluice::http {

Result<std::string> path_uuid(const PathParams& params, std::string_view name);
Result<std::optional<std::string>> query_uuid(const HttpRequest& request, std::string_view name);
Result<std::optional<long>> query_int(const HttpRequest& request, std::string_view name, long min,
                                      long max);
Result<std::optional<WallTime>> query_time(const HttpRequest& request, std::string_view name);

}  // namespace sluice::http
