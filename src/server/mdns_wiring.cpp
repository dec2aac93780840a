#include "server/mdns_wiring.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "http/metrics.hpp"
#include "mdns/mdns_server.hpp"

namespace sluice::server {
namespace {

bool wildcard(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

// The first label of the machine's name ("studio" of "studio.lan"), for instance names.
std::string short_host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "host";
  std::string name(buffer);
  name = name.substr(0, name.find('.'));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '-';
  }
  return name.substr(0, 40);
}

// The address api_url names: the HTTP listener's when it is one address, else
// --wire-advertise-host, else the first IPv4 address of the mDNS interfaces that is not
// loopback, else 127.0.0.1 (mDNS on loopback only).
std::string api_host(const Config& config) {
  if (!wildcard(config.http.host)) return config.http.host;
  if (!config.wire_advertise_host.empty()) return config.wire_advertise_host;
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0) return "127.0.0.1";
  std::string found;
  for (ifaddrs* i = all; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP)) continue;
    if (i->ifa_flags & IFF_LOOPBACK) continue;
    const auto& names = config.mdns_interfaces;
    if (!names.empty() && std::find(names.begin(), names.end(), i->ifa_name) == names.end()) {
      continue;
    }
    char text[INET_ADDRSTRLEN] = {};
    const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text)) found = text;
  }
  ::freeifaddrs(all);
  return found.empty() ? "127.0.0.1" : found;
}

// The first URL of --bus nats://… without credentials, or empty.
std::string nats_url(const std::string& bus) {
  if (!bus.starts_with("nats://")) return {};
  std::string first = bus.substr(0, bus.find(','));
  const auto at = first.rfind('@');
  if (at != std::string::npos) first = "nats://" + first.substr(at + 1);
  return first;
}

}  // namespace

MdnsWiring::MdnsWiring(const Config& config) : config_(config) {}

MdnsWiring::~MdnsWiring() {
  stop();
}

std::vector<mdns::ServiceInstance> MdnsWiring::services() const {
  const std::string api_url = "http://" + api_host_ + ":" + std::to_string(ports_.http);
  std::vector<mdns::ServiceInstance> out;
  mdns::ServiceInstance maestra{instance_, "_maestra._tcp", ports_.http, {{"api_url", api_url}}};
  if (auto nats = nats_url(config_.bus); !nats.empty()) maestra.txt.emplace_back("nats_url", nats);
  if (ports_.mqtt) {  // Maestra's SDKs connect to mqtt_broker:mqtt_port
    maestra.txt.emplace_back("mqtt_broker", api_host_);
    maestra.txt.emplace_back("mqtt_port", std::to_string(ports_.mqtt));
  }
  out.push_back(std::move(maestra));
  mdns::ServiceInstance own{instance_, "_sluice._tcp", ports_.http, {{"api_url", api_url}}};
  for (const auto& [key, port] : {std::pair<const char*, std::uint16_t>{"wire", ports_.wire},
                                  {"rtmp", ports_.rtmp},
                                  {"rtsp", ports_.rtsp},
                                  {"srt", ports_.srt}}) {
    if (port) own.txt.emplace_back(key, std::to_string(port));
  }
  out.push_back(std::move(own));
  out.push_back({instance_ + " console", "_http._tcp", ports_.http, {{"path", "/"}}});
  if (ports_.rtsp) {
    for (const auto& [alias, path] : aliases_) {
      if (out.size() >= 48) break;  // the responder's bound is 64 services
      out.push_back(
          {alias + " on " + instance_, "_rtsp._tcp", ports_.rtsp, {{"path", "/" + alias}}});
    }
  }
  return out;
}

void MdnsWiring::start(const Ports& ports,
                       std::vector<std::pair<std::string, std::string>> aliases) {
  std::lock_guard lock(mutex_);
  if (server_) return;
  ports_ = ports;
  aliases_ = std::move(aliases);
  api_host_ = api_host(config_);
  instance_ = "sluice-" + short_host_name() + "-" + std::to_string(ports.http);
  mdns::MdnsOptions options;
  options.interfaces = config_.mdns_interfaces;
  options.host_name = "sluice-" + short_host_name() + ".local";
  options.services = services();
  auto server = std::make_unique<mdns::MdnsServer>(std::move(options));
  try {
    server->start();
  } catch (const std::exception& e) {
    spdlog::warn("mdns: not announcing ({})", e.what());
    return;
  }
  std::string where;
  for (const auto& name : config_.mdns_interfaces)
    where += (where.empty() ? "" : ",") + name;
  spdlog::info("mdns: announcing {} on {} (api_url http://{}:{})", instance_,
               where.empty() ? std::string("every multicast interface") : where, api_host_,
               ports.http);
  server_ = std::move(server);
}

void MdnsWiring::set_rtsp_aliases(std::vector<std::pair<std::string, std::string>> aliases) {
  std::lock_guard lock(mutex_);
  aliases_ = std::move(aliases);
  if (!server_) return;
  if (auto ok = server_->set_services(services()); !ok) {
    spdlog::warn("mdns: the camera aliases are not announced: {}", ok.error().detail);
  }
}

void MdnsWiring::stop() {
  std::unique_ptr<mdns::MdnsServer> server;
  {
    std::lock_guard lock(mutex_);
    server = std::move(server_);
  }
  if (server) server->stop();
}

void MdnsWiring::render_metrics(http::PrometheusWriter& w) const {
  std::lock_guard lock(mutex_);
  if (!server_) return;
  const auto& c = server_->counters();
  w.header("sluice_mdns_total", "counter", "mDNS datagrams and answers by event");
  for (const auto& [event, value] :
       {std::pair<const char*, const std::atomic<std::uint64_t>*>{"received", &c.received},
        {"malformed", &c.malformed},
        {"ignored", &c.ignored},
        {"answered", &c.answered},
        {"rate_limited", &c.rate_limited},
        {"sent", &c.sent},
        {"send_failed", &c.send_failed},
        {"announcements", &c.announcements},
        {"goodbyes", &c.goodbyes}}) {
    w.sample("sluice_mdns_total", {{"event", event}}, static_cast<double>(value->load()));
  }
}

}  // namespace sluice::server
