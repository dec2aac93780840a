#include "media/servers/mjpeg/mjpeg_service.hpp"

#include <map>
#include <mutex>
#include <vector>

#include "http/gate.hpp"
#include "http/http_types.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "keys/key_format.hpp"
#include "media/media_policy.hpp"
#include "media/servers/http_play.hpp"

namespace sluice::media {
namespace {

constexpr std::string_view kContentType = "multipart/x-mixed-replace; boundary=sluiceframe";
constexpr std::string_view kPartHead =
    "--sluiceframe\r\nContent-Type: image/jpeg\r\nContent-Length: ";
constexpr std::size_t kMaxViewersPerPath = 64;

}  // namespace

struct MjpegService::Impl : std::enable_shared_from_this<MjpegService::Impl> {
  explicit Impl(MediaPolicy& p) : policy(p) {}

  struct Feed {
    int opens = 0;
    std::shared_ptr<const std::string> latest;  // the last part, for a new viewer
    std::vector<std::shared_ptr<http::SseSink>> viewers;
  };

  // Ends a viewer's place when its response ends.
  struct Viewer {
    std::weak_ptr<Impl> impl;
    std::string path;
    std::shared_ptr<http::SseSink> sink;
    ~Viewer() {
      auto self = impl.lock();
      if (!self) return;
      std::lock_guard lock(self->mutex);
      auto it = self->feeds.find(path);
      if (it == self->feeds.end()) return;
      std::erase(it->second.viewers, sink);
    }
  };

  http::Reply get(const http::HttpRequest& req, const std::string& name) {
    if (auto refused = refuse_http_play(policy, req, name)) return *refused;
    {
      std::lock_guard lock(mutex);
      auto it = feeds.find(name);
      if (it == feeds.end()) {
        std::string why = keys::redact_keys(name);
        why.append(" has no MJPEG (a pipeline's \"mjpeg\" output makes it)");
        return http::error_response(Error::not_found(std::move(why)));
      }
      if (it->second.viewers.size() >= kMaxViewersPerPath) {
        return http::error_response(Error::unavailable(
            "at most " + std::to_string(kMaxViewersPerPath) + " MJPEG viewers per path"));
      }
    }
    http::EventStream stream;
    stream.content_type = kContentType;
    stream.keepalive = std::chrono::milliseconds(0);
    stream.start = [self = shared_from_this(),
                    name](std::shared_ptr<http::SseSink> sink) -> std::shared_ptr<void> {
      std::shared_ptr<const std::string> latest;
      {
        std::lock_guard lock(self->mutex);
        auto it = self->feeds.find(name);
        if (it == self->feeds.end()) {
          sink->close();
          return nullptr;
        }
        it->second.viewers.push_back(sink);
        latest = it->second.latest;
      }
      if (latest) sink->send_frame(latest);
      auto viewer = std::make_shared<Viewer>();  // in place: its destructor ends the place
      viewer->impl = self;
      viewer->path = name;
      viewer->sink = std::move(sink);
      return viewer;
    };
    return stream;
  }

  MediaPolicy& policy;
  mutable std::mutex mutex;
  std::map<std::string, Feed, std::less<>> feeds;
};

MjpegService::MjpegService(MediaPolicy& policy, http::Router& router)
    : impl_(std::make_shared<Impl>(policy)) {
  router.add("GET", "/live/{name}/mjpeg",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->get(req, p.at("name"));
             });
}

MjpegService::~MjpegService() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [path, feed] : impl_->feeds) {
    for (auto& sink : feed.viewers)
      sink->close();
  }
  impl_->feeds.clear();
}

void MjpegService::open(const std::string& path) {
  std::lock_guard lock(impl_->mutex);
  ++impl_->feeds[path].opens;
}

void MjpegService::close(const std::string& path) {
  std::vector<std::shared_ptr<http::SseSink>> ended;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->feeds.find(path);
    if (it == impl_->feeds.end() || --it->second.opens > 0) return;
    ended = std::move(it->second.viewers);
    impl_->feeds.erase(it);
  }
  for (auto& sink : ended)
    sink->close();
}

void MjpegService::publish(const std::string& path, const std::string& jpeg) {
  auto part = std::make_shared<std::string>();
  part->reserve(jpeg.size() + 96);
  part->append(kPartHead).append(std::to_string(jpeg.size())).append("\r\n\r\n");
  part->append(jpeg).append("\r\n");
  std::shared_ptr<const std::string> shared = std::move(part);
  std::vector<std::shared_ptr<http::SseSink>> viewers;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->feeds.find(path);
    if (it == impl_->feeds.end()) return;
    it->second.latest = shared;
    viewers = it->second.viewers;
  }
  for (auto& sink : viewers)
    sink->send_frame(shared);  // one gone is removed when its response ends
}

std::size_t MjpegService::viewers(const std::string& path) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->feeds.find(path);
  return it == impl_->feeds.end() ? 0 : it->second.viewers.size();
}

}  // namespace sluice::media
