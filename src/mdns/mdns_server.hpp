#pragma once
// MdnsServer: sluiced's Multicast DNS / DNS-SD responder on UDP 0.0.0.0:5353 (shared with any
// other responder on the host: SO_REUSEADDR and SO_REUSEPORT), on a thread of its own that owns
// the socket. It joins 224.0.0.251 on the named interfaces (default: every IPv4 interface that is
// up and has multicast, and loopback), announces its records on each of them at start and when
// the services change (twice, a second apart), answers queries as MdnsResponder decides — by
// multicast out of the interface the query came in on, or by unicast to the querier (QU
// questions, queries sent straight to us, and legacy unicast queries, RFC 6762 section 6.7, from
// any interface, loopback included) — and says goodbye (TTL 0) at stop(). A query sent straight
// to one of our addresses is answered only when it comes from that interface's subnet or from
// loopback (RFC 6762 section 5.5); at most `answers_per_second` queries a second are answered
// (more are dropped and counted). The set of interfaces and their addresses is read at start().
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "mdns/mdns_responder.hpp"

namespace sluice::mdns {

struct MdnsOptions {
  std::vector<std::string> interfaces;  // names ("lo", "eth0"); empty: every multicast one + lo
  std::uint16_t port = kMdnsPort;       // another port only for tests (peers query from it too)
  std::string host_name;                // empty: "sluice-<gethostname>.local"
  std::vector<ServiceInstance> services;
  int answers_per_second = 200;
  std::chrono::milliseconds announce_gap{1000};  // between the two announcements
};

class MdnsServer {
 public:
  explicit MdnsServer(MdnsOptions options);
  ~MdnsServer();  // stop()
  MdnsServer(const MdnsServer&) = delete;
  MdnsServer& operator=(const MdnsServer&) = delete;

  // Binds the port, joins the group and starts the thread, which announces at once. Throws
  // std::system_error naming the port when the socket cannot be opened or bound, and
  // std::invalid_argument with MdnsResponder's reason for a bad host name or service. An interface
  // that cannot join the group only loses multicast (logged). Once; later calls do nothing.
  void start();
  // Goodbye on every interface (if started), then the thread ends. Idempotent; any thread.
  void stop();
  // Replaces the services: goodbye for the records that go, then two announcements. 400 (and no
  // change) for services MdnsResponder refuses. Any thread; before start() it sets what start()
  // announces.
  Status set_services(std::vector<ServiceInstance> services);

  std::uint16_t port() const;     // the bound port (after start())
  std::string host_name() const;  // as in the options, or "sluice-<gethostname>.local"

  struct Counters {
    std::atomic<std::uint64_t> received{0};      // datagrams read (our own looped back too)
    std::atomic<std::uint64_t> malformed{0};     // not DNS messages (or over 9000 bytes)
    std::atomic<std::uint64_t> ignored{0};       // off-link, or multicast on an interface not ours
    std::atomic<std::uint64_t> answered{0};      // queries we replied to
    std::atomic<std::uint64_t> rate_limited{0};  // queries over answers_per_second, dropped
    std::atomic<std::uint64_t> sent{0};  // datagrams sent (replies, announcements, goodbyes)
    std::atomic<std::uint64_t> send_failed{0};
    std::atomic<std::uint64_t> announcements{0};  // rounds (every interface)
    std::atomic<std::uint64_t> goodbyes{0};
  };
  const Counters& counters() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::mdns
