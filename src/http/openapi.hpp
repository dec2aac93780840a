#pragma once
// The OpenAPI 3.0.3 description of sluiced's HTTP API (the Maestra Streams API plus sluice's
// extensions), served at GET /openapi.json. docs/api.md is the prose companion; keep both in step
// with the routes.
#include <string>
#include <string_view>

namespace sluice::http {

// The whole document as compact JSON, with `version` as info.version. Pure and thread-safe; it
// rebuilds the document on every call, so callers that serve it often should cache the result.
std::string openapi_document(std::string_view version);

}  // namespace sluice::http
