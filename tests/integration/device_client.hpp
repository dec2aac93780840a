#pragma once
// A device on the show network, for trust tests: blocking HTTP/1.1 and /ws clients whose
// connections come from a chosen loopback source address (127.0.0.2, 127.0.0.3, …), so one
// sluiced sees several devices. Deliberately tiny and strict; test code only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testing {

struct DeviceReply {
  int status = 0;                                            // 0: no answer
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  }
  boost::json::value json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value() : v;
  }
};

// A TCP connection to 127.0.0.1:`port` from `source`; -1 on failure.
inline int connect_from(const std::string& source, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads what is available within `timeout`; appends to `out`. False on EOF or error.
inline bool read_some(int fd, std::string& out, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;
  char buf[16384];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n <= 0) return false;
  out.append(buf, static_cast<std::size_t>(n));
  return true;
}

class Device {
 public:
  Device(std::string address, int http_port) : address_(std::move(address)), port_(http_port) {}

  const std::string& address() const { return address_; }
  void set_header(std::string name, std::string value) {
    extra_.emplace_back(std::move(name), std::move(value));
  }
  void clear_headers() { extra_.clear(); }

  DeviceReply call(std::string_view method, const std::string& target, std::string_view body = {},
                   std::vector<std::pair<std::string, std::string>> headers = {}) const {
    DeviceReply r;
    int fd = connect_from(address_, port_);
    if (fd < 0) return r;
    std::string req = std::string(method) + " " + target +
                      " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                      "\r\nConnection: close\r\n";
    for (const auto& [k, v] : extra_)
      req += k + ": " + v + "\r\n";
    for (const auto& [k, v] : headers)
      req += k + ": " + v + "\r\n";
    if (!body.empty()) {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    }
    req += "\r\n";
    req += body;
    std::string raw;
    if (write_all(fd, req)) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while (std::chrono::steady_clock::now() < deadline &&
             read_some(fd, raw, std::chrono::milliseconds(200))) {
      }
    }
    ::close(fd);
    parse(raw, r);
    return r;
  }

 private:
  static void parse(const std::string& raw, DeviceReply& r) {
    auto end = raw.find("\r\n\r\n");
    if (raw.size() < 12 || end == std::string::npos) return;
    r.status = std::stoi(raw.substr(9, 3));
    std::size_t pos = raw.find("\r\n") + 2;
    while (pos < end) {
      auto eol = raw.find("\r\n", pos);
      auto line = raw.substr(pos, eol - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
          value.erase(value.begin());
        r.headers.emplace_back(std::move(name), std::move(value));
      }
      pos = eol + 2;
    }
    std::string body = raw.substr(end + 4);
    if (auto te = r.header("transfer-encoding"); te && *te == "chunked") {
      std::string out;
      std::size_t p = 0;
      while (p < body.size()) {
        auto eol = body.find("\r\n", p);
        if (eol == std::string::npos) break;
        std::size_t n = std::stoul(body.substr(p, eol - p), nullptr, 16);
        if (n == 0) break;
        out += body.substr(eol + 2, n);
        p = eol + 2 + n + 2;
      }
      body = out;
    }
    r.body = std::move(body);
  }

  std::string address_;
  int port_;
  std::vector<std::pair<std::string, std::string>> extra_;
};

// A /ws client from a chosen source address: text frames in and out (client frames masked).
class DeviceSocket {
 public:
  // Connects and upgrades; `status` is 101 on success, else the HTTP refusal's status.
  DeviceSocket(const std::string& source, int port, std::string target = "/ws",
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    fd_ = connect_from(source, port);
    if (fd_ < 0) return;
    std::string req =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    for (const auto& [k, v] : headers)
      req += k + ": " + v + "\r\n";
    req += "\r\n";
    if (!write_all(fd_, req)) return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (buffer_.find("\r\n\r\n") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      if (!read_some(fd_, buffer_, std::chrono::milliseconds(100))) break;
    }
    auto end = buffer_.find("\r\n\r\n");
    if (buffer_.size() >= 12) status = std::stoi(buffer_.substr(9, 3));
    response = buffer_.substr(0, end == std::string::npos ? buffer_.size() : end + 4);
    buffer_.erase(0, end == std::string::npos ? buffer_.size() : end + 4);
  }
  ~DeviceSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  DeviceSocket(const DeviceSocket&) = delete;
  DeviceSocket& operator=(const DeviceSocket&) = delete;

  int status = 0;
  std::string response;

  bool send(std::string_view text) {
    std::string f;
    f += static_cast<char>(0x81);
    if (text.size() < 126) {
      f += static_cast<char>(0x80 | text.size());
    } else {
      f += static_cast<char>(0x80 | 126);
      f += static_cast<char>(text.size() >> 8);
      f += static_cast<char>(text.size() & 0xff);
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(mask, 4);
    for (std::size_t i = 0; i < text.size(); ++i)
      f += static_cast<char>(text[i] ^ mask[i % 4]);
    return write_all(fd_, f);
  }

  // The next text frame within `timeout`, or nullopt.
  std::optional<std::string> next(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto frame = take_frame()) return frame;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      if (!read_some(fd_, buffer_, std::min(left, std::chrono::milliseconds(100))))
        return take_frame();
    }
  }

  // Frames until one contains `needle` (others are dropped); nullopt after `timeout`.
  std::optional<std::string> next_containing(
      std::string_view needle,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto f = next(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!f) return std::nullopt;
      if (f->find(needle) != std::string::npos) return f;
    }
    return std::nullopt;
  }

 private:
  std::optional<std::string> take_frame() {
    if (buffer_.size() < 2) return std::nullopt;
    std::size_t len = static_cast<unsigned char>(buffer_[1]) & 0x7f;
    std::size_t head = 2;
    if (len == 126) {
      if (buffer_.size() < 4) return std::nullopt;
      len = (static_cast<unsigned char>(buffer_[2]) << 8) | static_cast<unsigned char>(buffer_[3]);
      head = 4;
    } else if (len == 127) {
      if (buffer_.size() < 10) return std::nullopt;
      len = 0;
      for (int i = 2; i < 10; ++i)
        len = (len << 8) | static_cast<unsigned char>(buffer_[static_cast<std::size_t>(i)]);
      head = 10;
    }
    if (buffer_.size() < head + len) return std::nullopt;
    std::string payload = buffer_.substr(head, len);
    buffer_.erase(0, head + len);
    return payload;
  }

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace sluice::testing
