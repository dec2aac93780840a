// One RTSP client on the media thread (RFC 2326): a reader (DESCRIBE, SETUP, PLAY) or a publisher
// (ANNOUNCE, SETUP with mode=record, RECORD), over TCP interleaved or UDP (the server's shared
// RTP/RTCP ports, rtsp_udp.hpp). The protocol's text and RTP mapping are sans I/O
// (media/protocols/rtsp, media/protocols/rtp); this file is the session state and the socket.
//
// URLs: rtsp://HOST:PORT/live/NAME for every live path, rtsp://HOST:PORT/ALIAS for the camera
// aliases (rtsp_aliases setting), each optionally followed by /trackID=N (SETUP) and ?key=…
// (read keys). A key is never echoed: Content-Base and RTP-Info carry the URL without its query.
// Play: read keys and the caller's identity (Basic credentials) through MediaPolicy, as every
// door; publish: rtsp://HOST:PORT/live/KEY with a stream key, or a user with media_rw.
#include <spdlog/spdlog.h>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <random>

#include "core/log_limiter.hpp"
#include "core/logging.hpp"
#include "keys/key_format.hpp"
#include "media/protocols/rtp/rtcp.hpp"
#include "media/protocols/rtp/rtp_packet.hpp"
#include "media/protocols/rtsp/rtsp_media.hpp"
#include "media/protocols/rtsp/rtsp_message.hpp"
#include "media/protocols/rtsp/rtsp_transport.hpp"
#include "media/protocols/rtsp/rtsp_url.hpp"
#include "media/servers/media_server_impl.hpp"
#include "media/servers/rtsp/rtsp_play_out.hpp"
#include "media/servers/rtsp/rtsp_udp.hpp"

namespace sluice::media {

namespace {

using Clock = std::chrono::steady_clock;
using udp = boost::asio::ip::udp;
constexpr auto kSessionTimeout = std::chrono::seconds(60);
constexpr auto kSenderReportEvery = std::chrono::seconds(2);
constexpr const char* kPublic =
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER, ANNOUNCE, "
    "RECORD";

// A request's target as this server uses it: the path, and the URL a client may reuse (Content-
// Base, RTP-Info), which never carries a key the client put into the path or query.
struct Target {
  std::string path;   // the live path; empty: none
  std::string base;   // the URI without query and track part
  std::string track;  // what followed the path
  std::string query;  // after '?'
  std::string shown;  // the name as written, keys redacted, for messages
};

Target parse_target(std::string_view uri, const std::map<std::string, std::string>& aliases) {
  rtsp::Target t = rtsp::parse_target(uri, aliases);
  Target out{t.path, {}, t.track, t.query, keys::redact_keys(t.name.substr(0, 128))};
  out.base = t.origin + (t.alias ? "/" : "/live/") + out.shown;
  return out;
}

// An incoming track of a publisher.
struct RecordIn {
  bool setup = false;
  bool tcp = true;
  int rtp_channel = 0;
  udp::endpoint rtp_from, rtcp_from;
};

class RtspConnection final : public MediaConnection,
                             public MediaSink,
                             public PublisherHandle,
                             public QueuedWriter<RtspConnection>,
                             public std::enable_shared_from_this<RtspConnection> {
 public:
  RtspConnection(MediaServer::Impl& server, tcp::socket socket, const std::string& peer)
      : QueuedWriter(server, nullptr),
        socket_(std::move(socket)),
        through_tls_(!peer.empty()),
        id_(server.next_id("rtsp-")),
        opened_(Clock::now()),
        last_activity_(Clock::now()) {
    std::tie(ip_, remote_) = peer_or(socket_, peer);
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
  }

  void start() {
    server_.add(id_, ip_, shared_from_this());
    server_.stats.rtsp_connections_total++;
    read();
  }

  // MediaConnection
  void close() override {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    stop_playing(end_reason_);
    stop_recording(end_reason_);
    server_.remove(id_);  // may destroy this: nothing after
  }

  void tick(Clock::time_point now) override {
    if (mode_ == Mode::kNone && now - opened_ > server_.options.handshake_timeout &&
        session_.empty()) {
      return fail_with("no RTSP session within " +
                       std::to_string(server_.options.handshake_timeout.count()) +
                       " ms of connecting");
    }
    if (mode_ == Mode::kRecord && now - last_activity_ > server_.options.idle_timeout) {
      return fail_with("the publisher sent nothing for " +
                       std::to_string(server_.options.idle_timeout.count()) + " s");
    }
    if (mode_ == Mode::kPlay && udp_only() && now - last_activity_ > kSessionTimeout) {
      return fail_with("no request or receiver report for " +
                       std::to_string(kSessionTimeout.count()) + " s (session timeout)");
    }
    if (write_stalled(now)) {
      return fail_with("reader accepted no data for " +
                       std::to_string(server_.options.stall_timeout.count()) + " s");
    }
    if (mode_ == Mode::kPlay && now - last_report_ >= kSenderReportEvery) {
      last_report_ = now;
      send_sender_reports();
    }
  }

  // MediaSink (a reader)
  void on_packet(const PacketPtr& p, bool restart_point) override { offer(p, restart_point); }
  void flush() override { flush_deferred(); }
  void on_path_end() override {
    playing_.clear();
    mode_ = Mode::kNone;
    end_reason_ = "the publisher left";
    close_after_write_ = true;
    write();
  }
  ReaderInfo reader_info() const override {
    ReaderInfo info = queued_reader_info(id_, "rtsp", remote_);
    info.transport = udp_only() ? "udp" : "tcp";
    for (const auto& o : play_out_.tracks) {
      if (!o.setup || !o.reported) continue;
      const auto& r = o.last_report;
      info.reception.push_back({o.track.video ? "video" : "audio", r.fraction_lost / 256.0,
                                r.cumulative_lost,
                                1000.0 * r.jitter / static_cast<double>(o.track.clock_rate)});
    }
    return info;
  }
  void kick() override {
    end_reason_ = "kicked";
    close();
  }

  // PublisherHandle
  void kick(std::string_view reason) override {
    spdlog::info("rtsp {}: publisher {} removed: {}",
                 publishing_ ? publishing_->name() : std::string("?"), remote_, reason);
    end_reason_ = std::string(reason);
    close();
  }

 private:
  enum class Mode { kNone, kPlay, kRecord };

  void read() {
    socket_.async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
          if (self->closed_) return;
          if (ec) return self->close();
          self->server_.stats.bytes_in += n;
          self->last_activity_ = Clock::now();
          std::vector<rtsp::Message> messages;
          auto status = self->reader_.feed({self->buffer_.data(), n}, messages);
          self->dispatch(messages);
          if (self->closed_) return;
          if (!status) {
            rtsp::Response r;
            r.status = status.error().status;
            r.body = status.error().detail + "\n";
            self->pending_text_ += r.serialize();
            self->fail_after_write(status.error().detail);
          } else if (self->parked_) {
            return;  // resume() goes on once the on-demand source's path is live
          }
          self->write();
          if (!self->close_after_write_) self->read();
        });
  }

  // Handles `messages` in order; while a request is parked (its path's on-demand source is
  // starting) the rest are held for resume().
  void dispatch(std::vector<rtsp::Message>& messages) {
    for (auto& m : messages) {
      if (closed_ || close_after_write_) break;
      if (parked_) {
        held_.push_back(std::move(m));
      } else if (auto* request = std::get_if<rtsp::Request>(&m)) {
        handle(*request);
      } else {
        on_interleaved(std::get<rtsp::Interleaved>(m));
      }
    }
  }

  // The parked `req` again, now that its path is live or the wait is over, then what was held.
  void resume(const rtsp::Request& req) {
    parked_ = false;
    handle(req);
    std::vector<rtsp::Message> held;
    held.swap(held_);
    dispatch(held);
    if (closed_) return;
    write();
    if (!parked_ && !close_after_write_) read();
  }

  void answer(const rtsp::Request& req, rtsp::Response r) {
    if (const auto* cseq = req.header("CSeq")) r.headers.insert(r.headers.begin(), {"CSeq", *cseq});
    if (!session_.empty()) r.with("Session", session_ + ";timeout=60");
    pending_text_ += r.serialize();
  }
  void refuse(const rtsp::Request& req, int status, const std::string& why) {
    rtsp::Response r;
    r.status = status;
    if (status == 401) {
      for (auto& challenge : server_.policy.challenges())
        r.with("WWW-Authenticate", std::move(challenge));
    }
    r.body = why + "\n";
    r.with("Content-Type", "text/plain");
    answer(req, std::move(r));
    static LogLimiter limiter;
    log_limited(limiter, false,
                "rtsp: " + req.method + " from " + remote_ + " refused (" + std::to_string(status) +
                    "): " + why);
  }

  void handle(const rtsp::Request& req) {
    if (!session_.empty()) {
      if (const auto* s = req.header("Session")) {
        const std::string given = s->substr(0, s->find(';'));
        if (given != session_) return refuse(req, 454, "no session " + keys::redact_keys(given));
      }
    }
    const std::string& m = req.method;
    if (m == "OPTIONS") {
      rtsp::Response r;
      r.with("Public", kPublic);
      return answer(req, std::move(r));
    }
    if (m == "DESCRIBE") return on_describe(req);
    if (m == "SETUP") return on_setup(req);
    if (m == "PLAY") return on_play(req);
    if (m == "PAUSE") return on_pause(req);
    if (m == "TEARDOWN") return on_teardown(req);
    if (m == "GET_PARAMETER" || m == "SET_PARAMETER") return answer(req, {});
    if (m == "ANNOUNCE") return on_announce(req);
    if (m == "RECORD") return on_record(req);
    rtsp::Response r;
    r.status = 501;
    r.with("Public", kPublic);
    answer(req, std::move(r));
  }

  media::Credentials credentials(const rtsp::Request& req) const {
    const auto* a = req.header("Authorization");
    return {a ? std::string_view(*a) : std::string_view(), req.method, req.uri};
  }

  // Checks play access to `t` and describes its path (once per connection and path).
  bool describe(const rtsp::Request& req, const Target& t) {
    if (t.path.empty()) {
      refuse(req, 404, "no such path: use rtsp://HOST:PORT/live/NAME or a camera alias");
      return false;
    }
    if (auto allowed = server_.policy.authorize_play(t.path, t.query, ip_, credentials(req));
        !allowed) {
      refuse(req, allowed.error().status, allowed.error().detail);
      return false;
    }
    MediaPath* path = server_.hub.find(t.path);
    if (!path && demanded_ != t.path && server_.demand(t.path)) {
      // Its on-demand source is starting: the request waits (once) for the path.
      demanded_ = t.path;
      parked_ = true;
      server_.wait_for(t.path, [self = shared_from_this(), req](MediaPath*) {
        if (!self->closed_) self->resume(req);
      });
      return false;
    }
    if (!path) {
      refuse(req, 404, "no one is publishing '" + t.shown + "'");
      return false;
    }
    auto d = rtsp::describe_path(path->video_config().get(), path->audio_config().get());
    if (!d) {
      refuse(req, d.error().status, d.error().detail);
      return false;
    }
    described_ = t.path;
    base_ = t.base;
    play_ = std::move(*d);
    play_out_.tracks.clear();
    for (const auto& track : play_->tracks) {
      PlayOut o;
      o.track = track;
      o.ssrc = random_();
      o.sequence = static_cast<std::uint16_t>(random_());
      o.timestamp_base = random_();
      play_out_.tracks.push_back(o);
    }
    return true;
  }

  void on_describe(const rtsp::Request& req) {
    const Target t = parse_target(req.uri, server_.options.rtsp.aliases);
    if (mode_ != Mode::kNone) return refuse(req, 455, "this connection already plays or records");
    if (!describe(req, t)) return;
    rtsp::Response r;
    r.with("Content-Base", base_ + "/").with("Content-Type", "application/sdp");
    r.body = play_->sdp;
    answer(req, std::move(r));
  }

  // The track a SETUP names: "trackID=N" for readers, the SDP's control for publishers.
  std::optional<std::size_t> track_index(const Target& t) const {
    if (ingest_) {
      const auto& tracks = ingest_->tracks();
      for (std::size_t i = 0; i < tracks.size(); ++i) {
        const std::string& c = tracks[i].control;
        if (c == t.track || (!c.empty() && (t.base + "/" + t.track).ends_with(c))) return i;
      }
      if (t.track.empty() && tracks.size() == 1) return 0;
      return std::nullopt;
    }
    if (t.track.empty())
      return play_out_.tracks.size() == 1 ? std::optional<std::size_t>(0) : std::nullopt;
    if (!t.track.starts_with("trackID=")) return std::nullopt;
    std::size_t n = 0;
    for (char c : std::string_view(t.track).substr(8)) {
      if (c < '0' || c > '9' || n > 64) return std::nullopt;
      n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n < play_out_.tracks.size() ? std::optional<std::size_t>(n) : std::nullopt;
  }

  void on_setup(const rtsp::Request& req) {
    const Target t = parse_target(req.uri, server_.options.rtsp.aliases);
    if (mode_ != Mode::kNone) return refuse(req, 455, "SETUP after PLAY or RECORD");
    if (!ingest_ && described_ != t.path && !describe(req, t)) return;
    const auto index = track_index(t);
    if (!index) return refuse(req, 404, "no track '" + keys::redact_keys(t.track) + "' here");
    const auto* header = req.header("Transport");
    if (!header) return refuse(req, 461, "SETUP needs a Transport header");
    auto offers = rtsp::parse_transports(*header);
    if (!offers) return refuse(req, 461, offers.error().detail);
    const rtsp::Transport* chosen = nullptr;
    for (const auto& o : *offers) {
      if (o.multicast) continue;
      if (o.lower == rtsp::Transport::Lower::kUdp &&
          (!server_.rtsp_udp || !o.client_port || through_tls_)) {
        continue;  // RTSPS keeps RTP inside its TLS stream
      }
      chosen = &o;
      break;
    }
    if (!chosen) {
      return refuse(req, 461,
                    server_.rtsp_udp ? "use RTP/AVP over UDP unicast or RTP/AVP/TCP interleaved"
                                     : "RTP over UDP is off here: use RTP/AVP/TCP (interleaved)");
    }
    rtsp::Transport reply = *chosen;
    const bool tcp = chosen->lower == rtsp::Transport::Lower::kTcp;
    const int channel =
        chosen->interleaved ? chosen->interleaved->first : static_cast<int>(*index) * 2;
    if (tcp) {
      reply.interleaved = std::pair{channel, channel + 1};
      reply.client_port.reset();
    } else {
      reply.server_port = std::pair{static_cast<int>(server_.rtsp_udp->rtp_port()),
                                    static_cast<int>(server_.rtsp_udp->rtcp_port())};
    }
    boost::system::error_code ec;
    const auto address = socket_.remote_endpoint(ec).address();
    if (ingest_) {
      if (records_.size() < ingest_->tracks().size()) records_.resize(ingest_->tracks().size());
      RecordIn& in = records_[*index];
      in.setup = true;
      in.tcp = tcp;
      in.rtp_channel = channel;
      if (!tcp) {
        in.rtp_from =
            udp::endpoint(address, static_cast<std::uint16_t>(chosen->client_port->first));
        in.rtcp_from =
            udp::endpoint(address, static_cast<std::uint16_t>(chosen->client_port->second));
      }
      reply.record = true;
    } else {
      PlayOut& o = play_out_.tracks[*index];
      o.setup = true;
      o.tcp = tcp;
      o.rtp_channel = channel;
      if (!tcp) {
        o.rtp_to = udp::endpoint(address, static_cast<std::uint16_t>(chosen->client_port->first));
        o.rtcp_to = udp::endpoint(address, static_cast<std::uint16_t>(chosen->client_port->second));
      }
      reply.ssrc = o.ssrc;
      reply.record = false;
    }
    if (session_.empty()) session_ = std::to_string(random_()) + std::to_string(random_());
    rtsp::Response r;
    r.with("Transport", reply.to_string());
    answer(req, std::move(r));
  }

  bool udp_only() const {
    for (const auto& o : play_out_.tracks) {
      if (o.setup && o.tcp) return false;
    }
    return true;
  }

  void on_play(const rtsp::Request& req) {
    if (ingest_) return refuse(req, 455, "PLAY on a session that records");
    if (session_.empty() || play_out_.tracks.empty()) return refuse(req, 454, "PLAY before SETUP");
    if (mode_ == Mode::kPlay) return answer(req, {});
    MediaPath* path = server_.hub.find(described_);
    if (!path) return refuse(req, 404, "no one is publishing any more");
    std::string info;
    for (std::size_t i = 0; i < play_out_.tracks.size(); ++i) {
      if (!play_out_.tracks[i].setup) continue;
      if (!info.empty()) info += ",";
      info += "url=" + base_ + "/trackID=" + std::to_string(i) +
              ";seq=" + std::to_string(play_out_.tracks[i].sequence) +
              ";rtptime=" + std::to_string(play_out_.tracks[i].timestamp_base);
      if (!play_out_.tracks[i].tcp && server_.rtsp_udp) {
        std::weak_ptr<RtspConnection> weak = shared_from_this();
        server_.rtsp_udp->add_receiver(true, play_out_.tracks[i].rtcp_to, [weak, i](auto datagram) {
          if (auto self = weak.lock()) self->on_receiver_report(i, datagram);
        });
      }
    }
    rtsp::Response r;
    r.with("Range", "npt=0.000-").with("RTP-Info", info);
    answer(req, std::move(r));  // before the first packet
    mode_ = Mode::kPlay;
    playing_ = described_;
    emit(MediaEventKind::kPostPlay, playing_, {});
    path->attach(this);
  }

  void on_pause(const rtsp::Request& req) {
    if (mode_ == Mode::kPlay) {
      if (auto* path = server_.hub.find(playing_)) path->detach(this);
      mode_ = Mode::kNone;
      playing_.clear();
    }
    answer(req, {});
  }

  void on_teardown(const rtsp::Request& req) {
    stop_playing("teardown");
    stop_recording("teardown");
    answer(req, {});
    session_.clear();
    close_after_write_ = true;
  }

  void on_announce(const rtsp::Request& req) {
    const Target t = parse_target(req.uri, server_.options.rtsp.aliases);
    if (mode_ != Mode::kNone || ingest_) return refuse(req, 455, "this connection is busy");
    emit(MediaEventKind::kPrePublish, {}, {});
    std::string name = t.path;
    if (name.empty()) return refuse(req, 404, "publish to rtsp://HOST:PORT/live/KEY");
    auto grant = server_.policy.authorize_publish("live", name, t.query, ip_, credentials(req));
    if (!grant) {
      emit(MediaEventKind::kPrePublish, {}, grant.error().detail, true);
      return refuse(req, grant.error().status, grant.error().detail);
    }
    auto description = sdp::parse(req.body);
    if (!description) return refuse(req, description.error().status, description.error().detail);
    auto ingest = rtsp::RtspIngest::from_sdp(*description, &server_.reassembly_budget);
    if (!ingest) return refuse(req, ingest.error().status, ingest.error().detail);
    for (const auto& ignored : (*ingest)->ignored()) {
      spdlog::info("rtsp {}: track '{}' of {} not taken (only H.264 and AAC are)", grant->path,
                   ignored, remote_);
    }
    ingest_ = std::move(*ingest);
    grant_ = *grant;
    base_ = t.base;
    answer(req, {});
  }

  void on_record(const rtsp::Request& req) {
    if (!ingest_ || session_.empty()) return refuse(req, 455, "RECORD before ANNOUNCE and SETUP");
    if (mode_ == Mode::kRecord) return answer(req, {});
    PublisherInfo info{id_, remote_, grant_.key_id, "rtsp"};
    auto path = server_.hub.publish(grant_.path, std::move(info), this);
    if (!path) {
      emit(MediaEventKind::kPrePublish, grant_.path, path.error().detail, true);
      return refuse(req, path.error().status, path.error().detail);
    }
    publishing_ = *path;
    mode_ = Mode::kRecord;
    for (std::size_t i = 0; i < records_.size(); ++i) {
      if (!records_[i].setup || records_[i].tcp || !server_.rtsp_udp) continue;
      std::weak_ptr<RtspConnection> weak = shared_from_this();
      server_.rtsp_udp->add_receiver(false, records_[i].rtp_from, [weak, i](auto datagram) {
        if (auto self = weak.lock()) self->on_rtp_in(i, datagram);
      });
      server_.rtsp_udp->add_receiver(true, records_[i].rtcp_from, [weak](auto) {
        if (auto self = weak.lock()) self->last_activity_ = Clock::now();
      });
    }
    answer(req, {});
    spdlog::info("rtsp: {} publishes '{}' (key {})", remote_, grant_.path,
                 grant_.key_id.empty() ? std::string("none: a user") : grant_.key_id);
    emit(MediaEventKind::kPostPublish, grant_.path, {});
    std::vector<rtsp::IngestFrame> frames = ingest_->initial_frames();
    feed(frames);
  }

  void on_interleaved(const rtsp::Interleaved& frame) {
    if (mode_ == Mode::kRecord) {
      for (std::size_t i = 0; i < records_.size(); ++i) {
        if (records_[i].setup && records_[i].tcp && records_[i].rtp_channel == frame.channel) {
          return on_rtp_in(i, {reinterpret_cast<const std::uint8_t*>(frame.payload.data()),
                               frame.payload.size()});
        }
      }
      return;  // RTCP from the publisher: nothing needed from it
    }
    for (std::size_t i = 0; i < play_out_.tracks.size(); ++i) {
      if (play_out_.tracks[i].setup && play_out_.tracks[i].tcp &&
          play_out_.tracks[i].rtp_channel + 1 == frame.channel) {
        return on_receiver_report(
            i, {reinterpret_cast<const std::uint8_t*>(frame.payload.data()), frame.payload.size()});
      }
    }
  }

  void on_rtp_in(std::size_t index, std::span<const std::uint8_t> packet) {
    if (!publishing_ || !ingest_) return;
    last_activity_ = Clock::now();
    server_.stats.bytes_in += packet.size();
    std::vector<rtsp::IngestFrame> frames;
    if (auto ok = ingest_->push(index, packet, last_activity_, frames); !ok) {
      ++rejected_in_;
      if (ok.error().status == 503) {
        server_.count(Refusal::kMediaReassemblyBudget, "rtsp publisher " + remote_);
      }
      static LogLimiter limiter;
      log_limited(limiter, false,
                  "rtsp " + publishing_->name() + ": packet from " + remote_ +
                      " dropped: " + ok.error().detail);
    }
    feed(frames);
  }

  void feed(std::vector<rtsp::IngestFrame>& frames) {
    for (auto& f : frames) {
      if (!publishing_) return;
      if (publishing_->on_media(f.type, f.timestamp, std::move(f.body))) {
        server_.hub.description_changed(*publishing_);
      }
    }
  }

  void on_receiver_report(std::size_t index, std::span<const std::uint8_t> datagram) {
    last_activity_ = Clock::now();
    play_out_.on_receiver_report(index, datagram);
  }

  void stop_playing(const std::string& reason) {
    if (mode_ == Mode::kPlay && !playing_.empty()) {
      if (auto* path = server_.hub.find(playing_)) path->detach(this);
      emit(MediaEventKind::kDonePlay, std::exchange(playing_, {}), reason);
    }
    if (server_.rtsp_udp) {
      for (const auto& o : play_out_.tracks) {
        if (o.setup && !o.tcp) server_.rtsp_udp->remove_receiver(true, o.rtcp_to);
      }
    }
    if (mode_ == Mode::kPlay) mode_ = Mode::kNone;
  }

  void stop_recording(const std::string& reason) {
    if (server_.rtsp_udp) {
      for (const auto& in : records_) {
        if (!in.setup || in.tcp) continue;
        server_.rtsp_udp->remove_receiver(false, in.rtp_from);
        server_.rtsp_udp->remove_receiver(true, in.rtcp_from);
      }
    }
    if (publishing_) {
      MediaPath* path = std::exchange(publishing_, nullptr);
      const std::string name = path->name();
      server_.hub.unpublish(path);
      emit(MediaEventKind::kDonePublish, name, reason);
    }
    if (mode_ == Mode::kRecord) mode_ = Mode::kNone;
  }

  // QueuedWriter: packets become RTP for each set-up track, interleaved into the TCP stream or
  // sent on the shared UDP socket.
  friend class QueuedWriter<RtspConnection>;
  tcp::socket& socket() { return socket_; }
  bool closed() const { return closed_; }
  void on_write_error(boost::system::error_code ec) {
    end_reason_ = ec.message();
    close();
  }
  bool prepare_write() {
    std::vector<PacketPtr> packets;
    queue_.take(packets, WriteBatch::kMaxPackets, WriteBatch::kMaxBytes);
    for (const auto& p : packets)
      send_packet(*p);
    return false;
  }

  void send_packet(const MediaPacket& p) {
    if (mode_ != Mode::kPlay) return;
    const auto [udp_bytes, datagrams] = play_out_.send(p, pending_text_, server_.rtsp_udp.get());
    server_.stats.bytes_out += udp_bytes;
    count_out(udp_bytes, datagrams);
  }

  void send_sender_reports() {
    play_out_.send_reports(pending_text_, server_.rtsp_udp.get());
    write();
  }

  void fail_with(std::string why) {
    static LogLimiter limiter;
    log_limited(limiter, false, "rtsp: closing " + remote_ + " (" + id_ + "): " + why);
    end_reason_ = std::move(why);
    close();
  }
  void fail_after_write(const std::string& why) {
    server_.stats.errors_total++;
    static LogLimiter limiter;
    log_limited(limiter, false, "rtsp: closing " + remote_ + " (" + id_ + "): " + why);
    end_reason_ = why;
    close_after_write_ = true;
  }

  void emit(MediaEventKind kind, std::string path, std::string reason, bool refused = false) {
    MediaEvent e;
    e.kind = kind;
    e.client_id = id_;
    e.protocol = "rtsp";
    e.remote = remote_;
    e.app = "live";
    e.path = std::move(path);
    e.key_id = grant_.key_id;
    e.reason = std::move(reason);
    e.refused = refused;
    server_.policy.on_event(e);
  }

  tcp::socket socket_;
  const bool through_tls_;  // came through the RTSPS front door: a local pair, TCP only
  std::string id_;
  std::string ip_;
  std::string remote_;
  rtsp::Reader reader_;
  std::array<std::uint8_t, 64 * 1024> buffer_{};
  std::string session_;
  Mode mode_ = Mode::kNone;
  bool closed_ = false;
  std::string end_reason_ = "disconnected";
  std::minstd_rand random_{std::random_device{}()};

  // Reader side.
  std::string described_;            // the path DESCRIBE (or SETUP) checked and described
  std::string demanded_;             // the path whose on-demand source this connection started
  bool parked_ = false;              // a request waits for demanded_ (resume())
  std::vector<rtsp::Message> held_;  // what came meanwhile (the client sent it unasked)
  std::string base_;
  std::optional<rtsp::PlayDescription> play_;
  PlayOutTracks play_out_;
  std::string playing_;
  Clock::time_point last_report_{};

  // Publisher side.
  std::unique_ptr<rtsp::RtspIngest> ingest_;
  PublishGrant grant_;
  std::vector<RecordIn> records_;
  MediaPath* publishing_ = nullptr;
  std::uint64_t rejected_in_ = 0;

  Clock::time_point opened_;
  Clock::time_point last_activity_;
};

}  // namespace

void start_rtsp_connection(MediaServer::Impl& server, tcp::socket socket, std::string peer) {
  std::make_shared<RtspConnection>(server, std::move(socket), peer)->start();
}

}  // namespace sluice::media
