#include "media/servers/srt/srt_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <syslog.h>

#include <atomic>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "core/crypto.hpp"
#include "core/event_loop.hpp"
#include "core/log_limiter.hpp"
#include "core/logging.hpp"
#include "keys/key_format.hpp"
#include "media/protocols/mpegts/ts_ingest.hpp"
#include "media/protocols/srt/stream_id.hpp"
#include "media/servers/media_server_impl.hpp"
#include "media/servers/srt/srt_reader.hpp"

namespace sluice::media {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kDatagram = 1500;
constexpr auto kAuthorizeWait = std::chrono::seconds(2);

std::string address_of(const sockaddr* a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (!a) return "unknown";
  if (a->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(a);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (a->sa_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(a);
    inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(in->sin6_port));
  }
  return "unknown";
}

std::string ip_of(const std::string& remote) {
  const auto colon = remote.rfind(':');
  std::string ip = colon == std::string::npos ? remote : remote.substr(0, colon);
  if (ip.starts_with('[')) ip = ip.substr(1, ip.size() - 2);
  return ip;
}

}  // namespace

// A publisher as the media thread sees it: the path it feeds; kick() closes the caller.
class SrtPublisher final : public PublisherHandle {
 public:
  SrtPublisher(std::weak_ptr<SrtServer::Impl> server, SRTSOCKET socket, std::string remote)
      : server_(std::move(server)), socket_(socket), remote_(std::move(remote)) {}
  void kick(std::string_view reason) override;
  std::optional<SrtLinkStats> srt_link() const override { return srt_link_stats(socket_, false); }
  MediaPath* path = nullptr;
  std::string id;

 private:
  std::weak_ptr<SrtServer::Impl> server_;
  SRTSOCKET socket_;
  std::string remote_;
};

struct SrtServer::Impl : std::enable_shared_from_this<SrtServer::Impl> {
  Impl(MediaServer::Impl& m, SrtOptions o) : media(&m), options(o) {}

  // A caller accepted by the listen callback, waiting for srt_accept (SRT thread).
  struct Admitted {
    bool publish = true;
    PublishGrant grant;  // publish: the path and key; play: the path
    std::string remote;
  };
  // A connected caller (SRT thread).
  struct Caller {
    explicit Caller(SharedByteBudget* budget) : ingest(budget) {}
    std::string id;
    std::string remote;
    std::string path;
    bool publish = true;
    mpegts::TsIngest ingest;
    Clock::time_point last_data = Clock::now();
  };

  static int on_listen(void* opaque, SRTSOCKET ns, int, const sockaddr* peer, const char* sid) {
    return static_cast<Impl*>(opaque)->admit(ns, peer, sid ? sid : "");
  }

  // libsrt's thread: accept (0) or reject (-1, with a reason the caller sees).
  int admit(SRTSOCKET ns, const sockaddr* peer, std::string_view stream_id) {
    const std::string remote = address_of(peer);
    auto refuse = [&](int reason, const std::string& why) {
      srt_setrejectreason(ns, reason);
      refused++;
      static LogLimiter limiter;
      log_limited(limiter, false, "srt: caller " + remote + " refused: " + why);
      return -1;
    };
    if (open.load() >= options.max_connections) {
      return refuse(SRT_REJX_OVERLOAD, "the SRT connection limit is reached");
    }
    auto id = srt::parse_stream_id(stream_id);
    if (!id) return refuse(SRT_REJX_BAD_REQUEST, id.error().detail);
    // A user's credentials (u=, s=) as the Basic authorization the policy reads.
    const std::string authorization =
        id->user.empty() ? std::string()
                         : "Basic " + crypto::base64_encode(id->user + ":" + id->password);
    const std::string ip = ip_of(remote);
    auto grant = call_on_loop(
        *media,
        // By value: a call that times out may still run after this returns.
        [media = media, id = *id, authorization, ip]() -> Result<PublishGrant> {
          const Credentials credentials{authorization, id.publish ? "PUBLISH" : "PLAY", ""};
          if (id.publish) {
            return media->policy.authorize_publish("live", id.resource, id.query, ip, credentials);
          }
          if (auto allowed = media->policy.authorize_play(id.resource, id.query, ip, credentials);
              !allowed) {
            return fail(allowed.error());
          }
          // A path whose on-demand source is starting is admitted; start_reading waits for it.
          if (!media->hub.find(id.resource) && !media->demand(id.resource)) {
            return fail(
                Error::not_found("no one is publishing '" + keys::redact_keys(id.resource) + "'"));
          }
          return PublishGrant{id.resource, {}};
        },
        [deadline = Clock::now() + kAuthorizeWait] { return Clock::now() > deadline; });
    if (!grant) return refuse(SRT_REJX_DOWN, "the media server did not answer");
    if (!*grant) {
      const int status = grant->error().status;
      return refuse(status == 401   ? SRT_REJX_UNAUTHORIZED
                    : status == 404 ? SRT_REJX_NOTFOUND
                                    : SRT_REJX_FORBIDDEN,
                    grant->error().detail);
    }
    std::lock_guard lock(mutex);
    // The settings in force now (a caller with another passphrase fails the handshake).
    srt_setsockflag(ns, SRTO_PASSPHRASE, options.passphrase.c_str(),
                    static_cast<int>(options.passphrase.size()));
    srt_setsockflag(ns, SRTO_LATENCY, &options.latency_ms, sizeof options.latency_ms);
    admitted[ns] = Admitted{id->publish, **grant, remote};
    return 0;
  }

  void run() {
    std::vector<SRT_EPOLL_EVENT> events(64);
    std::array<char, kDatagram> buffer{};
    while (!stopping) {
      const int n = srt_epoll_uwait(eid, events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n && !stopping; ++i) {
        const SRTSOCKET s = events[i].fd;
        if (s == listener) {
          accept_callers();
          continue;
        }
        read(s, buffer);
      }
      expire_idle();
      close_kicked();
      measure_links();
    }
  }

  void accept_callers() {
    while (true) {
      sockaddr_storage peer{};
      int len = sizeof peer;
      const SRTSOCKET s = srt_accept(listener, reinterpret_cast<sockaddr*>(&peer), &len);
      if (s == SRT_INVALID_SOCK) return;
      Admitted a;
      {
        std::lock_guard lock(mutex);
        auto it = admitted.find(s);
        if (it == admitted.end()) {
          srt_close(s);
          continue;
        }
        a = std::move(it->second);
        admitted.erase(it);
      }
      bool no = false;
      srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof no);
      srt_setsockflag(s, SRTO_SNDSYN, &no, sizeof no);
      // A player sends nothing: only its end matters.
      const int events = a.publish ? SRT_EPOLL_IN | SRT_EPOLL_ERR : SRT_EPOLL_ERR;
      srt_epoll_add_usock(eid, s, &events);
      auto caller = std::make_unique<Caller>(&media->reassembly_budget);
      caller->id = "srt-" + std::to_string(++next_id);
      caller->remote = a.remote;
      caller->path = a.grant.path;
      caller->publish = a.publish;
      const std::string id = caller->id;
      callers[s] = std::move(caller);
      ++open;
      ++connections_total;
      if (a.publish) {
        start_publishing(s, id, a);
      } else {
        start_reading(s, id, a);
      }
    }
  }

  // Media thread: the path goes live, or the caller is closed when it cannot (busy, full).
  void start_publishing(SRTSOCKET s, const std::string& id, const Admitted& a) {
    media->post([self = shared_from_this(), s, id, a] {
      auto publisher = std::make_unique<SrtPublisher>(self, s, a.remote);
      publisher->id = id;
      PublisherInfo info{id, a.remote, a.grant.key_id, "srt"};
      auto path = self->media->hub.publish(a.grant.path, std::move(info), publisher.get());
      if (!path) {
        spdlog::info("srt: publish of '{}' from {} refused: {}", a.grant.path, a.remote,
                     path.error().detail);
        self->kick_socket(s);
        return;
      }
      publisher->path = *path;
      spdlog::info("srt: {} publishes '{}' (key {})", a.remote, a.grant.path, a.grant.key_id);
      self->emit(MediaEventKind::kPostPublish, id, a.remote, a.grant.path, {}, a.grant.key_id);
      self->publishers[id] = std::move(publisher);
    });
  }

  // Media thread: the player joins its path (it may have ended since the handshake).
  void start_reading(SRTSOCKET s, const std::string& id, const Admitted& a) {
    media->post([self = shared_from_this(), s, id, a] {
      self->media->await_path(
          a.grant.path, [self, s, id, a](MediaPath* path) { self->read_path(s, id, a, path); });
    });
  }

  // Media thread: the admitted player `s` reads `path` (null: nobody publishes it any more).
  void read_path(SRTSOCKET s, const std::string& id, const Admitted& a, MediaPath* path) {
    if (!path) {
      spdlog::info("srt: {} cannot play '{}': it ended", a.remote, a.grant.path);
      kick_socket(s);
      return;
    }
    std::weak_ptr<Impl> weak = shared_from_this();
    auto reader = std::make_unique<SrtReader>(id, a.remote, s, *path,
                                              [weak, s, remote = a.remote](std::string_view why) {
                                                if (auto server = weak.lock())
                                                  server->kick_socket(s, std::string(why));
                                              });
    spdlog::info("srt: {} plays '{}'", a.remote, a.grant.path);
    emit(MediaEventKind::kPostPlay, id, a.remote, a.grant.path, {});
    SrtReader* r = reader.get();
    readers[id] = std::move(reader);
    path->attach(r);
  }

  void emit(MediaEventKind kind, const std::string& id, const std::string& remote,
            const std::string& path, std::string reason, const std::string& key_id = {}) {
    MediaEvent e;
    e.kind = kind;
    e.client_id = id;
    e.protocol = "srt";
    e.remote = remote;
    e.app = "live";
    e.path = path;
    e.key_id = key_id;
    e.reason = std::move(reason);
    media->policy.on_event(e);
  }

  void read(SRTSOCKET s, std::array<char, kDatagram>& buffer) {
    auto it = callers.find(s);
    if (it == callers.end()) return;
    Caller& c = *it->second;
    std::vector<FlvFrame> frames;
    while (true) {
      const int n = srt_recvmsg(s, buffer.data(), static_cast<int>(buffer.size()));
      if (n == SRT_ERROR) {
        if (srt_getlasterror(nullptr) == SRT_EASYNCRCV) break;
        close_caller(s, "disconnected");
        return;
      }
      if (n == 0) break;
      bytes_in += static_cast<std::uint64_t>(n);
      c.last_data = Clock::now();
      const std::uint64_t over_budget = c.ingest.demux_stats().over_budget;
      c.ingest.push(
          {reinterpret_cast<const std::uint8_t*>(buffer.data()), static_cast<std::size_t>(n)},
          frames);
      if (c.ingest.demux_stats().over_budget != over_budget) {
        media->count(Refusal::kMediaReassemblyBudget, "srt publisher " + c.remote);
      }
    }
    if (frames.empty()) return;
    media->post([self = shared_from_this(), id = c.id, frames = std::move(frames)]() mutable {
      auto p = self->publishers.find(id);
      if (p == self->publishers.end() || !p->second->path) return;
      MediaPath* path = p->second->path;
      for (auto& f : frames) {
        if (path->on_media(f.type, f.timestamp, std::move(f.body))) {
          self->media->hub.description_changed(*path);
        }
      }
    });
  }

  void expire_idle() {
    const auto now = Clock::now();
    std::vector<SRTSOCKET> idle;
    for (const auto& [s, c] : callers) {
      if (c->publish && now - c->last_data > options.idle_timeout) idle.push_back(s);
    }
    for (auto s : idle)
      close_caller(s, "sent nothing for " + std::to_string(options.idle_timeout.count()) + " s");
  }

  // SRT thread: a caller left (or is closed): its path ends on the media thread.
  void close_caller(SRTSOCKET s, const std::string& why) {
    auto it = callers.find(s);
    if (it == callers.end()) return;
    const std::string id = it->second->id;
    const std::string remote = it->second->remote;
    const std::string path = it->second->path;
    spdlog::info("srt: {} ({}) closed: {}", remote, id, why);
    srt_epoll_remove_usock(eid, s);
    srt_close(s);
    callers.erase(it);
    --open;
    media->post([self = shared_from_this(), id, remote, path, why] {
      if (auto r = self->readers.find(id); r != self->readers.end()) {
        r->second->detach();
        self->readers.erase(r);
        self->emit(MediaEventKind::kDonePlay, id, remote, path, why);
        return;
      }
      auto p = self->publishers.find(id);
      if (p == self->publishers.end()) return;
      auto publisher = std::move(p->second);
      self->publishers.erase(p);
      if (publisher->path) self->media->hub.unpublish(publisher->path);
      self->emit(MediaEventKind::kDonePublish, id, remote, path, why);
    });
  }

  // Any thread: asks the SRT thread to close `s` (a kick, a refused publish, a player whose
  // path ended), saying why.
  void kick_socket(SRTSOCKET s, std::string why = "kicked") {
    std::lock_guard lock(mutex);
    kicked.emplace_back(s, std::move(why));
  }
  void close_kicked() {
    std::vector<std::pair<SRTSOCKET, std::string>> due;
    {
      std::lock_guard lock(mutex);
      due.swap(kicked);
    }
    for (auto& [s, why] : due)
      close_caller(s, why);
  }

  // SRT thread, once a second: what libsrt measures of every caller, for /metrics.
  void measure_links() {
    const auto now = Clock::now();
    if (now - last_measured < std::chrono::seconds(1)) return;
    last_measured = now;
    std::vector<SrtConnectionStats> links;
    links.reserve(callers.size());
    for (const auto& [s, c] : callers) {
      if (auto link = srt_link_stats(s, !c->publish)) {
        links.push_back({c->id, c->path, c->publish ? "publish" : "play", *link});
      }
    }
    std::lock_guard lock(mutex);
    measured.swap(links);
  }

  MediaServer::Impl* media;  // outlives the SRT thread (its owner stops the server first)
  SrtOptions options;        // passphrase and latency_ms are guarded by `mutex`
  SRTSOCKET listener = SRT_INVALID_SOCK;
  int eid = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::uint64_t next_id = 0;
  std::unordered_map<SRTSOCKET, std::unique_ptr<Caller>> callers;  // SRT thread
  Clock::time_point last_measured;                                 // SRT thread
  std::mutex mutex;                                                // guards the three below
  std::unordered_map<SRTSOCKET, Admitted> admitted;
  std::vector<std::pair<SRTSOCKET, std::string>> kicked;
  std::vector<SrtConnectionStats> measured;
  // Media thread: publishers and players by caller id.
  std::unordered_map<std::string, std::unique_ptr<SrtPublisher>> publishers;
  std::unordered_map<std::string, std::unique_ptr<SrtReader>> readers;
};

void SrtPublisher::kick(std::string_view reason) {
  spdlog::info("srt {}: publisher {} removed: {}", path ? path->name() : std::string("?"), remote_,
               reason);
  if (auto server = server_.lock()) server->kick_socket(socket_);
}

SrtServer::SrtServer(MediaServer::Impl& media, SrtOptions options)
    : impl_(std::make_shared<Impl>(media, std::move(options))) {
  srt_startup();
  srt_setloglevel(LOG_CRIT);  // libsrt's own log lines (routine EAGAINs) stay out of ours
}

SrtServer::~SrtServer() {
  stop();
}

std::uint16_t SrtServer::listen(const std::string& host, std::uint16_t port) {
  auto fail_with = [&](const std::string& what) {
    throw std::system_error(
        std::make_error_code(std::errc::address_in_use),
        "cannot listen for SRT on " + host + ":" + std::to_string(port) + ": " + what);
  };
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) fail_with("not an IPv4 address");
  auto& i = *impl_;
  i.listener = srt_create_socket();
  bool no = false;
  srt_setsockflag(i.listener, SRTO_RCVSYN, &no, sizeof no);
  const int latency = i.options.latency_ms;
  srt_setsockflag(i.listener, SRTO_LATENCY, &latency, sizeof latency);
  if (!i.options.passphrase.empty()) {
    srt_setsockflag(i.listener, SRTO_PASSPHRASE, i.options.passphrase.c_str(),
                    static_cast<int>(i.options.passphrase.size()));
  }
  if (srt_bind(i.listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == SRT_ERROR) {
    fail_with(srt_getlasterror_str());
  }
  if (srt_listen(i.listener, 64) == SRT_ERROR) fail_with(srt_getlasterror_str());
  srt_listen_callback(i.listener, &Impl::on_listen, &i);
  sockaddr_in bound{};
  int len = sizeof bound;
  srt_getsockname(i.listener, reinterpret_cast<sockaddr*>(&bound), &len);
  i.eid = srt_epoll_create();
  const int in = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(i.eid, i.listener, &in);
  return ntohs(bound.sin_port);
}

void SrtServer::start() {
  if (impl_->thread.joinable() || impl_->listener == SRT_INVALID_SOCK || impl_->stopping) return;
  impl_->thread = std::thread([impl = impl_] { impl->run(); });
}

void SrtServer::stop() {
  auto& i = *impl_;
  if (i.stopping.exchange(true)) return;
  if (i.thread.joinable()) i.thread.join();
  for (auto& [s, c] : i.callers)
    srt_close(s);
  i.callers.clear();
  if (i.listener != SRT_INVALID_SOCK) srt_close(i.listener);
  if (i.eid >= 0) srt_epoll_release(i.eid);
  // Here, not in the destructor: a media server's pending handlers may keep this object until
  // exit, and libsrt's threads must end before the process's libraries are finalised.
  srt_cleanup();
}

void SrtServer::set_handshake(std::optional<std::string> passphrase,
                              std::optional<int> latency_ms) {
  std::lock_guard lock(impl_->mutex);
  if (passphrase) impl_->options.passphrase = std::move(*passphrase);
  if (latency_ms) impl_->options.latency_ms = *latency_ms;
}

std::vector<SrtConnectionStats> SrtServer::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->measured;
}

SrtStats SrtServer::stats() const {
  return {impl_->connections_total.load(), impl_->refused.load(), impl_->bytes_in.load(),
          impl_->open.load()};
}

}  // namespace sluice::media
