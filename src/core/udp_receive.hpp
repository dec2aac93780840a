#pragma once
// One IPv4 datagram read with the interface it arrived on (IP_PKTINFO, which the socket must
// have enabled): what multicast responders (mDNS, WS-Discovery) need to answer on the right
// link. Non-blocking; header-only, POSIX.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <span>

namespace sluice {

struct UdpArrival {
  std::size_t size = 0;  // the datagram's real size (may exceed the buffer with MSG_TRUNC)
  sockaddr_in from{};
  in_pktinfo info{};  // ipi_ifindex, ipi_addr (the destination), ipi_spec_dst (our address)
};

// Reads one datagram into `buffer`; nullopt when none is waiting or it is not IPv4. `flags`
// are added to MSG_DONTWAIT (MSG_TRUNC: `size` is the real size, so an oversize one is seen).
inline std::optional<UdpArrival> receive_with_interface(int fd, std::span<char> buffer,
                                                        int flags = 0) {
  UdpArrival a;
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
  msghdr msg{};
  msg.msg_name = &a.from;
  msg.msg_namelen = sizeof a.from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT | flags);
  if (n < 0 || a.from.sin_family != AF_INET) return std::nullopt;
  a.size = static_cast<std::size_t>(n);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      std::memcpy(&a.info, CMSG_DATA(c), sizeof a.info);
    }
  }
  return a;
}

}  // namespace sluice
