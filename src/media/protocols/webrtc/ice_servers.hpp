#pragma once
// STUN/TURN servers sluiced hands to WebRTC clients (the webrtc_ice_servers setting, the camera's
// `webrtcIceServers`), sans I/O: written as "stun:HOST:PORT" or "turn:USER:PASSWORD@HOST:PORT[?…]"
// (turns: too), given to clients as WHIP/WHEP `Link: <URL>; rel="ice-server"` headers (RFC 9725
// 4.6) and as the camera endpoint's `iceServers` (RTCIceServer: urls, username, credential).
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sluice::media::webrtc {

struct IceServer {
  std::string url;  // without the credentials
  std::string username, credential;
};

// 400 for anything but stun:, turn: or turns: with a host, or quotes, spaces or line breaks.
Result<IceServer> parse_ice_server(std::string_view text);
// The value of one Link header.
std::string link_header_value(const IceServer& server);

}  // namespace sluice::media::webrtc
