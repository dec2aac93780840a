#include "media/servers/snapshot/snapshot_service.hpp"

#include <atomic>
#include <charconv>
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
#include "media/servers/media_server.hpp"
#include "media/transcode/snapshot.hpp"

namespace sluice::media {
namespace {

constexpr int kMaxDecodes = 2;
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
    const Credentials credentials{req.authorization, "GET", req.path};
    if (auto allowed =
            policy.authorize_play(name, http::joined_query(req), req.remote_address, credentials);
        !allowed) {
      return http::refusal_response(allowed.error());
    }
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

  // Any thread: the cached JPEG of this keyframe, or a decode on a worker thread.
  void make(const std::string& name, Source source, int width, const http::Respond& respond) {
    const std::string key = name + "\n" + std::to_string(width);
    {
      std::lock_guard lock(mutex);
      auto it = cache.find(key);
      if (it != cache.end() && it->second.first == source.keyframe) {
        return respond(jpeg_response(it->second.second));
      }
    }
    if (decoding.fetch_add(1) >= kMaxDecodes) {
      decoding.fetch_sub(1);
      return respond(http::error_response(
          Error::unavailable("snapshots are being made for others; try again")));
    }
    std::thread([self = shared_from_this(), key, source = std::move(source), width, respond] {
      auto jpeg = snapshot_jpeg(source.config->bytes(), source.keyframe->bytes(), width);
      self->decoding.fetch_sub(1);
      if (!jpeg) return respond(http::error_response(jpeg.error()));
      auto bytes = std::make_shared<const std::string>(std::move(jpeg->jpeg));
      {
        std::lock_guard lock(self->mutex);
        if (self->cache.size() >= kMaxCached) self->cache.clear();
        self->cache[key] = std::make_pair(source.keyframe, bytes);
      }
      respond(jpeg_response(bytes));
    }).detach();
  }

  static http::HttpResponse jpeg_response(const std::shared_ptr<const std::string>& jpeg) {
    http::HttpResponse res{200, "image/jpeg", *jpeg, {}};
    res.headers.emplace_back("Cache-Control", "no-store");
    res.headers.emplace_back("Access-Control-Allow-Origin", "*");
    return res;
  }

  MediaServer& media;
  MediaPolicy& policy;
  std::atomic<int> decoding{0};
  std::mutex mutex;
  // By path and width: the keyframe a JPEG was made of, and the JPEG.
  std::map<std::string, std::pair<PacketPtr, std::shared_ptr<const std::string>>> cache;
};

SnapshotService::SnapshotService(MediaServer& media, MediaPolicy& policy, http::Router& router)
    : impl_(std::make_shared<Impl>(media, policy)) {
  router.add("GET", "/live/{name}/snapshot.jpg",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->get(req, p.at("name"));
             });
}

SnapshotService::~SnapshotService() = default;

}  // namespace sluice::media
