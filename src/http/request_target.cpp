#include "http/request_target.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

namespace sluice::http {
namespace {

// Unreserved characters, sub-delims, ':', '@', '/' and '?' (RFC 3986, section 3.4).
bool allowed_in_query(unsigned char c) {
  static constexpr std::string_view kMarks = "-._~!$&'()*+,;=:@/?";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         kMarks.find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string escape_query(std::string_view target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  for (std::size_t i = q + 1; i < target.size(); ++i) {
    const auto c = static_cast<unsigned char>(target[i]);
    if (c == '%' && i + 2 < target.size() && is_hex(target[i + 1]) && is_hex(target[i + 2])) {
      out += '%';
    } else if (allowed_in_query(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

bool parse_request_target(std::string_view target, HttpRequest& out) {
  auto url = boost::urls::parse_origin_form(target);
  std::string escaped;
  if (!url) {
    escaped = escape_query(target);
    url = boost::urls::parse_origin_form(escaped);
    if (!url) return false;
  }
  out.path = std::string(url->path());
  out.query.clear();
  for (auto param : url->params())
    out.query.emplace_back(param.key, param.value);
  return true;
}

std::string joined_query(const HttpRequest& request) {
  std::string q;
  for (const auto& [k, v] : request.query) {
    if (!q.empty()) q += '&';
    q += k + "=" + v;
  }
  return q;
}

std::string host_of(std::string_view header) {
  std::string_view host = header;
  if (header.starts_with('[')) {
    host = header.substr(0, header.find(']') + 1);  // npos + 1 == 0: empty
  } else {
    host = header.substr(0, header.find(':'));
  }
  const bool ok = std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == ':' || c == '[' || c == ']';
  });
  return ok ? std::string(host) : std::string();
}

}  // namespace sluice::http
