#pragma once
// What every example shares and nothing more: a tiny flag reader, "stop with a message" for
// errors, and how to reach a relay. Client-only programs include this file; programs that host a
// sluice::Server include server_support.hpp, which adds the server's side.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "client/wire_session.hpp"
#include "core/error.hpp"

namespace examples {

using namespace std::chrono_literals;

// Reads `--name value` flags; unknown flags are ignored. `--help` is not handled: the comment at
// the top of each example lists its flags.
class Args {
 public:
  Args(int argc, char** argv) : argc_(argc), argv_(argv) {}
  std::string get(std::string_view name, std::string fallback) const {
    for (int i = 1; i + 1 < argc_; ++i) {
      if (argv_[i] == name) return argv_[i + 1];
    }
    return fallback;
  }
  // A number; an example given something else says so and exits 1.
  long get(std::string_view name, long fallback) const;
  // True when `--name` appears (a switch without a value).
  bool has(std::string_view name) const {
    for (int i = 1; i < argc_; ++i) {
      if (argv_[i] == name) return true;
    }
    return false;
  }

 private:
  int argc_;
  char** argv_;
};

// Examples stop at the first error, saying what failed and why (exit code 1). They stop at once,
// without running destructors: a server or session may still have threads running.
[[noreturn]] inline void fail(std::string_view what) {
  std::cerr << "error: " << what << std::endl;
  std::fflush(stdout);
  std::_Exit(1);
}
[[noreturn]] inline void die(std::string_view what, const sluice::Error& error) {
  fail(std::string(what) + ": " + error.detail + " (" + std::to_string(error.status) + ")");
}
template <class T>
T must(sluice::Result<T> result, std::string_view what) {
  if (!result) die(what, result.error());
  return std::move(*result);
}
inline void must(sluice::Status status, std::string_view what) {
  if (!status) die(what, status.error());
}

inline long Args::get(std::string_view name, long fallback) const {
  auto text = get(name, std::string());
  if (text.empty()) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0') fail(std::string(name) + " needs a number, not '" + text + "'");
  return value;
}

// Polls `condition` every 10 ms until it holds or `timeout` passed; returns whether it held.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Options for a client of the relay at host:port (the wire port). Reconnection is off: an
// example that loses its server should say so and stop, not wait for it to come back.
inline sluice::client::WireOptions wire_at(std::string host, std::uint16_t port,
                                           std::string client_name) {
  sluice::client::WireOptions o;
  o.host = std::move(host);
  o.port = port;
  o.client_name = std::move(client_name);
  o.reconnect = false;
  o.connect_timeout = 3s;
  return o;
}

// FNV-1a: enough to show that bytes came back in order and unchanged.
inline std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

inline std::shared_ptr<sluice::client::Session> connect(sluice::client::WireOptions options) {
  return must(sluice::client::Session::connect(std::move(options)), "connect to the relay");
}

}  // namespace examples
