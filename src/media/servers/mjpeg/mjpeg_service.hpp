#pragma once
// MjpegService: `GET /live/{name}/mjpeg` on the HTTP port — a path's pictures as Motion JPEG over
// HTTP (multipart/x-mixed-replace; boundary=sluiceframe): what a browser's <img>, an NVR's "MJPEG
// over HTTP" input and OpenCV read. The JPEGs come from pipelines' "mjpeg" outputs (publish()), so
// only such paths have it (404 otherwise). Who may watch is who may play the path (read keys as
// `?key=`, identities as for every other door). Each part is built once and shared by every viewer;
// a viewer who reads too slowly loses its oldest waiting pictures (the HTTP server's bounded event
// queue), never the others'. A new viewer gets the latest picture at once. Thread-safe.
#include <memory>
#include <string>

namespace sluice::http {
class Router;
}

namespace sluice::media {

class MediaPolicy;

class MjpegService {
 public:
  // Registers the route; `policy` must outlive the service.
  MjpegService(MediaPolicy& policy, http::Router& router);
  ~MjpegService();

  // `path` has MJPEG from now on (open) or no longer (close: its viewers' responses end). As many
  // closes as opens.
  void open(const std::string& path);
  void close(const std::string& path);
  // One picture of `path` for its viewers.
  void publish(const std::string& path, const std::string& jpeg);
  std::size_t viewers(const std::string& path) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::media
