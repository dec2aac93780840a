// mqtt_fanout: MQTT QoS 0 fan-out load generator for bench/mqtt_bench.sh (one publisher, N
// subscribers on one topic, any MQTT 3.1.1 broker).
//
//   mqtt_fanout --host 127.0.0.1 --port 1883 --subscribers 4 --payload 16 --seconds 10
//
// The few MQTT 3.1.1 packets it needs (CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH QoS 0,
// PINGREQ/PINGRESP, DISCONNECT) are written by hand, so the tool is the same for every broker
// and does not use the codec under test.
//
// 1. N subscribers connect (clean session, keep-alive --keepalive s), each SUBSCRIBEs to --topic at
//    QoS 0 and waits for its SUBACK (granted QoS 0 required).
// 2. One publisher connects and, for --seconds, writes QoS 0 PUBLISH packets (all the same,
//    --payload bytes each) as fast as its socket takes them: whole packets batched into --batch
//    byte buffers (default 64 KiB), non-blocking writes and poll(). When the time is up it finishes
//    the packet it was in the middle of and stops; `published` is the number of whole packets
//    written.
// 3. One epoll thread reads every subscriber socket and counts complete PUBLISH packets (the fixed
//    header and its Remaining Length are parsed as a stream: packets span reads). It keeps counting
//    after the publisher stops, for at most --drain s (default 1), ending earlier once every
//    subscriber has all `published` messages or none received anything for --quiet s (0.25).
//
// Rates: delivered_per_s = delivered (publishing window + drain) / publishing seconds, the figure
// the benchmark compares; window_delivered_per_s counts only what arrived before the publisher
// stopped (steady state, no drain), and per_second lists the deliveries of each whole second of the
// window. With --cpu-pid PID (repeatable) the CPU time (utime + stime, all threads, from
// /proc/PID/stat) those processes used from the first PUBLISH to the end of the drain is reported,
// as seconds and as % of one core over that span; the tool's own CPU likewise.
//
// TCP_NODELAY is set on every socket unless --nodelay 0. One JSON object is printed on stdout;
// progress and errors on stderr. Exit status: 0; 1 bad options; 2 a connection could not be set
// up; 3 a connection closed or failed during the run (the JSON still comes, with "errors").
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../common/load_report.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace report = sluice::bench::report;

struct Options {
  std::string host = "127.0.0.1";
  int port = 1883;
  int subscribers = 4;
  int payload = 16;
  double seconds = 10;
  std::string topic = "bench/fanout";
  double drain = 1;
  double quiet = 0.25;
  int batch = 64 * 1024;
  int keepalive = 60;
  int nodelay = 1;
  double setup_timeout = 10;
  std::string client_prefix = "mqtt-fanout";
  std::vector<int> cpu_pids;
};

[[noreturn]] void fail(int code, const std::string& what) {
  std::fprintf(stderr, "mqtt_fanout: %s\n", what.c_str());
  std::exit(code);
}

// ---- the packets ----

void put_varint(std::string& out, std::size_t n) {
  do {
    auto b = static_cast<std::uint8_t>(n % 128);
    n /= 128;
    if (n > 0) b |= 0x80;
    out += static_cast<char>(b);
  } while (n > 0);
}
void put_u16(std::string& out, std::size_t v) {
  out += static_cast<char>((v >> 8) & 0xff);
  out += static_cast<char>(v & 0xff);
}
void put_str(std::string& out, const std::string& s) {
  put_u16(out, s.size());
  out += s;
}
std::string packet(std::uint8_t first, const std::string& body) {
  std::string p(1, static_cast<char>(first));
  put_varint(p, body.size());
  return p + body;
}
std::string connect_packet(const std::string& client_id, int keepalive) {
  std::string b;
  put_str(b, "MQTT");
  b += '\x04';  // protocol level 4: 3.1.1
  b += '\x02';  // clean session
  put_u16(b, static_cast<std::size_t>(keepalive));
  put_str(b, client_id);
  return packet(0x10, b);
}
std::string subscribe_packet(const std::string& topic, std::uint16_t id) {
  std::string b;
  put_u16(b, id);
  put_str(b, topic);
  b += '\x00';  // QoS 0
  return packet(0x82, b);
}
std::string publish_packet(const std::string& topic, int payload) {
  std::string b;
  put_str(b, topic);
  for (int i = 0; i < payload; ++i)
    b += static_cast<char>('a' + i % 26);
  return packet(0x30, b);
}
const std::string kPingreq("\xc0\x00", 2);
const std::string kDisconnect("\xe0\x00", 2);

// A stream of MQTT packets: counts the complete ones by type. Only the fixed header is looked at;
// the rest of each packet is skipped (it may span any number of reads).
struct PacketCounter {
  std::uint64_t publishes = 0;
  std::uint64_t other = 0;          // PINGRESP and anything else that is not a PUBLISH
  std::uint64_t odd_publishes = 0;  // PUBLISH whose length is not the one sent
  std::uint64_t bytes = 0;
  std::size_t expect_remaining = 0;  // of the PUBLISH packets sent
  bool broken = false;               // a malformed Remaining Length

  void feed(const std::uint8_t* p, std::size_t n) {
    bytes += n;
    while (n > 0) {
      if (skip_ > 0) {
        const std::size_t k = std::min(skip_, n);
        p += k;
        n -= k;
        skip_ -= k;
        continue;
      }
      // Fast path: a whole header (and often the whole packet) is in this read.
      if (header_len_ == 0 && n >= 2 && (p[1] & 0x80) == 0) {
        count_long(p[0], p[1]);
        p += 2;
        n -= 2;
        continue;
      }
      header_[header_len_++] = *p++;
      --n;
      if (header_len_ == 1) continue;
      if (header_[header_len_ - 1] & 0x80) {
        if (header_len_ == 5) {
          broken = true;
          return;
        }
        continue;
      }
      std::size_t remaining = 0, mult = 1;
      for (int i = 1; i < header_len_; ++i, mult *= 128)
        remaining += (header_[i] & 0x7f) * mult;
      const std::uint8_t first = header_[0];
      header_len_ = 0;
      count_long(first, remaining);
    }
  }

 private:
  void count_long(std::uint8_t first, std::size_t remaining) {
    if ((first >> 4) == 3) {
      ++publishes;
      if (remaining != expect_remaining) ++odd_publishes;
    } else {
      ++other;
    }
    skip_ = remaining;
  }

  std::size_t skip_ = 0;
  std::uint8_t header_[5]{};
  int header_len_ = 0;
};

// ---- sockets ----

sockaddr_storage resolve(const Options& o, socklen_t& len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(o.port);
  if (int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res) {
    fail(1, "cannot resolve " + o.host + ": " + gai_strerror(rc));
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  return ss;
}

void set_nonblocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

void write_all_blocking(int fd, const std::string& bytes, const std::string& who) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(2, who + ": write failed: " + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
}

// Reads whole packets from a blocking socket (SO_RCVTIMEO set) until one of type `want` arrives;
// returns its body. Bytes after it stay in `buffer`.
std::string read_until(int fd, std::string& buffer, int want, const std::string& who) {
  for (;;) {
    // A whole packet in the buffer?
    if (buffer.size() >= 2) {
      std::size_t remaining = 0, mult = 1, i = 1;
      bool complete_header = false;
      for (; i < buffer.size() && i <= 4; ++i, mult *= 128) {
        remaining += (static_cast<std::uint8_t>(buffer[i]) & 0x7f) * mult;
        if ((static_cast<std::uint8_t>(buffer[i]) & 0x80) == 0) {
          complete_header = true;
          break;
        }
      }
      if (complete_header && buffer.size() >= i + 1 + remaining) {
        const int type = static_cast<std::uint8_t>(buffer[0]) >> 4;
        std::string body = buffer.substr(i + 1, remaining);
        buffer.erase(0, i + 1 + remaining);
        if (type == want) return body;
        continue;  // not the one awaited (e.g. a retained PUBLISH): skipped
      }
    }
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) fail(2, who + ": the broker closed the connection during setup");
    if (n < 0) fail(2, who + ": no answer during setup: " + std::strerror(errno));
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

// A connected MQTT session (CONNACK accepted), blocking, with SO_RCVTIMEO = setup timeout.
int open_session(const Options& o, const sockaddr_storage& addr, socklen_t len,
                 const std::string& client_id, std::string& leftover) {
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(2, std::string("socket: ") + std::strerror(errno));
  int one = o.nodelay ? 1 : 0;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(o.setup_timeout);
  tv.tv_usec = static_cast<suseconds_t>((o.setup_timeout - static_cast<double>(tv.tv_sec)) * 1e6);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    fail(2, client_id + ": cannot connect to " + o.host + ":" + std::to_string(o.port) + ": " +
                std::strerror(errno));
  }
  write_all_blocking(fd, connect_packet(client_id, o.keepalive), client_id);
  std::string connack = read_until(fd, leftover, 2, client_id);
  if (connack.size() < 2 || connack[1] != 0) {
    fail(2, client_id + ": CONNACK refused (return code " +
                std::to_string(connack.size() < 2 ? -1 : static_cast<std::uint8_t>(connack[1])) +
                ")");
  }
  return fd;
}

double since(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// ---- the run ----

struct Subscriber {
  int fd = -1;
  PacketCounter counter;
  std::uint64_t at_stop = 0;  // publishes counted when the publisher stopped
  bool closed = false;
  std::string error;
  Clock::time_point last_data{};
};

struct Shared {
  std::atomic<bool> started{false};
  std::atomic<std::int64_t> start_ns{0};
  std::atomic<bool> stopped{false};  // the publisher has written its last packet
  std::atomic<std::uint64_t> published{0};
  std::atomic<bool> drained{false};
};

Clock::time_point from_ns(std::int64_t ns) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}
std::int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The subscribers' epoll loop: counts until the drain ends. Fills per_second (deliveries in each
// whole second of the publishing window) and end_at (when the drain ended).
void subscriber_loop(const Options& o, std::vector<Subscriber>& subs, Shared& shared,
                     std::vector<std::uint64_t>& per_second, Clock::time_point& end_at) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail(2, std::string("epoll_create1: ") + std::strerror(errno));
  for (std::size_t i = 0; i < subs.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev);
  }
  std::vector<std::uint8_t> buf(256 * 1024);
  std::vector<epoll_event> events(subs.size());
  bool stop_seen = false;
  Clock::time_point stop_time{}, last_ping = Clock::now();
  auto total = [&] {
    std::uint64_t t = 0;
    for (auto& s : subs)
      t += s.counter.publishes;
    return t;
  };
  const auto ping_every = std::chrono::duration<double>(o.keepalive / 2.0);
  std::size_t open = subs.size();
  for (;;) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 20);
    const auto now = Clock::now();
    for (int k = 0; k < n; ++k) {
      auto& s = subs[events[k].data.u64];
      if (s.closed) continue;
      for (int reads = 0; reads < 4; ++reads) {  // a few reads, then the next subscriber
        ssize_t r = ::read(s.fd, buf.data(), buf.size());
        if (r > 0) {
          s.counter.feed(buf.data(), static_cast<std::size_t>(r));
          s.last_data = now;
          if (static_cast<std::size_t>(r) < buf.size()) break;
          continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
        s.closed = true;
        s.error = r == 0 ? "the broker closed the connection" : std::strerror(errno);
        epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
        --open;
        break;
      }
    }
    // Per-second deliveries of the publishing window.
    if (shared.started.load(std::memory_order_acquire) && !stop_seen) {
      const auto start = from_ns(shared.start_ns.load());
      const auto whole = static_cast<std::size_t>(since(start, now));
      while (per_second.size() < whole)
        per_second.push_back(total());  // cumulative for now; turned into deltas below
    }
    if (!stop_seen && shared.stopped.load(std::memory_order_acquire)) {
      stop_seen = true;
      stop_time = now;
      for (auto& s : subs)
        s.at_stop = s.counter.publishes;
    }
    if (since(last_ping, now) >= ping_every.count()) {  // keep-alive (runs longer than 30 s)
      last_ping = now;
      for (auto& s : subs)
        if (!s.closed) (void)!::write(s.fd, kPingreq.data(), kPingreq.size());
    }
    if (stop_seen) {
      const std::uint64_t published = shared.published.load();
      bool all = true, quiet = true;
      for (auto& s : subs) {
        if (s.closed) continue;
        if (s.counter.publishes < published) all = false;
        if (since(s.last_data, now) < o.quiet) quiet = false;
      }
      if (all || open == 0 || since(stop_time, now) >= o.drain ||
          (quiet && since(stop_time, now) >= o.quiet)) {
        end_at = now;
        break;
      }
    }
  }
  for (std::size_t i = per_second.size(); i-- > 1;)
    per_second[i] -= per_second[i - 1];
  close(ep);
  shared.drained = true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"MQTT QoS 0 fan-out load generator: 1 publisher, N subscribers, one topic"};
  app.add_option("--host", o.host, "broker host")->capture_default_str();
  app.add_option("--port", o.port, "broker port")->capture_default_str();
  app.add_option("--subscribers,-n", o.subscribers, "subscribers")->capture_default_str();
  app.add_option("--payload", o.payload, "payload bytes per PUBLISH")->capture_default_str();
  app.add_option("--seconds", o.seconds, "publishing time")->capture_default_str();
  app.add_option("--topic", o.topic, "topic")->capture_default_str();
  app.add_option("--drain", o.drain, "at most this long counting after the publisher stops")
      ->capture_default_str();
  app.add_option("--quiet", o.quiet, "the drain ends once no subscriber read for this long")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "bytes of whole PUBLISH packets per write()")
      ->capture_default_str();
  app.add_option("--keepalive", o.keepalive, "CONNECT keep-alive seconds (PINGREQ every half)")
      ->capture_default_str();
  app.add_option("--nodelay", o.nodelay, "TCP_NODELAY on every socket: 1 or 0")
      ->capture_default_str();
  app.add_option("--setup-timeout", o.setup_timeout, "seconds for each CONNACK and SUBACK")
      ->capture_default_str();
  app.add_option("--client-prefix", o.client_prefix, "client id prefix")->capture_default_str();
  app.add_option("--cpu-pid", o.cpu_pids,
                 "report the CPU these processes used from the first PUBLISH to the drain's end");
  CLI11_PARSE(app, argc, argv);
  if (o.subscribers < 1 || o.payload < 0 || o.seconds <= 0 || o.drain < 0 || o.batch < 1 ||
      o.keepalive < 1 || o.keepalive > 65535 || o.topic.empty() || o.port < 1 || o.port > 65535) {
    fail(1, "bad options");
  }
  std::signal(SIGPIPE, SIG_IGN);

  socklen_t addr_len = 0;
  const sockaddr_storage addr = resolve(o, addr_len);

  // 1. Subscribers.
  std::vector<Subscriber> subs(static_cast<std::size_t>(o.subscribers));
  const std::string pub_packet = publish_packet(o.topic, o.payload);
  const std::size_t expect_remaining = 2 + o.topic.size() + static_cast<std::size_t>(o.payload);
  std::vector<std::string> leftovers(subs.size());
  for (std::size_t i = 0; i < subs.size(); ++i) {
    const std::string id = o.client_prefix + "-sub-" + std::to_string(i);
    auto& s = subs[i];
    s.counter.expect_remaining = expect_remaining;
    std::string buffer;
    s.fd = open_session(o, addr, addr_len, id, buffer);
    write_all_blocking(s.fd, subscribe_packet(o.topic, 1), id);
    std::string suback = read_until(s.fd, buffer, 9, id);
    if (suback.size() < 3 || static_cast<std::uint8_t>(suback[2]) != 0) {
      fail(2, id + ": SUBACK did not grant QoS 0 (return code " +
                  std::to_string(suback.size() < 3 ? -1 : static_cast<std::uint8_t>(suback[2])) +
                  ")");
    }
    leftovers[i] = std::move(buffer);
  }
  // 2. The publisher.
  std::string pub_leftover;
  const int pub = open_session(o, addr, addr_len, o.client_prefix + "-pub", pub_leftover);
  for (std::size_t i = 0; i < subs.size(); ++i) {
    set_nonblocking(subs[i].fd, true);
    if (!leftovers[i].empty()) {
      subs[i].counter.feed(reinterpret_cast<const std::uint8_t*>(leftovers[i].data()),
                           leftovers[i].size());
    }
    subs[i].counter.publishes = 0;  // nothing before the publisher counts
    subs[i].counter.bytes = 0;
  }
  set_nonblocking(pub, true);
  std::fprintf(stderr, "mqtt_fanout: %d subscribers and 1 publisher connected to %s:%d\n",
               o.subscribers, o.host.c_str(), o.port);

  Shared shared;
  std::vector<std::uint64_t> per_second;
  Clock::time_point end_at{};
  std::thread counter([&] { subscriber_loop(o, subs, shared, per_second, end_at); });

  std::string batch;
  const std::size_t per_batch =
      std::max<std::size_t>(1, static_cast<std::size_t>(o.batch) / pub_packet.size());
  for (std::size_t i = 0; i < per_batch; ++i)
    batch += pub_packet;

  std::string publish_error;
  const double cpu0 = report::cpu_seconds(o.cpu_pids);
  const double self0 = report::self_cpu_seconds();
  const auto t0 = Clock::now();
  shared.start_ns = to_ns(t0);
  shared.started.store(true, std::memory_order_release);
  const auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::uint64_t written = 0;  // bytes of PUBLISH packets
  std::size_t off = 0;        // in `batch`
  std::string ping;           // a PINGREQ (keep-alive) still to write, between two batches
  auto last_ping = t0;
  bool time_up = false;
  char sink[4096];
  for (;;) {
    const auto now = Clock::now();
    if (!time_up && now >= deadline) time_up = true;
    // Time is up: finish the packet being written, then stop.
    if (time_up && ping.empty() && off % pub_packet.size() == 0) break;
    if (off == batch.size()) {
      off = 0;
      if (since(last_ping, now) >= o.keepalive / 2.0) {  // runs longer than keep-alive / 2
        last_ping = now;
        ping = kPingreq;
      }
    }
    const char* data = ping.data();
    std::size_t len = ping.size();
    if (ping.empty()) {
      data = batch.data() + off;
      len = (time_up ? off + (pub_packet.size() - off % pub_packet.size()) : batch.size()) - off;
    }
    ssize_t n = ::write(pub, data, len);
    if (n > 0) {
      if (!ping.empty()) {
        ping.erase(0, static_cast<std::size_t>(n));
      } else {
        off += static_cast<std::size_t>(n);
        written += static_cast<std::uint64_t>(n);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      publish_error = std::string("publisher: write failed: ") + std::strerror(errno);
      break;
    }
    pollfd p{pub, POLLOUT | POLLIN, 0};
    int wait_ms = 100;
    if (!time_up) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      wait_ms = std::clamp<int>(static_cast<int>(left.count()) + 1, 1, 100);
    }
    if (::poll(&p, 1, wait_ms) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(pub, sink, sizeof sink);  // PINGRESP, or the broker giving up
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        publish_error = "publisher: the broker closed the connection";
        break;
      }
    }
    if (time_up && since(deadline, Clock::now()) > 5) {
      publish_error = "publisher: could not finish its last packet within 5 s";
      break;
    }
  }
  const auto t1 = Clock::now();
  const std::uint64_t published = written / pub_packet.size();
  shared.published = published;
  shared.stopped.store(true, std::memory_order_release);
  counter.join();
  const double cpu1 = report::cpu_seconds(o.cpu_pids);
  const double self1 = report::self_cpu_seconds();
  (void)!::write(pub, kDisconnect.data(), kDisconnect.size());
  close(pub);
  for (auto& s : subs) {
    if (!s.closed) (void)!::write(s.fd, kDisconnect.data(), kDisconnect.size());
    close(s.fd);
  }

  // 3. The report.
  const double pub_s = since(t0, t1);
  const double span_s = since(t0, end_at);
  std::uint64_t delivered = 0, at_stop = 0, odd = 0, other = 0;
  std::string per_sub = "[", errors = "[";
  bool failed = !publish_error.empty();
  if (!publish_error.empty()) errors += report::json_str(publish_error);
  for (std::size_t i = 0; i < subs.size(); ++i) {
    const auto& s = subs[i];
    delivered += s.counter.publishes;
    at_stop += s.at_stop;
    odd += s.counter.odd_publishes;
    other += s.counter.other;
    per_sub += (i ? "," : "") + std::to_string(s.counter.publishes);
    if (s.closed || s.counter.broken) {
      failed = true;
      errors += std::string(errors.size() > 1 ? "," : "") +
                report::json_str("subscriber " + std::to_string(i) + ": " +
                                 (s.counter.broken ? "malformed Remaining Length" : s.error));
    }
  }
  per_sub += "]";
  errors += "]";
  std::string seconds_list = "[";
  for (std::size_t i = 0; i < per_second.size(); ++i)
    seconds_list += (i ? "," : "") + std::to_string(per_second[i]);
  seconds_list += "]";

  report::Json j;
  j.add("host", report::json_str(o.host));
  j.add("port", std::to_string(o.port));
  j.add("topic", report::json_str(o.topic));
  j.add("subscribers", std::to_string(o.subscribers));
  j.add("payload_bytes", std::to_string(o.payload));
  j.add("packet_bytes", std::to_string(pub_packet.size()));
  j.add("batch_bytes", std::to_string(batch.size()));
  j.add("nodelay", std::to_string(o.nodelay));
  j.add("seconds", report::num(pub_s, "%.3f"));
  j.add("drain_seconds", report::num(span_s - pub_s, "%.3f"));
  j.add("published", std::to_string(published));
  j.add("published_per_s", report::num(published / pub_s, "%.0f"));
  j.add("delivered", std::to_string(delivered));
  j.add("delivered_per_s", report::num(delivered / pub_s, "%.0f"));
  j.add("expected", std::to_string(published * subs.size()));
  j.add("delivered_share", report::num(published ? static_cast<double>(delivered) /
                                                       static_cast<double>(published * subs.size())
                                                 : 0,
                                       "%.4f"));
  j.add("window_delivered", std::to_string(at_stop));
  j.add("window_delivered_per_s", report::num(at_stop / pub_s, "%.0f"));
  j.add("per_subscriber", per_sub);
  j.add("per_second", seconds_list);
  j.add("odd_publishes", std::to_string(odd));
  j.add("other_packets", std::to_string(other));
  if (!o.cpu_pids.empty()) {
    const bool ok = cpu0 >= 0 && cpu1 >= 0;
    j.add("cpu_seconds", ok ? report::num(cpu1 - cpu0, "%.3f") : "null");
    j.add("cpu_percent", ok ? report::num(100 * (cpu1 - cpu0) / span_s, "%.1f") : "null");
  }
  j.add("tool_cpu_seconds", report::num(self1 - self0, "%.3f"));
  j.add("tool_cpu_percent", report::num(100 * (self1 - self0) / span_s, "%.1f"));
  j.add("cpu_span_seconds", report::num(span_s, "%.3f"));
  j.add("errors", errors);
  std::printf("%s\n", j.close().c_str());
  return failed ? 3 : 0;
}
