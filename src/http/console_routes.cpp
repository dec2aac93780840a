#include "http/console_routes.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>

namespace sluice::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The q value of one Accept-Encoding element's parameters ("q=0.5"); 1 when absent, 0 when
// malformed (a coding with a q we cannot read is not taken).
double quality(std::string_view params) {
  while (!params.empty()) {
    auto semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (p.size() < 2 || std::tolower(static_cast<unsigned char>(p[0])) != 'q' || p[1] != '=') {
      continue;
    }
    std::string_view v = p.substr(2);
    double q = 0;
    // from_chars for double needs GCC 11+: fine with the C++23 toolchain.
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
    if (ec != std::errc() || end != v.data() + v.size() || q < 0 || q > 1) return 0;
    return q;
  }
  return 1;
}

// Content that must never be cached as immutable: everything but Vite's hashed assets.
bool hashed_asset(std::string_view path) {
  return path.starts_with("/console/assets/");
}

// The console page's rules: its own scripts and styles only, images and media also from blob:
// (hls.js feeds MediaSource from blob: URLs and runs its worker from one; recordings play as
// blobs), API calls to this origin, and no framing by other sites.
constexpr std::string_view kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<double> gzip;
  std::optional<double> any;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view element = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    auto semi = element.find(';');
    std::string_view coding = trim(element.substr(0, semi));
    std::string_view params =
        semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1);
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip = std::max(gzip.value_or(0), quality(params));
    } else if (coding == "*") {
      any = quality(params);
    }
  }
  if (gzip) return *gzip > 0;
  return any && *any > 0;
}

HttpResponse console_response(std::span<const ConsoleFile> files, std::string_view path,
                              std::string_view accept_encoding) {
  auto it = std::find_if(files.begin(), files.end(),
                         [&](const ConsoleFile& f) { return f.path == path; });
  if (it == files.end()) return error_response(Error::not_found("Not Found"));
  HttpResponse res;
  res.content_type = std::string(it->content_type);
  const bool gzip = !it->gzip.empty() && accepts_gzip(accept_encoding);
  res.body = std::string(gzip ? it->gzip : it->body);
  res.headers.emplace_back("Cache-Control",
                           hashed_asset(path) ? "public, max-age=31536000, immutable" : "no-cache");
  if (!it->gzip.empty()) res.headers.emplace_back("Vary", "Accept-Encoding");
  if (gzip) res.headers.emplace_back("Content-Encoding", "gzip");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (it->content_type.starts_with("text/html")) {
    res.headers.emplace_back("Content-Security-Policy", std::string(kPagePolicy));
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  return res;
}

void add_console_routes(Router& router, std::span<const ConsoleFile> files) {
  auto serve = [files](const HttpRequest& req, const PathParams&) -> Reply {
    return console_response(files, req.path, req.accept_encoding);
  };
  router.add("GET", "/", serve);
  router.add("GET", "/console/{file}", serve);
  router.add("GET", "/console/assets/{file}", serve);
}

}  // namespace sluice::http
