// One HTTP-FLV player on the media thread (`GET /live/NAME.flv`, handed over by the HTTP
// server): answers the request, then writes the path's packets as one endless FLV body from a
// bounded ReaderQueue until the player leaves or the publisher does.
#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <array>

#include "keys/key_service.hpp"
#include "media/flv.hpp"
#include "net/media_server_impl.hpp"

namespace sluice::net {

namespace {

using media::MediaEventKind;

std::string error_head(int status, std::string_view reason, std::string_view detail) {
  const std::string body = boost::json::serialize(boost::json::object{{"detail", detail}});
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n" + body;
}

class FlvConnection final : public MediaConnection,
                            public media::MediaSink,
                            public QueuedWriter<FlvConnection>,
                            public std::enable_shared_from_this<FlvConnection> {
 public:
  FlvConnection(MediaServer::Impl& server, tcp::socket socket)
      : QueuedWriter(server, &media::MediaPacket::flv),
        socket_(std::move(socket)),
        id_(server.next_id("flv-")) {
    std::tie(ip_, remote_) = peer_of(socket_);
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void start(const bhttp::request<bhttp::string_body>& request, bool admitted) {
    server_.add(id_, ip_, shared_from_this());
    if (!admitted) {
      // Counted and logged (at most once a second) by MediaServer::Impl::admit.
      return refuse(429, "Too Many Requests",
                    "too many media connections from your address or in total; retry later",
                    /*log=*/false);
    }
    server_.stats.flv_readers_total++;
    auto url = boost::urls::parse_origin_form(request.target());
    std::string name;
    std::string query;
    if (url) {
      const std::string path = std::string(url->path());  // decoded
      name = path.substr(6, path.size() - 6 - 4);         // "/live/" NAME ".flv"
      query = std::string(url->encoded_query());
    }
    if (!keys::is_valid_key_name(name)) {  // live paths are key stream names
      return refuse(400, "Bad Request", "a live path name is 1-128 of A-Z a-z 0-9 . _ -");
    }
    emit(MediaEventKind::kPrePlay, name, {});
    if (auto allowed = server_.policy.authorize_play(name, query, ip_); !allowed) {
      emit(MediaEventKind::kPrePlay, name, allowed.error().detail, true);
      const int status = allowed.error().status;
      return refuse(status, status == 401 ? "Unauthorized" : "Forbidden",
                    "play refused: " + allowed.error().detail);
    }
    media::MediaPath* path = server_.hub.find(name);
    if (!path) {
      const std::string why = "no one is publishing '" + name + "'";
      emit(MediaEventKind::kPrePlay, name, why, true);
      return refuse(404, "Not Found", why);
    }
    playing_ = name;
    pending_text_ =
        "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nCache-Control: no-cache\r\n"
        "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n";
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
  void refuse(int status, std::string_view reason, std::string_view detail, bool log = true) {
    if (log) spdlog::info("http-flv: {} refused ({}): {}", remote_, status, detail);
    pending_text_ = error_head(status, reason, detail);
    close_after_write_ = true;
    write();
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
  std::string end_reason_ = "disconnected";
};

}  // namespace

void start_flv_connection(MediaServer::Impl& server, tcp::socket socket,
                          bhttp::request<bhttp::string_body> request, bool admitted) {
  std::make_shared<FlvConnection>(server, std::move(socket))->start(request, admitted);
}

}  // namespace sluice::net
