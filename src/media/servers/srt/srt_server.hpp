#pragma once
// SrtServer: SRT callers (libsrt, live mode) publishing MPEG-TS into the media core — OBS, vMix,
// ffmpeg `-f mpegts srt://HOST:8890?streamid=#!::r=live/KEY,m=publish`. libsrt gets a thread of
// its own running its epoll; the media core stays on the media thread:
//
//   listen callback (libsrt's thread): parses the streamid (media/protocols/srt), asks the
//     MediaPolicy on the media thread whether the key may publish (a bounded wait), and accepts
//     or rejects the caller there (SRT_REJX_* with a reason), so a refused encoder is told at once;
//   SRT thread: accepts, reads datagrams, turns them into FLV bodies (mpegts::TsIngest) and posts
//     them in batches to the media thread;
//   media thread: publishes the path (MediaHub), feeds it, and ends it when the caller leaves or
//     is kicked (PublisherHandle, which closes the socket on the SRT thread).
//
// Players (m=request, read:NAME) are admitted the same way (read keys, users' media_r, a live
// path) and read the path as MPEG-TS (srt_reader.hpp); their sends happen on the media thread
// (libsrt sockets may be used from any thread), their end is seen on the SRT thread.
// Bounded: at most `max_connections` callers; a publisher sending nothing for `idle_timeout` is
// closed.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/servers/media_server.hpp"

namespace sluice::media {

// One caller as /metrics shows it (measured about once a second).
struct SrtConnectionStats {
  std::string id;    // "srt-3"
  std::string path;  // the live path it feeds or plays
  std::string role;  // "publish" or "play"
  SrtLinkStats link;
};

struct SrtStats {
  std::uint64_t connections_total = 0;
  std::uint64_t refused = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t open = 0;
};

class SrtServer {
 public:
  // Runs beside the media thread of `media`, which owns the server and stops it before it goes.
  SrtServer(MediaServer::Impl& media, SrtOptions options);
  ~SrtServer();  // stops
  SrtServer(const SrtServer&) = delete;
  SrtServer& operator=(const SrtServer&) = delete;

  // Binds the UDP port now; returns it (0 asks for any free port). Throws std::system_error
  // naming the address when it cannot.
  std::uint16_t listen(const std::string& host, std::uint16_t port);
  void start();  // the SRT thread; call from the owner's thread, not after stop()
  void stop();   // idempotent; closes every caller and releases libsrt (srt_cleanup)

  SrtStats stats() const;                               // any thread
  std::vector<SrtConnectionStats> connections() const;  // any thread
  // The passphrase and latency callers connecting from now on get (nullopt: unchanged); they
  // are set on each caller's socket in the listen callback. Any thread.
  void set_handshake(std::optional<std::string> passphrase, std::optional<int> latency_ms);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::media
