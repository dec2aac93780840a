#pragma once
// MediaServer: the RTMP listener and the media thread. One thread runs every RTMP connection,
// every HTTP-FLV response (sockets handed over by the HTTP server) and the MediaHub, so live
// paths, GOP caches and reader queues need no locks (docs/ARCHITECTURE.md, "Media"). Other
// threads reach the hub through loop() (post, or call_on_loop to wait for an answer).
// No Asio here.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "media/media_hub.hpp"
#include "media/reader_queue.hpp"

namespace sluice::net {
class HttpServer;
}
namespace sluice {
class EventLoop;
class SharedByteBudget;
class Refusals;
}  // namespace sluice

namespace sluice::media {

class MediaPolicy;
class WebrtcServer;

// SRT publishers (srt/srt_server.hpp).
struct SrtOptions {
  std::string passphrase;  // empty: unencrypted; else 10-79 characters
  int latency_ms = 120;    // SRTO_LATENCY
  std::size_t max_connections = 256;
  std::chrono::seconds idle_timeout{30};  // a publisher sending nothing this long is closed
};

struct MediaServerOptions {
  std::string app = "live";  // the one RTMP application (rtmp://HOST/live)
  media::MediaHubOptions hub;
  media::ReaderLimits reader;
  // From accepting an RTMP connection to its publish or play being answered: the handshake,
  // connect and publish|play (rtmp-handshake-timeout, docs/operations.md "Limits").
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::seconds idle_timeout{30};         // a publisher that sends nothing this long
  std::chrono::seconds stall_timeout{30};        // a reader whose socket accepts nothing this long
  std::size_t max_connections = 4096;            // RTMP and HTTP-FLV connections
  std::size_t max_connections_per_address = 64;  // the same, from one client address
  Refusals* refusals = nullptr;  // counts refusals; must outlive the server (null: not counted)
  // Bytes of access units being reassembled from SRT and RTSP publishers, all together
  // (media-reassembly-budget): a PES or access unit that does not fit is dropped and counted.
  std::size_t reassembly_budget = 64 * 1024 * 1024;
  // Readers' writes are gathered this long (media_server_impl.hpp, defer_write); 0 writes
  // each packet at once.
  std::chrono::milliseconds write_coalesce{25};
  SrtOptions srt;
  struct Rtsp {
    // Camera aliases: rtsp://HOST:PORT/ALIAS plays the path it names ("stream1" -> "cam").
    std::map<std::string, std::string> aliases;
  } rtsp;
};

// Counters read by /metrics from any thread.
struct MediaStats {
  std::atomic<std::uint64_t> connections_total{0};  // RTMP connections accepted
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> flv_readers_total{0};
  std::atomic<std::uint64_t> errors_total{0};  // connections closed for a protocol violation
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> refused_total{0};  // over max_connections or the per-address cap
  std::atomic<std::uint64_t> rtsp_connections_total{0};
};

class MediaServer {
 public:
  // `policy` and `observer` must outlive the server; they are called on the media thread.
  MediaServer(MediaServerOptions options, media::MediaPolicy& policy,
              media::PathObserver* observer);
  ~MediaServer();
  MediaServer(const MediaServer&) = delete;
  MediaServer& operator=(const MediaServer&) = delete;

  // Binds the RTMP listener now; returns the bound port. Throws std::system_error naming it.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  // Binds the RTSP listener now; returns the bound port. Throws std::system_error naming it.
  std::uint16_t listen_rtsp(const std::string& host, std::uint16_t port);
  // Binds the UDP pair every RTSP session over UDP shares: RTP on `rtp_port`, RTCP on the next
  // port (0: any free pair). Returns the RTP port. Without it, RTSP is TCP (interleaved) only.
  std::uint16_t listen_rtsp_udp(const std::string& host, std::uint16_t rtp_port);
  // Binds the SRT listener (UDP) now; returns the bound port. Throws std::system_error naming it.
  std::uint16_t listen_srt(const std::string& host, std::uint16_t port);
  // Binds the UDP port every WebRTC session shares (0: any free port); returns it. Throws
  // std::system_error naming it. ICE-TCP listens on the same number over TCP when it is free.
  std::uint16_t listen_webrtc(const std::string& host, std::uint16_t port);
  // The ICE-TCP port (the WebRTC port's number, over TCP); 0 when it could not be bound or
  // WebRTC is off. Set by listen_webrtc, before start().
  std::uint16_t webrtc_tcp_port() const;
  // Media thread only: the WebRTC port's sessions; null while WebRTC is off.
  WebrtcServer* webrtc();
  // The media-reassembly-budget every ingest that gathers access units charges (SRT, RTSP and
  // WHIP publishers). Any thread.
  SharedByteBudget& reassembly_budget();
  // The camera aliases (rtsp_aliases setting): from the next RTSP request. Any thread.
  void set_rtsp_aliases(std::map<std::string, std::string> aliases);
  // Media thread only: the aliases in force.
  const std::map<std::string, std::string>& rtsp_aliases() const;
  // Starts the media thread. Idempotent.
  void start();
  // Closes everything and joins the thread. Idempotent.
  void stop();
  // Serves an RTMP connection accepted elsewhere (the RTMPS front door's plaintext end, owned
  // from now on) for a client at `peer`. Any thread.
  void adopt_rtmp(int fd, std::string peer);
  // The same for RTSP (the RTSPS front door): RTP goes interleaved in the TLS stream. Any thread.
  void adopt_rtsp(int fd, std::string peer);

  EventLoop& loop();
  // Media thread only.
  media::MediaHub& hub();
  // Calls `fn` on the media thread once a second. Call before start().
  void on_tick(std::function<void()> fn);
  const MediaStats& stats() const;
  // The SRT listener's counters (all 0 while SRT is off). Any thread.
  struct SrtCounters {
    std::uint64_t connections_total = 0, refused = 0, bytes_in = 0, open = 0;
  };
  SrtCounters srt_stats() const;
  // Each SRT caller's link as last measured (about once a second). Any thread.
  struct SrtConnection {
    std::string id, path, role;  // role: "publish" or "play"
    SrtLinkStats link;
  };
  std::vector<SrtConnection> srt_connections() const;
  // The SRT passphrase and latency for callers connecting from now on (nullopt: unchanged).
  // Any thread.
  void set_srt_handshake(std::optional<std::string> passphrase, std::optional<int> latency_ms);
  // Applies changed limits (the live settings of docs/operations.md "Limits"): the per-address
  // cap from the next connection, the handshake deadline from the next check. Any thread.
  void set_limits(const Limits& limits);
  // Media thread only: ends the reader `id` of any path (false when there is none).
  bool kick_reader(const std::string& id);

  // On-demand sources (pipelines pulled only while watched): `demand(path)` is called on the
  // media thread when an admitted reader asks for a path nobody publishes; true when a source
  // for it is starting. Readers then wait up to `wait` for the path. Before start().
  using Demand = std::function<bool(const std::string& path)>;
  void set_on_demand(Demand demand, std::chrono::milliseconds wait = std::chrono::seconds(10));
  // Media thread only: `then(path)` once `name` is live — within this call when it already is
  // or nothing would start it (then with null), else from the media thread once its on-demand
  // source published it (checked every 100 ms), or with null after the wait. Every door's
  // reader calls this after its play check, so on-demand sources start for every protocol.
  void await_path(const std::string& name, std::function<void(MediaPath*)> then);

  struct Impl;

 private:
  friend void connect_media_handoff(net::HttpServer& http, MediaServer& media);
  std::shared_ptr<Impl> impl_;
};

// Serves `GET /live/NAME.flv` on `http`'s port from the media thread: the socket moves there and
// is answered with an endless FLV body. While `media` is not running such requests get 503.
void connect_media_handoff(net::HttpServer& http, MediaServer& media);

}  // namespace sluice::media
