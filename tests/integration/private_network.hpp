#pragma once
// A network namespace of the test binary's own, for tests that send multicast (WS-Discovery,
// mDNS): nothing they send may leave this machine. Call enter_private_network() first thing in
// main(); sluiced and the peers the tests start inherit the namespace and see only its `lo`, up
// and with a 224.0.0.0/4 route. Without the privilege to make one, private_network_error() says
// why and the tests skip.
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sluice::testing {

// Why there is no private network namespace ("" when there is).
inline std::string& private_network_error() {
  static std::string error = "enter_private_network() was not called";
  return error;
}

// Brings `lo` up and routes multicast through it, in the namespace this process is in.
inline std::string loopback_with_multicast() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  std::string error;
  if (::ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) error = "SIOCGIFFLAGS";
  ifr.ifr_flags |= IFF_UP;
  if (error.empty() && ::ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) error = "SIOCSIFFLAGS";
  rtentry route{};
  auto* dst = reinterpret_cast<sockaddr_in*>(&route.rt_dst);
  auto* mask = reinterpret_cast<sockaddr_in*>(&route.rt_genmask);
  dst->sin_family = mask->sin_family = AF_INET;
  inet_pton(AF_INET, "224.0.0.0", &dst->sin_addr);
  inet_pton(AF_INET, "240.0.0.0", &mask->sin_addr);
  route.rt_flags = RTF_UP;
  char dev[] = "lo";
  route.rt_dev = dev;
  if (error.empty() && ::ioctl(fd, SIOCADDRT, &route) != 0) error = "SIOCADDRT";
  if (!error.empty()) error += std::string(": ") + std::strerror(errno);
  ::close(fd);
  return error;
}

// unshare(CLONE_NEWNET), then loopback_with_multicast(); the outcome in private_network_error().
inline void enter_private_network() {
  if (::unshare(CLONE_NEWNET) != 0) {
    private_network_error() = std::string("unshare: ") + std::strerror(errno);
  } else {
    private_network_error() = loopback_with_multicast();
  }
}

}  // namespace sluice::testing
