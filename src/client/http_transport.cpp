#include "client/http_transport.hpp"

#include <boost/beast/http.hpp>

#include <sys/socket.h>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <optional>

#include "client/detail/blocking_io.hpp"
#include "core/version.hpp"

namespace sluice::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using detail::SteadyTime;

namespace {

constexpr std::size_t kMaxResponseBody = 64u << 20;  // 64 MiB: a large /streams/state is far less

// Errors that mean "the server closed the kept-alive connection before reading our request".
bool is_stale_connection_error(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

// Methods whose request may be repeated when a reused connection died before any answer.
bool is_idempotent(http::verb verb) {
  return verb == http::verb::get || verb == http::verb::head || verb == http::verb::put ||
         verb == http::verb::delete_ || verb == http::verb::options;
}

// True when the peer already closed (or reset) an idle kept-alive connection: a non-blocking
// peek sees end-of-file or an error instead of "would block".
bool peer_closed(asio::ip::tcp::socket& socket) {
  char byte;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  return false;  // unsolicited bytes: leave them to the parser, which will complain
}

}  // namespace

struct HttpTransport::Impl {
  Result<BaseUrl> base;
  std::atomic<std::int64_t> timeout_ms{kDefaultTimeout.count()};

  std::mutex mutex;           // guards everything below
  std::string authorization;  // the Authorization header's value; empty: none
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  explicit Impl(std::string_view url) : base(parse_base_url(url)) {}

  bool connected() {
    return stream && stream->socket().is_open() && !peer_closed(stream->socket());
  }

  void close() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      stream->socket().close(ignored);
    }
    stream.reset();
    buffer.clear();
  }

  beast::error_code connect(SteadyTime deadline) {
    close();
    stream.emplace(ioc);
    auto ec = detail::connect_stream(ioc, *stream, *base, deadline);
    if (ec) close();
    return ec;
  }

  beast::error_code write(http::request<http::string_body>& req, SteadyTime deadline) {
    stream->expires_at(deadline);
    beast::error_code result;
    http::async_write(*stream, req, [&](beast::error_code e, std::size_t) { result = e; });
    detail::run_to_completion(ioc);
    return result;
  }

  beast::error_code read(http::response_parser<http::string_body>& parser, SteadyTime deadline) {
    stream->expires_at(deadline);
    beast::error_code result;
    http::async_read(*stream, buffer, parser,
                     [&](beast::error_code e, std::size_t) { result = e; });
    detail::run_to_completion(ioc);
    return result;
  }
};

HttpTransport::HttpTransport(std::string_view base_url) : impl_(std::make_unique<Impl>(base_url)) {}

HttpTransport::~HttpTransport() {
  std::lock_guard lock(impl_->mutex);
  impl_->close();
}

void HttpTransport::set_timeout(std::chrono::milliseconds timeout) {
  impl_->timeout_ms = timeout.count();
}

std::chrono::milliseconds HttpTransport::timeout() const {
  return std::chrono::milliseconds(impl_->timeout_ms.load());
}

void HttpTransport::set_bearer_token(std::string token) {
  set_authorization(token.empty() ? std::string() : "Bearer " + token);
}

void HttpTransport::set_authorization(std::string value) {
  std::lock_guard lock(impl_->mutex);
  impl_->authorization = std::move(value);
}

Result<RawHttpResponse> HttpTransport::send(std::string_view method, std::string_view target,
                                            std::string_view body, std::string_view content_type) {
  if (!impl_->base) return fail(impl_->base.error());
  const BaseUrl& base = *impl_->base;
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return fail(Error{0, "unknown HTTP method '" + std::string(method) + "'", {}});
  }

  http::request<http::string_body> req{verb, base.path_prefix + std::string(target), 11};
  req.set(http::field::host, base.host + ":" + base.port);
  req.set(http::field::user_agent, "sluice-client/" + std::string(kVersion));
  req.set(http::field::accept, "application/json");
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->authorization.empty()) req.set(http::field::authorization, impl_->authorization);
  }
  req.keep_alive(true);
  if (!body.empty()) {
    req.set(http::field::content_type, content_type);
    req.body() = std::string(body);
  }
  req.prepare_payload();

  std::lock_guard lock(impl_->mutex);
  const SteadyTime deadline = std::chrono::steady_clock::now() + timeout();
  for (int attempt = 0;; ++attempt) {
    const bool reused = impl_->connected();
    if (!reused) {
      if (auto ec = impl_->connect(deadline)) {
        return fail(
            detail::connection_error(base, "cannot connect to sluiced: " + detail::describe(ec)));
      }
    }
    const bool may_retry = reused && attempt == 0;
    if (auto ec = impl_->write(req, deadline)) {
      impl_->close();
      if (may_retry && is_stale_connection_error(ec)) continue;
      return fail(
          detail::connection_error(base, "connection lost while sending: " + detail::describe(ec)));
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    if (auto ec = impl_->read(parser, deadline)) {
      const bool nothing_received = !parser.got_some();
      impl_->close();
      if (may_retry && nothing_received && is_idempotent(verb) && is_stale_connection_error(ec)) {
        continue;
      }
      return fail(
          detail::connection_error(base, "no answer from sluiced: " + detail::describe(ec)));
    }
    auto res = parser.release();
    if (!res.keep_alive()) impl_->close();
    RawHttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.reason = std::string(res.reason());
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    return out;
  }
}

}  // namespace sluice::client
