#pragma once
// HttpTransport — one kept-alive HTTP/1.1 connection to a sluice daemon, used by Client.
// Internal to the SDK (not installed: client.hpp only forward-declares it); Beast and Asio stay
// in http_transport.cpp.
//
// Contract: send() returns every HTTP answer as a value, whatever its status; an Error (always
// status 0) means no answer arrived: bad base URL, cannot connect, connection lost, or the
// per-call deadline passed. A kept-alive connection the server closed while idle is detected
// before sending and re-opened transparently; if it dies during the exchange anyway, the request
// is sent again once when that is safe (nothing was received and the method is idempotent, or
// the write itself failed).
//
// Threads: send() may be called from any thread; calls are serialised by an internal mutex.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "client/client.hpp"

namespace sluice::client {

struct RawHttpResponse {
  int status = 0;
  std::string reason;
  std::string content_type;
  std::string body;
};

class HttpTransport {
 public:
  explicit HttpTransport(std::string_view base_url);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  void set_timeout(std::chrono::milliseconds timeout);
  std::chrono::milliseconds timeout() const;
  // Sent as "Authorization: Bearer <token>" with every later request; empty: no header.
  void set_bearer_token(std::string token);
  // The Authorization header's whole value ("Basic …", "Bearer …"); empty: no header.
  void set_authorization(std::string value);

  // `target` is the path (without the base URL's prefix) plus query. `body` is sent with
  // `content_type` when non-empty.
  Result<RawHttpResponse> send(std::string_view method, std::string_view target,
                               std::string_view body, std::string_view content_type);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::client
