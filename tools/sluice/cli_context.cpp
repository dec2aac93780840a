#include "cli_context.hpp"

#include <boost/json/parse.hpp>

#include <pthread.h>
#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "core/json_text.hpp"
#include "core/time_format.hpp"

namespace sluice::cli {
namespace json = boost::json;

client::Client& CliContext::client() {
  if (!client_) {
    client_ = std::make_unique<client::Client>(server);
    if (!token.empty()) {
      client_->set_bearer_token(token);
    } else if (!user.empty()) {
      const char* password = std::getenv("SLUICE_PASSWORD");
      client_->set_basic_auth(user, password ? password : "");
    }
  }
  return *client_;
}

int report_error(const Error& error) {
  if (error.status == 0) {
    std::cerr << "error: " << error.detail << '\n';
    return kExitUnreachable;
  }
  std::cerr << "error: " << error.status << ' ' << error.detail << '\n';
  return kExitServerError;
}

int fetch_and_show(CliContext& ctx, std::string_view method, const std::string& target,
                   const std::string& body, const std::function<void(const json::value&)>& render) {
  auto res = ctx.client().request(method, target, body);
  if (!res) return report_error(res.error());
  if (ctx.json) {
    std::cout << res->body;
    if (res->body.empty() || res->body.back() != '\n') std::cout << '\n';
    return kExitOk;
  }
  boost::system::error_code ec;
  json::value v = json::parse(res->body, ec);
  if (ec) {
    std::cerr << "error: the server's answer is not JSON: " << ec.message() << '\n';
    return kExitServerError;
  }
  render(v);
  return kExitOk;
}

CLI::Validator json_object_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        boost::system::error_code ec;
        json::value v = json::parse(text, ec);
        if (ec) return "not valid JSON (" + ec.message() + "): " + text;
        if (!v.is_object()) return "expected a JSON object, e.g. '{\"fps\": 30}'";
        return {};
      },
      "JSON object", "JSON");
}

json::object parse_object(const std::string& text) {
  if (text.empty()) return {};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

CLI::Validator timestamp_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!parse_timestamp(text)) return "not an ISO-8601 timestamp: " + text;
        return {};
      },
      "ISO-8601", "TIMESTAMP");
}

std::string compact(const json::value& v) {
  return to_json_text(v);
}

std::string age(WallTime t) {
  if (t == WallTime{}) return "-";
  using std::chrono::duration_cast;
  const auto secs =
      duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - t).count();
  if (secs < 0) return "now";
  if (secs < 120) return std::to_string(secs) + "s ago";
  if (secs < 7200) return std::to_string(secs / 60) + "m ago";
  if (secs < 172800) return std::to_string(secs / 3600) + "h ago";
  return std::to_string(secs / 86400) + "d ago";
}

namespace {
sigset_t termination_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

TerminationSignals::TerminationSignals() {
  sigset_t set = termination_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int TerminationSignals::wait() {
  sigset_t set = termination_set();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

void TerminationSignals::on_signal(std::function<void()> fn) {
  std::thread([fn = std::move(fn)] {
    wait();
    fn();
  }).detach();
}

std::string default_publisher_id() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "cli@localhost";
  return std::string("cli@") + host;
}

}  // namespace sluice::cli
