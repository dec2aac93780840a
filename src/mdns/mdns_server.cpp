#include "mdns/mdns_server.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "core/udp_receive.hpp"

namespace sluice::mdns {
namespace {

using Clock = std::chrono::steady_clock;

struct Interface {
  std::string name;
  unsigned index = 0;
  Ipv4Address address{};
  Ipv4Address netmask{};
  bool wanted = false;  // named in the options (or, with none named, multicast-capable or lo)
};

Ipv4Address bytes_of(const sockaddr* a) {
  Ipv4Address out{};
  if (a && a->sa_family == AF_INET) {
    std::memcpy(out.data(), &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, 4);
  }
  return out;
}

// Every IPv4 address of an interface that is up, marked as wanted or not.
std::vector<Interface> find_interfaces(const std::vector<std::string>& names) {
  std::vector<Interface> out;
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return out;
  for (ifaddrs* i = all; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP)) continue;
    const bool named = std::find(names.begin(), names.end(), i->ifa_name) != names.end();
    const bool wanted =
        names.empty() ? (i->ifa_flags & (IFF_MULTICAST | IFF_LOOPBACK)) != 0 : named;
    out.push_back(Interface{i->ifa_name, if_nametoindex(i->ifa_name), bytes_of(i->ifa_addr),
                            bytes_of(i->ifa_netmask), wanted});
  }
  freeifaddrs(all);
  return out;
}

std::string text_of(const Ipv4Address& a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
         std::to_string(a[3]);
}

// "sluice-" and the first label of the host's name, letters, digits and '-' only.
std::string default_host_name() {
  char name[256] = {0};
  std::string label = "sluice-";
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return label + "host.local";
  for (const char* c = name; *c && *c != '.' && label.size() < kMaxLabelLength; ++c) {
    const bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                       (*c >= '0' && *c <= '9') || *c == '-';
    label += plain ? *c : '-';
  }
  return label + ".local";
}

}  // namespace

struct MdnsServer::Impl {
  MdnsOptions options;
  int fd = -1;
  int wake = -1;
  std::uint16_t port = 0;
  std::vector<Interface> interfaces;  // every IPv4 one that is up; `wanted` are ours
  Counters counters;

  std::mutex mutex;
  std::optional<MdnsResponder> pending;  // under mutex: set_services' responder, not yet taken
  bool stopping = false;                 // under mutex
  bool started = false;                  // under mutex
  std::thread thread;

  // The thread's own once it runs.
  std::optional<MdnsResponder> responder;
  int announcements_left = 0;
  Clock::time_point next_announcement;
  bool announced = false;
  int tokens = 0;
  Clock::time_point refill;

  ~Impl() {
    if (fd >= 0) ::close(fd);
    if (wake >= 0) ::close(wake);
  }

  ResponderConfig config_with(std::vector<ServiceInstance> services) const {
    ResponderConfig config;
    config.host_name = options.host_name;
    config.mdns_port = options.port;
    config.services = std::move(services);
    for (const auto& i : interfaces) {
      if (i.wanted && config.addresses.size() < kMaxAddresses) {
        config.addresses.push_back(i.address);
      }
    }
    return config;
  }

  // Our addresses on the interface with `index` (any interface when `any`, else only wanted ones).
  std::vector<Ipv4Address> link_of(unsigned index, bool any) const {
    std::vector<Ipv4Address> out;
    for (const auto& i : interfaces) {
      if (i.index == index && (any || i.wanted) && out.size() < kMaxAddresses) {
        out.push_back(i.address);
      }
    }
    return out;
  }

  std::vector<unsigned> wanted_indexes() const {
    std::vector<unsigned> out;
    for (const auto& i : interfaces) {
      if (i.wanted && std::find(out.begin(), out.end(), i.index) == out.end()) {
        out.push_back(i.index);
      }
    }
    return out;
  }

  void send(const Outgoing& o, unsigned index) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    if (o.multicast) {
      ip_mreqn via{};
      via.imr_ifindex = static_cast<int>(index);
      ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via);
      std::memcpy(&to.sin_addr, kMdnsGroup.data(), 4);
      to.sin_port = htons(port);
    } else {
      std::memcpy(&to.sin_addr, o.to.address.data(), 4);
      to.sin_port = htons(o.to.port);
    }
    const ssize_t n =
        ::sendto(fd, o.datagram.data(), o.datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&to), sizeof to);
    (n == static_cast<ssize_t>(o.datagram.size()) ? counters.sent : counters.send_failed)++;
  }

  // An announcement (or goodbye) round on every interface of ours, each with its own addresses.
  void multicast_round(bool goodbye, const MdnsResponder* successor = nullptr) {
    for (const unsigned index : wanted_indexes()) {
      const auto link = link_of(index, false);
      for (const auto& o :
           goodbye ? responder->goodbye(link, successor) : responder->announcement(link)) {
        send(o, index);
      }
    }
    (goodbye ? counters.goodbyes : counters.announcements)++;
  }

  bool take_token() {
    const auto now = Clock::now();
    if (now - refill >= std::chrono::seconds(1)) {
      tokens = options.answers_per_second;
      refill = now;
    }
    if (tokens <= 0) return false;
    --tokens;
    return true;
  }

  bool on_link(const Ipv4Address& source, unsigned index) const {
    if (source[0] == 127) return true;
    return std::any_of(interfaces.begin(), interfaces.end(), [&](const Interface& i) {
      if (i.index != index) return false;
      for (int b = 0; b < 4; ++b) {
        if ((source[b] & i.netmask[b]) != (i.address[b] & i.netmask[b])) return false;
      }
      return true;
    });
  }

  void receive() {
    static thread_local std::vector<char> buffer(kMaxDatagram);
    // MSG_TRUNC: the real size, so an oversize datagram is refused unread.
    const auto arrived = receive_with_interface(fd, buffer, MSG_TRUNC);
    if (!arrived) return;
    const std::size_t n = arrived->size;
    const sockaddr_in& from = arrived->from;
    const in_pktinfo& info = arrived->info;
    ++counters.received;
    if (n > kMaxDatagram) {
      ++counters.malformed;
      spdlog::debug("mdns: a datagram of {} bytes (over {}) from {}", n, kMaxDatagram,
                    text_of(bytes_of(reinterpret_cast<const sockaddr*>(&from))));
      return;
    }
    Arrival arrival;
    std::memcpy(arrival.from.address.data(), &from.sin_addr, 4);
    arrival.from.port = ntohs(from.sin_port);
    arrival.to_group = IN_MULTICAST(ntohl(info.ipi_addr.s_addr));
    const auto index = static_cast<unsigned>(info.ipi_ifindex);
    // Multicast only on our interfaces; a query sent straight to us only from the local link.
    const auto link = link_of(index, !arrival.to_group);
    if (arrival.to_group ? link.empty() : !on_link(arrival.from.address, index)) {
      ++counters.ignored;
      return;
    }
    arrival.link = link;
    auto replies =
        responder->answer({reinterpret_cast<const std::uint8_t*>(buffer.data()), n}, arrival);
    if (!replies) {
      ++counters.malformed;
      spdlog::debug("mdns: {} from {}", replies.error().detail, text_of(arrival.from.address));
      return;
    }
    if (replies->empty()) return;
    if (!take_token()) {
      ++counters.rate_limited;
      return;
    }
    ++counters.answered;
    for (const auto& o : *replies)
      send(o, index);
  }

  // Takes what set_services left: goodbye for what goes, then two announcements.
  void follow_services() {
    std::optional<MdnsResponder> next;
    {
      std::lock_guard lock(mutex);
      next.swap(pending);
    }
    if (!next) return;
    if (announced) multicast_round(true, &*next);
    responder = std::move(next);
    announcements_left = 2;
    next_announcement = Clock::now();
  }

  void run() {
    for (;;) {
      const auto now = Clock::now();
      if (announcements_left > 0 && now >= next_announcement) {
        multicast_round(false);
        announced = true;
        --announcements_left;
        next_announcement = now + options.announce_gap;
      }
      auto wait = std::chrono::milliseconds(1000);
      if (announcements_left > 0) {
        wait = std::clamp(
            std::chrono::ceil<std::chrono::milliseconds>(next_announcement - Clock::now()),
            std::chrono::milliseconds(0), wait);
      }
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
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
        for (int i = 0; i < 64; ++i)
          receive();  // a burst at most, then announcements
      }
      follow_services();
    }
    if (announced) multicast_round(true);
  }

  void wake_up() const {
    const std::uint64_t one = 1;
    (void)!::write(wake, &one, sizeof one);
  }
};

MdnsServer::MdnsServer(MdnsOptions options) : impl_(std::make_unique<Impl>()) {
  if (options.host_name.empty()) options.host_name = default_host_name();
  impl_->options = std::move(options);
}

MdnsServer::~MdnsServer() {
  stop();
}

void MdnsServer::start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  if (s.started) return;
  // The services are checked before any socket exists, so a refused start leaves nothing open.
  if (auto ok = MdnsResponder::create(s.config_with(s.options.services)); !ok) {
    throw std::invalid_argument(ok.error().detail);
  }
  auto failed = [&](const std::string& what) {
    const int code = errno;
    if (s.fd >= 0) ::close(s.fd);
    s.fd = -1;
    throw std::system_error(code, std::generic_category(),
                            "mdns: cannot " + what + " UDP port " + std::to_string(s.options.port));
  };
  if (s.wake < 0) s.wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s.wake < 0) failed("open");
  s.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) failed("open");
  const int one = 1, zero = 0, ttl = 255;  // RFC 6762 section 11: IP TTL 255
  ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  ::setsockopt(s.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  ::setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
  ::setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof one);
  ::setsockopt(s.fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  ::setsockopt(s.fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(s.options.port);
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) failed("bind");
  socklen_t len = sizeof any;
  ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&any), &len);
  s.port = ntohs(any.sin_port);
  if (s.options.port == 0) s.options.port = s.port;
  s.interfaces = find_interfaces(s.options.interfaces);
  for (const auto& wanted : s.options.interfaces) {
    if (std::none_of(s.interfaces.begin(), s.interfaces.end(),
                     [&](const Interface& i) { return i.name == wanted; })) {
      spdlog::warn("mdns: no IPv4 interface '{}' is up; it is left out", wanted);
    }
  }
  for (const unsigned index : s.wanted_indexes()) {
    ip_mreqn join{};
    std::memcpy(&join.imr_multiaddr, kMdnsGroup.data(), 4);
    join.imr_ifindex = static_cast<int>(index);
    if (::setsockopt(s.fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0) {
      char name[IF_NAMESIZE] = {0};
      spdlog::warn(
          "mdns: cannot join 224.0.0.251 on {} ({}); multicast queries there go unanswered",
          if_indextoname(index, name) ? name : "?", std::strerror(errno));
    }
  }
  auto responder = MdnsResponder::create(s.config_with(s.options.services));
  if (!responder) {
    errno = EINVAL;
    failed("announce on");  // not expected: the services passed the check above
  }
  s.responder = std::move(*responder);
  s.announcements_left = 2;
  s.next_announcement = Clock::now();
  s.tokens = s.options.answers_per_second;
  s.refill = Clock::now();
  s.started = true;
  s.thread = std::thread([&s] { s.run(); });
}

void MdnsServer::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->started) return;
    impl_->stopping = true;
  }
  impl_->wake_up();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Status MdnsServer::set_services(std::vector<ServiceInstance> services) {
  std::lock_guard lock(impl_->mutex);
  auto responder = MdnsResponder::create(impl_->config_with(services));
  if (!responder) return std::unexpected(responder.error());
  impl_->options.services = std::move(services);
  if (impl_->started && !impl_->stopping) {
    impl_->pending = std::move(*responder);
    impl_->wake_up();
  }
  return {};
}

std::uint16_t MdnsServer::port() const {
  return impl_->port;
}

std::string MdnsServer::host_name() const {
  return impl_->options.host_name;
}

const MdnsServer::Counters& MdnsServer::counters() const {
  return impl_->counters;
}

}  // namespace sluice::mdns
