#pragma once
// The /media HTTP routes and the per-path metrics, answered from snapshots taken on the media
// thread (each call waits at most 2 s for it):
//   GET    /media/paths                        every live path with its stats and readers
//   GET    /media/paths/{name}                 one path (404 when not live)
//   DELETE /media/paths/{name}                 kick the publisher (media_rw)
//   DELETE /media/paths/{name}/readers/{id}    kick one reader (media_rw)
#include <string>

namespace sluice::http {
class Router;
class PrometheusWriter;
}  // namespace sluice::http
namespace sluice::media {
class MediaServer;
}

namespace sluice::server {

void add_media_routes(http::Router& router, media::MediaServer& media);

// sluice_media_readers, _path_bytes_total, _dropped_packets_total, _gop_cache_bytes per path
// and rtmp_active_streams.
void render_path_metrics(http::PrometheusWriter& w, media::MediaServer& media);

}  // namespace sluice::server
