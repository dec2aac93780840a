// One HTTP-FLV player on the media thread (`GET /live/NAME.flv`, handed over by the HTTP
// server): answers the request, then writes the path's packets as one endless FLV body from a
// bounded ReaderQueue until the player leaves or the publisher does. `HEAD` gets the same answer
// without a body (and is not a player: no lifecycle events).
#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>

#include <array>

#include "core/json_text.hpp"
#include "core/log_limiter.hpp"
#include "core/logging.hpp"
#include "http/gate.hpp"
#include "http/request_target.hpp"
#include "keys/key_format.hpp"
#include "keys/key_service.hpp"
#include "media/audio_config.hpp"
#include "media/flv.hpp"
#include "media/servers/media_server_impl.hpp"

namespace sluice::media {

namespace {

using media::MediaEventKind;

constexpr std::string_view kFlvHead =
    "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nCache-Control: no-cache\r\n"
    "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n";

// An error answer: `{"detail": …}`, or only its head (same Content-Length) for a HEAD request.
// A 401 carries its challenge: a read key's, or the HTTP API's credentials one.
std::string error_answer(const Error& e, bool head) {
  const int status = e.status;
  const std::string body = to_json_text(boost::json::object{{"detail", e.detail}});
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " +
      std::string(bhttp::obsolete_reason(bhttp::int_to_status(status))) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nAccess-Control-Allow-Origin: *\r\n";
  if (status == 401) {
    out +=
        "WWW-Authenticate: " + (e.challenge.empty() ? std::string(http::kChallenge) : e.challenge) +
        "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

// A packet as one FLV tag: built once, by the first HTTP-FLV player, and shared. Enhanced RTMP
// audio (Opus) is left out: legacy players cannot read it (is_enhanced_audio).
const std::string& flv_tag(const MediaPacket& packet) {
  return packet.form(MediaPacket::Form::kFlvTag, [](const MediaPacket& p, std::string& out) {
    if (p.type == tag_type::kAudio && is_enhanced_audio(p.bytes())) return;
    append_flv_tag(p.type, p.timestamp, p.bytes(), out);
  });
}

class FlvConnection final : public MediaConnection,
                            public media::MediaSink,
                            public QueuedWriter<FlvConnection>,
                            public std::enable_shared_from_this<FlvConnection> {
 public:
  FlvConnection(MediaServer::Impl& server, tcp::socket socket, const std::string& peer)
      : QueuedWriter(server, &flv_tag), socket_(std::move(socket)), id_(server.next_id("flv-")) {
    std::tie(ip_, remote_) = peer_or(socket_, peer);
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
  }

  // `on_status` (may be empty) is told the answer's status once (sluice_http_requests_total);
  // `admitted` false: the per-address or total cap refused the player (429).
  void start(const bhttp::request<bhttp::string_body>& request, std::function<void(int)> on_status,
             bool admitted) {
    server_.add(id_, ip_, shared_from_this());
    on_status_ = std::move(on_status);
    head_ = request.method() == bhttp::verb::head;
    if (!admitted) {
      // Counted and logged (at most once a second) by MediaServer::Impl::admit.
      return refuse(
          Error{429, "too many media connections from your address or in total; retry later", {}},
          /*log=*/false);
    }
    http::HttpRequest target;
    std::string name;
    if (http::parse_request_target(request.target(), target)) {
      const std::string& path = target.path;  // decoded: "/live/" NAME ".flv"
      if (path.starts_with("/live/") && path.ends_with(".flv") && path.size() > 10) {
        name = path.substr(6, path.size() - 6 - 4);
      }
    }
    if (!keys::is_valid_key_name(name)) {  // live paths are key stream names
      return refuse(Error::bad_request("a live path name is 1-128 of A-Z a-z 0-9 . _ -"));
    }
    // A publish key pasted as NAME is never echoed or logged.
    const std::string shown = keys::redact_keys(name);
    if (!head_) server_.stats.flv_readers_total++;
    emit(MediaEventKind::kPrePlay, shown, {});
    const std::string query = http::joined_query(target);
    if (auto allowed = server_.policy.authorize_play(name, query, ip_); !allowed) {
      emit(MediaEventKind::kPrePlay, shown, allowed.error().detail, true);
      Error refused = allowed.error();
      refused.detail = "play refused: " + refused.detail;
      return refuse(refused);
    }
    server_.await_path(name, [self = shared_from_this(), name, shown](media::MediaPath* path) {
      if (!self->closed_) self->play(name, shown, path);
    });
  }

  // The admitted play of `path` (null: nobody publishes `name`).
  void play(const std::string& name, const std::string& shown, media::MediaPath* path) {
    if (!path) {
      const std::string why = "no one is publishing '" + shown + "'";
      emit(MediaEventKind::kPrePlay, shown, why, true);
      return refuse(Error::not_found(why));
    }
    report(200);
    pending_text_ = kFlvHead;
    if (head_) {
      close_after_write_ = true;
      return write();
    }
    playing_ = name;
    const auto& d = path->description();
    const bool unknown = d.video_codec.empty() && d.audio_codec.empty();
    media::append_flv_header(unknown || !d.audio_codec.empty(), unknown || !d.video_codec.empty(),
                             pending_text_);
    path->attach(this);
    emit(MediaEventKind::kPostPlay, name, {});
    write();
    read();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    leave_path(playing_, end_reason_);
    server_.remove(id_);
  }

  void tick(Clock::time_point now) override {
    if (write_stalled(now)) {
      end_reason_ = "reader accepted no data";
      close();
    }
  }

  void on_packet(const media::PacketPtr& p, bool restart_point) override {
    offer(p, restart_point);
  }
  void flush() override { flush_deferred(); }
  void on_path_end() override {
    emit(MediaEventKind::kDonePlay, std::exchange(playing_, {}), "the publisher left");
    close_after_write_ = true;
    write();
  }
  media::ReaderInfo reader_info() const override {
    return queued_reader_info(id_, "http-flv", remote_);
  }
  void kick() override {
    end_reason_ = "kicked";
    close();
  }

 private:
  void refuse(const Error& e, bool log = true) {
    static LogLimiter limiter;  // a flood of refused requests: one line a second
    if (log) {
      log_limited(
          limiter, false,
          "http-flv: " + remote_ + " refused (" + std::to_string(e.status) + "): " + e.detail);
    }
    report(e.status);
    pending_text_ = error_answer(e, head_);
    close_after_write_ = true;
    write();
  }

  void report(int status) {
    if (auto fn = std::exchange(on_status_, {})) fn(status);
  }

  // Players send nothing after the request; reading only notices when they leave.
  void read() {
    socket_.async_read_some(asio::buffer(discard_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              if (self->closed_) return;
                              if (ec) return self->close();
                              self->read();
                            });
  }

  // QueuedWriter
  friend class QueuedWriter<FlvConnection>;
  tcp::socket& socket() { return socket_; }
  bool closed() const { return closed_; }
  void on_write_error(boost::system::error_code) { close(); }
  bool prepare_write() { return true; }

  void emit(MediaEventKind kind, std::string path, std::string reason, bool refused = false) {
    if (head_) return;  // a HEAD request is not a player
    media::MediaEvent e;
    e.kind = kind;
    e.client_id = id_;
    e.protocol = "http-flv";
    e.remote = remote_;
    e.path = std::move(path);
    e.reason = std::move(reason);
    e.refused = refused;
    server_.policy.on_event(e);
  }

  tcp::socket socket_;
  std::string id_;
  std::string ip_;
  std::string remote_;
  std::string playing_;
  std::array<char, 4096> discard_{};
  bool closed_ = false;
  bool head_ = false;
  std::function<void(int)> on_status_;
  std::string end_reason_ = "disconnected";
};

}  // namespace

void start_flv_connection(MediaServer::Impl& server, tcp::socket socket,
                          bhttp::request<bhttp::string_body> request,
                          std::function<void(int)> on_status, bool admitted, std::string peer) {
  std::make_shared<FlvConnection>(server, std::move(socket), peer)
      ->start(request, std::move(on_status), admitted);
}

}  // namespace sluice::media
