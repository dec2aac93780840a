#pragma once
// MdnsWiring: the daemon's mDNS/DNS-SD responder (--mdns, --mdns-interfaces; src/mdns): it
// announces, on UDP 5353,
//   _maestra._tcp  what Maestra's SDKs discover(): TXT api_url (and nats_url with --bus nats://,
//                  mqtt_broker and mqtt_port with --mqtt)
//   _sluice._tcp   the same server for sluice's own tools: TXT api_url, wire, rtmp, rtsp, srt
//   _http._tcp     the web console (TXT path=/)
//   _rtsp._tcp     one per camera alias (rtsp://HOST:PORT/ALIAS; TXT path=/ALIAS)
// under instance names "sluice-<host>-<http port>" (unique per daemon on a host) and the host
// name "sluice-<host>.local". A port 5353 that cannot be bound is logged; the daemon goes on.
// No Asio here.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"

namespace sluice::http {
class PrometheusWriter;
}
namespace sluice::mdns {
class MdnsServer;
struct ServiceInstance;
}  // namespace sluice::mdns

namespace sluice::server {

class MdnsWiring {
 public:
  // The bound ports of the daemon's doors (0: off).
  struct Ports {
    std::uint16_t http = 0, wire = 0, rtmp = 0, rtsp = 0, srt = 0, mqtt = 0;
  };
  explicit MdnsWiring(const Config& config);
  ~MdnsWiring();  // stop()
  // Announces the services for `ports` and the camera aliases (ALIAS → path).
  void start(const Ports& ports, std::vector<std::pair<std::string, std::string>> aliases);
  // The rtsp_aliases setting changed: the _rtsp._tcp instances follow. Any thread.
  void set_rtsp_aliases(std::vector<std::pair<std::string, std::string>> aliases);
  void stop();  // goodbyes; idempotent
  // sluice_mdns_total{event}. Any thread.
  void render_metrics(http::PrometheusWriter& w) const;

 private:
  std::vector<mdns::ServiceInstance> services() const;  // under mutex_

  const Config& config_;
  mutable std::mutex mutex_;
  Ports ports_;
  std::vector<std::pair<std::string, std::string>> aliases_;
  std::string api_host_;  // the address api_url names
  std::string instance_;  // "sluice-<host>-<http port>"
  std::unique_ptr<mdns::MdnsServer> server_;
};

}  // namespace sluice::server
