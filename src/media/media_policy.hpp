#pragma once
// MediaPolicy: what the media server asks the rest of the daemon — may this publish or play go
// ahead (stream keys, read keys), and who hears about lifecycle events (hub subjects
// `sluice.media.…`, webhooks, metrics). Implemented in server/; called on the media thread and
// must not block for long (the key check is an in-memory lookup today).
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice::media {

struct PublishGrant {
  std::string path;    // the live path the publisher feeds (the key's stream name)
  std::string key_id;  // the key used; never the key itself
};

enum class MediaEventKind {
  kPreConnect,
  kPostConnect,
  kDoneConnect,
  kPrePublish,
  kPostPublish,
  kDonePublish,
  kPrePlay,
  kPostPlay,
  kDonePlay,
};

// "preConnect", "postConnect", ... (the subject's last token).
std::string_view event_name(MediaEventKind kind);

struct MediaEvent {
  MediaEventKind kind = MediaEventKind::kPreConnect;
  std::string client_id;  // connection id, e.g. "rtmp-12"
  std::string protocol;   // "rtmp", "http-flv"
  std::string remote;     // peer address and port
  std::string app;        // RTMP application ("live")
  std::string path;       // live path name, when known
  std::string key_id;     // publish events after the key check
  std::string reason;     // refusals and ends: why
  bool refused = false;   // a pre* event that was refused
};

// What a client presented besides its URL: the Authorization header of its request (RTSP sends
// Basic or Digest there; RTMP and HTTP-FLV players send none) and, for Digest, the request's
// method and URI. Views into the request; valid for the call only.
struct Credentials {
  std::string_view authorization;
  std::string_view method;
  std::string_view uri;
};

class MediaPolicy {
 public:
  virtual ~MediaPolicy() = default;
  // `name` is what the publisher sent as stream name (OBS: the stream key), `query` what followed
  // '?'. Without a key, `credentials` naming a user with media_rw on `name` publish to `name`.
  // Errors carry the status and a detail safe to show the client and to log (no key).
  virtual Result<PublishGrant> authorize_publish(std::string_view app, std::string_view name,
                                                 std::string_view query, std::string_view peer_ip,
                                                 const Credentials& credentials) = 0;
  Result<PublishGrant> authorize_publish(std::string_view app, std::string_view name,
                                         std::string_view query, std::string_view peer_ip) {
    return authorize_publish(app, name, query, peer_ip, Credentials{});
  }
  // `query` may carry `key=READKEY` for private paths; otherwise the identity `credentials`
  // (or `?token=`) name needs media_r on the path.
  virtual Status authorize_play(std::string_view path, std::string_view query,
                                std::string_view peer_ip, const Credentials& credentials) = 0;
  Status authorize_play(std::string_view path, std::string_view query, std::string_view peer_ip) {
    return authorize_play(path, query, peer_ip, Credentials{});
  }
  virtual void on_event(const MediaEvent& event) = 0;
  // The WWW-Authenticate values a 401 to an RTSP client offers (Digest first, then Basic).
  virtual std::vector<std::string> challenges() const { return {"Basic realm=\"sluice\""}; }
};

}  // namespace sluice::media
