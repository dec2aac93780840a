#pragma once
// WhepService: WebRTC playback over HTTP (WHEP, RFC 9725) and the C Pro camera's offer endpoint.
//   POST   /live/{name}/whep        SDP offer in, 201 with the SDP answer and Location
//   DELETE /live/{name}/whep/{id}   ends that session
//   PATCH  /live/{name}/whep/{id}   trickled candidates: 204 (ICE-lite needs none of them)
//   POST   /api/webrtc/offer        the camera's JSON {type, sdp} (any Content-Type, `?path=`)
//   POST   /live/{name}/whip        publishes (a stream key as Authorization: Bearer)
// Configured STUN/TURN servers go to clients as Link headers and the camera answer's iceServers.
// Play rights are the same as every other door's (MediaPolicy::authorize_play: read keys as
// `?key=`, identities from Authorization). The answer's host candidates are the announced
// addresses on the shared WebRTC UDP port (media/servers/webrtc/webrtc_server.hpp); sessions
// live on the media thread (webrtc_session.hpp). The DTLS certificate is made once per process.
#include <memory>

#include <string>
#include <vector>
#include "core/error.hpp"

namespace sluice::http {
class Router;
}

namespace sluice::media {

class MediaServer;
class MediaPolicy;

struct WhepServiceOptions {
  std::vector<std::string> announce;    // host candidate addresses (never a wildcard)
  std::string camera_path = "stream1";  // /api/webrtc/offer without ?path=
  // AAC paths' audio reaches WebRTC viewers transcoded to Opus (webrtc-transcode); off: they get
  // the video only, with a logged note.
  bool transcode_aac = true;
  // WebRTC sessions at once, and from one client address (media-max-connections-per-address);
  // an offer past either is refused with 503 (a session that never completes its handshake is
  // gone after 20 s).
  std::size_t max_sessions = 1024;
  std::size_t max_sessions_per_address = 64;
};

class WhepService {
 public:
  // Registers the routes and a media-thread tick on `media` (before it starts); the WebRTC port
  // is media.webrtc() (503 while it is off). All references must outlive the service.
  WhepService(MediaServer& media, MediaPolicy& policy, WhepServiceOptions options,
              http::Router& router);
  ~WhepService();

  // The addresses announced when none are configured: `bound` unless it is a wildcard, else
  // every interface's IPv4 addresses (loopback last).
  static std::vector<std::string> default_announce(const std::string& bound);

  // The STUN/TURN servers handed to clients from now on (webrtc_ice_servers): 400 naming the
  // first entry that is not one, and nothing changes. Any thread.
  Status set_ice_servers(const std::vector<std::string>& servers);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::media
