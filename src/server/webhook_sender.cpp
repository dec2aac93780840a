#include "server/webhook_sender.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <stdexcept>

namespace sluice::server {

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kDeadline = std::chrono::seconds(5);
}  // namespace

namespace {

struct WebhookUrl {
  std::string host, port, target;
};

// Splits http://HOST[:PORT][/PATH]; throws std::invalid_argument naming what is wrong.
WebhookUrl split_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) throw std::invalid_argument("webhook URL must start with http://");
  WebhookUrl u;
  std::string rest = url.substr(kScheme.size());
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  } else {
    u.host = authority;
    u.port = "80";
  }
  if (u.host.empty()) throw std::invalid_argument("webhook URL has no host");
  return u;
}

}  // namespace

std::string WebhookSender::url_problem(const std::string& url) {
  try {
    split_url(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

WebhookSender::WebhookSender(const std::string& url, std::size_t capacity) : capacity_(capacity) {
  auto u = split_url(url);
  host_ = std::move(u.host);
  port_ = std::move(u.port);
  target_ = std::move(u.target);
  thread_ = std::thread([this] { run(); });
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void WebhookSender::send(std::string json) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= capacity_) {
      queue_.pop_front();
      dropped_++;
    }
    queue_.push_back(std::move(json));
  }
  wake_.notify_one();
}

void WebhookSender::run() {
  auto last_warning = std::chrono::steady_clock::time_point{};
  for (;;) {
    std::string body;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      body = std::move(queue_.front());
      queue_.pop_front();
    }
    if (post(body)) {
      sent_++;
      continue;
    }
    failed_++;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_warning > std::chrono::seconds(10)) {
      last_warning = now;
      spdlog::warn("media webhook http://{}:{}{} failed ({} failures so far)", host_, port_,
                   target_, failed_.load());
    }
  }
}

bool WebhookSender::post(const std::string& body) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  bool ok = false;
  tcp::resolver resolver(io);
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, target_, 11};
  req.set(bhttp::field::host, host_);
  req.set(bhttp::field::content_type, "application/json");
  req.set(bhttp::field::user_agent, "sluice");
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  stream.expires_after(kDeadline);
  resolver.async_resolve(host_, port_, [&](beast::error_code ec, tcp::resolver::results_type r) {
    if (ec) return;
    stream.async_connect(r, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return;
      bhttp::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (ec) return;
        bhttp::async_read(stream, buffer, res, [&](beast::error_code ec, std::size_t) {
          ok = !ec && res.result_int() < 300;
        });
      });
    });
  });
  io.run_for(kDeadline + std::chrono::seconds(1));
  return ok;
}

}  // namespace sluice::server
