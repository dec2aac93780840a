#pragma once
// UdpPreview: one preview of a data stream's UDP packets (GET /streams/{id}/preview, for a stream
// whose publisher opted in with "preview": true in its config). It binds an ephemeral UDP port
// on the address that reaches the publisher, and a thread of its own hands each packet from the
// publisher's address (others are dropped and counted) to `on_packet`, at most `max_rate` a
// second: packets beyond that are dropped and counted (drop-newest; the count rides on the next
// one shown). Server-wide at most kMaxPreviews run at once. The consumer registration that makes
// the publisher send there is the caller's (preview_routes).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "core/error.hpp"

namespace sluice::preview {

inline constexpr int kMaxPreviews = 32;

class UdpPreview {
 public:
  // `packet`, and how many were dropped (rate, or another sender) since the last one shown.
  using OnPacket = std::function<void(std::span<const std::uint8_t> packet, std::uint64_t dropped)>;
  // Binds a port on the local address that routes to `publisher_address` (127.0.0.1 for a
  // publisher on this machine); 503 past kMaxPreviews or when no socket can be had.
  static Result<std::unique_ptr<UdpPreview>> open(const std::string& publisher_address,
                                                  int max_rate, OnPacket on_packet);
  ~UdpPreview();  // stops the thread, closes the socket
  UdpPreview(const UdpPreview&) = delete;
  UdpPreview& operator=(const UdpPreview&) = delete;

  const std::string& address() const { return address_; }  // what the publisher sends to
  std::uint16_t port() const { return port_; }

 private:
  UdpPreview() = default;
  void run();

  int fd_ = -1;
  int wake_[2] = {-1, -1};  // the stop pipe
  std::string address_;
  std::uint16_t port_ = 0;
  std::uint32_t publisher_ = 0;  // IPv4, network order; 0: any sender
  int max_rate_ = 20;
  OnPacket on_packet_;
  std::thread thread_;
};

}  // namespace sluice::preview
