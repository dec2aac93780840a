#include "preview/udp_preview.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>

#include "core/thread_name.hpp"

namespace sluice::preview {
namespace {

std::atomic<int> g_open{0};  // previews running, server-wide

// The local IPv4 address the kernel would send from to reach `peer` (no packet is sent).
std::string local_address_towards(std::uint32_t peer) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "127.0.0.1";
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = peer;
  std::string out = "127.0.0.1";
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    char text[INET_ADDRSTRLEN] = {};
    if (::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text)) out = text;
  }
  ::close(fd);
  return out;
}

}  // namespace

Result<std::unique_ptr<UdpPreview>> UdpPreview::open(const std::string& publisher_address,
                                                     int max_rate, OnPacket on_packet) {
  if (g_open.fetch_add(1) >= kMaxPreviews) {
    g_open.fetch_sub(1);
    return fail(Error::unavailable("too many previews at once (" + std::to_string(kMaxPreviews) +
                                   "); try again later"));
  }
  std::unique_ptr<UdpPreview> p(new UdpPreview());
  in_addr peer{};
  if (::inet_pton(AF_INET, publisher_address.c_str(), &peer) == 1) p->publisher_ = peer.s_addr;
  p->address_ = p->publisher_ ? local_address_towards(p->publisher_) : "127.0.0.1";
  p->max_rate_ = max_rate > 0 ? max_rate : 20;
  p->on_packet_ = std::move(on_packet);
  p->fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ::inet_pton(AF_INET, p->address_.c_str(), &any.sin_addr);
  socklen_t len = sizeof any;
  if (p->fd_ < 0 || ::bind(p->fd_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 ||
      ::getsockname(p->fd_, reinterpret_cast<sockaddr*>(&any), &len) != 0 ||
      ::pipe2(p->wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return fail(Error::unavailable("no UDP port for the preview"));  // the destructor frees
  }
  p->port_ = ntohs(any.sin_port);
  p->thread_ = std::thread([raw = p.get()] { raw->run(); });
  return p;
}

UdpPreview::~UdpPreview() {
  if (thread_.joinable()) {
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
  }
  for (int fd : {fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
  g_open.fetch_sub(1);
}

void UdpPreview::run() {
  name_this_thread("preview");
  using Clock = std::chrono::steady_clock;
  const auto gap = std::chrono::microseconds(1'000'000 / max_rate_);
  auto next_allowed = Clock::now();
  std::uint64_t dropped = 0;
  std::array<std::uint8_t, 65536> buffer{};
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) return;
    for (int burst = 0; burst < 256; ++burst) {  // then poll again (the stop pipe)
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) break;
      if (publisher_ && from.sin_addr.s_addr != publisher_) {
        ++dropped;  // not the stream's publisher
        continue;
      }
      const auto now = Clock::now();
      if (now < next_allowed) {
        ++dropped;
        continue;
      }
      next_allowed = now + gap;
      on_packet_(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)),
                 dropped);
      dropped = 0;
    }
  }
}

}  // namespace sluice::preview
