// One RTMP client on the media thread: a publisher feeding a live path, or a player reading one
// (a MediaSink with a bounded ReaderQueue). The protocol is rtmp::ServerSession's; this file
// moves bytes and applies the decisions of the MediaPolicy and the MediaHub.
#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>

#include <array>

#include "core/log_limiter.hpp"
#include "core/logging.hpp"
#include "keys/key_format.hpp"
#include "media/audio_config.hpp"
#include "media/protocols/rtmp/chunk.hpp"
#include "media/protocols/rtmp/server_session.hpp"
#include "media/servers/media_server_impl.hpp"

namespace sluice::media {

namespace {

using media::MediaEvent;
using media::MediaEventKind;

// A packet as RTMP chunks on the play stream (message stream rtmp::kPlayStreamId, chunk size
// rtmp::kServerChunkSize): built once, by the first RTMP player, and shared. Enhanced RTMP audio
// (Opus) is left out: legacy players cannot read it (is_enhanced_audio).
const std::string& rtmp_chunks(const MediaPacket& packet) {
  return packet.form(MediaPacket::Form::kRtmpChunks, [](const MediaPacket& p, std::string& out) {
    if (p.type == tag_type::kAudio && is_enhanced_audio(p.bytes())) return;
    const rtmp::ChunkWriter writer(rtmp::kServerChunkSize);
    writer.write(rtmp::play_csid(p.type), p.timestamp, p.type, rtmp::kPlayStreamId, p.bytes(), out);
  });
}

class RtmpConnection final : public MediaConnection,
                             public media::MediaSink,
                             public media::PublisherHandle,
                             public QueuedWriter<RtmpConnection>,
                             public std::enable_shared_from_this<RtmpConnection> {
 public:
  RtmpConnection(MediaServer::Impl& server, tcp::socket socket, const std::string& peer)
      : QueuedWriter(server, &rtmp_chunks),
        socket_(std::move(socket)),
        id_(server.next_id("rtmp-")),
        last_read_(Clock::now()),
        opened_(Clock::now()) {
    std::tie(ip_, remote_) = peer_or(socket_, peer);
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void start() {
    server_.add(id_, ip_, shared_from_this());
    server_.stats.connections_total++;
    server_.stats.connections_open++;
    read();
  }

  // MediaConnection
  void close() override {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    if (publishing_) {
      media::MediaPath* path = std::exchange(publishing_, nullptr);
      const std::string name = path->name();
      server_.hub.unpublish(path);
      emit(MediaEventKind::kDonePublish, name, end_reason_);
    }
    leave_path(playing_, end_reason_);
    if (connected_) emit(MediaEventKind::kDoneConnect, {}, end_reason_);
    server_.stats.connections_open--;
    server_.remove(id_);  // may destroy this: nothing after
  }

  void tick(Clock::time_point now) override {
    // The handshake, connect and a publish or play must be done within handshake_timeout: an
    // idle socket must not hold one of the connections a real encoder needs.
    if (!started_ && !awaiting_ && !close_after_write_ &&
        now - opened_ > server_.options.handshake_timeout) {
      const std::string why = "no RTMP publish or play within " +
                              std::to_string(server_.options.handshake_timeout.count()) +
                              " ms of connecting (rtmp-handshake-timeout)";
      server_.count(Refusal::kRtmpHandshakeTimeout, "rtmp connection from " + remote_ + ": " + why);
      end_reason_ = why;
      return close();
    }
    if (!publishing_ && playing_.empty() && !close_after_write_ &&
        now - opened_ > server_.options.idle_timeout) {
      return fail_with("neither published nor played within " +
                       std::to_string(server_.options.idle_timeout.count()) + " s");
    }
    if (publishing_ && now - last_read_ > server_.options.idle_timeout) {
      return fail_with("publisher sent nothing for " +
                       std::to_string(server_.options.idle_timeout.count()) + " s");
    }
    if (write_stalled(now)) {
      return fail_with("reader accepted no data for " +
                       std::to_string(server_.options.stall_timeout.count()) + " s");
    }
  }

  // MediaSink (a player)
  void on_packet(const media::PacketPtr& p, bool restart_point) override {
    offer(p, restart_point);
  }
  void flush() override { flush_deferred(); }
  void on_path_end() override {
    const std::string name = std::exchange(playing_, {});
    session_.end_play(play_stream_id_, name);
    emit(MediaEventKind::kDonePlay, name, "the publisher left");
    flush_output();
    close_after_write_ = true;
    write();
  }
  media::ReaderInfo reader_info() const override {
    return queued_reader_info(id_, "rtmp", remote_);
  }
  void kick() override {  // logged by the caller (server/media_routes.cpp)
    end_reason_ = "kicked";
    close();
  }

  // PublisherHandle
  void kick(std::string_view reason) override {
    spdlog::info("rtmp {}: publisher {} removed: {}",
                 publishing_ ? publishing_->name() : std::string("?"), remote_, reason);
    end_reason_ = std::string(reason);
    close();
  }

 private:
  void read() {
    if (session_.awaiting_answer()) return;
    socket_.async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (self->closed_) return;
          if (ec) {
            if (ec != asio::error::eof && ec != asio::error::connection_reset) {
              self->end_reason_ = ec.message();
            }
            return self->close();
          }
          self->last_read_ = Clock::now();
          self->server_.stats.bytes_in += n;
          self->on_bytes({self->buffer_.data(), n});
        });
  }

  void on_bytes(std::span<const std::uint8_t> bytes) {
    std::vector<rtmp::SessionEvent> events;
    while (!closed_) {
      events.clear();
      auto status = session_.feed(bytes, events);
      bytes = {};
      for (auto& e : events) {
        if (closed_) return;
        handle(e);
      }
      if (!status) return fail_with(status.error().detail, true);
      if (events.empty()) break;
    }
    if (closed_) return;
    flush_output();
    write();
    if (!close_after_write_) read();
  }

  void handle(rtmp::SessionEvent& e) {
    switch (e.kind) {
      case rtmp::EventKind::kConnect:
        return on_connect(e);
      case rtmp::EventKind::kPublish:
        return on_publish(e);
      case rtmp::EventKind::kPlay:
        return on_play(e);
      case rtmp::EventKind::kMedia:
        if (publishing_ && e.stream_id == publish_stream_id_) {
          auto& payload = e.message.payload;
          if (publishing_->on_media(e.message.type, e.message.timestamp,
                                    std::string(payload.begin(), payload.end()))) {
            server_.hub.description_changed(*publishing_);
          }
        }
        return;
      case rtmp::EventKind::kMetadata:
        if (publishing_ && e.stream_id == publish_stream_id_ &&
            publishing_->on_metadata(e.metadata)) {
          server_.hub.description_changed(*publishing_);
        }
        return;
      case rtmp::EventKind::kStop:
        if (publishing_ && e.stream_id == publish_stream_id_) {
          media::MediaPath* path = std::exchange(publishing_, nullptr);
          const std::string name = path->name();
          server_.hub.unpublish(path);
          emit(MediaEventKind::kDonePublish, name, "unpublished");
        } else if (e.stream_id == play_stream_id_) {
          leave_path(playing_, "stopped");
        }
        return;
    }
  }

  void on_connect(const rtmp::SessionEvent& e) {
    app_ = e.app;
    emit(MediaEventKind::kPreConnect, {}, {});
    if (app_ != server_.options.app) {
      // OBS users paste the key into the server URL: the application is never echoed as sent.
      const std::string why = "unknown application '" + keys::redact_keys(app_.substr(0, 64)) +
                              "': publish to rtmp://HOST/" + server_.options.app +
                              " with the stream key as stream name";
      spdlog::info("rtmp: connect from {} refused: {}", remote_, why);
      emit(MediaEventKind::kPreConnect, {}, why, true);
      session_.reject_connect(why);
      return finish_after_write();
    }
    session_.accept_connect();
    connected_ = true;
    emit(MediaEventKind::kPostConnect, {}, {});
  }

  void on_publish(const rtmp::SessionEvent& e) {
    MediaEvent pre = event(MediaEventKind::kPrePublish, {}, {});
    server_.policy.on_event(pre);
    if (publishing_ || !playing_.empty()) {
      session_.reject_publish(e.stream_id, "NetStream.Publish.BadName",
                              "one publish or play per connection");
      return finish_after_write();
    }
    auto grant = server_.policy.authorize_publish(app_, e.name, e.query, ip_);
    if (!grant) {
      pre.refused = true;
      pre.reason = grant.error().detail;
      server_.policy.on_event(pre);
      session_.reject_publish(e.stream_id, "NetStream.Publish.Unauthorized",
                              "publish refused: " + grant.error().detail);
      return finish_after_write();
    }
    media::PublisherInfo info{id_, remote_, grant->key_id, "rtmp"};
    auto path = server_.hub.publish(grant->path, std::move(info), this);
    if (!path) {
      pre.refused = true;
      pre.path = grant->path;
      pre.reason = path.error().detail;
      server_.policy.on_event(pre);
      spdlog::info("rtmp: publish of '{}' from {} refused: {}", grant->path, remote_,
                   path.error().detail);
      session_.reject_publish(e.stream_id, "NetStream.Publish.BadName", path.error().detail);
      return finish_after_write();
    }
    publishing_ = *path;
    started_ = true;
    publish_stream_id_ = e.stream_id;
    key_id_ = grant->key_id;
    session_.accept_publish(e.stream_id, grant->path);
    spdlog::info("rtmp: {} publishes '{}' (key {})", remote_, grant->path, grant->key_id);
    emit(MediaEventKind::kPostPublish, grant->path, {});
  }

  void on_play(const rtmp::SessionEvent& e) {
    // A publish key pasted into a play URL is never echoed or logged.
    const std::string shown = keys::redact_keys(e.name.substr(0, 128));
    emit(MediaEventKind::kPrePlay, shown, {});
    if (publishing_ || !playing_.empty() || awaiting_) {
      session_.reject_play(e.stream_id, "NetStream.Play.Failed",
                           "one publish or play per connection");
      return finish_after_write();
    }
    if (auto allowed = server_.policy.authorize_play(e.name, e.query, ip_); !allowed) {
      emit(MediaEventKind::kPrePlay, shown, allowed.error().detail, true);
      session_.reject_play(e.stream_id, "NetStream.Play.Failed",
                           "play refused: " + allowed.error().detail);
      return finish_after_write();
    }
    awaiting_ = true;  // an on-demand source starting is not a slow handshake
    server_.await_path(e.name, [self = shared_from_this(), e, shown](media::MediaPath* path) {
      if (self->closed_) return;
      self->awaiting_ = false;
      self->play(e, shown, path);
      self->on_bytes({});  // answered: what the client sent meanwhile, then reading again
    });
  }

  // The admitted play `e` of `path` (null: nobody publishes it).
  void play(const rtmp::SessionEvent& e, const std::string& shown, media::MediaPath* path) {
    if (!path) {
      const std::string why = "no one is publishing '" + shown + "'";
      emit(MediaEventKind::kPrePlay, shown, why, true);
      session_.reject_play(e.stream_id, "NetStream.Play.StreamNotFound", why);
      return finish_after_write();
    }
    playing_ = e.name;
    started_ = true;
    play_stream_id_ = e.stream_id;
    session_.accept_play(e.stream_id, e.name);
    flush_output();  // the status messages go before the first packet
    path->attach(this);
    emit(MediaEventKind::kPostPlay, e.name, {});
  }

  void finish_after_write() {
    flush_output();
    close_after_write_ = true;
  }

  void fail_with(std::string why, bool protocol_error = false) {
    if (protocol_error) server_.stats.errors_total++;
    static LogLimiter limiter;  // a flood of bad connections: one line a second
    log_limited(limiter, false, "rtmp: closing " + remote_ + " (" + id_ + "): " + why);
    end_reason_ = std::move(why);
    close();
  }

  void flush_output() {
    std::string& out = session_.output();
    if (out.empty()) return;
    pending_text_.append(out);
    out.clear();
  }

  // QueuedWriter
  friend class QueuedWriter<RtmpConnection>;
  tcp::socket& socket() { return socket_; }
  bool closed() const { return closed_; }
  void on_write_error(boost::system::error_code ec) {
    end_reason_ = ec.message();
    close();
  }
  // Players on message stream 1 get the packets' shared chunks; a player on another stream id
  // gets its packets chunked here (rare: ffmpeg, OBS, VLC and browsers' players all play on the
  // first stream).
  bool prepare_write() {
    if (play_stream_id_ == rtmp::kPlayStreamId) return true;
    std::vector<media::PacketPtr> packets;
    queue_.take(packets, WriteBatch::kMaxPackets, WriteBatch::kMaxBytes);
    for (const auto& p : packets) {
      session_.chunk_writer().write(rtmp::play_csid(p->type), p->timestamp, p->type,
                                    play_stream_id_, p->bytes(), pending_text_);
    }
    return false;
  }

  MediaEvent event(MediaEventKind kind, std::string path, std::string reason) const {
    MediaEvent e;
    e.kind = kind;
    e.client_id = id_;
    e.protocol = "rtmp";
    e.remote = remote_;
    e.app = app_;
    e.path = std::move(path);
    e.key_id = key_id_;
    e.reason = std::move(reason);
    return e;
  }
  void emit(MediaEventKind kind, std::string path, std::string reason, bool refused = false) {
    MediaEvent e = event(kind, std::move(path), std::move(reason));
    e.refused = refused;
    server_.policy.on_event(e);
  }

  tcp::socket socket_;
  std::string id_;
  std::string ip_;
  std::string remote_;
  rtmp::ServerSession session_;
  std::array<std::uint8_t, 64 * 1024> buffer_{};
  std::string app_;
  std::string key_id_;
  bool connected_ = false;
  bool started_ = false;   // a publish or play was accepted (the handshake deadline is met)
  bool awaiting_ = false;  // a play waits for its path's on-demand source
  bool closed_ = false;
  std::string end_reason_ = "disconnected";

  media::MediaPath* publishing_ = nullptr;
  std::uint32_t publish_stream_id_ = 0;
  std::string playing_;
  std::uint32_t play_stream_id_ = rtmp::kPlayStreamId;

  Clock::time_point last_read_;
  Clock::time_point opened_;
};

}  // namespace

void start_rtmp_connection(MediaServer::Impl& server, tcp::socket socket, std::string peer) {
  std::make_shared<RtmpConnection>(server, std::move(socket), peer)->start();
}

}  // namespace sluice::media
