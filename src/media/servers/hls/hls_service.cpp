#include "media/servers/hls/hls_service.hpp"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "core/event_loop.hpp"
#include "http/gate.hpp"
#include "http/request_target.hpp"
#include "http/router.hpp"
#include "keys/key_format.hpp"
#include "media/media_policy.hpp"
#include "media/servers/media_server.hpp"

namespace sluice::media {

namespace {

using Clock = std::chrono::steady_clock;

// Blocked requests (playlist reloads, preload-hinted parts) one path holds at most; more get 503.
constexpr std::size_t kMaxBlocked = 1024;

// Moves the entries of `from` that `due` selects to the end of `to`, keeping the others in order.
template <class T, class Due>
void move_due(std::vector<T>& from, std::vector<T>& to, Due due) {
  for (auto it = from.begin(); it != from.end();) {
    if (due(*it)) {
      to.push_back(std::move(*it));
      it = from.erase(it);
    } else {
      ++it;
    }
  }
}

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
    release_blocked();
  }
  void on_path_end() override {
    (void)muxer_.finish();
    attached_ = false;
    ended_at_ = Clock::now();
    release_waiters(!muxer_.snapshot()->segments.empty());
    release_blocked();
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
    std::vector<Blocked> late;
    {
      std::lock_guard lock(mutex_);
      move_due(waiters_, due, [now](const Waiter& w) { return w.deadline <= now; });
      move_due(blocked_, late, [now](const Blocked& b) { return b.deadline <= now; });
    }
    for (auto& w : due)
      w.answer(false);
    for (auto& b : late)
      b.answer(nullptr);
  }

  // A request that waits for the output to reach a point (Low-Latency HLS: a blocking playlist
  // reload, a preload-hinted part): answered with the snapshot that has it, or null at the
  // deadline.
  struct Blocked {
    std::function<bool(const HlsSnapshot&)> reached;
    std::function<void(std::shared_ptr<const HlsSnapshot>)> answer;
    Clock::time_point deadline;
  };
  enum class Wait { kReached, kWaiting, kFull };
  // Any thread. kReached: the caller answers at once; kFull: too many requests wait (503).
  Wait wait_until(Blocked b) {
    std::lock_guard lock(mutex_);
    if (b.reached(*muxer_.snapshot())) return Wait::kReached;
    if (blocked_.size() >= kMaxBlocked) return Wait::kFull;
    blocked_.push_back(std::move(b));
    return Wait::kWaiting;
  }
  bool ready() const {
    std::lock_guard lock(mutex_);
    return ready_;
  }

 private:
  // Media thread, after each packet: answers the blocked requests the output now satisfies.
  void release_blocked() {
    std::vector<Blocked> due;
    std::shared_ptr<const HlsSnapshot> snap;
    {
      std::lock_guard lock(mutex_);
      if (blocked_.empty()) return;
      snap = muxer_.snapshot();
      if (snap == released_at_) return;  // nothing new since the last check
      released_at_ = snap;
      move_due(blocked_, due, [&snap](const Blocked& b) { return b.reached(*snap); });
    }
    for (auto& b : due)
      b.answer(snap);
  }

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
  std::vector<Blocked> blocked_;
  std::shared_ptr<const HlsSnapshot> released_at_;
};

std::string query_suffix(const http::HttpRequest& req) {
  auto key = req.param("key");
  return key ? "?key=" + *key : std::string();
}

// Errors a player in a web page can read (hls.js retries on what it cannot see).
http::HttpResponse cross_origin(http::HttpResponse res) {
  res.headers.emplace_back("Access-Control-Allow-Origin", "*");
  return res;
}
http::HttpResponse cross_origin_error(const Error& e) {
  return cross_origin(http::error_response(e));
}
http::HttpResponse cross_origin_refusal(const Error& e) {
  return cross_origin(http::refusal_response(e));
}

http::HttpResponse playlist_response(const HlsSnapshot& snapshot, const std::string& suffix,
                                     std::size_t listed) {
  http::HttpResponse res{
      200, "application/vnd.apple.mpegurl", render_playlist(snapshot, suffix, listed), {}};
  res.headers = {{"Cache-Control", "no-cache"}, {"Access-Control-Allow-Origin", "*"}};
  return res;
}

http::HttpResponse playlist_response(const HlsSession& s, const std::string& suffix,
                                     std::size_t listed) {
  return playlist_response(*s.snapshot(), suffix, listed);
}

http::HttpResponse file_response(std::shared_ptr<const std::string> data, bool mp4) {
  http::HttpResponse res{200, mp4 ? "video/mp4" : "video/mp2t", *data, {}};
  res.headers = {{"Cache-Control", "max-age=60"}, {"Access-Control-Allow-Origin", "*"}};
  return res;
}

// How long a blocked request waits: three target durations (RFC 8216bis 6.2.5.2), at least 3 s.
std::chrono::milliseconds block_limit(const HlsSnapshot& snapshot) {
  return std::max<std::chrono::milliseconds>(std::chrono::seconds(3), 3 * snapshot.target_duration);
}

// A query parameter as a number; nullopt when absent; an error when present but not a number.
Result<std::optional<std::uint64_t>> number_param(const http::HttpRequest& req, const char* name) {
  auto text = req.param(name);
  if (!text) return std::optional<std::uint64_t>{};
  std::uint64_t value = 0;
  if (text->empty() || text->size() > 19) {
    return fail(Error::bad_request(std::string(name) + " must be a decimal number"));
  }
  for (char c : *text) {
    if (c < '0' || c > '9') {
      return fail(Error::bad_request(std::string(name) + " must be a decimal number"));
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return std::optional<std::uint64_t>{value};
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
      return cross_origin_refusal(allowed.error());
    }
    const std::string suffix = query_suffix(req);
    if (options.renditions) {
      if (auto renditions = options.renditions(name); renditions.size() >= 2) {
        http::HttpResponse res{200,
                               "application/vnd.apple.mpegurl",
                               render_multivariant(std::move(renditions), suffix),
                               {}};
        res.headers = {{"Cache-Control", "no-cache"}, {"Access-Control-Allow-Origin", "*"}};
        return res;
      }
    }
    const std::size_t listed = options.hls.playlist_segments;
    auto msn = number_param(req, "_HLS_msn");
    auto part = number_param(req, "_HLS_part");
    if (!msn) return cross_origin_error(msn.error());
    if (!part) return cross_origin_error(part.error());
    if (*part && !*msn) {
      return cross_origin_error(Error::bad_request("_HLS_part needs _HLS_msn"));
    }
    // Served here while attached; an ended playlist is answered on the media thread, which
    // continues it when a new publisher took the name (ensure()).
    if (auto s = find(name); s && s->ready() && s->attached()) {
      s->touch();
      if (*msn) return blocking_playlist(s, **msn, *part, suffix, listed);
      return playlist_response(*s, suffix, listed);
    }
    return http::Deferred{[self = shared_from_this(), name, suffix, listed](http::Respond respond) {
      auto shared_respond = std::make_shared<http::Respond>(std::move(respond));
      self->media.loop().post([self, name, suffix, listed, shared_respond] {
        // A path whose on-demand source is asleep is woken and waited for first.
        self->media.await_path(name, [self, name, suffix, listed,
                                      shared_respond](media::MediaPath*) {
          auto session = self->ensure(name);
          if (!session) return (*shared_respond)(cross_origin_error(session.error()));
          auto s = *session;
          s->touch();
          auto answer = [s, suffix, listed, shared_respond, name](bool ready) {
            if (!ready) {
              return (*shared_respond)(cross_origin_error(Error{
                  504, "HLS for '" + name + "' has no segment yet (waiting for keyframes)", {}}));
            }
            (*shared_respond)(playlist_response(*s, suffix, listed));
          };
          if (!s->add_waiter({answer, Clock::now() + self->options.wait_first})) answer(true);
        });
      });
    }};
  }

  // A blocking playlist reload (_HLS_msn, _HLS_part): answered once the playlist holds that
  // segment or part; 400 for one more than two segments ahead (RFC 8216bis 6.2.5.2); 503 when
  // it does not come within block_limit().
  http::Reply blocking_playlist(std::shared_ptr<HlsSession> s, std::uint64_t msn,
                                std::optional<std::uint64_t> part, const std::string& suffix,
                                std::size_t listed) {
    const auto snapshot = s->snapshot();
    if (msn > last_sequence(*snapshot) + 2) {
      return cross_origin_error(Error::bad_request("_HLS_msn " + std::to_string(msn) +
                                                   " is more than two segments ahead of " +
                                                   std::to_string(last_sequence(*snapshot))));
    }
    if (holds(*snapshot, msn, part)) return playlist_response(*snapshot, suffix, listed);
    const auto deadline = Clock::now() + block_limit(*snapshot);
    return http::Deferred{[s, msn, part, suffix, listed, deadline](http::Respond respond) {
      auto shared_respond = std::make_shared<http::Respond>(std::move(respond));
      HlsSession::Blocked b{
          [msn, part](const HlsSnapshot& snap) { return holds(snap, msn, part); },
          [shared_respond, suffix, listed](std::shared_ptr<const HlsSnapshot> snap) {
            if (!snap) {
              return (*shared_respond)(cross_origin_error(
                  Error::unavailable("the requested segment or part did not come in time")));
            }
            (*shared_respond)(playlist_response(*snap, suffix, listed));
          },
          deadline};
      switch (s->wait_until(b)) {
        case HlsSession::Wait::kReached:
          return (*shared_respond)(playlist_response(*s, suffix, listed));
        case HlsSession::Wait::kFull:
          return (*shared_respond)(
              cross_origin_error(Error::unavailable("too many blocked HLS requests")));
        case HlsSession::Wait::kWaiting:
          return;
      }
    }};
  }

  http::Reply segment(const http::HttpRequest& req, const std::string& name,
                      const std::string& file) {
    auto parsed = parse_hls_file(file);
    if (!parsed) {
      return cross_origin_error(Error::not_found("no such HLS file: " + keys::redact_keys(file)));
    }
    if (auto allowed = policy.authorize_play(name, http::joined_query(req), req.remote_address);
        !allowed) {
      return cross_origin_refusal(allowed.error());
    }
    auto s = find(name);
    const auto snapshot = s ? s->snapshot() : nullptr;
    const bool mp4 = parsed->kind != HlsFile::Kind::kSegment || parsed->mp4;
    if (auto data = snapshot ? find_file(*snapshot, *parsed) : nullptr) {
      s->touch();
      return file_response(std::move(data), mp4);
    }
    // The part a preload hint names: answered once it is cut.
    if (snapshot && parsed->kind == HlsFile::Kind::kPart && !snapshot->ended &&
        snapshot->variant == HlsVariant::kLowLatency && parsed->number == snapshot->open_sequence &&
        parsed->part == snapshot->open_parts.size()) {
      s->touch();
      const HlsFile wanted = *parsed;
      const auto deadline = Clock::now() + block_limit(*snapshot);
      return http::Deferred{[s, wanted, deadline](http::Respond respond) {
        auto shared_respond = std::make_shared<http::Respond>(std::move(respond));
        auto answer = [shared_respond, wanted](std::shared_ptr<const HlsSnapshot> snap) {
          auto data = snap ? find_file(*snap, wanted) : nullptr;
          if (!data) {
            return (*shared_respond)(
                cross_origin_error(Error::not_found("the hinted part was not made")));
          }
          (*shared_respond)(file_response(std::move(data), true));
        };
        HlsSession::Blocked b{[wanted](const HlsSnapshot& snap) {
                                return snap.ended || find_file(snap, wanted) != nullptr;
                              },
                              answer, deadline};
        switch (s->wait_until(b)) {
          case HlsSession::Wait::kReached:
            return answer(s->snapshot());
          case HlsSession::Wait::kFull:
            return (*shared_respond)(
                cross_origin_error(Error::unavailable("too many blocked HLS requests")));
          case HlsSession::Wait::kWaiting:
            return;
        }
      }};
    }
    return cross_origin_error(Error::not_found(file + " of '" + keys::redact_keys(name) +
                                               "' is not (or no longer) here"));
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
