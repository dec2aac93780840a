#include "server/media_wiring.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <system_error>

#include "core/event_loop.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "http/metrics.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "hub/hub.hpp"
#include "keys/key_format.hpp"
#include "keys/key_service.hpp"
#include "media/media_policy.hpp"
#include "media/servers/hls/hls_service.hpp"
#include "media/servers/media_server.hpp"
#include "media/servers/record/record_layout.hpp"
#include "media/servers/record/recorder.hpp"
#include "media/servers/snapshot/snapshot_service.hpp"
#include "media/servers/webrtc/whep_service.hpp"
#include "net/http_server.hpp"
#include "pipeline/pipeline_manager.hpp"
#include "registry/registry.hpp"
#include "server/key_policy.hpp"
#include "server/media_routes.hpp"
#include "server/onvif_wiring.hpp"
#include "server/pipeline_feeds.hpp"
#include "server/pipeline_wiring.hpp"

namespace sluice::server {

namespace {

// Rounded to 3 decimals: 29.97 rather than 29.97002997 (to_json_text writes 30.0 as 30).
double json_number(double v) {
  return std::round(v * 1000) / 1000;
}

// Live paths appear in the registry as `video` streams while they are published.
class RegistryPaths final : public media::PathObserver {
 public:
  RegistryPaths(registry::Registry& registry, std::string host, std::chrono::seconds ttl)
      : registry_(registry),
        host_(std::move(host)),
        interval_(std::min<std::chrono::milliseconds>(std::chrono::seconds(10), ttl / 3)) {}

  void set_ports(std::uint16_t rtmp, std::uint16_t http, std::uint16_t rtsp, std::uint16_t srt) {
    rtmp_port_ = rtmp;
    http_port_ = http;
    rtsp_port_ = rtsp;
    srt_port_ = srt;
  }

  // Media thread, once a second: the bitrates measured now. An entry whose advertised
  // bitrate_kbps is off by more than 10 % (or 50 kbit/s) is advertised again, with the measured
  // figure, at the next sweep (off the media thread: the registry may wait for a remote store).
  void note_bitrates(const std::vector<std::pair<std::string, std::int64_t>>& kbps) {
    std::lock_guard lock(mutex_);
    for (const auto& [name, rate] : kbps) {
      auto it = live_.find(name);
      if (it == live_.end() || rate <= 0) continue;
      auto& config = it->second.request.config;
      const auto* shown = config.if_contains("bitrate_kbps");
      const std::int64_t was = shown && shown->is_int64() ? shown->as_int64() : 0;
      if (std::llabs(rate - was) * 10 > was && std::llabs(rate - was) > 50) {
        config["bitrate_kbps"] = rate;
        it->second.changed = true;
      }
    }
  }

  std::size_t live_count() {
    std::lock_guard lock(mutex_);
    return live_.size();
  }

  void on_publish_start(const media::MediaPath& path) override { advertise(path); }
  void on_description_changed(const media::MediaPath& path) override { advertise(path); }
  void on_publish_end(const media::MediaPath& path) override {
    std::string id;
    {
      std::lock_guard lock(mutex_);
      auto it = live_.find(path.name());
      if (it == live_.end()) return;
      id = it->second.id;
      live_.erase(it);
    }
    if (!id.empty()) (void)registry_.withdraw(id);
  }

  // Heartbeats every live path's entry; advertises again one the registry lost (expired) or
  // never had (unreachable when the path went live). Registry calls happen outside mutex_: they
  // may wait for a remote store, and the media thread takes mutex_ when a path ends.
  void sweep() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<Entry> entries;
    {
      std::lock_guard lock(mutex_);
      if (now - last_sweep_ < interval_) return;
      last_sweep_ = now;
      for (const auto& [name, entry] : live_)
        entries.push_back(entry);
    }
    for (const auto& entry : entries) {
      if (!entry.changed && !entry.id.empty() && registry_.keep_alive(entry.id)) continue;
      auto view = registry_.advertise(entry.request);
      if (!view) continue;  // retried on the next sweep
      if (entry.id != view->stream.id) {
        spdlog::info("media: '{}' advertised in the registry again", entry.request.name);
      }
      std::lock_guard lock(mutex_);
      auto it = live_.find(entry.request.name);
      if (it == live_.end()) continue;
      it->second.id = view->stream.id;
      if (it->second.request.config == entry.request.config) it->second.changed = false;
    }
  }

 private:
  struct Entry {
    std::string id;
    bool changed = false;  // the request differs from what the registry has
    registry::AdvertiseRequest request;
  };

  void advertise(const media::MediaPath& path) {
    const auto& d = path.description();
    const std::string& name = path.name();
    registry::AdvertiseRequest r;
    r.name = name;
    r.stream_type = "video";
    r.publisher_id = "sluice-media";
    r.protocol = "rtmp";
    r.address = host_;
    r.port = rtmp_port_;
    boost::json::object config{
        {"path", name},
        {"rtmp_url", "rtmp://" + host_ + ":" + std::to_string(rtmp_port_) + "/live/" + name},
        {"flv_url",
         "http://" + host_ + ":" + std::to_string(http_port_) + "/live/" + name + ".flv"},
        {"hls_url",
         "http://" + host_ + ":" + std::to_string(http_port_) + "/live/" + name + "/index.m3u8"}};
    if (rtsp_port_ != 0) {
      config["rtsp_url"] = "rtsp://" + host_ + ":" + std::to_string(rtsp_port_) + "/live/" + name;
    }
    if (srt_port_ != 0) {
      config["srt_url"] = "srt://" + host_ + ":" + std::to_string(srt_port_) +
                          "?streamid=#!::r=live/" + name + ",m=request";
    }
    if (!d.video_codec.empty()) config["codec"] = d.video_codec;
    if (d.width > 0 && d.height > 0) {
      config["resolution"] = std::to_string(d.width) + "x" + std::to_string(d.height);
    }
    if (d.fps > 0) config["fps"] = json_number(d.fps);
    // What arrives (measured over 2 s) once known; before that what the publisher declared.
    if (path.measured_bps() > 0) {
      config["bitrate_kbps"] = std::llround(path.measured_bps() / 1000);
    } else if (d.video_kbps > 0 || d.audio_kbps > 0) {
      config["bitrate_kbps"] = std::llround(d.video_kbps + d.audio_kbps);
    }
    if (!d.audio_codec.empty()) config["audio_codec"] = d.audio_codec;
    r.config = std::move(config);
    r.metadata = {{"publisher", path.publisher().remote},
                  {"key_id", path.publisher().key_id},
                  {"encoder", d.encoder}};
    auto view = registry_.advertise(r);
    if (!view) {
      // Kept with no id: the sweep advertises it once the registry can be reached.
      spdlog::warn("media: '{}' not advertised yet: {}", name, view.error().detail);
    }
    std::lock_guard lock(mutex_);
    live_[name] = Entry{view ? view->stream.id : std::string(), false, std::move(r)};
  }

  registry::Registry& registry_;
  std::string host_;
  std::chrono::milliseconds interval_;
  std::uint16_t rtmp_port_ = 0;
  std::uint16_t http_port_ = 0;
  std::uint16_t rtsp_port_ = 0;
  std::uint16_t srt_port_ = 0;
  std::mutex mutex_;
  std::map<std::string, Entry> live_;
  std::chrono::steady_clock::time_point last_sweep_{};
};

}  // namespace

// The first free even/odd UDP pair of the configured range (any free pair for 0). Throws
// std::system_error naming the range when none is free.
std::uint16_t listen_rtsp_udp(media::MediaServer& server, const Config& c) {
  const auto [first, last] = c.rtsp_udp_ports;
  if (first == 0) return server.listen_rtsp_udp(c.rtsp.host, 0);
  std::system_error last_error(std::make_error_code(std::errc::address_in_use));
  for (int port = first + (first % 2); port + 1 <= last; port += 2) {
    try {
      return server.listen_rtsp_udp(c.rtsp.host, static_cast<std::uint16_t>(port));
    } catch (const std::system_error& e) {
      last_error = e;
    }
  }
  throw std::system_error(last_error.code(),
                          "rtsp-udp-ports " + std::to_string(first) + "-" + std::to_string(last) +
                              ": no free even/odd UDP port pair (" + last_error.what() + ")");
}

struct MediaWiring::Impl {
  Impl(const Config& c, keys::KeyService& keys, registry::Registry& registry, hub::Hub& hub,
       std::string host, Refusals* refusals)
      : config(c),
        policy(keys, hub, c.media_webhook),
        paths(registry, host, c.stream_ttl),
        server(options(c, refusals), policy, &paths),
        host(std::move(host)) {}

  static media::HlsServiceOptions hls_options(const Config& c) {
    media::HlsServiceOptions o;
    o.hls.segment_target = c.hls_segment;
    o.hls.variant = media::parse_variant(c.hls_variant).value_or(media::HlsVariant::kLowLatency);
    return o;
  }

  static media::MediaServerOptions options(const Config& c, Refusals* refusals) {
    media::MediaServerOptions o;
    o.hub.takeover = c.rtmp_takeover;
    o.handshake_timeout = c.limits.rtmp_handshake_timeout;
    o.max_connections_per_address = c.limits.media_max_connections_per_address;
    if (c.limits.media_reassembly_budget > 0) {
      o.reassembly_budget = c.limits.media_reassembly_budget;
    }
    o.rtsp.aliases = {c.rtsp_aliases.begin(), c.rtsp_aliases.end()};
    o.srt.passphrase = c.srt_passphrase;
    o.srt.latency_ms = c.srt_latency_ms;
    o.refusals = refusals;
    return o;
  }

  // Bytes per second over the last sweep interval (rtmp_bandwidth_bytes).
  void sample_bandwidth() {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_sample).count();
    if (seconds < 1) return;
    const std::uint64_t in = server.stats().bytes_in;
    const std::uint64_t out = server.stats().bytes_out;
    bandwidth_in = static_cast<double>(in - last_in) / seconds;
    bandwidth_out = static_cast<double>(out - last_out) / seconds;
    last_in = in;
    last_out = out;
    last_sample = now;
  }

  Config config;
  KeyPolicy policy;
  RegistryPaths paths;
  media::MediaServer server;
  std::unique_ptr<media::HlsService> hls;
  std::unique_ptr<media::WhepService> whep;
  std::unique_ptr<media::SnapshotService> snapshots;
  std::unique_ptr<OnvifWiring> onvif;
  mutable std::mutex aliases_mutex;  // guards the two that follow
  std::vector<std::pair<std::string, std::string>> aliases{config.rtsp_aliases};
  AliasListener on_aliases;
  std::unique_ptr<PipelineWiring> pipelines;  // before the server goes: its threads stop first
  std::unique_ptr<media::Recorder> recorder;
  std::string host;  // the advertised host: RTMP URLs when the client's Host header is unusable
  std::atomic<std::uint16_t> rtmp_port{0};
  std::atomic<std::uint16_t> rtsp_port{0};
  std::atomic<std::uint16_t> rtsp_udp_port{0};
  std::atomic<std::uint16_t> srt_port{0};
  std::atomic<std::uint16_t> webrtc_port{0};
  bool bitrates_noted = false;  // the media thread's tick reports bitrates (set once)
  std::atomic<double> bandwidth_in{0};
  std::atomic<double> bandwidth_out{0};
  std::uint64_t last_in = 0;
  std::uint64_t last_out = 0;
  std::chrono::steady_clock::time_point last_sample = std::chrono::steady_clock::now();
  std::mutex sample_mutex;
};

MediaWiring::MediaWiring(const Config& config, keys::KeyService& keys, registry::Registry& registry,
                         hub::Hub& hub, http::Router& router, std::string advertise_host,
                         Refusals* refusals)
    : impl_(std::make_unique<Impl>(config, keys, registry, hub, std::move(advertise_host),
                                   refusals)) {
  add_media_routes(router, impl_->server);
  auto hls = Impl::hls_options(config);
  hls.renditions = [impl = impl_.get()](const std::string& name) {
    return impl->pipelines ? impl->pipelines->hls_renditions(name)
                           : std::vector<media::HlsRendition>{};
  };
  impl_->hls =
      std::make_unique<media::HlsService>(impl_->server, impl_->policy, std::move(hls), router);
  media::WhepServiceOptions whep;
  whep.max_sessions_per_address = config.limits.media_max_connections_per_address;
  whep.transcode_aac = config.webrtc_transcode;
  whep.announce = config.webrtc_hosts.empty()
                      ? media::WhepService::default_announce(config.webrtc_udp.host)
                      : config.webrtc_hosts;
  impl_->whep =
      std::make_unique<media::WhepService>(impl_->server, impl_->policy, std::move(whep), router);
  (void)impl_->whep->set_ice_servers(config.webrtc_ice_servers);  // checked by load_config
  impl_->snapshots = std::make_unique<media::SnapshotService>(impl_->server, impl_->policy, router);
  impl_->pipelines = std::make_unique<PipelineWiring>(impl_->server, router, config.pipelines);
  impl_->pipelines->manager().set_on_health([&hub](const boost::json::object& change) {
    hub.publish("sluice.pipelines.health", to_json_text(change));
  });
  media::RecordingOptions recording;
  recording.dir = !config.record_dir.empty() ? config.record_dir
                  : config.data_dir.empty()  ? std::string()
                                             : config.data_dir + "/recordings";
  recording.on_segment = [&hub](const boost::json::object& segment) {
    hub.publish("sluice.recordings.segment", to_json_text(segment));
  };
  impl_->recorder =
      std::make_unique<media::Recorder>(impl_->server, impl_->policy, std::move(recording), router);
  impl_->pipelines->set_recorder(impl_->recorder.get());
  impl_->pipelines->serve_mjpeg(impl_->policy, router);
  impl_->onvif = std::make_unique<OnvifWiring>(
      impl_->config, impl_->server,
      [impl = impl_.get()](std::string_view path, std::string_view) {
        return impl->policy.keyless(path);
      },
      [impl = impl_.get()] { return impl->rtsp_port.load(); }, router);
}

void MediaWiring::set_pipeline_records(state::Records* records) {
  impl_->pipelines->manager().set_records(records);
}

void MediaWiring::set_pipeline_relay(relay::Relay& relay) {
  impl_->pipelines->set_relay(relay_frame_hook(relay));
}

void MediaWiring::set_pipeline_access(const auth::AccessPolicy& policy) {
  impl_->pipelines->set_access(policy);
}

void MediaWiring::set_record_segment(std::chrono::milliseconds target) {
  impl_->recorder->set_segment(target);
}

void MediaWiring::set_record_part(std::chrono::milliseconds target) {
  impl_->recorder->set_part(target);
}

void MediaWiring::set_record_retention(std::chrono::seconds max_age, std::uint64_t max_bytes) {
  impl_->recorder->set_retention(max_age, max_bytes);
}

Status MediaWiring::set_record_template(const std::string& text) {
  auto layout = media::RecordLayout::parse(text);
  if (!layout) return fail(layout.error());
  impl_->recorder->set_layout(std::move(*layout));
  return {};
}

void MediaWiring::set_record_paths(std::vector<std::string> patterns) {
  impl_->recorder->set_patterns(std::move(patterns));
}

Status MediaWiring::set_camera_setting(const std::string& name, const boost::json::value& value) {
  return impl_->pipelines->set_camera(name, value);
}

void MediaWiring::set_onvif_access(OnvifAccess access) {
  impl_->onvif->set_access(std::move(access));
}

void MediaWiring::set_media_access(MediaAccess check) {
  impl_->policy.set_media_access(std::move(check));
}

void MediaWiring::set_challenges(std::function<std::vector<std::string>()> challenges) {
  impl_->policy.set_challenges(std::move(challenges));
}

void MediaWiring::adopt_rtmp(int fd, std::string peer) {
  impl_->server.adopt_rtmp(fd, std::move(peer));
}

void MediaWiring::adopt_rtsp(int fd, std::string peer) {
  impl_->server.adopt_rtsp(fd, std::move(peer));
}

void MediaWiring::set_limits(const Limits& limits) {
  impl_->server.set_limits(limits);
}

void MediaWiring::set_hls_segment(std::chrono::milliseconds target) {
  impl_->hls->set_segment_target(target);
}

Status MediaWiring::set_webhook(const std::string& url) {
  try {
    impl_->policy.set_webhook(url);
  } catch (const std::invalid_argument& e) {
    return fail(Error::invalid_field({"body", "value"}, std::string("media_webhook: ") + e.what()));
  }
  return {};
}

void MediaWiring::set_takeover(bool takeover) {
  impl_->server.loop().post([this, takeover] { impl_->server.hub().set_takeover(takeover); });
}

MediaWiring::~MediaWiring() {
  stop();
}

void MediaWiring::connect(net::HttpServer& http) {
  media::connect_media_handoff(http, impl_->server);
}

std::uint16_t MediaWiring::start(std::uint16_t http_port) {
  const Config& c = impl_->config;
  if (c.rtmp_enabled) impl_->rtmp_port = impl_->server.listen(c.rtmp.host, c.rtmp.port);
  if (c.srt_enabled) impl_->srt_port = impl_->server.listen_srt(c.srt.host, c.srt.port);
  if (c.webrtc_enabled) {
    impl_->webrtc_port = impl_->server.listen_webrtc(c.webrtc_udp.host, c.webrtc_udp.port);
  }
  if (c.rtsp_enabled) {
    impl_->rtsp_port = impl_->server.listen_rtsp(c.rtsp.host, c.rtsp.port);
    if (c.rtsp_udp_enabled) impl_->rtsp_udp_port = listen_rtsp_udp(impl_->server, c);
  }
  impl_->paths.set_ports(impl_->rtmp_port, http_port, impl_->rtsp_port, impl_->srt_port);
  impl_->onvif->start(http_port);
  if (!impl_->bitrates_noted) {
    impl_->bitrates_noted = true;
    impl_->server.on_tick([impl = impl_.get()] {
      std::vector<std::pair<std::string, std::int64_t>> rates;
      for (const auto* p : impl->server.hub().paths())
        rates.emplace_back(p->name(), std::llround(p->measured_bps() / 1000));
      impl->paths.note_bitrates(rates);
    });
  }
  impl_->server.start();
  impl_->pipelines->start();
  return impl_->rtmp_port;
}

void MediaWiring::stop() {
  impl_->snapshots->stop();
  impl_->recorder->stop();
  impl_->onvif->stop();
  impl_->server.stop();
}

void MediaWiring::sweep() {
  impl_->paths.sweep();
  std::lock_guard lock(impl_->sample_mutex);
  impl_->sample_bandwidth();
}

std::uint16_t MediaWiring::rtmp_port() const {
  return impl_->rtmp_port;
}

boost::json::object MediaWiring::health() const {
  const Config& c = impl_->config;
  auto listener = [](const HostPort& a, std::uint16_t port) -> boost::json::value {
    return port ? boost::json::value(a.host + ":" + std::to_string(port))
                : boost::json::value("off");
  };
  const std::uint16_t udp = impl_->rtsp_udp_port;
  return {{"listeners",
           boost::json::object{
               {"rtmp", listener(c.rtmp, impl_->rtmp_port)},
               {"rtsp", listener(c.rtsp, impl_->rtsp_port)},
               {"srt", listener(c.srt, impl_->srt_port)},
               {"rtsp_udp",
                udp ? boost::json::value(std::to_string(udp) + "-" + std::to_string(udp + 1))
                    : boost::json::value("off")},
           }},
          {"live_paths", impl_->paths.live_count()},
          {"pipelines", impl_->pipelines->manager().health()}};
}

std::uint16_t MediaWiring::rtsp_port() const {
  return impl_->rtsp_port;
}

std::uint16_t MediaWiring::srt_port() const {
  return impl_->srt_port;
}

std::uint16_t MediaWiring::rtsp_udp_port() const {
  return impl_->rtsp_udp_port;
}

Status MediaWiring::set_webrtc_ice_servers(const std::vector<std::string>& servers) {
  return impl_->whep->set_ice_servers(servers);
}

void MediaWiring::set_srt_passphrase(std::string passphrase) {
  impl_->server.set_srt_handshake(std::move(passphrase), std::nullopt);
}

void MediaWiring::set_srt_latency(int latency_ms) {
  impl_->server.set_srt_handshake(std::nullopt, latency_ms);
}

void MediaWiring::set_rtsp_aliases(
    const std::vector<std::pair<std::string, std::string>>& aliases) {
  impl_->server.set_rtsp_aliases({aliases.begin(), aliases.end()});
  AliasListener listener;
  {
    std::lock_guard lock(impl_->aliases_mutex);
    impl_->aliases = aliases;
    listener = impl_->on_aliases;
  }
  if (listener) listener(aliases);
}

std::vector<std::pair<std::string, std::string>> MediaWiring::rtsp_aliases() const {
  std::lock_guard lock(impl_->aliases_mutex);
  return impl_->aliases;
}

void MediaWiring::on_rtsp_aliases(AliasListener listener) {
  std::lock_guard lock(impl_->aliases_mutex);
  impl_->on_aliases = std::move(listener);
}

std::optional<std::string> MediaWiring::rtmp_url(std::string_view request_host) const {
  const std::uint16_t port = impl_->rtmp_port;
  if (port == 0) return std::nullopt;
  const std::string& bound = impl_->config.rtmp.host;
  std::string host;
  if (bound == "0.0.0.0" || bound == "::") {
    host = http::host_of(request_host);
  } else {
    host = bound.find(':') != std::string::npos ? "[" + bound + "]" : bound;
  }
  if (host.empty()) host = impl_->host;
  return "rtmp://" + host + ":" + std::to_string(port) + "/" +
         Impl::options(impl_->config, nullptr).app;
}

void MediaWiring::render_metrics(http::PrometheusWriter& w) const {
  const media::MediaStats& s = impl_->server.stats();
  auto one = [&w](const char* name, const char* type, const char* help, double v) {
    w.header(name, type, help);
    w.sample(name, {}, v);
  };
  one("rtmp_connections_total", "counter", "RTMP connections accepted",
      static_cast<double>(s.connections_total));
  one("rtmp_connections_open", "gauge", "RTMP connections open",
      static_cast<double>(s.connections_open));
  one("rtmp_errors_total", "counter", "RTMP connections closed for a protocol violation",
      static_cast<double>(s.errors_total));
  const auto srt = impl_->server.srt_stats();
  one("sluice_srt_connections_total", "counter", "SRT callers accepted",
      static_cast<double>(srt.connections_total));
  one("sluice_srt_connections_open", "gauge", "SRT callers connected",
      static_cast<double>(srt.open));
  one("sluice_srt_refused_total", "counter",
      "SRT callers refused at the handshake (streamid, key, mode, limit)",
      static_cast<double>(srt.refused));
  one("sluice_srt_bytes_in_total", "counter", "MPEG-TS bytes received from SRT callers",
      static_cast<double>(srt.bytes_in));
  // Per connected caller (at most the SRT connection cap), as libsrt measures its link.
  const auto links = impl_->server.srt_connections();
  auto per_link = [&](const char* name, const char* type, const char* help, auto value) {
    w.header(name, type, help);
    for (const auto& c : links) {
      w.sample(name, {{"connection", c.id}, {"path", c.path}, {"role", c.role}},
               static_cast<double>(value(c.link)));
    }
  };
  using Link = media::SrtLinkStats;
  per_link("sluice_srt_rtt_milliseconds", "gauge", "Round-trip time of each SRT caller's link",
           [](const Link& l) { return l.rtt_ms; });
  per_link("sluice_srt_packets_lost_total", "counter",
           "Packets lost on each SRT caller's link (receiving: detected; sending: reported)",
           [](const Link& l) { return l.packets_lost; });
  per_link("sluice_srt_packets_retransmitted_total", "counter",
           "Packets retransmitted on each SRT caller's link",
           [](const Link& l) { return l.packets_retransmitted; });
  per_link("sluice_srt_packets_dropped_total", "counter",
           "Packets dropped as too late to play on each SRT caller's link",
           [](const Link& l) { return l.packets_dropped; });
  per_link("sluice_srt_buffer_milliseconds", "gauge",
           "Media time held in each SRT caller's receive (publish) or send (play) buffer",
           [](const Link& l) { return l.buffer_ms; });
  per_link("sluice_srt_rate_mbps", "gauge",
           "Receive (publish) or send (play) rate of each SRT caller",
           [](const Link& l) { return l.mbps; });
  w.header("rtmp_bandwidth_bytes", "gauge",
           "Media bytes per second over the last second, RTMP and HTTP-FLV");
  w.sample("rtmp_bandwidth_bytes", {{"direction", "in"}}, impl_->bandwidth_in.load());
  w.sample("rtmp_bandwidth_bytes", {{"direction", "out"}}, impl_->bandwidth_out.load());
  w.header("rtmp_publish_attempts_total", "counter",
           "RTMP publish attempts by outcome: accepted, busy, or the key refusal reason");
  for (const auto& [status, n] : impl_->policy.attempts()) {
    w.sample("rtmp_publish_attempts_total", {{"status", status}}, static_cast<double>(n));
  }
  w.header("sluice_media_bytes_total", "counter", "Media bytes received and sent");
  w.sample("sluice_media_bytes_total", {{"direction", "in"}}, static_cast<double>(s.bytes_in));
  w.sample("sluice_media_bytes_total", {{"direction", "out"}}, static_cast<double>(s.bytes_out));
  if (const auto hook = impl_->policy.webhook()) {
    w.header("sluice_media_webhook_total", "counter", "Media webhook POSTs by outcome");
    w.sample("sluice_media_webhook_total", {{"result", "sent"}}, static_cast<double>(hook->sent()));
    w.sample("sluice_media_webhook_total", {{"result", "failed"}},
             static_cast<double>(hook->failed()));
    w.sample("sluice_media_webhook_total", {{"result", "dropped"}},
             static_cast<double>(hook->dropped()));
  }
  render_path_metrics(w, impl_->server);
  impl_->onvif->render_metrics(w);
  impl_->pipelines->manager().render_metrics(w);
}

}  // namespace sluice::server
