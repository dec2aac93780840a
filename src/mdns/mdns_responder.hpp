#pragma once
// MdnsResponder: what sluiced's Multicast DNS responder (RFC 6762) says about its host name and
// DNS-SD services (RFC 6763), sans I/O. It holds the records — for each service a PTR from
// `_services._dns-sd._udp.local` to its type and from its type to the instance, the instance's
// SRV (port, host name) and TXT (key=value pairs), and an A record of the host name per address —
// and turns a received query into the datagrams to send and where:
//   - a query from port 5353 to the group: its answers by multicast, except those of questions
//     with the unicast-response (QU) bit, which go by unicast to the querier;
//   - a query sent straight to one of our addresses: unicast to the querier;
//   - a legacy unicast query (source port not 5353, RFC 6762 section 6.7): unicast to the querier
//     in one datagram, with the query's ID and questions, no cache-flush bits, TTLs at most 10 s.
// A PTR answer for a service type carries the instance's SRV, TXT and the host's A records as
// additional records (RFC 6763 section 12.1), an SRV answer the A records. Answers the query lists
// as known, with at least half our TTL left, are left out (RFC 6762 section 7.1). Responses,
// queries with a non-zero opcode or rcode, and questions past the 64th are ignored. Each reply
// datagram stays under kMaxResponseBytes where its records allow (more answers: more datagrams;
// additional records that do not fit are dropped). Immutable once made: any thread may use it.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "mdns/dns_message.hpp"

namespace sluice::mdns {

inline constexpr std::uint16_t kMdnsPort = 5353;
inline constexpr Ipv4Address kMdnsGroup = {224, 0, 0, 251};
inline constexpr std::uint32_t kHostRecordTtl = 120;    // A and SRV (RFC 6762 section 10)
inline constexpr std::uint32_t kOtherRecordTtl = 4500;  // PTR and TXT
inline constexpr std::uint32_t kLegacyUnicastMaxTtl = 10;
inline constexpr std::size_t kMaxResponseBytes = 1400;
inline constexpr std::size_t kMaxServices = 64;
inline constexpr std::size_t kMaxAddresses = 32;
inline constexpr std::size_t kMaxTxtBytes = 1000;  // one service's TXT rdata
inline constexpr std::size_t kMaxQuestionsAnswered = 64;

struct ServiceInstance {
  std::string instance;  // "sluice-myhost": one label (may hold spaces and dots), 1..63 bytes
  std::string type;      // "_maestra._tcp"; ".local" may follow
  std::uint16_t port = 0;
  // Written "key=value" in this order; keys are printable ASCII without '='.
  std::vector<std::pair<std::string, std::string>> txt;
};

struct ResponderConfig {
  std::string host_name;               // "sluice-myhost.local" (".local" added when missing)
  std::vector<Ipv4Address> addresses;  // the host's, when a datagram names no link
  std::vector<ServiceInstance> services;
  std::uint16_t mdns_port = kMdnsPort;  // queries from any other port are legacy unicast
};

struct Peer {
  Ipv4Address address{};
  std::uint16_t port = 0;
  bool operator==(const Peer&) const = default;
};

// How a query arrived.
struct Arrival {
  Peer from;
  bool to_group = true;  // addressed to 224.0.0.251, not straight to one of our addresses
  // The host's addresses on the receiving interface: the A records answered there. Empty: every
  // configured address. Not owned; only read during answer().
  std::span<const Ipv4Address> link;
};

struct Outgoing {
  std::vector<std::uint8_t> datagram;
  bool multicast = true;  // to kMdnsGroup:mdns_port on the receiving interface; else to `to`
  Peer to;
};

class MdnsResponder {
 public:
  // 400 naming the problem: a host name or service type that is not a valid name (a type is two
  // labels, "_name._tcp" or "_name._udp"), an empty or over-long instance, a control character in
  // an instance, a TXT key that is empty or holds '=' or non-printable bytes, a TXT pair over 255
  // bytes or a service's TXT over kMaxTxtBytes, two services with the same instance and type, more
  // than kMaxServices services or kMaxAddresses addresses.
  static Result<MdnsResponder> create(ResponderConfig config);

  // The replies to `datagram` (see the top of this file); none for a response or a query we have
  // no answer to. 400 when it is not a well-formed DNS message.
  Result<std::vector<Outgoing>> answer(std::span<const std::uint8_t> datagram,
                                       const Arrival& arrival) const;
  // Every record, unsolicited, by multicast (RFC 6762 section 8.3): sent at start and when the
  // services change, twice a second apart. `link` as in Arrival.
  std::vector<Outgoing> announcement(std::span<const Ipv4Address> link) const;
  // Every record with TTL 0 (RFC 6762 section 10.1), by multicast: sent at shutdown. With a
  // `successor`, only the records it no longer has (the services changed).
  std::vector<Outgoing> goodbye(std::span<const Ipv4Address> link,
                                const MdnsResponder* successor = nullptr) const;

  const Name& host_name() const { return host_; }
  const ResponderConfig& config() const { return config_; }
  // Every record as announced on `link`: enumeration PTRs, each service's PTR, SRV and TXT, then
  // the A records.
  std::vector<Record> records(std::span<const Ipv4Address> link) const;

 private:
  enum class Kind { enumeration, instance_pointer, srv, txt, address };
  struct Entry {
    Record record;
    Kind kind;
    std::size_t service;  // index into config_.services; unused for enumeration and address
  };
  MdnsResponder() = default;
  std::vector<Entry> entries(std::span<const Ipv4Address> link) const;

  ResponderConfig config_;
  Name host_;
  std::vector<Entry> service_entries_;  // all but the A records, in records() order
};

}  // namespace sluice::mdns
