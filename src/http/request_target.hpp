#pragma once
// The request target of an HTTP request line ("/streams/events?subject=a.>"), split into a
// percent-decoded path and decoded query parameters. Lenient the way clients are: RFC 3986 does
// not allow `>` (or `<`, `"`, `{`, `}`, `|`, `\`, `^`, a backquote, `[`, `]`, `#` or bytes
// beyond ASCII) unescaped in a query, but curl, browsers and our own docs send
// `?subject=sluice.media.>` as typed, so such bytes are taken as themselves. Thread-safe: pure.
#include <string>
#include <string_view>

#include "http/http_types.hpp"

namespace sluice::http {

// `target` with every byte of its query that RFC 3986 forbids there percent-encoded; a `%`
// not followed by two hex digits becomes `%25`. The path (before the first `?`) is unchanged.
std::string escape_query(std::string_view target);

// Fills out.path (decoded) and out.query (decoded pairs, in order). False when the target is
// not an origin-form target ("/…") even after escape_query.
bool parse_request_target(std::string_view target, HttpRequest& out);

// out.query written back as `k=v&k2=v2` (decoded values; for query_key()-style lookups).
std::string joined_query(const HttpRequest& request);

// The host part of a Host header ("a.example:8080" -> "a.example", "[::1]:8080" -> "[::1]");
// empty when it is missing or holds anything a host name or address cannot (so it is never
// written into a URL sluiced hands out).
std::string host_of(std::string_view host_header);

}  // namespace sluice::http
