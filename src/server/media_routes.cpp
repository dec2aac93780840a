#include "server/media_routes.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <map>

#include "core/event_loop.hpp"
#include "core/json_text.hpp"
#include "core/time_format.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "keys/key_format.hpp"
#include "media/servers/media_server.hpp"
#include "media/servers/webrtc/webrtc_server.hpp"

namespace sluice::server {

namespace {

namespace json = boost::json;

template <class Fn>
auto on_media_thread(media::MediaServer& media, Fn fn) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  return call_on_loop(media.loop(), fn,
                      [deadline] { return std::chrono::steady_clock::now() > deadline; });
}

http::HttpResponse unavailable() {
  return http::error_response(Error::unavailable("the media server is stopping or not answering"));
}

json::object srt_json(const media::SrtLinkStats& s) {
  return {{"rtt_ms", s.rtt_ms},
          {"packets_lost", s.packets_lost},
          {"packets_retransmitted", s.packets_retransmitted},
          {"packets_dropped", s.packets_dropped},
          {"buffer_ms", s.buffer_ms},
          {"mbps", s.mbps},
          {"bandwidth_mbps", s.bandwidth_mbps}};
}

json::object path_json(const media::MediaPath& p) {
  const auto& d = p.description();
  const auto& c = p.counters();
  json::array readers;
  std::uint64_t bytes_out = c.bytes_out;
  std::uint64_t dropped = c.dropped;
  json::object by_protocol;
  for (const media::MediaSink* sink : p.readers()) {
    const media::ReaderInfo r = sink->reader_info();
    bytes_out += r.bytes_out;
    dropped += r.dropped;
    json::object reader{{"id", r.id},
                        {"kind", r.kind},
                        {"remote", r.remote},
                        {"bytes_out", r.bytes_out},
                        {"packets_out", r.packets_out},
                        {"dropped", r.dropped},
                        {"queued", r.queued}};
    if (!r.transport.empty()) reader["transport"] = r.transport;
    if (!r.reception.empty()) {
      json::array tracks;
      for (const auto& t : r.reception) {
        tracks.push_back(json::object{{"track", t.track},
                                      {"fraction_lost", t.fraction_lost},
                                      {"cumulative_lost", t.cumulative_lost},
                                      {"jitter_ms", t.jitter_ms}});
      }
      reader["reception"] = std::move(tracks);
    }
    if (r.srt) reader["srt"] = srt_json(*r.srt);
    if (r.webrtc) {
      json::object w{{"state", r.webrtc->state},
                     {"nacks", r.webrtc->nacks},
                     {"retransmitted", r.webrtc->retransmitted},
                     {"plis", r.webrtc->plis},
                     {"bitrate_kbps", r.webrtc->bitrate_kbps}};
      if (r.webrtc->remb_bps) w["remb_bps"] = *r.webrtc->remb_bps;
      if (r.webrtc->rtt_ms) w["rtt_ms"] = *r.webrtc->rtt_ms;
      if (r.webrtc->delivered_bps) w["delivered_bps"] = *r.webrtc->delivered_bps;
      if (r.webrtc->transport_loss) w["transport_loss"] = *r.webrtc->transport_loss;
      reader["webrtc"] = std::move(w);
    }
    readers.push_back(std::move(reader));
    auto& n = by_protocol[r.kind];
    n = n.is_int64() ? n.as_int64() + 1 : 1;
  }
  const auto& pub = p.publisher();
  json::object publisher{
      {"id", pub.id}, {"remote", pub.remote}, {"key_id", pub.key_id}, {"protocol", pub.protocol}};
  if (const auto* handle = p.publisher_handle()) {
    if (auto link = handle->srt_link()) publisher["srt"] = srt_json(*link);
  }
  return json::object{
      {"name", p.name()},
      {"publisher", std::move(publisher)},
      {"started_at", format_timestamp(p.started_at())},
      {"video_codec", d.video_codec},
      {"audio_codec", d.audio_codec},
      {"width", d.width},
      {"height", d.height},
      {"fps", d.fps == static_cast<int>(d.fps) ? json::value(static_cast<int>(d.fps))
                                               : json::value(d.fps)},
      {"bitrate_kbps", std::llround(p.measured_bps() / 1000)},
      {"encoder", d.encoder},
      {"bytes_in", c.bytes_in},
      {"packets_in", c.packets_in},
      {"video_frames", c.video_frames},
      {"keyframes", c.keyframes},
      {"bytes_out", bytes_out},
      {"dropped", dropped},
      {"gop_cache_bytes", p.gop_bytes()},
      {"reader_count", p.readers().size()},
      {"readers_by_protocol", std::move(by_protocol)},
      {"readers", std::move(readers)}};
}

}  // namespace

void add_media_routes(http::Router& router, media::MediaServer& media) {
  router.add("GET", "/media/paths",
             [&media](const http::HttpRequest&, const http::PathParams&) -> http::Reply {
               auto list = on_media_thread(media, [&media] {
                 json::array out;
                 for (const auto* p : media.hub().paths())
                   out.push_back(path_json(*p));
                 return to_json_text(out);
               });
               if (!list) return unavailable();
               return http::json_response(200, std::move(*list));
             });
  router.add("GET", "/media/paths/{name}",
             [&media](const http::HttpRequest&, const http::PathParams& params) -> http::Reply {
               const std::string name = params.at("name");
               auto found = on_media_thread(media, [&media, &name] {
                 const auto* p = media.hub().find(name);
                 return p ? to_json_text(path_json(*p)) : std::string();
               });
               if (!found) return unavailable();
               if (found->empty()) {
                 return http::error_response(
                     Error::not_found("no one is publishing '" + keys::redact_keys(name) + "'"));
               }
               return http::json_response(200, std::move(*found));
             });
  router.add("DELETE", "/media/paths/{name}",
             [&media](const http::HttpRequest&, const http::PathParams& params) -> http::Reply {
               const std::string name = params.at("name");
               auto kicked = on_media_thread(media, [&media, &name] {
                 auto* p = media.hub().find(name);
                 if (!p || !p->publisher_handle()) return false;
                 p->publisher_handle()->kick("kicked through the API");
                 return true;
               });
               if (!kicked) return unavailable();
               if (!*kicked) {
                 return http::error_response(
                     Error::not_found("no one is publishing '" + keys::redact_keys(name) + "'"));
               }
               return http::json_response(200, to_json_text(json::object{{"kicked", name}}));
             });
  router.add("DELETE", "/media/paths/{name}/readers/{id}",
             [&media](const http::HttpRequest&, const http::PathParams& params) -> http::Reply {
               const std::string name = params.at("name");
               const std::string id = params.at("id");
               auto kicked = on_media_thread(media, [&media, &name, &id] {
                 auto* p = media.hub().find(name);
                 if (!p) return false;
                 for (media::MediaSink* sink : p->readers()) {
                   const media::ReaderInfo info = sink->reader_info();
                   if (info.id != id) continue;
                   spdlog::info("media: reader {} ({}{}{}) of '{}' kicked through the API", info.id,
                                info.kind, info.remote.empty() ? "" : " from ", info.remote, name);
                   sink->kick();
                   return true;
                 }
                 return false;
               });
               if (!kicked) return unavailable();
               if (!*kicked) {
                 return http::error_response(Error::not_found("path '" + keys::redact_keys(name) +
                                                              "' has no reader '" +
                                                              keys::redact_keys(id) + "'"));
               }
               return http::json_response(200, to_json_text(json::object{{"kicked", id}}));
             });
}

namespace {

// The WebRTC port's counters and each viewer's feedback (at most the session cap of them).
template <class Viewers>
void render_webrtc_metrics(http::PrometheusWriter& w, const Viewers& viewers,
                           const std::optional<media::WebrtcServer::Counters>& port) {
  if (port) {
    w.header("sluice_webrtc_datagrams_total", "counter",
             "Datagrams on the WebRTC port: received, from no known peer, STUN checks refused, "
             "sends the kernel refused");
    w.sample("sluice_webrtc_datagrams_total", {{"kind", "in"}},
             static_cast<double>(port->datagrams_in));
    w.sample("sluice_webrtc_datagrams_total", {{"kind", "unknown"}},
             static_cast<double>(port->unknown_in));
    w.sample("sluice_webrtc_datagrams_total", {{"kind", "stun_refused"}},
             static_cast<double>(port->stun_refused));
    w.sample("sluice_webrtc_datagrams_total", {{"kind", "dropped_out"}},
             static_cast<double>(port->dropped_out));
  }
  auto each = [&](const char* name, const char* type, const char* help, auto value) {
    w.header(name, type, help);
    for (const auto& v : viewers) {
      if (auto x = value(v)) w.sample(name, {{"path", v.path}, {"viewer", v.id}}, *x);
    }
  };
  using V = typename Viewers::value_type;
  using Value = std::optional<double>;
  each("sluice_webrtc_viewer_nacks_total", "counter", "Packets each WebRTC viewer NACKed",
       [](const V& v) -> Value { return static_cast<double>(v.stats.nacks); });
  each("sluice_webrtc_viewer_retransmitted_total", "counter",
       "Packets resent to each WebRTC viewer from the packet cache (NACK and PLI answers)",
       [](const V& v) -> Value { return static_cast<double>(v.stats.retransmitted); });
  each("sluice_webrtc_viewer_plis_total", "counter", "PLIs and FIRs from each WebRTC viewer",
       [](const V& v) -> Value { return static_cast<double>(v.stats.plis); });
  each("sluice_webrtc_viewer_bitrate_kbps", "gauge", "Rate sent to each WebRTC viewer",
       [](const V& v) -> Value { return v.stats.bitrate_kbps; });
  each("sluice_webrtc_viewer_rtt_milliseconds", "gauge",
       "Round-trip time to each WebRTC viewer (receiver reports)",
       [](const V& v) -> Value { return v.stats.rtt_ms; });
  each("sluice_webrtc_viewer_video_loss_ratio", "gauge",
       "Video loss each WebRTC viewer reported in its last receiver report (0-1)",
       [](const V& v) -> Value { return v.video_loss; });
  each("sluice_webrtc_viewer_delivered_bps", "gauge",
       "The rate each WebRTC viewer's packets arrived at (its transport-cc feedback)",
       [](const V& v) -> Value { return v.stats.delivered_bps; });
  each("sluice_webrtc_viewer_remb_bps", "gauge", "Each WebRTC viewer's REMB bandwidth estimate",
       [](const V& v) -> Value {
         return v.stats.remb_bps ? Value(static_cast<double>(*v.stats.remb_bps)) : Value();
       });
}

}  // namespace

void render_path_metrics(http::PrometheusWriter& w, media::MediaServer& media) {
  struct Row {
    std::string name;
    std::size_t readers;
    std::uint64_t bytes_in, bytes_out, dropped;
    std::size_t gop;
    std::map<std::string, std::size_t> by_protocol;
  };
  struct Viewer {
    std::string path, id;
    media::WebrtcStats stats;
    double video_loss = 0;
  };
  std::vector<Viewer> viewers;
  std::optional<media::WebrtcServer::Counters> webrtc;
  auto rows = on_media_thread(media, [&media, &viewers, &webrtc] {
    if (const auto* server = media.webrtc()) webrtc = server->counters();
    std::vector<Row> out;
    for (const auto* p : media.hub().paths()) {
      Row r{p->name(),
            p->readers().size(),
            p->counters().bytes_in,
            p->counters().bytes_out,
            p->counters().dropped,
            p->gop_bytes()};
      for (const auto* sink : p->readers()) {
        const auto info = sink->reader_info();
        r.bytes_out += info.bytes_out;
        r.dropped += info.dropped;
        ++r.by_protocol[info.kind];
        if (info.webrtc) {
          Viewer v{p->name(), info.id, *info.webrtc, 0};
          for (const auto& t : info.reception) {
            if (t.track == "video") v.video_loss = t.fraction_lost;
          }
          viewers.push_back(std::move(v));
        }
      }
      out.push_back(std::move(r));
    }
    return out;
  });
  if (!rows) return;
  w.header("rtmp_active_streams", "gauge", "Live media paths (with a publisher)");
  w.sample("rtmp_active_streams", {}, static_cast<double>(rows->size()));
  w.header("sluice_media_readers", "gauge", "Readers per live path (RTMP, HTTP-FLV, HLS muxer)");
  for (const auto& r : *rows)
    w.sample("sluice_media_readers", {{"path", r.name}}, r.readers);
  std::map<std::string, std::size_t> protocols{{"rtmp", 0}, {"rtsp", 0}, {"http-flv", 0},
                                               {"hls", 0},  {"srt", 0},  {"webrtc", 0}};
  for (const auto& r : *rows) {
    for (const auto& [kind, n] : r.by_protocol)
      protocols[kind] += n;
  }
  w.header("sluice_media_protocol_readers", "gauge", "Readers of all live paths, per protocol");
  for (const auto& [kind, n] : protocols)
    w.sample("sluice_media_protocol_readers", {{"protocol", kind}}, static_cast<double>(n));
  w.header("sluice_media_path_bytes_total", "counter", "Media bytes per live path");
  for (const auto& r : *rows) {
    w.sample("sluice_media_path_bytes_total", {{"path", r.name}, {"direction", "in"}},
             static_cast<double>(r.bytes_in));
    w.sample("sluice_media_path_bytes_total", {{"path", r.name}, {"direction", "out"}},
             static_cast<double>(r.bytes_out));
  }
  w.header("sluice_media_dropped_packets_total", "counter",
           "Packets readers skipped to catch up (skip-to-keyframe), per live path");
  for (const auto& r : *rows) {
    w.sample("sluice_media_dropped_packets_total", {{"path", r.name}},
             static_cast<double>(r.dropped));
  }
  w.header("sluice_media_gop_cache_bytes", "gauge", "Bytes in each live path's GOP cache");
  for (const auto& r : *rows) {
    w.sample("sluice_media_gop_cache_bytes", {{"path", r.name}}, static_cast<double>(r.gop));
  }
  render_webrtc_metrics(w, viewers, webrtc);
}

}  // namespace sluice::server
