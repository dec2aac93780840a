#include "media/servers/onvif/ws_discovery_server.hpp"

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
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/ids.hpp"
#include "core/udp_receive.hpp"
#include "media/protocols/onvif/ws_discovery.hpp"

namespace sluice::media {
namespace {

constexpr int kAnswersPerSecond = 100;

struct Interface {
  std::string name;
  unsigned index = 0;
  in_addr address{};
};

std::vector<Interface> find_interfaces(const std::vector<std::string>& names) {
  std::vector<Interface> out;
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return out;
  for (ifaddrs* i = all; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP)) continue;
    const bool named = std::find(names.begin(), names.end(), i->ifa_name) != names.end();
    if (names.empty() ? !(i->ifa_flags & IFF_MULTICAST) : !named) continue;
    out.push_back(Interface{i->ifa_name, if_nametoindex(i->ifa_name),
                            reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr});
  }
  freeifaddrs(all);
  return out;
}

std::string text_of(in_addr a) {
  char text[INET_ADDRSTRLEN] = {0};
  inet_ntop(AF_INET, &a, text, sizeof text);
  return text;
}

}  // namespace

struct WsDiscoveryServer::Impl {
  WsDiscoveryOptions options;
  int fd = -1;
  int wake = -1;
  std::uint16_t port = 0;
  std::vector<Interface> interfaces;
  Counters counters;
  onvif::DiscoveryTarget target;  // the thread's own once it runs

  std::mutex mutex;
  std::size_t live_paths = 0;  // under mutex: what set_live_paths said last
  bool stopping = false;       // under mutex
  std::thread thread;

  std::size_t announced = 0;  // the thread's: live paths when it last sent a Hello
  bool said_hello = false;
  int tokens = kAnswersPerSecond;
  std::chrono::steady_clock::time_point refill = std::chrono::steady_clock::now();

  ~Impl() {
    if (fd >= 0) ::close(fd);
    if (wake >= 0) ::close(wake);
  }

  std::string xaddr(in_addr local) const {
    const std::string host = options.announce_host.empty() ? text_of(local) : options.announce_host;
    return "http://" + host + ":" + std::to_string(options.http_port) + "/onvif/device_service";
  }

  void send_to(const std::string& datagram, const sockaddr_in& to) {
    ::sendto(fd, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

  // A Hello or Bye to the group on every interface, each naming that interface's address.
  void announce(bool hello) {
    sockaddr_in group{};
    group.sin_family = AF_INET;
    group.sin_port = htons(onvif::kDiscoveryPort);
    inet_pton(AF_INET, std::string(onvif::kDiscoveryGroup).c_str(), &group.sin_addr);
    for (const auto& i : interfaces) {
      ip_mreqn via{};
      via.imr_address = i.address;
      via.imr_ifindex = static_cast<int>(i.index);
      if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via) != 0) continue;
      target.xaddrs = {xaddr(i.address)};
      ++target.message_number;
      const std::string id = "urn:uuid:" + new_uuid4();
      send_to(hello ? onvif::hello(target, id) : onvif::bye(target, id), group);
    }
    (hello ? counters.hellos : counters.byes)++;
  }

  void follow_paths() {
    std::size_t now;
    {
      std::lock_guard lock(mutex);
      now = live_paths;
    }
    if (now == announced) return;
    if (now > 0) {
      ++target.metadata_version;
      announce(true);
      said_hello = true;
    } else if (said_hello) {
      announce(false);
      said_hello = false;
    }
    announced = now;
  }

  bool take_token() {
    const auto now = std::chrono::steady_clock::now();
    if (now - refill >= std::chrono::seconds(1)) {
      tokens = kAnswersPerSecond;
      refill = now;
    }
    if (tokens <= 0) return false;
    --tokens;
    return true;
  }

  void receive() {
    static thread_local std::string buffer(64 * 1024 + 1, '\0');
    const auto arrived = receive_with_interface(fd, buffer);
    if (!arrived || arrived->size == 0) return;
    const std::size_t n = arrived->size;
    const sockaddr_in& from = arrived->from;
    const in_pktinfo& info = arrived->info;
    // Only Probes that reach a named interface, multicast or unicast: answers never go where the
    // operator did not ask for discovery (nor serve as an amplifier there).
    auto it = std::find_if(interfaces.begin(), interfaces.end(), [&](const Interface& i) {
      return static_cast<int>(i.index) == info.ipi_ifindex;
    });
    if (it == interfaces.end()) return;
    const in_addr local =
        IN_MULTICAST(ntohl(info.ipi_addr.s_addr)) ? it->address : info.ipi_spec_dst;
    auto parsed = onvif::parse_probe(std::string_view(buffer.data(), n));
    if (!parsed) {
      ++counters.refused;
      spdlog::debug("ws-discovery: {} from {}", parsed.error().detail, text_of(from.sin_addr));
      return;
    }
    if (!*parsed) return;  // a Hello, Bye or ProbeMatch of someone's (or ours, looped back)
    ++counters.probes;
    const onvif::Probe* probe = &**parsed;
    if (!probe->wants_device() || probe->message_id.empty()) return;
    if (!take_token()) {
      ++counters.refused;
      return;
    }
    target.xaddrs = {xaddr(local)};
    ++target.message_number;
    send_to(onvif::probe_matches(*probe, target, "urn:uuid:" + new_uuid4()), from);
    ++counters.answered;
  }

  void run() {
    for (;;) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
      ::poll(fds, 2, 1000);
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
          receive();  // a burst at most, then announcements get their turn
      }
      follow_paths();
    }
    if (said_hello) announce(false);
  }

  void wake_up() const {
    const std::uint64_t one = 1;
    (void)!::write(wake, &one, sizeof one);
  }
};

Result<std::unique_ptr<WsDiscoveryServer>> WsDiscoveryServer::start(WsDiscoveryOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  auto failed = [&](const std::string& what) {
    return fail(Error{500,
                      "onvif: WS-Discovery cannot " + what + " UDP port " +
                          std::to_string(impl->options.port) + ": " + std::strerror(errno),
                      {}});
  };
  impl->fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  impl->wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->fd < 0 || impl->wake < 0) return failed("open");
  const int one = 1, zero = 0;
  ::setsockopt(impl->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(impl->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  ::setsockopt(impl->fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(impl->options.port);
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(impl->fd, reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
    return failed("bind");
  }
  socklen_t len = sizeof any;
  ::getsockname(impl->fd, reinterpret_cast<sockaddr*>(&any), &len);
  impl->port = ntohs(any.sin_port);
  impl->interfaces = find_interfaces(impl->options.interfaces);
  for (const auto& wanted : impl->options.interfaces) {
    if (std::none_of(impl->interfaces.begin(), impl->interfaces.end(),
                     [&](const Interface& i) { return i.name == wanted; })) {
      spdlog::warn("onvif: no IPv4 interface '{}' is up; WS-Discovery leaves it out", wanted);
    }
  }
  for (const auto& i : impl->interfaces) {
    ip_mreqn join{};
    inet_pton(AF_INET, std::string(onvif::kDiscoveryGroup).c_str(), &join.imr_multiaddr);
    join.imr_address = i.address;
    join.imr_ifindex = static_cast<int>(i.index);
    if (::setsockopt(impl->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0) {
      spdlog::warn("onvif: cannot join {} on {} ({}); Probes sent there go unanswered",
                   onvif::kDiscoveryGroup, i.name, std::strerror(errno));
    }
  }
  impl->target.endpoint = impl->options.endpoint;
  impl->target.name = impl->options.name;
  impl->target.metadata_version = 0;
  impl->target.instance_id =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<WsDiscoveryServer>(new WsDiscoveryServer(std::move(impl)));
}

WsDiscoveryServer::WsDiscoveryServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsDiscoveryServer::~WsDiscoveryServer() {
  stop();
}

void WsDiscoveryServer::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake_up();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t WsDiscoveryServer::port() const {
  return impl_->port;
}

void WsDiscoveryServer::set_live_paths(std::size_t count) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->live_paths = count;
  }
  impl_->wake_up();
}

const WsDiscoveryServer::Counters& WsDiscoveryServer::counters() const {
  return impl_->counters;
}

}  // namespace sluice::media
