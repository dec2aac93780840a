#pragma once
// RTSP 1.0 messages (RFC 2326), sans I/O: what a client sends on an RTSP connection — requests,
// and once it plays or records over TCP, interleaved binary frames ('$', channel, 16-bit length,
// data) — read incrementally from any split of the byte stream; and the responses sluiced writes.
//
// Bounds (per connection): the request line and headers within 16 KiB and 64 headers, a body
// within 64 KiB (Content-Length checked before anything is buffered); an interleaved frame is at
// most 65,535 bytes by construction. An error is permanent for the reader: the connection
// answers it (400 malformed, 413 too large, 505 another version) and closes.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "media/protocols/text.hpp"

namespace sluice::media::rtsp {

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;  // as sent: "OPTIONS", "DESCRIBE", ...
  std::string uri;     // as sent: "rtsp://host:8554/live/cam", or "*"
  std::vector<Header> headers;
  std::string body;

  // The value of the first header `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // CSeq first, then the rest in order
  std::string body;             // Content-Length is added when not empty

  Response& with(std::string name, std::string value) {
    headers.push_back({std::move(name), std::move(value)});
    return *this;
  }
  std::string serialize() const;
};

std::string_view reason_phrase(int status);

struct Interleaved {
  std::uint8_t channel = 0;
  std::string payload;
};

using Message = std::variant<Request, Interleaved>;

struct ReaderLimits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_headers = 64;
  std::size_t max_body = 64 * 1024;
};

class Reader {
 public:
  explicit Reader(ReaderLimits limits = {}) : limits_(limits) {}

  // Appends the messages `bytes` complete to `out`; keeps a partial one for the next call.
  Status feed(std::span<const std::uint8_t> bytes, std::vector<Message>& out);

  // Bytes held for a message not complete yet.
  std::size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  // One message from the front of the buffer: true when one was taken, false when more bytes
  // are needed.
  Result<bool> take_one(std::vector<Message>& out);
  Result<bool> take_request(std::vector<Message>& out);

  ReaderLimits limits_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::optional<Error> failed_;
};

// Case-insensitive ASCII comparison of header names and tokens.
using text::iequals;

}  // namespace sluice::media::rtsp
