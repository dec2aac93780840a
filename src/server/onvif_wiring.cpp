#include "server/onvif_wiring.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "core/ids.hpp"
#include "core/version.hpp"
#include "http/metrics.hpp"
#include "media/servers/media_server.hpp"
#include "media/servers/onvif/onvif_service.hpp"
#include "media/servers/onvif/ws_discovery_server.hpp"

namespace sluice::server {
namespace {

// The namespace of sluiced's WS-Discovery endpoint UUIDs (UUID v5).
constexpr std::string_view kEndpointNamespace = "6f1b2a4e-53c5-4f0e-9d0e-7c1d5a3e9b21";

std::string host_name() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "sluiced";
  return name;
}

}  // namespace

OnvifWiring::OnvifWiring(const Config& config, media::MediaServer& server,
                         std::function<Status(std::string_view, std::string_view)> keyless,
                         std::function<std::uint16_t()> rtsp_port, http::Router& router)
    : config_(config),
      server_(server),
      keyless_(std::move(keyless)),
      access_(std::make_shared<Access>()) {
  if (!config.onvif_enabled) return;
  endpoint_ = "urn:uuid:" + uuid5(kEndpointNamespace, host_name() + "|" + config.data_dir + "|" +
                                                          std::to_string(config.http.port));
  media::OnvifServiceOptions o;
  o.device.firmware = std::string(kVersion);
  o.device.serial = endpoint_.substr(9);
  o.device.hostname = host_name();
  o.rtsp_port = std::move(rtsp_port);
  o.viewer = [access = access_, keyless = keyless_](
                 const media::onvif::UsernameToken* token,
                 std::string_view peer) -> Result<media::OnvifServiceOptions::PlayCheck> {
    if (!*access) return fail(Error::unavailable("ONVIF is starting"));
    auto who = (*access)(token, peer);
    if (!who) return fail(who.error());
    return [may = std::move(*who), keyless, peer = std::string(peer)](std::string_view path) {
      return keyless(path, peer).has_value() && may(path).has_value();
    };
  };
  service_ = std::make_unique<media::OnvifService>(server, std::move(o), router);
}

OnvifWiring::~OnvifWiring() {
  stop();
}

void OnvifWiring::set_access(Access access) {
  *access_ = std::move(access);
}

void OnvifWiring::start(std::uint16_t http_port) {
  if (!config_.onvif_enabled || discovery_) return;
  media::WsDiscoveryOptions o;
  o.interfaces = config_.onvif_interfaces;
  o.http_port = http_port;
  o.endpoint = endpoint_;
  // XAddrs name the address a Probe reached, unless an address was configured for clients.
  if (!config_.wire_advertise_host.empty()) {
    o.announce_host = config_.wire_advertise_host;
  } else if (config_.http.host != "0.0.0.0" && config_.http.host != "::") {
    o.announce_host = config_.http.host;
  }
  auto started = media::WsDiscoveryServer::start(std::move(o));
  if (!started) {
    spdlog::warn("{}; ONVIF clients must be given http://HOST:{}/onvif/device_service",
                 started.error().detail, http_port);
    return;
  }
  discovery_ = std::move(*started);
  spdlog::info("onvif: device service at /onvif/device_service, WS-Discovery on UDP {}",
               discovery_->port());
  if (!ticking_) {
    ticking_ = true;
    server_.on_tick([discovery = discovery_, &server = server_] {
      discovery->set_live_paths(server.hub().size());
    });
  }
}

void OnvifWiring::stop() {
  if (discovery_) discovery_->stop();
}

void OnvifWiring::render_metrics(http::PrometheusWriter& w) const {
  if (!service_) return;
  const auto c = service_->counters();
  w.header("sluice_onvif_requests_total", "counter",
           "ONVIF SOAP requests by outcome: answered, fault (a request it cannot answer), "
           "unauthorized (wrong or missing credentials), malformed (not XML or SOAP, too big)");
  w.sample("sluice_onvif_requests_total", {{"outcome", "answered"}},
           static_cast<double>(c.answered));
  w.sample("sluice_onvif_requests_total", {{"outcome", "fault"}}, static_cast<double>(c.faults));
  w.sample("sluice_onvif_requests_total", {{"outcome", "unauthorized"}},
           static_cast<double>(c.unauthorized));
  w.sample("sluice_onvif_requests_total", {{"outcome", "malformed"}},
           static_cast<double>(c.malformed));
  if (!discovery_) return;
  const auto& d = discovery_->counters();
  w.header("sluice_onvif_discovery_total", "counter",
           "WS-Discovery datagrams: probes received, answered, refused (not a Probe, or over the "
           "answer rate), hellos and byes sent");
  w.sample("sluice_onvif_discovery_total", {{"kind", "probes"}}, static_cast<double>(d.probes));
  w.sample("sluice_onvif_discovery_total", {{"kind", "answered"}}, static_cast<double>(d.answered));
  w.sample("sluice_onvif_discovery_total", {{"kind", "refused"}}, static_cast<double>(d.refused));
  w.sample("sluice_onvif_discovery_total", {{"kind", "hellos"}}, static_cast<double>(d.hellos));
  w.sample("sluice_onvif_discovery_total", {{"kind", "byes"}}, static_cast<double>(d.byes));
}

}  // namespace sluice::server
