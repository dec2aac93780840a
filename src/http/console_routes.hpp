#pragma once
// The web console's files over HTTP, transport-free: index.html at `/`, everything else under
// `/console/` (Vite's base; hashed names in `/console/assets/`). The files themselves are built
// from console/ by Vite and embedded in the binary (src/console, console::embedded_files()).
// They hold no data — the console reads the API with the caller's credentials — so the routes are
// public (http/gate.cpp).
#include <span>
#include <string_view>

#include "http/router.hpp"

namespace sluice::http {

// One file of the console. Views into static storage (the generated embedded files).
struct ConsoleFile {
  std::string_view path;          // "/" for index.html, else "/console/…"
  std::string_view content_type;  // "text/javascript; charset=utf-8", …
  std::string_view body;
  std::string_view gzip;  // the body gzipped, or empty when that would not be smaller
};

// Whether an Accept-Encoding value accepts gzip: a `gzip`, `x-gzip` or `*` coding whose q is not 0.
bool accepts_gzip(std::string_view accept_encoding);

// The answer to GET `path`: the file, gzipped when the client accepts it and a gzip copy exists
// (`Content-Encoding: gzip`, `Vary: Accept-Encoding`); `/console/assets/…` (hashed names) cached
// for a year as immutable, the rest `no-cache` (revalidated, so a new build shows at once);
// 404 for a path that is not there.
HttpResponse console_response(std::span<const ConsoleFile> files, std::string_view path,
                              std::string_view accept_encoding);

// GET (and HEAD) `/`, `/console/{file}` and `/console/assets/{file}` from `files`, which must
// outlive the router.
void add_console_routes(Router& router, std::span<const ConsoleFile> files);

}  // namespace sluice::http
