#include "client/event_stream.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <mutex>

#include "client/detail/blocking_io.hpp"
#include "core/version.hpp"

namespace sluice::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr std::size_t kMaxErrorBody = 64u << 10;
}

// ---------------------------------------------------------------------------------------------
// SseParser

void SseParser::feed(std::string_view bytes,
                     const std::function<void(const ServerSentEvent&)>& on_event) {
  partial_line_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = partial_line_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view text(partial_line_.data() + start, nl - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    line(text, on_event);
    start = nl + 1;
  }
  partial_line_.erase(0, start);
}

void SseParser::line(std::string_view text,
                     const std::function<void(const ServerSentEvent&)>& on_event) {
  if (text.empty()) {  // blank line: dispatch
    if (has_data_ || !current_.event.empty()) on_event(current_);
    current_ = ServerSentEvent{};
    has_data_ = false;
    return;
  }
  if (text.front() == ':') return;  // comment / keep-alive
  std::string_view name = text, value;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    name = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    if (has_data_) current_.data += '\n';
    current_.data.append(value);
    has_data_ = true;
  } else if (name == "event") {
    current_.event = std::string(value);
  } else if (name == "id") {
    current_.id = std::string(value);
  }
}

std::string events_target(std::string_view subject_pattern) {
  return "/streams/events?subject=" + url_encode(subject_pattern);
}

// ---------------------------------------------------------------------------------------------
// EventStream

struct EventStream::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  std::mutex mutex;
  bool stopped = false;
  bool running = false;

  void close_socket() {
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  }
};

EventStream::EventStream(std::string base_url)
    : base_url_(std::move(base_url)), impl_(std::make_unique<Impl>()) {}

EventStream::~EventStream() = default;

void EventStream::stop() {
  std::lock_guard lock(impl_->mutex);
  impl_->stopped = true;
  if (impl_->running) asio::post(impl_->ioc, [impl = impl_.get()] { impl->close_socket(); });
}

Status EventStream::run(std::string_view target,
                        const std::function<void(const ServerSentEvent&)>& on_event,
                        std::chrono::milliseconds connect_timeout) {
  auto base = parse_base_url(base_url_);
  if (!base) return fail(base.error());
  Impl& io = *impl_;
  {
    std::lock_guard lock(io.mutex);
    if (io.stopped) return {};
    io.running = true;
  }
  struct NotRunning {
    Impl& io;
    ~NotRunning() {
      std::lock_guard lock(io.mutex);
      io.running = false;
      io.close_socket();
    }
  } not_running{io};
  auto was_stopped = [&] {
    std::lock_guard lock(io.mutex);
    return io.stopped;
  };

  const auto deadline = std::chrono::steady_clock::now() + connect_timeout;
  if (auto ec = detail::connect_stream(io.ioc, io.stream, *base, deadline)) {
    if (was_stopped()) return {};
    return fail(
        detail::connection_error(*base, "cannot connect to sluiced: " + detail::describe(ec)));
  }

  http::request<http::empty_body> req{http::verb::get, base->path_prefix + std::string(target), 11};
  req.set(http::field::host, base->host + ":" + base->port);
  req.set(http::field::user_agent, "sluice-client/" + std::string(kVersion));
  req.set(http::field::accept, "text/event-stream");
  req.set(http::field::cache_control, "no-cache");
  beast::error_code ec;
  io.stream.expires_at(deadline);
  http::async_write(io.stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
  detail::run_to_completion(io.ioc);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (!ec) {
    http::async_read_header(io.stream, buffer, parser,
                            [&](beast::error_code e, std::size_t) { ec = e; });
    detail::run_to_completion(io.ioc);
  }
  if (ec) {
    if (was_stopped()) return {};
    return fail(detail::connection_error(*base, "no answer from sluiced: " + detail::describe(ec)));
  }
  io.stream.expires_never();

  const int status = static_cast<int>(parser.get().result_int());
  SseParser sse;
  std::string error_body;
  std::array<char, 8192> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    http::async_read_some(io.stream, buffer, parser,
                          [&](beast::error_code e, std::size_t) { ec = e; });
    detail::run_to_completion(io.ioc);
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t n = chunk.size() - parser.get().body().size;
    if (n > 0) {
      std::string_view bytes(chunk.data(), n);
      if (status == 200) {
        sse.feed(bytes, on_event);
      } else if (error_body.size() < kMaxErrorBody) {
        error_body.append(bytes);
      }
    }
    if (ec) break;
    if (was_stopped()) return {};
  }
  if (status != 200) {
    return fail(Error{status, error_detail_from_body(error_body, parser.get().reason()), {}});
  }
  if (was_stopped() || !ec || ec == http::error::end_of_stream || ec == asio::error::eof) return {};
  return fail(detail::connection_error(*base, "event stream broken: " + detail::describe(ec)));
}

}  // namespace sluice::client
