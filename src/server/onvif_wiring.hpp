#pragma once
// OnvifWiring: the daemon's ONVIF device (--onvif): the device and media services on the HTTP
// port (media/servers/onvif/onvif_service.hpp), WS-Discovery on UDP 3702 on the
// --onvif-interfaces (ws_discovery_server.hpp), told how many paths are live once a second. Who
// may see a profile is the trust issue's rule for playing it: no read key on the path, and the
// caller's identity (a WS-UsernameToken, or anonymous) with media_r on it. Built by MediaWiring;
// no Asio here.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/error.hpp"

namespace sluice::http {
class Router;
class PrometheusWriter;
}  // namespace sluice::http
namespace sluice::media {
class MediaServer;
class WsDiscoveryServer;
class OnvifService;
namespace onvif {
struct UsernameToken;
}
}  // namespace sluice::media

namespace sluice::server {

class OnvifWiring {
 public:
  // The caller's identity from its UsernameToken (null: none) → whether it may play a path
  // (ok, or 401/403). A refused token is an error.
  using Access = std::function<Result<std::function<Status(std::string_view path)>>(
      const media::onvif::UsernameToken* token, std::string_view peer)>;
  // `keyless` says whether a path may be played without a read key; `rtsp_port` the bound RTSP
  // port (0: off). Registers the routes on `router`. All references must outlive the wiring.
  OnvifWiring(const Config& config, media::MediaServer& server,
              std::function<Status(std::string_view path, std::string_view peer)> keyless,
              std::function<std::uint16_t()> rtsp_port, http::Router& router);
  ~OnvifWiring();
  // Call before start().
  void set_access(Access access);
  // Starts WS-Discovery (a port that cannot be bound is logged: the device service still works).
  // XAddrs carry the address the Probe reached, or the HTTP listener's when it is not a
  // wildcard, or --wire-advertise-host when set.
  void start(std::uint16_t http_port);
  void stop();  // Bye, then the discovery thread ends
  // sluice_onvif_requests_total{outcome} and sluice_onvif_discovery_total{kind}. Any thread.
  void render_metrics(http::PrometheusWriter& w) const;

 private:
  const Config& config_;
  media::MediaServer& server_;
  std::function<Status(std::string_view, std::string_view)> keyless_;
  std::shared_ptr<Access> access_;
  std::string endpoint_;  // urn:uuid, stable for a host and HTTP port
  std::unique_ptr<media::OnvifService> service_;
  std::shared_ptr<media::WsDiscoveryServer> discovery_;
  bool ticking_ = false;
};

}  // namespace sluice::server
