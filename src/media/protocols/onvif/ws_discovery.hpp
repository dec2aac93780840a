#pragma once
// WS-Discovery (the 2005/04 version ONVIF requires) for the device sluiced shows NVRs, sans I/O:
// a Probe read from a datagram, and the ProbeMatches, Hello and Bye documents sent back. The
// device is a dn:NetworkVideoTransmitter and tds:Device with ONVIF's Profile S scopes; its
// endpoint reference is a stable urn:uuid and its XAddrs the device service's URLs.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice::media::onvif {

inline constexpr std::uint16_t kDiscoveryPort = 3702;
inline constexpr std::string_view kDiscoveryGroup = "239.255.255.250";

struct Probe {
  std::string message_id;          // to be echoed as RelatesTo
  std::vector<std::string> types;  // QNames as written ("dn:NetworkVideoTransmitter")
  // Whether sluiced's device is what the Probe looks for: no types, or a
  // NetworkVideoTransmitter or Device among them (prefixes are not resolved: ONVIF clients
  // write these names with varying prefixes).
  bool wants_device() const;
};

// A Probe; nullopt for another WS-Discovery message (Hello, Bye, ProbeMatches, Resolve: other
// devices' traffic, and our own multicast looped back). 400 for a datagram that is not a SOAP
// Envelope, or a Probe whose MessageID is longer than 256 characters (bounded like every XML
// read).
Result<std::optional<Probe>> parse_probe(std::string_view datagram);

struct DiscoveryTarget {
  std::string endpoint;                // "urn:uuid:…", stable per installation
  std::vector<std::string> xaddrs;     // "http://HOST:PORT/onvif/device_service"
  std::string name;                    // the onvif://www.onvif.org/name/ scope
  std::uint32_t metadata_version = 1;  // raised when the live paths change
  std::uint64_t instance_id = 1;       // AppSequence: the process's start time
  std::uint64_t message_number = 1;    // AppSequence: raised per message sent
};

// `message_id` is the new message's own urn:uuid.
std::string probe_matches(const Probe& probe, const DiscoveryTarget& target,
                          std::string_view message_id);
std::string hello(const DiscoveryTarget& target, std::string_view message_id);
std::string bye(const DiscoveryTarget& target, std::string_view message_id);

}  // namespace sluice::media::onvif
