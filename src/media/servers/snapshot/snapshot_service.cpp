#include "media/servers/snapshot/snapshot_service.hpp"

#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/event_loop.hpp"
#include "http/gate.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "keys/key_format.hpp"
#include "media/media_hub.hpp"
#include "media/media_policy.hpp"
#include "media/servers/http_play.hpp"
#include "media/servers/media_server.hpp"
#include "media/transcode/snapshot.hpp"

namespace sluice::media {
namespace {

constexpr std::size_t kMaxQueued = 4;  // snapshots waiting for the worker; more are 503
constexpr std::size_t kMaxCached = 64;

// What a snapshot is made of, taken from the path on the media thread. The packets are shared
// and immutable (their bodies are never changed), so another thread may read them.
struct Source {
  PacketPtr config;
  PacketPtr keyframe;
};

int width_param(const http::HttpRequest& req) {
  const auto text = req.param("width");
  int width = 0;
  if (!text || std::from_chars(text->data(), text->data() + text->size(), width).ec != std::errc{})
    return 0;
  return width >= 16 && width <= 4096 ? width : 0;
}

}  // namespace

struct SnapshotService::Impl : std::enable_shared_from_this<SnapshotService::Impl> {
  Impl(MediaServer& m, MediaPolicy& p) : media(m), policy(p) {}

  http::Reply get(const http::HttpRequest& req, const std::string& name) {
    if (auto refused = refuse_http_play(policy, req, name)) return *refused;
    const int width = width_param(req);
    return http::Deferred{[self = shared_from_this(), name, width](http::Respond respond) {
      self->media.loop().post([self, name, width, respond] {
        MediaPath* path = self->media.hub().find(name);
        Source source;
        if (path) source = Source{path->video_config(), path->latest_keyframe()};
        if (!source.config || !source.keyframe) {
          return respond(http::error_response(Error::not_found(
              path ? "'" + keys::redact_keys(name) + "' has sent no video keyframe yet"
                   : "no one is publishing '" + keys::redact_keys(name) + "'")));
        }
        self->make(name, std::move(source), width, respond);
      });
    }};
  }

  // Media thread: the cached JPEG of this keyframe, or a decode queued for the worker.
  void make(const std::string& name, Source source, int width, const http::Respond& respond) {
    const std::string key = name + "\n" + std::to_string(width);
    {
      std::lock_guard lock(mutex);
      auto it = cache.find(key);
      if (it != cache.end() && it->second.keyframe == source.keyframe.get()) {
        return respond(jpeg_response(it->second.jpeg));
      }
      if (!stopping && jobs.size() < kMaxQueued) {
        jobs.push_back(Job{key, std::move(source), width, respond});
        wake.notify_one();
        return;
      }
    }
    respond(
        http::error_response(Error::unavailable("snapshots are being made for others; try again")));
  }

  // The worker: one decode at a time, off the media and HTTP threads.
  void work() {
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (stopping) break;
      Job job = std::move(jobs.front());
      jobs.pop_front();
      lock.unlock();
      auto jpeg =
          snapshot_jpeg(job.source.config->bytes(), job.source.keyframe->bytes(), job.width);
      std::shared_ptr<const std::string> bytes;
      if (jpeg) bytes = std::make_shared<const std::string>(std::move(jpeg->jpeg));
      lock.lock();
      if (bytes) {
        if (cache.size() >= kMaxCached) cache.clear();
        cache[job.key] = Cached{job.source.keyframe.get(), bytes};
      }
      lock.unlock();
      job.respond(bytes ? jpeg_response(bytes) : http::error_response(jpeg.error()));
      lock.lock();
    }
    for (auto& job : jobs) {
      job.respond(http::error_response(Error::unavailable("the server is stopping")));
    }
    jobs.clear();
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
      stopping = true;
    }
    wake.notify_all();
    if (worker.joinable()) worker.join();
  }

  static http::HttpResponse jpeg_response(const std::shared_ptr<const std::string>& jpeg) {
    http::HttpResponse res{200, "image/jpeg", *jpeg, {}};
    res.headers.emplace_back("Cache-Control", "no-store");
    res.headers.emplace_back("Access-Control-Allow-Origin", "*");
    return res;
  }

  MediaServer& media;
  MediaPolicy& policy;
  struct Job {
    std::string key;
    Source source;
    int width = 0;
    http::Respond respond;
  };
  // By path and width: which keyframe a JPEG was made of (its address, only compared: the packet
  // itself is not kept) and the JPEG.
  struct Cached {
    const MediaPacket* keyframe = nullptr;
    std::shared_ptr<const std::string> jpeg;
  };
  std::mutex mutex;  // guards what follows
  std::condition_variable wake;
  std::deque<Job> jobs;
  std::map<std::string, Cached> cache;
  bool stopping = false;
  std::thread worker;
};

SnapshotService::SnapshotService(MediaServer& media, MediaPolicy& policy, http::Router& router)
    : impl_(std::make_shared<Impl>(media, policy)) {
  impl_->worker = std::thread([impl = impl_.get()] { impl->work(); });
  router.add("GET", "/live/{name}/snapshot.jpg",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->get(req, p.at("name"));
             });
}

SnapshotService::~SnapshotService() {
  stop();
}

void SnapshotService::stop() {
  impl_->stop();
}

}  // namespace sluice::media
