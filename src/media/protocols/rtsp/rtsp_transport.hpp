#pragma once
// The RTSP Transport header (RFC 2326 §12.39), sans I/O: the client's offer in SETUP (a
// comma-separated list of transports, in preference order) and the one sluiced answers with.
// sluiced speaks RTP/AVP over TCP interleaved and over UDP unicast; a multicast request is read
// (so it can be refused with 461) but never chosen.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace sluice::media::rtsp {

struct Transport {
  enum class Lower { kUdp, kTcp };
  Lower lower = Lower::kUdp;
  bool multicast = false;
  std::optional<std::pair<int, int>> interleaved;  // TCP channels (RTP, RTCP)
  std::optional<std::pair<int, int>> client_port;  // UDP ports (RTP, RTCP)
  std::optional<std::pair<int, int>> server_port;
  bool record = false;  // mode=record (ANNOUNCE/RECORD)
  std::optional<std::uint32_t> ssrc;

  // As a header value: "RTP/AVP/TCP;unicast;interleaved=0-1" and so on.
  std::string to_string() const;
};

// Every RTP/AVP transport of the header that parses; others (another profile) are left out.
// 400 when none parses.
Result<std::vector<Transport>> parse_transports(std::string_view header);

}  // namespace sluice::media::rtsp
