#pragma once
// IP addresses and CIDR allow-list entries for stream keys, sans I/O (inet_pton, no Asio).
// Every address is kept as 16 bytes: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), an IPv4 rule's
// prefix shifted by 96. So a peer seen as "::ffff:1.2.3.4" (a dual-stack socket) matches the
// rule "1.2.3.0/24" exactly like "1.2.3.4" does.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::keys {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool is_v4() const;             // an IPv4 or IPv4-mapped address
  bool is_loopback() const;       // 127.0.0.0/8 or ::1
  std::string to_string() const;  // dotted quad for IPv4, RFC 5952 text otherwise
};

struct IpNetwork {
  IpAddress address;  // host bits are zero
  int prefix = 128;   // in the 16-byte space (an IPv4 /24 is 120)
  bool contains(const IpAddress& a) const;
  // "1.2.3.0/24", "2001:db8::/32", "10.0.0.7/32" — the canonical form stored in KeyRecord.
  std::string to_string() const;
};

// "1.2.3.4", "::1", "::ffff:1.2.3.4", "[::1]", "fe80::1%eth0" (the zone is ignored). Nothing else.
std::optional<IpAddress> parse_ip(std::string_view text);

// An address (a single host) or "ADDR/PREFIX". On failure `error` says why, e.g. "host bits set
// in 10.1.2.3/8 (did you mean 10.0.0.0/8?)".
std::optional<IpNetwork> parse_ip_rule(std::string_view text, std::string* error = nullptr);

}  // namespace sluice::keys
