#pragma once
// Hosts a real App (the daemon's modules, real sockets) in-process on 127.0.0.1:<ephemeral>,
// with in-memory history, for HTTP-level integration tests. The relay's wire listener is on
// 127.0.0.1 too: an ephemeral port unless the caller names one (to restart on the same port).
#include <thread>

#include "core/config.hpp"
#include "server/app.hpp"

namespace sluice::testing {

class InProcessDaemon {
 public:
  explicit InProcessDaemon(
      std::chrono::seconds ttl = std::chrono::seconds(30),
      std::chrono::milliseconds request_timeout = std::chrono::milliseconds(5000),
      std::uint16_t wire_port = 0) {
    Config c;
    c.http = HostPort{"127.0.0.1", 0};
    c.wire = HostPort{"127.0.0.1", wire_port};
    c.rtmp = HostPort{"127.0.0.1", 0};
    c.rtsp = HostPort{"127.0.0.1", 0};
    c.rtsp_udp_ports = {0, 0};
    c.srt = HostPort{"127.0.0.1", 0};
    c.history = ":memory:";
    c.onvif_enabled = false;  // no WS-Discovery multicast from tests
    c.mdns_enabled = false;   // nor mDNS
    c.osc_enabled = false;
    c.mqtt_enabled = false;
    c.stream_ttl = ttl;
    c.request_timeout = request_timeout;
    c.threads = 2;
    app_ = std::make_unique<server::App>(c);
    port_ = app_->start();
    thread_ = std::thread([this] { app_->run(); });
  }
  ~InProcessDaemon() {
    app_->stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  std::uint16_t wire_port() const { return app_->wire_port(); }
  server::App& app() { return *app_; }

 private:
  std::unique_ptr<server::App> app_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace sluice::testing
