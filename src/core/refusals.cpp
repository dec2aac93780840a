#include "core/refusals.hpp"

#include <spdlog/spdlog.h>

namespace sluice {

std::string_view refusal_name(Refusal kind) {
  switch (kind) {
    case Refusal::kHttpAcceptFds:
      return "http_accept_fds";
    case Refusal::kRelayAcceptFds:
      return "relay_accept_fds";
    case Refusal::kMediaAcceptFds:
      return "media_accept_fds";
    case Refusal::kHttpConnections:
      return "http_connections";
    case Refusal::kHttpConnectionsPerAddress:
      return "http_connections_per_address";
    case Refusal::kHttpHeaderTimeout:
      return "http_header_timeout";
    case Refusal::kHttpWriteTimeout:
      return "http_write_timeout";
    case Refusal::kHttpReplyBudget:
      return "http_reply_budget";
    case Refusal::kEventStreams:
      return "event_streams";
    case Refusal::kEventStreamBudget:
      return "event_stream_budget";
    case Refusal::kStreamConfigSize:
      return "stream_config_size";
    case Refusal::kStreamTypes:
      return "stream_types";
    case Refusal::kStreams:
      return "streams";
    case Refusal::kRelayConnections:
      return "relay_connections";
    case Refusal::kRelayConnectionsPerAddress:
      return "relay_connections_per_address";
    case Refusal::kRelayBufferBytes:
      return "relay_buffer_bytes";
    case Refusal::kRelayBufferBudget:
      return "relay_buffer_budget";
    case Refusal::kRelayPartialBudget:
      return "relay_partial_budget";
    case Refusal::kMediaConnections:
      return "media_connections";
    case Refusal::kMediaConnectionsPerAddress:
      return "media_connections_per_address";
    case Refusal::kRtmpHandshakeTimeout:
      return "rtmp_handshake_timeout";
    case Refusal::kMediaReassemblyBudget:
      return "media_reassembly_budget";
    case Refusal::kCount:
      break;
  }
  return "unknown";
}

void Refusals::log(Refusal kind, const std::string& what, std::uint64_t count) {
  if (count == 1) {
    spdlog::warn("refused ({}): {}", refusal_name(kind), what);
  } else {
    spdlog::warn("refused ({}): {} [{} refusals of this kind since the last such line]",
                 refusal_name(kind), what, count);
  }
}

}  // namespace sluice
