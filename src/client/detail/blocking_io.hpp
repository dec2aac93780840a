#pragma once
// Private to the SDK's .cpp files (includes Asio/Beast; never include from a public header).
// Blocking I/O with deadlines: each operation is started asynchronously on a private
// io_context whose run() is then driven on the calling thread, so beast::tcp_stream's
// expires_at() bounds connect, write and read.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <string>

#include "client/client.hpp"

namespace sluice::client::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

// Runs the io_context until it has no more work (the started operation completed).
inline void run_to_completion(asio::io_context& ioc) {
  ioc.restart();
  ioc.run();
}

// Resolves `base` (blocking getaddrinfo; IP literals resolve instantly) and connects `stream`
// before `deadline`.
inline beast::error_code connect_stream(asio::io_context& ioc, beast::tcp_stream& stream,
                                        const BaseUrl& base, SteadyTime deadline) {
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(base.host, base.port, ec);
  if (ec) return ec;
  stream.expires_at(deadline);
  beast::error_code result;
  stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { result = e; });
  run_to_completion(ioc);
  return result;
}

// "timed out" / "Connection refused" / … for a transport error.
inline std::string describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

inline Error connection_error(const BaseUrl& base, std::string what) {
  return Error{0, what + " (" + base.host + ":" + base.port + ")", {}};
}

}  // namespace sluice::client::detail
