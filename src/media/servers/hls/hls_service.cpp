#include "media/servers/hls/hls_service.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "http/gate.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "keys/key_format.hpp"
#include "media/media_policy.hpp"
#include "media/servers/media_server.hpp"
#include "relay/relay.hpp"

namespace sluice::media {

namespace {

using Clock = std::chrono::steady_clock;

// One path's HLS output. The muxer and the sink side are media-thread only; `snapshot()`,
// `last_access` and the waiters are shared with HTTP threads.
class HlsSession final : public MediaSink {
 public:
  HlsSession(std::string path, const HlsOptions& options)
      : path_(std::move(path)), muxer_(options), id_("hls-" + path_) {}

  // MediaSink (media thread)
  void on_packet(const PacketPtr& p, bool) override {
    if (auto st = muxer_.push(*p); !st) {
      ++rejected_;
      if (rejected_ == 1 || muxer_.failed()) {
        spdlog::info("hls {}: packet not muxed: {}", path_, st.error().detail);
      }
    }
    if (!ready() && !muxer_.snapshot()->segments.empty()) release_waiters(true);
  }
  void on_path_end() override {
    (void)muxer_.finish();
    attached_ = false;
    ended_at_ = Clock::now();
    release_waiters(!muxer_.snapshot()->segments.empty());
  }
  ReaderInfo reader_info() const override {
    const auto& s = muxer_.stats();
    return {id_, "hls", "", s.bytes, s.packets_muxed, s.packets_skipped + s.packets_rejected, 0};
  }
  void kick() override { detach_requested_ = true; }

  // Media thread: a new publisher on the path (or viewers back after an idle stop). The
  // playlist continues — same sequence numbers, EXT-X-DISCONTINUITY, no EXT-X-ENDLIST — so
  // players that kept polling follow the new publisher (HlsMuxer::restart()).
  void continue_with_new_publisher() {
    muxer_.restart();
    detach_requested_ = false;
  }

  std::shared_ptr<const HlsSnapshot> snapshot() const { return muxer_.snapshot(); }
  const std::string& path() const { return path_; }
  bool attached() const { return attached_; }
  void set_attached(bool a) { attached_ = a; }
  bool detach_requested() const { return detach_requested_; }
  Clock::time_point ended_at() const { return ended_at_; }

  void touch() { last_access_ = Clock::now().time_since_epoch().count(); }
  Clock::time_point last_access() const {
    return Clock::time_point(Clock::duration(last_access_.load()));
  }

  // A playlist request waiting for the first segment: answered by release_waiters or expire.
  struct Waiter {
    std::function<void(bool ready)> answer;
    Clock::time_point deadline;
  };
  // False when already ready (the caller answers at once).
  bool add_waiter(Waiter w) {
    std::lock_guard lock(mutex_);
    if (ready_) return false;
    waiters_.push_back(std::move(w));
    return true;
  }
  void expire_waiters(Clock::time_point now) {
    std::vector<Waiter> due;
    {
      std::lock_guard lock(mutex_);
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->deadline <= now) {
          due.push_back(std::move(*it));
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& w : due)
      w.answer(false);
  }
  bool ready() const {
    std::lock_guard lock(mutex_);
    return ready_;
  }

 private:
  void release_waiters(bool ready) {
    std::vector<Waiter> all;
    {
      std::lock_guard lock(mutex_);
      ready_ = ready_ || ready;
      all.swap(waiters_);
    }
    for (auto& w : all)
      w.answer(ready);
  }

  std::string path_;
  HlsMuxer muxer_;
  std::string id_;
  std::uint64_t rejected_ = 0;
  bool attached_ = false;
  bool detach_requested_ = false;
  Clock::time_point ended_at_{};
  std::atomic<Clock::rep> last_access_{Clock::now().time_since_epoch().count()};
  mutable std::mutex mutex_;
  bool ready_ = false;
  std::vector<Waiter> waiters_;
};

std::string query_suffix(const http::HttpRequest& req) {
  auto key = req.param("key");
  return key ? "?key=" + *key : std::string();
}

http::HttpResponse playlist_response(const HlsSession& s, const std::string& suffix,
                                     std::size_t listed) {
  http::HttpResponse res{
      200, "application/vnd.apple.mpegurl", render_playlist(*s.snapshot(), suffix, listed), {}};
  res.headers = {{"Cache-Control", "no-cache"}, {"Access-Control-Allow-Origin", "*"}};
  return res;
}

}  // namespace

struct HlsService::Impl : std::enable_shared_from_this<HlsService::Impl> {
  Impl(MediaServer& m, MediaPolicy& p, HlsServiceOptions o) : media(m), policy(p), options(o) {}

  std::shared_ptr<HlsSession> find(const std::string& name) {
    std::lock_guard lock(mutex);
    auto it = sessions.find(name);
    return it == sessions.end() ? nullptr : it->second;
  }

  // Media thread: the session for a live path, attached to it (created on first use). A
  // session left by an earlier publisher continues with the one live now.
  Result<std::shared_ptr<HlsSession>> ensure(const std::string& name) {
    auto session = find(name);
    MediaPath* path = media.hub().find(name);
    if (session && (session->attached() || !path)) return session;
    if (!path) {
      return fail(Error::not_found("no one is publishing '" + keys::redact_keys(name) + "'"));
    }
    if (session) {
      session->continue_with_new_publisher();
      spdlog::info("hls {}: continues with the path's current publisher", name);
    } else {
      session = std::make_shared<HlsSession>(name, options.hls);
      std::lock_guard lock(mutex);
      sessions[name] = session;
      spdlog::info("hls {}: started", name);
    }
    session->set_attached(true);
    path->attach(session.get());
    return session;
  }

  // Media thread, once a second: time out waiters, detach idle sessions, forget ended ones.
  void tick() {
    const auto now = Clock::now();
    std::vector<std::shared_ptr<HlsSession>> all;
    {
      std::lock_guard lock(mutex);
      for (auto& [name, s] : sessions)
        all.push_back(s);
    }
    for (auto& s : all) {
      s->expire_waiters(now);
      const bool idle = now - s->last_access() > options.idle_after;
      if (s->attached() && (idle || s->detach_requested())) {
        if (auto* path = media.hub().find(s->path())) path->detach(s.get());
        s->set_attached(false);
        spdlog::info("hls {}: stopped ({})", s->path(), idle ? "no viewers" : "kicked");
      }
      if (!s->attached() && (idle || now - s->ended_at() > options.idle_after)) {
        std::lock_guard lock(mutex);
        auto it = sessions.find(s->path());
        if (it != sessions.end() && it->second == s) sessions.erase(it);
      }
    }
  }

  http::Reply playlist(const http::HttpRequest& req, const std::string& name) {
    if (auto allowed = policy.authorize_play(name, http::joined_query(req), req.remote_address);
        !allowed) {
      return http::refusal_response(allowed.error());
    }
    const std::string suffix = query_suffix(req);
    const std::size_t listed = options.hls.playlist_segments;
    // Served here while attached; an ended playlist is answered on the media thread, which
    // continues it when a new publisher took the name (ensure()).
    if (auto s = find(name); s && s->ready() && s->attached()) {
      s->touch();
      return playlist_response(*s, suffix, listed);
    }
    return http::Deferred{[self = shared_from_this(), name, suffix, listed](http::Respond respond) {
      auto shared_respond = std::make_shared<http::Respond>(std::move(respond));
      self->media.loop().post([self, name, suffix, listed, shared_respond] {
        auto session = self->ensure(name);
        if (!session) return (*shared_respond)(http::error_response(session.error()));
        auto s = *session;
        s->touch();
        auto answer = [s, suffix, listed, shared_respond, name](bool ready) {
          if (!ready) {
            return (*shared_respond)(http::error_response(Error{
                504, "HLS for '" + name + "' has no segment yet (waiting for keyframes)", {}}));
          }
          (*shared_respond)(playlist_response(*s, suffix, listed));
        };
        if (!s->add_waiter({answer, Clock::now() + self->options.wait_first})) answer(true);
      });
    }};
  }

  http::Reply segment(const http::HttpRequest& req, const std::string& name,
                      const std::string& file) {
    auto sequence = parse_segment_name(file);
    if (!sequence) {
      return http::error_response(Error::not_found("no such HLS file: " + keys::redact_keys(file)));
    }
    if (auto allowed = policy.authorize_play(name, http::joined_query(req), req.remote_address);
        !allowed) {
      return http::refusal_response(allowed.error());
    }
    auto s = find(name);
    auto data = s ? find_segment(*s->snapshot(), *sequence) : nullptr;
    if (!data) {
      return http::error_response(Error::not_found(
          "segment " + file + " of '" + keys::redact_keys(name) + "' is not (or no longer) here"));
    }
    s->touch();
    http::HttpResponse res{200, "video/mp2t", *data, {}};
    res.headers = {{"Cache-Control", "max-age=60"}, {"Access-Control-Allow-Origin", "*"}};
    return res;
  }

  MediaServer& media;
  MediaPolicy& policy;
  HlsServiceOptions options;
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<HlsSession>> sessions;
};

HlsService::HlsService(MediaServer& media, MediaPolicy& policy, HlsServiceOptions options,
                       http::Router& router)
    : impl_(std::make_shared<Impl>(media, policy, options)) {
  media.on_tick([impl = impl_] { impl->tick(); });
  router.add("GET", "/live/{name}/index.m3u8",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->playlist(req, p.at("name"));
             });
  router.add("GET", "/live/{name}/{file}",
             [impl = impl_](const http::HttpRequest& req, const http::PathParams& p) {
               return impl->segment(req, p.at("name"), p.at("file"));
             });
}

HlsService::~HlsService() = default;

void HlsService::set_segment_target(std::chrono::milliseconds target) {
  impl_->media.loop().post([impl = impl_, target] { impl->options.hls.segment_target = target; });
}

}  // namespace sluice::media
