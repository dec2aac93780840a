#include "keys/ip_rules.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace sluice::keys {
namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Longest text inet_pton is given; real addresses are shorter ("ffff:…:255.255.255.255" is 45).
constexpr std::size_t kMaxAddressText = 64;

}  // namespace

bool IpAddress::is_v4() const {
  return std::memcmp(bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

bool IpAddress::is_loopback() const {
  if (is_v4()) return bytes[12] == 127;
  for (int i = 0; i < 15; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[15] == 1;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

bool IpNetwork::contains(const IpAddress& a) const {
  int full = prefix / 8;
  if (std::memcmp(a.bytes.data(), address.bytes.data(), static_cast<std::size_t>(full)) != 0) {
    return false;
  }
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (address.bytes[full] & mask);
}

std::string IpNetwork::to_string() const {
  int shown = address.is_v4() && prefix >= 96 ? prefix - 96 : prefix;
  return address.to_string() + "/" + std::to_string(shown);
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (auto pct = text.find('%'); pct != std::string_view::npos) {
    if (text.find(':') == std::string_view::npos) return std::nullopt;  // zones are IPv6 only
    text = text.substr(0, pct);
  }
  if (text.empty() || text.size() > kMaxAddressText) return std::nullopt;
  std::string z(text);  // inet_pton needs a terminated string
  IpAddress a;
  unsigned char v4[4];
  if (inet_pton(AF_INET, z.c_str(), v4) == 1) {
    std::memcpy(a.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
    std::memcpy(a.bytes.data() + 12, v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, z.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<IpNetwork> parse_ip_rule(std::string_view text, std::string* error) {
  auto say = [error](std::string why) {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  std::string_view addr_text = text;
  std::optional<int> prefix_given;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    std::string_view p = text.substr(slash + 1);
    int n = -1;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (p.empty() || p.size() > 3 || ec != std::errc{} || end != p.data() + p.size()) {
      return say("bad prefix length in '" + std::string(text.substr(0, 80)) + "'");
    }
    prefix_given = n;
  }
  if (addr_text.find('%') != std::string_view::npos) {
    return say("zone ids are not allowed in '" + std::string(text.substr(0, 80)) + "'");
  }
  auto address = parse_ip(addr_text);
  if (!address) {
    return say("'" + std::string(text.substr(0, 80)) + "' is not an IP address or CIDR");
  }
  bool v4_text = addr_text.find(':') == std::string_view::npos;
  int max = v4_text ? 32 : 128;
  int prefix = prefix_given.value_or(max);
  if (prefix < 0 || prefix > max) {
    return say("prefix length of '" + std::string(text.substr(0, 80)) + "' must be 0.." +
               std::to_string(max));
  }
  IpNetwork net{*address, v4_text ? prefix + 96 : prefix};
  IpNetwork masked = net;
  for (int bit = net.prefix; bit < 128; ++bit) {
    masked.address.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
  }
  if (masked.address.bytes != net.address.bytes) {
    return say("host bits set in '" + std::string(text) + "' (did you mean " + masked.to_string() +
               "?)");
  }
  return net;
}

}  // namespace sluice::keys
