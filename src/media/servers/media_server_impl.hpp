#pragma once
// Internal to src/media/servers: the media thread's state, shared by media_server.cpp and the
// protocol servers (rtmp/, flv/, rtsp/). Media thread only unless marked.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>

#include "core/byte_budget.hpp"
#include "core/event_loop.hpp"
#include "core/refusals.hpp"
#include "media/media_policy.hpp"
#include "media/servers/media_server.hpp"
#include "net/accept_backoff.hpp"
#include "net/server_impl.hpp"

namespace sluice::media {

class RtspUdp;
class WebrtcServer;
class IceTcpListener;
class SrtServer;

// The net kit's pieces the media servers use (src/net: accept back-off, HTTP hand-offs).
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using net::AcceptBackoff;
using net::WireUpgrade;

// A connection of the media thread: an RTMP client or an HTTP-FLV player.
class MediaConnection {
 public:
  virtual ~MediaConnection() = default;
  // Ends the connection now (flushing nothing); idempotent. Publishers unpublish, readers detach.
  virtual void close() = 0;
  // Called every second with the current time: enforce timeouts.
  virtual void tick(std::chrono::steady_clock::time_point now) = 0;
  // Writes what was queued since MediaServer::Impl::defer_write (readers only).
  virtual void flush() {}
};

struct MediaServer::Impl final : EventLoop, std::enable_shared_from_this<MediaServer::Impl> {
  Impl(MediaServerOptions o, media::MediaPolicy& p, media::PathObserver* observer)
      : options(std::move(o)),
        policy(p),
        hub(options.hub, observer),
        backoff(io.get_executor(), options.refusals, Refusal::kMediaAcceptFds, "rtmp"),
        rtsp_backoff(io.get_executor(), options.refusals, Refusal::kMediaAcceptFds, "rtsp") {}

  void post(std::function<void()> fn) override { asio::post(io, std::move(fn)); }
  bool in_loop() const override { return std::this_thread::get_id() == thread_id.load(); }

  // How a protocol server takes a socket (start_rtmp_connection, start_rtsp_connection).
  using StartConnection = void (*)(Impl& server, tcp::socket socket, std::string peer);
  // Accepts on `listener` for `protocol` under the connection caps, backing off on EMFILE.
  void accept_on(tcp::acceptor& listener, AcceptBackoff& backoff, const char* protocol,
                 StartConnection start);
  // A connection accepted elsewhere (a TLS front door's plaintext end, owned from now on) for a
  // client at `peer`. Any thread.
  void adopt(int fd, std::string peer, const char* protocol, StartConnection start);
  void adopt_flv(std::unique_ptr<WireUpgrade> handoff);
  void tick();
  // MediaServer::await_path: `then(path)` once `name` is live (on-demand sources start).
  void await_path(const std::string& name, std::function<void(MediaPath*)> then);
  // Its two halves: asks the on-demand source of `name` to start (true when one is starting);
  // then `then(path)` from the media thread once `name` is live, or null after demand_wait.
  bool demand(const std::string& name) { return on_demand && on_demand(name); }
  void wait_for(const std::string& name, std::function<void(MediaPath*)> then);
  std::string next_id(const char* prefix) { return prefix + std::to_string(++last_id); }
  // Whether a new connection from `ip` fits the caps (max_connections, and
  // max_connections_per_address); counts and logs the refusal when not.
  bool admit(const std::string& ip, const char* protocol);
  // A connection from `ip` joins; remove(id) lets it go.
  void add(const std::string& id, const std::string& ip, std::shared_ptr<MediaConnection> c) {
    connections[id] = std::move(c);
    addresses[id] = ip;
    ++per_address[ip];
  }
  void count(Refusal kind, const std::string& what) {
    if (options.refusals) options.refusals->count(kind, what);
  }
  // Readers' writes are gathered for up to options.write_coalesce, so that the audio and video
  // packets of that window leave in one system call per reader instead of one each: about half
  // the syscalls (and most of the per-reader CPU) for at most that much added latency.
  void defer_write(std::shared_ptr<MediaConnection> c) {
    deferred.push_back(std::move(c));
    if (deferred.size() > 1) return;
    flush_timer.expires_after(options.write_coalesce);
    flush_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopping) return;
      auto due = std::move(self->deferred);
      self->deferred.clear();
      for (auto& c : due)
        c->flush();
    });
  }
  void remove(const std::string& id) {
    if (auto it = addresses.find(id); it != addresses.end()) {
      if (auto n = per_address.find(it->second); n != per_address.end() && --n->second == 0) {
        per_address.erase(n);
      }
      addresses.erase(it);
    }
    connections.erase(id);  // may destroy the caller
  }

  MediaServerOptions options;
  SharedByteBudget reassembly_budget{options.reassembly_budget};  // any thread
  media::MediaPolicy& policy;
  media::MediaHub hub;
  MediaStats stats;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer tick_timer{io};
  asio::steady_timer flush_timer{io};
  AcceptBackoff backoff;
  tcp::acceptor rtsp_acceptor{io};
  AcceptBackoff rtsp_backoff;
  std::shared_ptr<RtspUdp> rtsp_udp;        // null: RTSP over TCP only
  std::shared_ptr<WebrtcServer> webrtc;     // null: WebRTC off
  std::shared_ptr<IceTcpListener> ice_tcp;  // null: no ICE-TCP (WebRTC off, or the port taken)
  std::shared_ptr<SrtServer> srt;           // null: no SRT listener
  std::vector<std::shared_ptr<MediaConnection>> deferred;
  std::thread thread;
  std::atomic<std::thread::id> thread_id{};
  std::atomic<bool> accepting_handoffs{false};
  bool stopping = false;
  std::uint64_t last_id = 0;
  std::unordered_map<std::string, std::shared_ptr<MediaConnection>> connections;
  std::unordered_map<std::string, std::string> addresses;    // connection id -> client address
  std::unordered_map<std::string, std::size_t> per_address;  // client address -> connections
  std::vector<std::function<void()>> tickers;
  MediaServer::Demand on_demand;  // null: no on-demand sources
  std::chrono::milliseconds demand_wait{10000};
};

// One gather write of a reader: queued control bytes first, then queued packets in one of their
// serialised forms (`form`: the RTMP chunks or the FLV tag, MediaPacket::form, built by the first
// reader that asks). Keeps what it writes alive until the write completes.
struct WriteBatch {
  static constexpr std::size_t kMaxPackets = 64;
  static constexpr std::size_t kMaxBytes = 1 << 20;

  std::string text;
  std::vector<media::PacketPtr> packets;
  std::vector<asio::const_buffer> buffers;

  // Fills the batch from `pending_text` (moved) and `queue`; false when there is nothing to write.
  bool fill(std::string& pending_text, media::ReaderQueue* queue,
            const std::string& (*form)(const MediaPacket&)) {
    text.clear();
    packets.clear();
    buffers.clear();
    text.swap(pending_text);
    if (!text.empty()) buffers.emplace_back(text.data(), text.size());
    if (queue) queue->take(packets, kMaxPackets, kMaxBytes);
    for (const auto& p : packets) {
      const std::string& bytes = form(*p);
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

// The write side every reader connection shares (RTMP players, HTTP-FLV): control bytes in
// `pending_text_`, packets in a bounded ReaderQueue (skip-to-keyframe), one gather write in
// flight. `Derived` provides `socket()`, `closed()`, `close()`, `shared_from_this()` and
// `prepare_write()` (a hook run before each batch; RTMP re-chunks there for unusual stream ids).
// Media thread only.
template <class Derived>
class QueuedWriter {
 protected:
  using Clock = std::chrono::steady_clock;

  // `form` gives a packet's bytes in the reader's form (null: the derived class writes them
  // itself in prepare_write()).
  QueuedWriter(MediaServer::Impl& server, const std::string& (*form)(const MediaPacket&))
      : server_(server), queue_(server.options.reader), form_(form) {}

  // Queues a packet; it is written with the others of the coalescing window (at once when
  // write_coalesce is 0).
  void offer(const media::PacketPtr& p, bool restart_point) {
    queue_.offer(p, restart_point);
    if (writing_ || flush_pending_) return;
    auto& self = static_cast<Derived&>(*this);
    if (server_.options.write_coalesce.count() == 0) return write();
    flush_pending_ = true;
    server_.defer_write(self.shared_from_this());
  }
  void flush_deferred() {
    flush_pending_ = false;
    write();
  }

  // Starts a write when none is in flight; with nothing left to write and close_after_write_
  // set, closes the connection.
  void write() {
    auto& self = static_cast<Derived&>(*this);
    if (writing_ || self.closed()) return;
    const bool use_queue = self.prepare_write();
    if (!batch_.fill(pending_text_, use_queue ? &queue_ : nullptr, form_)) {
      if (close_after_write_) self.close();
      return;
    }
    writing_ = true;
    write_started_ = Clock::now();
    asio::async_write(self.socket(), batch_.buffers,
                      [ptr = self.shared_from_this()](boost::system::error_code ec, std::size_t n) {
                        Derived& me = *ptr;
                        me.writing_ = false;
                        if (me.closed()) return;
                        if (ec) return me.on_write_error(ec);
                        me.server_.stats.bytes_out += n;
                        me.bytes_out_ += n;
                        me.packets_out_ += me.batch_.packets.size();
                        me.write();
                      });
  }

  // Stops reading `playing` (detaching from the path while it is still live) and announces
  // donePlay with `reason`; nothing when not playing.
  void leave_path(std::string& playing, std::string reason) {
    auto& self = static_cast<Derived&>(*this);
    if (playing.empty()) return;
    if (auto* path = server_.hub.find(playing)) path->detach(&self);
    self.emit(media::MediaEventKind::kDonePlay, std::exchange(playing, {}), std::move(reason));
  }

  // Bytes and packets a reader sent outside the TCP stream (RTSP over UDP).
  void count_out(std::uint64_t bytes, std::uint64_t packets) {
    bytes_out_ += bytes;
    packets_out_ += packets;
  }

  bool write_stalled(Clock::time_point now) const {
    return writing_ && now - write_started_ > server_.options.stall_timeout;
  }
  media::ReaderInfo queued_reader_info(const std::string& id, const char* kind,
                                       const std::string& remote) const {
    return {id, kind, remote, bytes_out_, packets_out_, queue_.dropped(), queue_.size()};
  }

  MediaServer::Impl& server_;
  media::ReaderQueue queue_;
  std::string pending_text_;
  bool close_after_write_ = false;

 private:
  const std::string& (*form_)(const MediaPacket&);
  WriteBatch batch_;
  bool writing_ = false;
  bool flush_pending_ = false;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t packets_out_ = 0;
  Clock::time_point write_started_;
};

// `peer` (may be empty: read from the socket) is the client's address for connections that came
// through a TLS front door (RTMPS, HTTPS), whose sockets are local pairs.
void start_rtmp_connection(MediaServer::Impl& server, tcp::socket socket, std::string peer = {});
// `on_status` (may be empty) is told the status of the answer (sluice_http_requests_total);
// `admitted` false: the player is answered 429 (the per-address or total cap) and closed.
void start_flv_connection(MediaServer::Impl& server, tcp::socket socket,
                          bhttp::request<bhttp::string_body> request,
                          std::function<void(int)> on_status, bool admitted, std::string peer = {});

void start_rtsp_connection(MediaServer::Impl& server, tcp::socket socket, std::string peer = {});

// "1.2.3.4" (IPv4-mapped IPv6 addresses are given as IPv4) and "1.2.3.4:5678".
std::pair<std::string, std::string> peer_of(const tcp::socket& socket);
// peer_of, unless the connection says who it is for (`peer` non-empty).
inline std::pair<std::string, std::string> peer_or(const tcp::socket& socket,
                                                   const std::string& peer) {
  return peer.empty() ? peer_of(socket) : std::pair{peer, peer};
}

}  // namespace sluice::media
