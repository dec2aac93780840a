#pragma once
// MediaWiring: the media side of the daemon, built by App from its Config — the RTMP/HTTP-FLV
// media server (media::MediaServer), the policy that checks stream keys and read keys, lifecycle
// events on the hub (`sluice.media.<event>`) and to the optional webhook, registry
// advertisement of live paths as `video` streams, HLS on demand, the /media HTTP routes and the
// rtmp_* metrics. No Asio in this header.
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"

namespace sluice {
class Refusals;
}
namespace sluice::auth {
class AccessPolicy;
}
namespace sluice::hub {
class Hub;
}
namespace sluice::http {
class Router;
class PrometheusWriter;
}  // namespace sluice::http
namespace sluice::keys {
class KeyService;
}
namespace sluice::net {
class HttpServer;
}
namespace sluice::registry {
class Registry;
}
namespace sluice::relay {
class Relay;
}
namespace sluice::state {
class Records;
}
namespace sluice::media::onvif {
struct UsernameToken;
}

namespace sluice::server {

class MediaWiring {
 public:
  // Adds the /media and /live HLS routes to `router` (call before the router is frozen). All
  // references must outlive the wiring.
  // `refusals` (may be null) counts the media server's refusals.
  MediaWiring(const Config& config, keys::KeyService& keys, registry::Registry& registry,
              hub::Hub& hub, http::Router& router, std::string advertise_host,
              Refusals* refusals = nullptr);
  ~MediaWiring();

  // HTTP-FLV requests on the HTTP port go to the media thread.
  void connect(net::HttpServer& http);
  // Binds RTMP (unless disabled) and starts the media thread; returns the RTMP port (0: off).
  // `http_port` goes into the registry entries' HTTP-FLV and HLS URLs.
  std::uint16_t start(std::uint16_t http_port);
  void stop();
  // Registry heartbeats for live paths; call periodically from any thread.
  void sweep();
  void render_metrics(http::PrometheusWriter& w) const;
  // /health's media section: each listener ("HOST:PORT" or "off") and the live paths. Any
  // thread; no wait on the media thread.
  boost::json::object health() const;
  std::uint16_t rtmp_port() const;
  std::uint16_t rtsp_port() const;      // 0 when rtsp = off
  std::uint16_t rtsp_udp_port() const;  // the RTP port of the UDP pair; 0 when off
  std::uint16_t srt_port() const;       // 0 when srt = off
  // The rtsp_aliases setting: from the next RTSP request. Any thread.
  void set_rtsp_aliases(const std::vector<std::pair<std::string, std::string>>& aliases);
  // The aliases in force, and who hears of changes (the mDNS announcements). Any thread.
  std::vector<std::pair<std::string, std::string>> rtsp_aliases() const;
  using AliasListener =
      std::function<void(const std::vector<std::pair<std::string, std::string>>&)>;
  void on_rtsp_aliases(AliasListener listener);
  // The srt_passphrase and srt_latency settings: for SRT callers connecting from now on.
  void set_srt_passphrase(std::string passphrase);
  // Pipelines' relay sources read channels of `relay` (which must outlive the wiring). Before
  // start().
  void set_pipeline_relay(relay::Relay& relay);
  // A new pipeline's sources and renditions are checked against its maker under `policy`.
  void set_pipeline_access(const auth::AccessPolicy& policy);
  // Where pipelines made through the API are kept: the node's own state database (each node runs
  // its own pipelines). Call before start(), which remakes them.
  void set_pipeline_records(state::Records* records);
  // The record_paths setting: live paths whose names match one of these patterns ('*': any
  // run of characters) are recorded. Any thread.
  void set_record_paths(std::vector<std::string> patterns);
  // The record_segment setting (seconds): for recordings started from now on.
  void set_record_segment(std::chrono::milliseconds target);
  void set_record_part(std::chrono::milliseconds target);
  void set_record_retention(std::chrono::seconds max_age, std::uint64_t max_bytes);
  // The record_path_template setting (media/servers/record/record_layout.hpp); 422 naming what
  // is wrong with `text`.
  Status set_record_template(const std::string& text);
  // One of the camera's stream settings (streamResolution, streamFramerate, streamBitrate,
  // videoEncoder, encoderProfile, encoderPreset, streamLatencyMode): applied to the pipelines with
  // a `stream1` rendition. Any thread.
  Status set_camera_setting(const std::string& name, const boost::json::value& value);
  // The webrtc_ice_servers setting: 400 naming an entry that is not a STUN/TURN URL.
  Status set_webrtc_ice_servers(const std::vector<std::string>& servers);
  void set_srt_latency(int latency_ms);
  // Whether the identity a media client presents may play (`write` false) or publish (`write`
  // true, without a stream key) `path`: its Authorization header (RTSP), its ?token= value and
  // its address → ok or 401/403 (the trust issue's media_r / media_rw). Call before start().
  // `method` is the request's (RTSP Digest hashes it; empty for RTMP and HTTP).
  using MediaAccess =
      std::function<Status(std::string_view path, bool write, std::string_view authorization,
                           std::string_view method, std::string_view token, std::string_view peer)>;
  void set_media_access(MediaAccess check);
  // Who may see an ONVIF profile (--onvif): the caller's identity from its WS-UsernameToken
  // (null: none) → whether it may play a path; a wrong token is an error. Read keys are checked
  // here (a path with one is never listed). Call before start().
  using OnvifAccess = std::function<Result<std::function<Status(std::string_view path)>>(
      const media::onvif::UsernameToken* token, std::string_view peer)>;
  void set_onvif_access(OnvifAccess access);
  // The WWW-Authenticate values RTSP offers with a 401 (a fresh Digest challenge, Basic).
  void set_challenges(std::function<std::vector<std::string>()> challenges);
  // Serves an RTMP connection that came through the RTMPS front door. Any thread.
  void adopt_rtmp(int fd, std::string peer);
  // Serves an RTSP connection that came through the RTSPS front door. Any thread.
  void adopt_rtsp(int fd, std::string peer);
  // The rtmp_takeover setting: applies to the next publish. Any thread.
  void set_takeover(bool takeover);
  // The media limits (per-address cap, RTMP handshake deadline). Any thread.
  void set_limits(const Limits& limits);
  // The hls_segment setting: applies to HLS sessions started from now on. Any thread.
  void set_hls_segment(std::chrono::milliseconds target);
  // The media_webhook setting: lifecycle events go to `url` from now on (empty: none); 422 for
  // a URL that is not http://HOST[:PORT][/PATH]. Any thread.
  Status set_webhook(const std::string& url);
  // The RTMP application URL for a client that reached the HTTP API as `request_host` (its Host
  // header, e.g. "cam.example:8080"): "rtmp://HOST:PORT/live" with the bound RTMP port, HOST
  // being the RTMP address, or the host the client used when RTMP listens on every interface.
  // nullopt while RTMP is off (or before start()). Thread-safe.
  std::optional<std::string> rtmp_url(std::string_view request_host) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::server
