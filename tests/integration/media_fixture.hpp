#pragma once
// Helpers of media_test.cpp: a sluiced with RTMP on an ephemeral port, stream keys through the
// HTTP API, the real ffmpeg/ffprobe as publishers and players (ChildProcess), raw TCP sockets for
// slow readers and hand-made RTMP, a server-sent-events listener for sluice.media.* events and a
// Prometheus text reader.
//
// Threads: everything runs on the test thread except MediaEvents' reader thread, which only
// appends to its list under a mutex.
#include <arpa/inet.h>
#include <poll.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "client/client.hpp"
#include "client/event_stream.hpp"
#include "daemon_fixture.hpp"

namespace sluice::testing {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

struct Answer {
  int status = 0;
  json::value body;
  std::string raw;
};

// One HTTP call; any status is an answer (client::Client treats non-2xx as errors).
inline Answer http_call(const std::string& base_url, std::string_view method,
                        const std::string& target, std::string_view body = {}) {
  client::Client c(base_url);
  c.set_timeout(std::chrono::seconds(30));
  auto res = c.request(method, target, body);
  Answer a;
  if (res) {
    a.status = res->status;
    a.raw = std::move(res->body);
  } else {
    a.status = res.error().status;
    a.raw = res.error().detail;
  }
  boost::system::error_code ec;
  a.body = json::parse(a.raw, ec);
  return a;
}

inline std::string str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  const auto* f = v.as_object().if_contains(key);
  return f && f->is_string() ? std::string(f->as_string()) : std::string();
}

inline double num(const json::value& v, std::string_view key) {
  if (!v.is_object()) return -1;
  const auto* f = v.as_object().if_contains(key);
  if (!f) return -1;
  if (f->is_int64()) return static_cast<double>(f->as_int64());
  if (f->is_uint64()) return static_cast<double>(f->as_uint64());
  if (f->is_double()) return f->as_double();
  return -1;
}

// The value of the sample written exactly as `series` (`rtmp_active_streams`,
// `rtmp_publish_attempts_total{status="wrong"}`); nullopt when absent.
inline std::optional<double> metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

// "sk_" + 16 hex id + 43 characters of secret.
inline std::string find_key(const std::string& text) {
  static const std::regex kKey("sk_[0-9a-f]{16}[A-Za-z0-9_-]{43}");
  std::smatch m;
  return std::regex_search(text, m, kKey) ? m.str() : std::string();
}

// A blocking TCP client of 127.0.0.1 with timeouts on every read.
class TcpClient {
 public:
  // `receive_buffer` > 0 sets SO_RCVBUF before connecting (a slow reader's small window).
  explicit TcpClient(int port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~TcpClient() { close(); }
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  bool connected() const { return connected_; }
  bool eof() const { return eof_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void shutdown() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // What arrives within `timeout` (one recv, at most `max` bytes); "" on timeout, EOF or error
  // (eof() tells which).
  std::string read_some(std::chrono::milliseconds timeout, std::size_t max = 64 * 1024) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r <= 0) return {};
    std::string buf(max, '\0');
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) {
      eof_ = true;
      return {};
    }
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

  // Exactly `n` bytes within `timeout`, or nullopt.
  std::optional<std::string> read_exact(std::size_t n, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::string out;
    while (out.size() < n && !eof_) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      out += read_some(left, n - out.size());
    }
    if (out.size() < n) return std::nullopt;
    return out;
  }

  // Reads until `needle` has arrived (true) or `timeout` passes; everything read is kept.
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || eof_) return false;
      received_ += read_some(left);
    }
    return true;
  }
  const std::string& received() const { return received_; }

  // Reads until the peer closes (true) or `timeout` passes (false); everything read is kept.
  bool read_to_end(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!eof_) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      received_ += read_some(left);
    }
    return true;
  }

  // Reads and discards until the peer closes (true) or `timeout` passes (false).
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!eof_) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      read_some(left);
    }
    return true;
  }

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string received_;
};

// Every message on `subjects` (default `sluice.media.>`) seen over GET /streams/events, as the
// JSON payloads.
class MediaEvents {
 public:
  explicit MediaEvents(int http_port, const std::string& subjects = "sluice.media.>")
      : socket_(http_port) {
    socket_.send_all("GET " + client::events_target(subjects) +
                     " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
    subscribed_ = socket_.read_until("\r\n\r\n", std::chrono::seconds(10)) &&
                  socket_.received().starts_with("HTTP/1.1 200");
    const std::string& head = socket_.received();
    std::string rest = head.substr(std::min(head.size(), head.find("\r\n\r\n") + 4));
    reader_ = std::thread([this, rest] {
      client::SseParser parser;
      auto on_event = [this](const client::ServerSentEvent& e) {
        boost::system::error_code ec;
        json::value v = json::parse(e.data, ec);
        if (ec || !v.is_object()) return;
        const auto* data = v.as_object().if_contains("data");
        if (!data || !data->is_object()) return;
        std::lock_guard lock(mutex_);
        events_.push_back(data->as_object());
      };
      parser.feed(rest, on_event);
      while (!stop_ && !socket_.eof()) {
        std::string bytes = socket_.read_some(std::chrono::milliseconds(100));
        if (!bytes.empty()) parser.feed(bytes, on_event);
      }
    });
  }
  ~MediaEvents() {
    stop_ = true;
    reader_.join();
  }

  bool subscribed() const { return subscribed_; }
  std::vector<json::object> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  TcpClient socket_;
  bool subscribed_ = false;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<json::object> events_;
  std::thread reader_;
};

// How the test publisher encodes: testsrc2 320x240 at 25 fps plus a 440 Hz sine, x264 (or x265)
// + AAC.
struct PublishSpec {
  int gop = 25;       // frames per GOP (25 = one keyframe a second)
  int readrate = 1;   // 1 = real time (-re); 8 = eight times faster
  bool hevc = false;  // libx265 instead of libx264
  bool opus = false;  // libopus (48 kHz) instead of AAC
};

inline std::vector<std::string> publisher_argv(const std::string& url, PublishSpec spec = {}) {
  const std::string rate = std::to_string(spec.readrate);
  const std::string gop = std::to_string(spec.gop);
  std::vector<std::string> argv{
      program_path("ffmpeg"),
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      "-readrate",
      rate,
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=320x240:rate=25",
      "-readrate",
      rate,
      "-f",
      "lavfi",
      "-i",
      spec.opus ? "sine=frequency=440:sample_rate=48000" : "sine=frequency=440:sample_rate=44100"};
  if (spec.hevc) {
    argv.insert(argv.end(), {"-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                             "keyint=" + gop + ":min-keyint=" + gop + ":log-level=error"});
  } else {
    argv.insert(argv.end(), {"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                             "-g", gop, "-keyint_min", gop, "-sc_threshold", "0"});
  }
  argv.insert(argv.end(),
              {"-pix_fmt", "yuv420p", "-c:a", spec.opus ? "libopus" : "aac", "-f", "flv", url});
  return argv;
}

// A player that copies every packet to nowhere and reports its progress ("frame=N") on stdout.
inline std::vector<std::string> player_argv(const std::string& url) {
  return {program_path("ffmpeg"),
          "-hide_banner",
          "-nostdin",
          "-loglevel",
          "error",
          "-nostats",
          "-progress",
          "pipe:1",
          "-stats_period",
          "0.25",
          "-i",
          url,
          "-c",
          "copy",
          "-f",
          "null",
          "-"};
}

// The last "frame=N" a player reported (0 before the first report).
inline long frames_of(const ChildProcess& player) {
  long frames = 0;
  for (const auto& line : player.stdout_lines()) {
    if (line.starts_with("frame=")) frames = std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return frames;
}

// ffprobe's view of `url`: the streams as "h264 320x240" / "aac", in order, duplicates removed
// (an HLS program lists its streams again). Empty on failure; `result` keeps the process' output.
// `input_options` go before the URL (e.g. {"-rtsp_transport", "udp"}).
inline std::vector<std::string> probe_streams(
    const std::string& url, CommandResult* result = nullptr,
    std::chrono::milliseconds timeout = std::chrono::seconds(40),
    const std::vector<std::string>& input_options = {}) {
  std::vector<std::string> argv{program_path("ffprobe"),
                                "-v",
                                "error",
                                "-show_entries",
                                "stream=codec_name,codec_type,width,height",
                                "-of",
                                "json"};
  argv.insert(argv.end(), input_options.begin(), input_options.end());
  argv.push_back(url);
  CommandResult r = run_command(argv, timeout);
  std::vector<std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(r.out, ec);
  if (!ec && r.exit_code == 0 && v.is_object()) {
    if (const auto* streams = v.as_object().if_contains("streams");
        streams && streams->is_array()) {
      for (const auto& s : streams->as_array()) {
        std::string text = str(s, "codec_name");
        if (str(s, "codec_type") == "video") {
          text += " " + std::to_string(static_cast<int>(num(s, "width"))) + "x" +
                  std::to_string(static_cast<int>(num(s, "height")));
        }
        if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
      }
    }
  }
  if (result) *result = std::move(r);
  return out;
}

// ---- hand-made RTMP (plain handshake, chunk stream 3, AMF0) ----

inline std::string amf_string(std::string_view s) {
  std::string out{'\x02', static_cast<char>(s.size() >> 8), static_cast<char>(s.size() & 0xff)};
  return out.append(s);
}
inline std::string amf_number(double d) {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  std::string out{'\x00'};
  for (int i = 7; i >= 0; --i)
    out += static_cast<char>((bits >> (i * 8)) & 0xff);
  return out;
}
inline std::string amf_null() {
  return std::string(1, '\x05');
}
inline std::string amf_object(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out{'\x03'};
  for (const auto& [name, value] : fields) {
    out += static_cast<char>(name.size() >> 8);
    out += static_cast<char>(name.size() & 0xff);
    out += name;
    out += value;
  }
  return out + std::string("\x00\x00\x09", 3);
}

// One message on chunk stream 3 (fmt 0, then fmt 3 continuations every 128 bytes).
// `declared_length` overrides the length field (a lie about the body's size).
inline std::string rtmp_message(std::uint8_t type, const std::string& body,
                                std::optional<std::uint32_t> declared_length = {}) {
  const std::uint32_t len = declared_length.value_or(static_cast<std::uint32_t>(body.size()));
  std::string out{'\x03',
                  0,
                  0,
                  0,
                  static_cast<char>(len >> 16),
                  static_cast<char>(len >> 8),
                  static_cast<char>(len),
                  static_cast<char>(type),
                  0,
                  0,
                  0,
                  0};
  for (std::size_t i = 0; i < body.size(); i += 128) {
    if (i > 0) out += '\xc3';
    out += body.substr(i, 128);
  }
  return out;
}

inline std::string rtmp_connect_command() {
  return rtmp_message(20, amf_string("connect") + amf_number(1) +
                              amf_object({{"app", amf_string("live")},
                                          {"tcUrl", amf_string("rtmp://127.0.0.1/live")}}));
}

// Plain handshake: C0 C1, read S0 S1 S2, send C2 = S1. False when the server does not answer.
inline bool rtmp_handshake(TcpClient& socket) {
  std::string c0c1(1 + 1536, '\0');
  c0c1[0] = 3;
  for (std::size_t i = 9; i < c0c1.size(); ++i)
    c0c1[i] = static_cast<char>(i * 7);
  if (!socket.send_all(c0c1)) return false;
  auto s = socket.read_exact(1 + 1536 + 1536, std::chrono::seconds(10));
  if (!s) return false;
  return socket.send_all(s->substr(1, 1536));
}

}  // namespace sluice::testing
