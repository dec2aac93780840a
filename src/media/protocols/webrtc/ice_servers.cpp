#include "media/protocols/webrtc/ice_servers.hpp"

namespace sluice::media::webrtc {

Result<IceServer> parse_ice_server(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view scheme = text.substr(0, colon == std::string_view::npos ? 0 : colon);
  if (scheme != "stun" && scheme != "turn" && scheme != "turns") {
    return fail(Error::bad_request("an ICE server is a stun:, turn: or turns: URL"));
  }
  if (text.size() > 512 || text.find_first_of("\"' \r\n<>,;") != std::string_view::npos) {
    return fail(Error::bad_request("an ICE server URL may not hold quotes, spaces or separators"));
  }
  std::string_view rest = text.substr(colon + 1);
  IceServer s;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    const auto split = credentials.find(':');
    if (scheme == "stun" || split == std::string_view::npos || split == 0) {
      return fail(Error::bad_request("TURN credentials are written turn:USER:PASSWORD@HOST:PORT"));
    }
    s.username = std::string(credentials.substr(0, split));
    s.credential = std::string(credentials.substr(split + 1));
    rest = rest.substr(at + 1);
  }
  if (rest.empty() || rest.front() == '?' || rest.front() == ':') {
    return fail(Error::bad_request("an ICE server URL names a host"));
  }
  s.url = std::string(scheme) + ":" + std::string(rest);
  return s;
}

std::string link_header_value(const IceServer& s) {
  std::string v = "<" + s.url + ">; rel=\"ice-server\"";
  if (!s.username.empty()) {
    v += "; username=\"" + s.username + "\"; credential=\"" + s.credential +
         "\"; credential-type=\"password\"";
  }
  return v;
}

}  // namespace sluice::media::webrtc
