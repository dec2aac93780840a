#pragma once
// Internal to src/net: the media thread's state, shared by media_server.cpp,
// rtmp_connection.cpp and flv_connection.cpp. Media thread only unless marked.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>

#include "media/media_policy.hpp"
#include "net/media_server.hpp"
#include "net/server_impl.hpp"
#include "relay/relay.hpp"

namespace sluice::net {

// A connection of the media thread: an RTMP client or an HTTP-FLV player.
class MediaConnection {
 public:
  virtual ~MediaConnection() = default;
  // Ends the connection now (flushing nothing); idempotent. Publishers unpublish, readers detach.
  virtual void close() = 0;
  // Called every second with the current time: enforce timeouts.
  virtual void tick(std::chrono::steady_clock::time_point now) = 0;
};

struct MediaServer::Impl final : relay::RelayLoop, std::enable_shared_from_this<MediaServer::Impl> {
  Impl(MediaServerOptions o, media::MediaPolicy& p, media::PathObserver* observer)
      : options(std::move(o)), policy(p), hub(options.hub, observer) {}

  void post(std::function<void()> fn) override { asio::post(io, std::move(fn)); }
  bool in_loop() const override { return std::this_thread::get_id() == thread_id.load(); }

  void accept();
  void adopt_flv(std::unique_ptr<WireUpgrade> handoff);
  void tick();
  std::string next_id(const char* prefix) { return prefix + std::to_string(++last_id); }
  void add(const std::string& id, std::shared_ptr<MediaConnection> c) { connections[id] = c; }
  void remove(const std::string& id) { connections.erase(id); }

  MediaServerOptions options;
  media::MediaPolicy& policy;
  media::MediaHub hub;
  MediaStats stats;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer tick_timer{io};
  std::thread thread;
  std::atomic<std::thread::id> thread_id{};
  std::atomic<bool> accepting_handoffs{false};
  bool stopping = false;
  std::uint64_t last_id = 0;
  std::unordered_map<std::string, std::shared_ptr<MediaConnection>> connections;
  std::vector<std::function<void()>> tickers;
};

// One gather write of a reader: queued control bytes first, then queued packets in one of their
// serialised forms (`form`: &MediaPacket::rtmp or &MediaPacket::flv). Keeps what it writes
// alive until the write completes.
struct WriteBatch {
  static constexpr std::size_t kMaxPackets = 64;
  static constexpr std::size_t kMaxBytes = 1 << 20;

  std::string text;
  std::vector<media::PacketPtr> packets;
  std::vector<asio::const_buffer> buffers;

  // Fills the batch from `pending_text` (moved) and `queue`; false when there is nothing to write.
  bool fill(std::string& pending_text, media::ReaderQueue* queue,
            std::string media::MediaPacket::*form) {
    text.clear();
    packets.clear();
    buffers.clear();
    text.swap(pending_text);
    if (!text.empty()) buffers.emplace_back(text.data(), text.size());
    if (queue) queue->take(packets, kMaxPackets, kMaxBytes);
    for (const auto& p : packets) {
      const std::string& bytes = (*p).*form;
      buffers.emplace_back(bytes.data(), bytes.size());
    }
    return !buffers.empty();
  }
  std::size_t bytes() const {
    std::size_t n = 0;
    for (const auto& b : buffers)
      n += b.size();
    return n;
  }
};

void start_rtmp_connection(MediaServer::Impl& server, tcp::socket socket);
void start_flv_connection(MediaServer::Impl& server, tcp::socket socket,
                          bhttp::request<bhttp::string_body> request);

// "1.2.3.4" (IPv4-mapped IPv6 addresses are given as IPv4) and "1.2.3.4:5678".
std::pair<std::string, std::string> peer_of(const tcp::socket& socket);

}  // namespace sluice::net
