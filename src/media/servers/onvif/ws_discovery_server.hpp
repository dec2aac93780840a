#pragma once
// WsDiscoveryServer: ONVIF's WS-Discovery on UDP (port 3702, group 239.255.255.250), on a thread
// of its own that owns the socket. Probes that reach a named interface — multicast or unicast —
// with a MessageID, for a NetworkVideoTransmitter or Device, are answered with a ProbeMatch whose
// XAddr is the device service on the address the Probe reached (or the announced host); at most 100
// answers a second (more are dropped and counted). When live paths appear a Hello goes to the
// group on every interface (MetadataVersion raised whenever their number changes); when the last
// one ends, and at shutdown, a Bye. Multicast never leaves the named interfaces (default: every
// interface that has multicast); an interface that cannot join or send only loses multicast.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace sluice::media {

struct WsDiscoveryOptions {
  std::vector<std::string> interfaces;  // names ("lo", "eth0"); empty: every multicast one
  std::uint16_t port = 3702;            // 0: any free port (tests)
  std::uint16_t http_port = 0;          // the device service's port, for XAddrs
  std::string announce_host;            // XAddrs' host instead of the interface's address
  std::string endpoint;                 // "urn:uuid:…", stable per installation
  std::string name = "sluiced";         // the name scope
};

class WsDiscoveryServer {
 public:
  // Binds the port and joins the group; 500 naming the port when it cannot bind.
  static Result<std::unique_ptr<WsDiscoveryServer>> start(WsDiscoveryOptions options);
  ~WsDiscoveryServer();  // stop()
  // Bye (when a Hello went out), then the thread ends. Idempotent; any thread.
  void stop();
  WsDiscoveryServer(const WsDiscoveryServer&) = delete;
  WsDiscoveryServer& operator=(const WsDiscoveryServer&) = delete;

  std::uint16_t port() const;
  // The number of live paths now. Any thread.
  void set_live_paths(std::size_t count);

  struct Counters {
    std::atomic<std::uint64_t> probes{0}, answered{0}, refused{0}, hellos{0}, byes{0};
  };
  const Counters& counters() const;

  struct Impl;

 private:
  explicit WsDiscoveryServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::media
