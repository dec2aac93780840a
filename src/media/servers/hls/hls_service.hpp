#pragma once
// HlsService: HLS for live paths, started on demand and shared by every viewer of a path.
//   GET /live/{name}/index.m3u8   the live playlist (waits for the first segment when HLS for
//                                 the path starts with this request: at most wait_first)
//   GET /live/{name}/{segment}    seg-N.ts
// A name with several renditions (options.renditions) is served their multivariant playlist.
// The first playlist request of a live path attaches an HlsMuxer (a MediaSink) to the path on
// the media thread; it is fed the path's configuration and GOP cache, then live packets. HTTP
// threads read only immutable snapshots. A muxer nobody asked for during idle_after is
// detached; after the publisher leaves, the ended playlist stays readable for idle_after.
// Private paths (read keys) need `?key=` on the playlist; segment URIs carry it on.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "media/protocols/hls/hls_muxer.hpp"
#include "media/protocols/hls/hls_playlist.hpp"

namespace sluice::http {
class Router;
}
namespace sluice::media {
class MediaPolicy;
}
namespace sluice::media {
class MediaServer;
}

namespace sluice::media {

struct HlsServiceOptions {
  HlsOptions hls;
  std::chrono::seconds idle_after{60};
  std::chrono::seconds wait_first{15};
  // Several renditions under one name (a pipeline's): /live/{name}/index.m3u8 is then their
  // multivariant playlist, each entry the rendition path's own playlist. Fewer than two: none.
  // Called on HTTP threads.
  std::function<std::vector<HlsRendition>(const std::string& name)> renditions;
};

class HlsService {
 public:
  // Registers the routes and a media-thread tick on `media` (before it starts). All references
  // must outlive the service.
  HlsService(MediaServer& media, MediaPolicy& policy, HlsServiceOptions options,
             http::Router& router);
  ~HlsService();

  // The hls_segment setting: HLS sessions started from now on cut segments at the first
  // keyframe after `target` (a running playlist keeps its target duration, as HLS requires).
  // Any thread.
  void set_segment_target(std::chrono::milliseconds target);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::media
