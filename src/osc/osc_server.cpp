#include "osc/osc_server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "core/log_limiter.hpp"
#include "core/thread_name.hpp"

namespace sluice::osc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kBurst = 64;               // datagrams read per wake-up before housekeeping
constexpr int kReceiveBuffer = 1 << 20;  // SO_RCVBUF asked for, to ride out bursts
constexpr auto kHousekeeping = std::chrono::seconds(1);

// "a.b.c.d:port" or "[v6]:port"; a v4-mapped IPv6 address is written as IPv4.
std::string text_of(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (a.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a);
    inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
  if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
    inet_ntop(AF_INET, &in6.sin6_addr.s6_addr[12], host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in6.sin6_port));
  }
  inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
  return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
}

struct Resolved {
  sockaddr_storage address{};
  socklen_t length = 0;
};

// The first address getaddrinfo gives for `hp`; an error text when there is none.
std::string resolve_into(const HostPort& hp, int family, bool passive, Resolved& out) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags =
      AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) | (family == AF_INET6 ? AI_V4MAPPED | AI_ALL : 0);
  addrinfo* found = nullptr;
  const std::string port = std::to_string(hp.port);
  const int rc =
      ::getaddrinfo(hp.host.empty() ? nullptr : hp.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || !found) return rc != 0 ? ::gai_strerror(rc) : "no address";
  std::memcpy(&out.address, found->ai_addr, found->ai_addrlen);
  out.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return {};
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text) {
  auto bad = [&](std::string why) {
    return fail(Error::bad_request("'" + std::string(text.substr(0, 300)) + "' is not HOST:PORT (" +
                                   std::move(why) + ")"));
  };
  HostPort out;
  std::string_view rest;
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("a '[' without ']'");
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (rest.empty() || rest[0] != ':') return bad("no ':' and port after ']'");
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("an IPv6 address goes in [ ]");
    rest = text.substr(colon);
  }
  const std::string_view digits = rest.substr(1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || port > 65535) {
    return bad("the port is not a number 0..65535");
  }
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

struct OscServer::Impl {
  OscOptions options;
  std::atomic<int> fd{-1};  // set once by start(); send() reads it from any thread
  int wake = -1;
  int family = AF_UNSPEC;
  std::atomic<std::uint16_t> port{0};
  Counters counters;

  std::mutex mutex;
  bool started = false;   // under mutex
  bool stopping = false;  // under mutex
  std::thread thread;

  // The thread's own once it runs.
  std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(kMaxDatagram + 1);
  SourceTable sources;
  RateWindow overall;
  LogLimiter malformed_log;
  LogLimiter rate_log;
  Clock::time_point next_housekeeping;

  ~Impl() {
    if (fd >= 0) ::close(fd);
    if (wake >= 0) ::close(wake);
  }

  template <class F, class... A>
  void call(const F& callback, const char* what, A&&... args) {
    if (!callback) return;
    try {
      callback(std::forward<A>(args)...);
    } catch (const std::exception& e) {
      spdlog::error("osc: the {} callback threw: {}", what, e.what());
    } catch (...) {
      spdlog::error("osc: the {} callback threw", what);
    }
  }

  void gone(std::vector<OscSource> list) {
    for (const auto& s : list) {
      --counters.sources;
      ++counters.sources_gone;
      call(options.on_source_gone, "source gone", s);
    }
  }

  // Reads and handles one datagram; false when there was none to read.
  bool receive() {
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    // MSG_TRUNC: n is the datagram's real size, even when it did not fit.
    const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n < 0) return false;
    ++counters.received;
    const auto now = Clock::now();
    const std::string sender = text_of(from);
    // The sender's own window first, so a flooding sender spends only its share of the overall.
    if (!sources.admit(sender, now) || !overall.take(now)) {
      ++counters.rate_limited;
      if (auto count = rate_log.event(now)) {
        spdlog::warn("osc: {} datagram(s) dropped over the rate limit (latest from {})", count,
                     sender);
      }
      return true;
    }
    // Over kMaxDatagram (possible over IPv6) the buffer holds only a part: refused unread.
    const std::span<const std::uint8_t> raw(buffer.data(),
                                            std::min(static_cast<std::size_t>(n), kMaxDatagram));
    Result<OscPacket> packet =
        n > static_cast<ssize_t>(kMaxDatagram)
            ? fail(Error::bad_request("a datagram of " + std::to_string(n) + " bytes (over " +
                                      std::to_string(kMaxDatagram) + ")"))
            : parse_packet(raw);
    if (!packet) {
      ++counters.malformed;
      if (auto count = malformed_log.event(now)) {
        spdlog::warn("osc: {} malformed datagram(s); the latest from {}: {}", count, sender,
                     packet.error().detail);
      }
      return true;
    }
    if (auto appeared = sources.record(sender, raw.size(), now)) {
      ++counters.sources;
      ++counters.sources_appeared;
      call(options.on_source_appeared, "source appeared", *appeared);
    }
    OscPacketInfo info{sender, now, raw.size(), sources.tracks(sender)};
    if (!info.tracked) ++counters.untracked;
    auto messages = messages_of(std::move(*packet));
    counters.messages += messages.size();
    call(options.on_message, "message", info, std::move(messages), raw);
    return true;
  }

  void run() {
    name_this_thread("sluice-osc");
    for (;;) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(
          std::max(next_housekeeping - Clock::now(), Clock::duration::zero()));
      ::poll(fds, 2, static_cast<int>(wait.count()));
      if (fds[1].revents & POLLIN) {
        std::uint64_t ignored;
        (void)!::read(wake, &ignored, sizeof ignored);
      }
      {
        std::lock_guard lock(mutex);
        if (stopping) break;
      }
      if (fds[0].revents & POLLIN) {
        for (int i = 0; i < kBurst; ++i) {
          if (!receive()) break;  // drained
        }
      }
      if (const auto now = Clock::now(); now >= next_housekeeping) {
        gone(sources.expire(now));
        next_housekeeping = now + kHousekeeping;
      }
    }
    gone(sources.clear());
  }

  void wake_up() const {
    const std::uint64_t one = 1;
    (void)!::write(wake, &one, sizeof one);
  }
};

OscServer::OscServer(OscOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

OscServer::~OscServer() {
  stop();
}

void OscServer::start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  if (s.started) return;
  const OscOptions& o = s.options;
  auto listen = parse_host_port(o.listen);
  if (!listen) throw std::invalid_argument("osc: " + listen.error().detail);
  if (o.datagrams_per_second < 1 || o.datagrams_per_second_per_sender < 1 || o.max_sources < 1) {
    throw std::invalid_argument("osc: rate and source limits must be at least 1");
  }
  auto failed = [&](int code, const std::string& what) {
    if (s.fd >= 0) ::close(s.fd.exchange(-1));
    throw std::system_error(code, std::generic_category(),
                            "osc: cannot " + what + " UDP " + o.listen);
  };
  Resolved local;
  if (auto why = resolve_into(*listen, AF_UNSPEC, true, local); !why.empty()) {
    throw std::system_error(EADDRNOTAVAIL, std::generic_category(),
                            "osc: cannot resolve UDP " + o.listen + " (" + why + ")");
  }
  if (s.wake < 0) s.wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s.wake < 0) failed(errno, "open");
  s.family = local.address.ss_family;
  const int fd = ::socket(s.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) failed(errno, "open");
  s.fd = fd;
  const int zero = 0, buffer = kReceiveBuffer;
  if (s.family == AF_INET6) ::setsockopt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&local.address), local.length) != 0) {
    failed(errno, "bind");
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&bound), &length);
  s.port = ntohs(s.family == AF_INET ? reinterpret_cast<const sockaddr_in&>(bound).sin_port
                                     : reinterpret_cast<const sockaddr_in6&>(bound).sin6_port);
  s.sources =
      SourceTable(SourceLimits{o.max_sources, o.source_expiry, o.datagrams_per_second_per_sender});
  s.overall = RateWindow(o.datagrams_per_second);
  s.next_housekeeping = Clock::now() + kHousekeeping;
  s.started = true;
  s.thread = std::thread([&s] { s.run(); });
  spdlog::info("osc: listening on UDP {} (port {})", o.listen, s.port.load());
}

void OscServer::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->started || impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake_up();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t OscServer::port() const {
  return impl_->port;
}

Result<OscTarget> OscServer::resolve(std::string_view host_port) const {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->started) return fail(Error::unavailable("osc: the server is not started"));
  }
  auto hp = parse_host_port(host_port);
  if (!hp) return std::unexpected(std::move(hp.error()));
  if (hp->host.empty() || hp->port == 0) {
    return fail(Error::bad_request("osc: '" + std::string(host_port) + "' names no host and port"));
  }
  Resolved r;
  if (auto why = resolve_into(*hp, impl_->family, false, r); !why.empty()) {
    return fail(Error::bad_request("osc: cannot resolve '" + hp->host + "': " + why));
  }
  OscTarget target;
  target.text = std::string(host_port);
  std::memcpy(target.address, &r.address, std::min<std::size_t>(r.length, sizeof target.address));
  target.length = r.length;
  return target;
}

Status OscServer::send(const OscTarget& target, std::span<const std::uint8_t> datagram) {
  Impl& s = *impl_;
  if (datagram.size() > kMaxDatagram) {
    return fail(Error::bad_request("osc: a datagram of " + std::to_string(datagram.size()) +
                                   " bytes (over " + std::to_string(kMaxDatagram) + ")"));
  }
  if (s.fd < 0 || target.length == 0) {
    return fail(Error::unavailable("osc: the server is not started"));
  }
  const ssize_t n = ::sendto(s.fd, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(target.address), target.length);
  if (n != static_cast<ssize_t>(datagram.size())) {
    ++s.counters.send_failed;
    return fail(Error::unavailable("osc: cannot send to " + target.text + ": " +
                                   std::strerror(n < 0 ? errno : EMSGSIZE)));
  }
  ++s.counters.sent;
  return {};
}

Status OscServer::send(std::string_view host_port, std::span<const std::uint8_t> datagram) {
  auto target = resolve(host_port);
  if (!target) return std::unexpected(std::move(target.error()));
  return send(*target, datagram);
}

const OscServer::Counters& OscServer::counters() const {
  return impl_->counters;
}

}  // namespace sluice::osc
