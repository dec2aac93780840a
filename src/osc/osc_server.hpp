#pragma once
// OscServer: sluiced's OSC gateway socket. One UDP socket bound to HOST:PORT (IPv4, or IPv6
// dual-stack), read by a thread of its own: each datagram is checked against the rate limits
// (the sender's own first, then the overall one, so a flooding sender spends no more than its
// share; excess dropped unread and counted), parsed (parse_packet(); malformed ones counted and
// logged at most once a second) and handed to `on_message` with its messages (bundles
// flattened, in order) and its raw bytes. The thread tracks who sends (SourceTable: a sender
// appears with its first well-formed datagram and is gone after `source_expiry` of silence, or
// at stop()) and reports both through callbacks, so the daemon can advertise one `osc` stream
// per active source. send() writes OSC out through the same socket, so replies come from the
// port peers already know.
//
// Callbacks run on the server's thread, one at a time: they must not block for long (publish
// and return) and must not call stop(). An exception out of one is logged and swallowed.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "osc/osc_message.hpp"
#include "osc/osc_sources.hpp"

namespace sluice::osc {

// "host:port", "[v6 address]:port" or ":port" (host empty: every address). 400 otherwise (no
// port, a port that is not a number 0..65535, a '[' without ']').
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const HostPort&) const = default;
};
Result<HostPort> parse_host_port(std::string_view text);

// Who sent a datagram.
struct OscPacketInfo {
  std::string sender;  // "192.0.2.7:57120", "[2001:db8::7]:57120"
  MonoTime received{};
  std::size_t bytes = 0;
  bool tracked = false;  // a source exists for the sender (false while the table is full)
};

using OscMessageHandler =
    std::function<void(const OscPacketInfo& from, std::vector<OscMessage> messages,
                       std::span<const std::uint8_t> raw)>;
using OscSourceHandler = std::function<void(const OscSource& source)>;

struct OscOptions {
  std::string listen = "0.0.0.0:9000";  // HOST:PORT; port 0: any free port (see port())
  int datagrams_per_second = 5000;      // all senders together; more are dropped
  int datagrams_per_second_per_sender = 1000;
  std::size_t max_sources = 256;  // tracked senders; see SourceTable for the ones beyond
  Duration source_expiry = std::chrono::seconds(30);
  OscMessageHandler on_message;
  OscSourceHandler on_source_appeared;
  OscSourceHandler on_source_gone;
};

// A resolved destination for send(); cheap to copy.
struct OscTarget {
  std::string text;                            // as given, for logs
  alignas(8) unsigned char address[128] = {};  // a sockaddr of the socket's family
  std::uint32_t length = 0;
};

class OscServer {
 public:
  explicit OscServer(OscOptions options);
  ~OscServer();  // stop(), then the socket is closed
  OscServer(const OscServer&) = delete;
  OscServer& operator=(const OscServer&) = delete;

  // Binds and starts the thread. Throws std::invalid_argument for a `listen` parse_host_port()
  // refuses or a rate or source limit below 1, and std::system_error naming HOST:PORT when the
  // host does not resolve or the socket cannot be opened or bound. Once; later calls do nothing.
  void start();
  // Ends the thread, after reporting every tracked source gone. Idempotent; any thread but the
  // server's own (not from a callback).
  void stop();

  std::uint16_t port() const;  // the bound port (after start())

  // `host:port` as an address of the socket's family (an IPv4 one on a dual-stack socket
  // becomes v4-mapped). May block on DNS for a host name: resolve once, send many times. 400
  // for bad text or a host that does not resolve; 503 before start().
  Result<OscTarget> resolve(std::string_view host_port) const;
  // One datagram to `target` (not checked to be OSC; datagram_for() makes them). 400 over
  // kMaxDatagram bytes, 503 before start() or when the system refuses it (counted as
  // send_failed; the detail says why). Any thread, from start() until destruction; never blocks.
  Status send(const OscTarget& target, std::span<const std::uint8_t> datagram);
  // resolve() then send().
  Status send(std::string_view host_port, std::span<const std::uint8_t> datagram);

  struct Counters {
    std::atomic<std::uint64_t> received{0};      // datagrams read
    std::atomic<std::uint64_t> malformed{0};     // not OSC, or over kMaxDatagram bytes
    std::atomic<std::uint64_t> rate_limited{0};  // dropped over a rate limit, unread
    std::atomic<std::uint64_t> messages{0};      // OSC messages handed to on_message
    std::atomic<std::uint64_t> untracked{0};     // datagrams from senders not tracked (table full)
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> send_failed{0};
    std::atomic<std::uint64_t> sources{0};  // tracked now (a gauge)
    std::atomic<std::uint64_t> sources_appeared{0};
    std::atomic<std::uint64_t> sources_gone{0};
  };
  const Counters& counters() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::osc
