#include "media/servers/webrtc/webrtc_session.hpp"

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "media/audio_config.hpp"
#include "media/media_hub.hpp"
#include "media/protocols/rtp/rtcp.hpp"
#include "media/protocols/rtp/rtp_packet.hpp"
#include "media/servers/webrtc/opus_from_aac.hpp"
#include "media/servers/webrtc/webrtc_server.hpp"

namespace sluice::media {
namespace {

constexpr auto kHandshakeDeadline = std::chrono::seconds(20);

std::uint32_t random_u32() {
  std::uint32_t v = 0;
  for (unsigned char c : crypto::random_bytes(4))
    v = (v << 8) | c;
  return v;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

boost::asio::ip::udp::endpoint endpoint_of(const webrtc::stun::Address& a) {
  if (a.v6) {
    boost::asio::ip::address_v6::bytes_type b;
    std::copy(a.ip.begin(), a.ip.end(), b.begin());
    return {boost::asio::ip::address_v6(b), a.port};
  }
  boost::asio::ip::address_v4::bytes_type b{a.ip[0], a.ip[1], a.ip[2], a.ip[3]};
  return {boost::asio::ip::address_v4(b), a.port};
}

webrtc::stun::Address address_of(const boost::asio::ip::udp::endpoint& e) {
  webrtc::stun::Address a;
  a.port = e.port();
  if (e.address().is_v6()) {
    a.v6 = true;
    const auto b = e.address().to_v6().to_bytes();
    std::copy(b.begin(), b.end(), a.ip.begin());
  } else {
    const auto b = e.address().to_v4().to_bytes();
    std::copy(b.begin(), b.end(), a.ip.begin());
  }
  return a;
}

}  // namespace

WebrtcSession::WebrtcSession(WebrtcSessionSetup setup, WebrtcServer& server, MediaHub& hub)
    : setup_(std::move(setup)),
      server_(server),
      hub_(hub),
      ice_(setup_.ice, setup_.negotiated.remote_ufrag, Clock::now()) {
  for (const auto& t : setup_.negotiated.tracks) {
    auto& slot = t.video ? video_ : audio_;
    const auto& play = t.video ? setup_.video : setup_.audio;
    if (!play || slot) continue;
    Track track;
    track.play = *play;
    track.play.payload_type = t.payload_type;
    track.ssrc = t.ssrc;
    track.transport_cc_id = t.transport_cc_id;
    track.sequence = static_cast<std::uint16_t>(random_u32());
    track.timestamp_base = random_u32();
    slot = std::move(track);
  }
}

WebrtcSession::~WebrtcSession() = default;

bool WebrtcSession::on_stun(std::span<const std::uint8_t> bytes,
                            const webrtc::stun::Message& message, const udp::endpoint& from) {
  if (closed_) return false;
  auto answer = ice_.on_request(bytes, message, address_of(from), Clock::now());
  server_.send(bytes_of(answer.response), from);
  if (answer.nominated_now) {
    spdlog::info("webrtc {}: {} {} '{}' from {}:{}", setup_.id, setup_.client,
                 setup_.publish ? "publishes" : "plays", setup_.path, from.address().to_string(),
                 from.port());
  }
  return answer.valid;
}

void WebrtcSession::on_dtls(std::span<const std::uint8_t> bytes, const udp::endpoint& from) {
  if (closed_ || !setup_.dtls) return;
  std::vector<std::string> out;
  auto status = setup_.dtls->on_datagram(bytes, out);
  for (const auto& d : out)
    server_.send(bytes_of(d), from);
  if (!status) {
    spdlog::info("webrtc {}: DTLS failed: {}", setup_.id, status.error().detail);
    close("DTLS failed");
    return;
  }
  if (!srtp_ && setup_.dtls->connected()) {
    auto srtp = webrtc::SrtpSession::create(*setup_.dtls->keys());
    if (!srtp) {
      spdlog::warn("webrtc {}: {}", setup_.id, srtp.error().detail);
      close("SRTP failed");
      return;
    }
    srtp_ = std::move(*srtp);
    dtls_peer_ = from;
    if (setup_.publish) return start_publishing();
    MediaPath* path = hub_.find(setup_.path);
    if (!path) {
      close("the path ended");
      return;
    }
    attached_ = true;
    // The GOP cache first: a keyframe at once. Not its audio: a second of old audio would make
    // the browser hold its playout (and, to keep lip sync, the video) that much behind.
    replaying_ = true;
    path->attach(this);
    replaying_ = false;
    if (setup_.transcode_audio && audio_) {
      transcoding_ = true;
      server_.transcoder_for(setup_.path, hub_).add(this);
    }
  }
}

void WebrtcSession::on_srtp(std::span<const std::uint8_t> bytes) {
  if (closed_ || !srtp_) return;
  std::string packet(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (rtp::looks_like_rtcp(bytes)) return on_srtcp(std::move(packet));
  on_media_in(std::move(packet));
}

void WebrtcSession::start_publishing() {
  PublisherInfo info{setup_.id, setup_.client, setup_.publish->key_id, "webrtc"};
  auto path = hub_.publish(setup_.publish->path, std::move(info), this);
  if (!path) {
    spdlog::info("webrtc {}: cannot publish '{}': {}", setup_.id, setup_.publish->path,
                 path.error().detail);
    close("publish refused");
    return;
  }
  publishing_ = *path;
  spdlog::info(
      "webrtc {}: {} publishes '{}' (key {})", setup_.id, setup_.client, setup_.publish->path,
      setup_.publish->key_id.empty() ? std::string("none: a user") : setup_.publish->key_id);
  for (auto& f : setup_.ingest->initial_frames())
    publishing_->on_media(f.type, f.timestamp, std::move(f.body));
  request_keyframe();
}

void WebrtcSession::on_media_in(std::string packet) {
  if (!publishing_ || !setup_.ingest) return;
  if (!srtp_->unprotect_rtp(packet)) {
    ++rejected_in_;
    return;
  }
  bytes_in_ += packet.size();
  auto parsed = rtp::parse_packet(bytes_of(packet));
  if (!parsed) {
    ++rejected_in_;
    return;
  }
  auto track = setup_.ingest_tracks.find(parsed->header.payload_type);
  if (track == setup_.ingest_tracks.end()) return;  // RTX, RED, padding probes: not taken
  if (setup_.ingest->tracks()[track->second].video && video_ssrc_in_ != parsed->header.ssrc) {
    const bool first = video_ssrc_in_ == 0;
    video_ssrc_in_ = parsed->header.ssrc;  // where PLIs go
    if (first) request_keyframe();
  }
  std::vector<rtsp::IngestFrame> frames;
  if (!setup_.ingest->push(track->second, bytes_of(packet), Clock::now(), frames)) {
    ++rejected_in_;
  }
  for (auto& f : frames) {
    if (!publishing_) return;
    if (publishing_->on_media(f.type, f.timestamp, std::move(f.body))) {
      hub_.description_changed(*publishing_);
    }
  }
}

void WebrtcSession::request_keyframe() {
  if (!srtp_ || !publishing_ || video_ssrc_in_ == 0) return;
  last_keyframe_request_ = Clock::now();
  for (const auto& t : setup_.negotiated.tracks) {
    if (!t.video) continue;
    std::string pli;
    rtp::append_pli(t.ssrc, video_ssrc_in_, pli);
    if (srtp_->protect_rtcp(pli)) send(pli);
  }
}

void WebrtcSession::on_srtcp(std::string packet) {
  if (!srtp_->unprotect_rtcp(packet)) return;  // forged or replayed: dropped
  auto reports = rtp::parse_rtcp(bytes_of(packet));
  if (!reports) return;
  for (const auto& r : reports->reports) {
    auto* t = track_for_ssrc(r.ssrc);
    if (!t) continue;
    t->report = r;
    if (r.last_sr != 0) {  // RTT = now - LSR - DLSR, in 1/65536 s (RFC 3550 6.4.1)
      const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      const auto middle = static_cast<std::uint32_t>(rtp::ntp_from_unix_us(now_us) >> 16);
      const std::uint32_t rtt = middle - r.last_sr - r.delay_since_last_sr;
      if (rtt < 65536u * 10) rtt_ms_ = rtt * 1000.0 / 65536.0;  // else a clock step: ignored
    }
  }
  if (reports->remb_bps) remb_bps_ = reports->remb_bps;
  for (const auto& feedback : reports->transport_feedback)
    delivery_.on_feedback(feedback);
  for (const auto& f : reports->feedback) {
    Track* t = track_for_ssrc(f.media_ssrc);
    if (!t) continue;
    nacks_ += f.nacked.size();
    const auto now = Clock::now();
    for (auto sequence : f.nacked)
      resend(*t, sequence, now);
    if (f.picture_loss || f.full_intra_request) {
      ++plis_;
      for (std::uint16_t i = 0; i < t->keyframe_count; ++i)
        resend(*t, static_cast<std::uint16_t>(t->keyframe_first + i), now);
    }
  }
}

bool WebrtcSession::tick(Clock::time_point now) {
  if (closed_) return false;
  if (setup_.dtls && !setup_.dtls->connected()) {
    if (now - created_ > kHandshakeDeadline) {
      close("no DTLS handshake");
      return false;
    }
    if (auto to = ice_.selected()) {
      std::vector<std::string> out;
      setup_.dtls->on_timeout(out);
      for (const auto& d : out)
        server_.send(bytes_of(d), endpoint_of(*to));
    }
  }
  if (ice_.consent_expired(now)) {
    close("consent expired");
    return false;
  }
  if (publishing_ && now - last_keyframe_request_ >= kKeyframeInterval) request_keyframe();
  if (srtp_ && !publishing_) send_sender_reports(now);
  const double seconds = std::chrono::duration<double>(now - last_tick_).count();
  if (seconds >= 1) {
    bitrate_kbps_ = static_cast<double>(bytes_out_ - bytes_at_tick_) * 8 / 1000 / seconds;
    bytes_at_tick_ = bytes_out_;
    last_tick_ = now;
  }
  return true;
}

void WebrtcSession::close(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  if (transcoding_) {
    transcoding_ = false;
    server_.leave_transcoder(setup_.path, this);
  }
  if (attached_) {
    if (MediaPath* path = hub_.find(setup_.path)) path->detach(this);
    attached_ = false;
  }
  if (publishing_) hub_.unpublish(std::exchange(publishing_, nullptr));
  spdlog::info("webrtc {}: closed ({})", setup_.id, reason);
}

void WebrtcSession::kick() {
  auto self = shared_from_this();
  close("kicked");
  server_.forget(*this);
}

void WebrtcSession::kick(std::string_view reason) {
  auto self = shared_from_this();
  close(reason);  // unpublishes
  server_.forget(*this);
}

void WebrtcSession::on_path_end() {
  auto self = shared_from_this();
  attached_ = false;  // the path detaches its readers itself
  close("the publisher left");
  server_.forget(*this);
}

WebrtcSession::Track* WebrtcSession::track_for_ssrc(std::uint32_t ssrc) {
  if (video_ && video_->ssrc == ssrc) return &*video_;
  if (audio_ && audio_->ssrc == ssrc) return &*audio_;
  return nullptr;
}

void WebrtcSession::on_packet(const PacketPtr& p, bool restart_point) {
  if (closed_ || !srtp_ || p->sequence_header) return;
  Track* t = p->type == tag_type::kVideo   ? (video_ ? &*video_ : nullptr)
             : p->type == tag_type::kAudio ? (audio_ ? &*audio_ : nullptr)
                                           : nullptr;
  if (!t || (replaying_ && !t->play.video)) return;
  // The RTP form is shared with RTSP readers of the same packet: build it only from packets of
  // the track's own codec (a path's AAC reaches an Opus track only through the transcoder).
  if (!t->play.video && !audio_frame_of(p->bytes(), t->play.audio_codec)) return;
  if (video_ && waiting_keyframe_) {
    if (t != &*video_ || !restart_point) return;  // audio waits for the picture too
    waiting_keyframe_ = false;
  }
  const auto& payloads =
      p->rtp_form([&play = t->play](const MediaPacket& packet, std::vector<std::string>& out) {
        rtsp::build_rtp_payloads(packet, play, out);
      });
  if (!payloads.empty()) send_payloads(*t, *p, payloads);
}

void WebrtcSession::send_payloads(Track& t, const MediaPacket& p,
                                  const std::vector<std::string>& payloads) {
  const bool video = t.play.video;
  std::int64_t ms = p.timestamp;
  if (video) {
    if (auto info = inspect_video(p.bytes())) ms += info->composition_time;  // RTP carries PTS
  }
  const auto timestamp =
      t.timestamp_base + static_cast<std::uint32_t>(ms * t.play.clock_rate / 1000);
  if (video && p.keyframe) {
    t.keyframe_first = t.sequence;
    t.keyframe_count = static_cast<std::uint16_t>(std::min<std::size_t>(payloads.size(), 512));
  }
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    std::string packet;
    rtp::Header h;
    h.marker = video ? i + 1 == payloads.size() : true;
    h.payload_type = static_cast<std::uint8_t>(t.play.payload_type);
    h.sequence = t.sequence++;
    h.timestamp = timestamp;
    h.ssrc = t.ssrc;
    rtp::append_header(h, packet);
    if (t.transport_cc_id) {
      rtp::append_transport_sequence(packet, t.transport_cc_id, transport_sequence_);
      delivery_.on_sent(transport_sequence_++, packet.size() + payloads[i].size());
    }
    packet += payloads[i];
    if (!srtp_->protect_rtp(packet)) {
      ++dropped_;
      continue;
    }
    send(packet);
    t.last_timestamp = timestamp;
    t.last_sent = Clock::now();
    ++t.packets;
    t.octets += static_cast<std::uint32_t>(payloads[i].size());
    t.cache.push_back(Track::Cached{h.sequence, std::move(packet), {}});
    if (t.cache.size() > kPacketCache) t.cache.pop_front();
  }
}

void WebrtcSession::send_sender_reports(Clock::time_point now) {
  const auto unix_us = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  for (Track* t : {video_ ? &*video_ : nullptr, audio_ ? &*audio_ : nullptr}) {
    if (!t || t->packets == 0) continue;
    const auto since_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - t->last_sent).count();
    rtp::SenderInfo info;
    info.ssrc = t->ssrc;
    info.ntp = rtp::ntp_from_unix_us(unix_us);
    info.rtp_timestamp =
        t->last_timestamp + static_cast<std::uint32_t>(since_ms * t->play.clock_rate / 1000);
    info.packets = t->packets;
    info.octets = t->octets;
    std::string report;
    rtp::append_sender_report(info, report);
    if (srtp_->protect_rtcp(report)) send(report);
  }
}

void WebrtcSession::resend(Track& t, std::uint16_t sequence, Clock::time_point now) {
  if (t.cache.empty()) return;
  const auto offset = static_cast<std::uint16_t>(sequence - t.cache.front().sequence);
  if (offset >= t.cache.size()) return;  // too old, or never sent
  Track::Cached& c = t.cache[offset];
  if (c.sequence != sequence || now - c.resent < kResendGap) return;
  if (now - resend_window_ >= std::chrono::seconds(1)) {
    resend_window_ = now;
    resends_in_window_ = 0;
  }
  if (++resends_in_window_ > kMaxResendsPerSecond) return;
  c.resent = now;
  ++retransmitted_;
  send(c.packet);
}

bool WebrtcSession::sends_to(const udp::endpoint& peer) const {
  if (const auto& selected = ice_.selected()) return endpoint_of(*selected) == peer;
  return dtls_peer_ && *dtls_peer_ == peer;
}

void WebrtcSession::send(const std::string& datagram) {
  const auto& selected = ice_.selected();
  if (!selected && !dtls_peer_) {
    ++dropped_;
    return;
  }
  if (server_.send(bytes_of(datagram), selected ? endpoint_of(*selected) : *dtls_peer_)) {
    bytes_out_ += datagram.size();
    ++packets_out_;
  } else {
    ++dropped_;
  }
}

ReaderInfo WebrtcSession::reader_info() const {
  ReaderInfo info;
  info.id = reader_id_;
  info.kind = "webrtc";
  if (const auto& to = ice_.selected()) {
    const auto e = endpoint_of(*to);
    info.remote = e.address().to_string() + ":" + std::to_string(e.port());
  } else {
    info.remote = setup_.client;
  }
  info.bytes_out = bytes_out_;  // (a publisher's bytes in are the path's)
  info.packets_out = packets_out_;
  info.dropped = dropped_;
  info.transport = "udp";
  WebrtcStats w;
  w.state = closed_                                    ? "closed"
            : srtp_                                    ? "connected"
            : ice_.selected() || ice_.valid_requests() ? "handshake"
                                                       : "checking";
  w.nacks = nacks_;
  w.retransmitted = retransmitted_;
  w.plis = plis_;
  w.bitrate_kbps = bitrate_kbps_;
  w.remb_bps = remb_bps_;
  w.rtt_ms = rtt_ms_;
  w.delivered_bps = delivery_.delivered_bps();
  w.transport_loss = delivery_.loss();
  info.webrtc = w;
  for (const auto* t : {video_ ? &*video_ : nullptr, audio_ ? &*audio_ : nullptr}) {
    if (!t || !t->report) continue;
    info.reception.push_back({t->play.video ? "video" : "audio", t->report->fraction_lost / 256.0,
                              t->report->cumulative_lost,
                              t->report->jitter * 1000.0 / t->play.clock_rate});
  }
  return info;
}

}  // namespace sluice::media
