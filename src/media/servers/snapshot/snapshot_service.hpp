#pragma once
// SnapshotService: `GET /live/{name}/snapshot.jpg` on the HTTP port — a JPEG of the path's
// latest video keyframe (what ONVIF's GetSnapshotUri hands out, and a preview for anyone who
// may play the path: read keys as `?key=`, identities as for every other door). `?width=N`
// (16–4096) scales it down. Decoding runs on a worker thread of the service's own, one at a time
// with at most 4 waiting (503 beyond); the JPEG of a keyframe is kept until the next one, so
// polling clients cost one decode per keyframe. 404 while the path is not live or has no keyframe
// yet; 415 for a codec libavcodec cannot decode here.
#include <memory>

namespace sluice::http {
class Router;
}

namespace sluice::media {

class MediaServer;
class MediaPolicy;

class SnapshotService {
 public:
  // Registers the route; `media` and `policy` must outlive the service.
  SnapshotService(MediaServer& media, MediaPolicy& policy, http::Router& router);
  ~SnapshotService();  // stop()
  // Answers what waits with 503 and joins the worker: before the HTTP server stops. Idempotent.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::media
