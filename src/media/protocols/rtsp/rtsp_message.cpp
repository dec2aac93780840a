#include "media/protocols/rtsp/rtsp_message.hpp"

#include <charconv>

namespace sluice::media::rtsp {
namespace {

bool is_token(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '-')) return false;
  }
  return true;
}

Error too_large(std::string what) {
  return Error{413, "RTSP: " + std::move(what), {}};
}

}  // namespace

const std::string* Request::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 409:
      return "Conflict";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 451:
      return "Parameter Not Understood";
    case 454:
      return "Session Not Found";
    case 455:
      return "Method Not Valid in This State";
    case 459:
      return "Aggregate Operation Not Allowed";
    case 461:
      return "Unsupported Transport";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "RTSP Version Not Supported";
    default:
      return "Error";
  }
}

std::string Response::serialize() const {
  std::string out =
      "RTSP/1.0 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  for (const auto& h : headers)
    out += h.name + ": " + h.value + "\r\n";
  out += "Server: sluice\r\n";
  if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  return out;
}

Status Reader::feed(std::span<const std::uint8_t> bytes, std::vector<Message>& out) {
  if (failed_) return fail(*failed_);
  buffer_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (true) {
    auto took = take_one(out);
    if (!took) {
      failed_ = took.error();
      buffer_.clear();
      consumed_ = 0;
      return fail(took.error());
    }
    if (!*took) break;
  }
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return {};
}

Result<bool> Reader::take_one(std::vector<Message>& out) {
  const std::string_view rest = std::string_view(buffer_).substr(consumed_);
  if (rest.empty()) return false;
  if (rest.front() == '$') {
    if (rest.size() < 4) return false;
    const std::size_t length =
        (std::size_t(static_cast<std::uint8_t>(rest[2])) << 8) | static_cast<std::uint8_t>(rest[3]);
    if (rest.size() < 4 + length) return false;
    out.push_back(
        Interleaved{static_cast<std::uint8_t>(rest[1]), std::string(rest.substr(4, length))});
    consumed_ += 4 + length;
    return true;
  }
  return take_request(out);
}

Result<bool> Reader::take_request(std::vector<Message>& out) {
  const std::string_view rest = std::string_view(buffer_).substr(consumed_);
  auto end = rest.find("\r\n\r\n");
  std::size_t terminator = 4;
  if (const auto lf = rest.find("\n\n"); lf != std::string_view::npos && lf < end) {
    end = lf;
    terminator = 2;
  }
  if (end == std::string_view::npos) {
    if (rest.size() > limits_.max_header_bytes) {
      return fail(too_large("request headers longer than " +
                            std::to_string(limits_.max_header_bytes) + " bytes"));
    }
    return false;
  }
  if (end > limits_.max_header_bytes) {
    return fail(too_large("request headers longer than " +
                          std::to_string(limits_.max_header_bytes) + " bytes"));
  }
  std::string_view head = rest.substr(0, end);
  Request req;
  // Request line: METHOD SP URI SP RTSP/1.0
  const auto eol = head.find('\n');
  const std::string_view line = text::trim(head.substr(0, eol));
  head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 1);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    return fail(Error::bad_request("RTSP: malformed request line"));
  }
  req.method = line.substr(0, sp1);
  req.uri = text::trim(line.substr(sp1 + 1, sp2 - sp1 - 1));
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(req.method) || req.uri.empty() || req.uri.size() > 4096) {
    return fail(Error::bad_request("RTSP: malformed request line"));
  }
  if (!version.starts_with("RTSP/")) return fail(Error::bad_request("RTSP: not an RTSP request"));
  if (version != "RTSP/1.0") {
    return fail(Error{505, "RTSP: only RTSP/1.0 is spoken here, not " + std::string(version), {}});
  }
  std::size_t content_length = 0;
  while (!head.empty()) {
    const auto nl = head.find('\n');
    const std::string_view h = text::trim(head.substr(0, nl));
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
    if (h.empty()) continue;
    const auto colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return fail(Error::bad_request("RTSP: a header line has no name"));
    }
    if (req.headers.size() == limits_.max_headers) {
      return fail(too_large("more than " + std::to_string(limits_.max_headers) + " headers"));
    }
    req.headers.push_back({std::string(text::trim(h.substr(0, colon))),
                           std::string(text::trim(h.substr(colon + 1)))});
    if (iequals(req.headers.back().name, "Content-Length")) {
      const std::string& v = req.headers.back().value;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), content_length);
      if (ec != std::errc{} || p != v.data() + v.size()) {
        return fail(Error::bad_request("RTSP: Content-Length is not a number"));
      }
      if (content_length > limits_.max_body) {
        return fail(too_large("a body of " + v + " bytes (at most " +
                              std::to_string(limits_.max_body) + ")"));
      }
    }
  }
  const std::size_t total = end + terminator + content_length;
  if (rest.size() < total) return false;
  req.body = rest.substr(end + terminator, content_length);
  out.push_back(std::move(req));
  consumed_ += total;
  return true;
}

}  // namespace sluice::media::rtsp
