#pragma once
// WebrtcSession: one WebRTC peer of a live path, on the media thread: a WHEP viewer, or a WHIP
// publisher (below). ICE-lite checks arrive
// first (the peer's address is learnt from them), then the DTLS handshake; once it completes the
// session attaches to the path as a reader (the GOP cache gives the browser a keyframe at once:
// media goes to the address DTLS completed from until the peer nominates one) and sends each
// access unit as SRTP — H.264 as RFC 6184 (SPS/PPS before every IDR; the RTP
// payloads are the ones RTSP readers share, media/packet.hpp), Opus as RFC 7587. Protected
// packets are kept (the last kPacketCache per track) to answer NACKs, each at most once per
// kResendGap and kMaxResendsPerSecond in all; a PLI or FIR is answered by resending the latest
// keyframe. Receiver reports are kept for /media/paths; sender reports go
// out once a second per track (both tracks' RTP times map to one wall clock: lip sync).
//
// Overflow policy **drop**: UDP sends that the kernel refuses are dropped and counted; RTP is
// loss-tolerant and the browser NACKs what it misses. The session ends when the peer's consent
// lapses (30 s without a valid check), the DTLS handshake has not completed 20 s after the
// answer, the path ends, or it is deleted or kicked.
//
// WHIP (publish): after the DTLS handshake the session publishes the path (a PublisherHandle,
// protocol "webrtc"); the browser's SRTP packets are unprotected and taken apart by the same
// ingest as RTSP's RECORD (media/protocols/rtsp/rtsp_media.hpp, built from the negotiated payload
// types: H.264 with in-band SPS/PPS, Opus), and a PLI asks the browser for a keyframe every
// kKeyframeInterval (browsers send none on their own; HLS and new players need them).
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "media/media_path.hpp"
#include "media/media_policy.hpp"
#include "media/protocols/rtp/rtcp.hpp"
#include "media/protocols/rtp/transport_cc.hpp"
#include "media/protocols/rtsp/rtsp_media.hpp"
#include "media/protocols/webrtc/dtls.hpp"
#include "media/protocols/webrtc/ice_lite.hpp"
#include "media/protocols/webrtc/sdp_answer.hpp"
#include "media/protocols/webrtc/srtp.hpp"

namespace sluice::media {

class MediaHub;
class WebrtcServer;

struct WebrtcSessionSetup {
  std::string id;      // also the WHEP resource's last path segment
  std::string path;    // the live path it plays
  std::string client;  // the HTTP client's address, until ICE tells the media address
  webrtc::IceCredentials ice;
  webrtc::Negotiated negotiated;
  std::unique_ptr<webrtc::DtlsEndpoint> dtls;
  std::optional<rtsp::PlayTrack> video;  // payload type and SSRC from `negotiated`
  std::optional<rtsp::PlayTrack> audio;
  bool transcode_audio = false;  // the path's AAC becomes Opus (webrtc/opus_from_aac.hpp)
  // WHIP: what the publisher may feed, and how its RTP is taken apart (track index by payload
  // type).
  std::optional<PublishGrant> publish;
  std::unique_ptr<rtsp::RtspIngest> ingest;
  std::map<int, std::size_t> ingest_tracks;
};

class WebrtcSession final : public MediaSink,
                            public PublisherHandle,
                            public std::enable_shared_from_this<WebrtcSession> {
 public:
  using udp = boost::asio::ip::udp;
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kPacketCache = 1024;
  // A packet is resent at most once per kResendGap (a viewer repeats its NACKs), and a session
  // resends at most kMaxResendsPerSecond packets (more are refused and counted).
  static constexpr auto kResendGap = std::chrono::milliseconds(20);
  static constexpr std::uint32_t kMaxResendsPerSecond = 1000;
  static constexpr std::chrono::seconds kKeyframeInterval{2};

  WebrtcSession(WebrtcSessionSetup setup, WebrtcServer& server, MediaHub& hub);
  ~WebrtcSession() override;

  const std::string& id() const { return setup_.id; }
  const std::string& path() const { return setup_.path; }
  const std::string& local_ufrag() const { return setup_.ice.ufrag; }
  const std::string& client() const { return setup_.client; }

  // From the shared UDP port (WebrtcServer's demultiplexing). on_stun answers; true when the
  // check was valid (the server then routes `from`'s datagrams here).
  bool on_stun(std::span<const std::uint8_t> bytes, const webrtc::stun::Message& message,
               const udp::endpoint& from);
  void on_dtls(std::span<const std::uint8_t> bytes, const udp::endpoint& from);
  // SRTP or SRTCP from the peer (RFC 5761 demultiplexing inside).
  void on_srtp(std::span<const std::uint8_t> bytes);
  // Once a second: DTLS retransmissions, consent, handshake deadline. False when it ended.
  bool tick(Clock::time_point now);
  // Ends the session (DELETE, kick, shutdown): detaches from the path; the server forgets it.
  void close(std::string_view reason);
  bool closed() const { return closed_; }
  // Whether media goes to `peer` now (the nominated address, or DTLS's before one).
  bool sends_to(const udp::endpoint& peer) const;

  void on_packet(const PacketPtr& p, bool restart_point) override;
  void on_path_end() override;
  ReaderInfo reader_info() const override;
  void kick() override;
  void kick(std::string_view reason) override;  // PublisherHandle: takeover, DELETE of the path

 private:
  void on_srtcp(std::string packet);
  void on_media_in(std::string packet);
  void start_publishing();
  void request_keyframe();
  struct Track {
    rtsp::PlayTrack play;
    std::uint32_t ssrc = 0;
    int transport_cc_id = 0;  // 0: the viewer gets no transport-wide sequence numbers
    std::uint16_t sequence = 0;
    std::uint32_t timestamp_base = 0;
    struct Cached {
      std::uint16_t sequence = 0;
      std::string packet;          // protected
      Clock::time_point resent{};  // last answered NACK or PLI
    };
    std::deque<Cached> cache;  // consecutive sequence numbers, oldest first
    std::uint16_t keyframe_first = 0, keyframe_count = 0;  // the latest keyframe's packets
    std::optional<rtp::ReceptionReport> report;
    // For sender reports: the last RTP timestamp sent and when; packets and payload bytes sent.
    std::uint32_t last_timestamp = 0;
    Clock::time_point last_sent{};
    std::uint32_t packets = 0, octets = 0;
  };
  // RTCP sender reports (RFC 3550 6.4.1), once a second per track that has sent: what lets the
  // browser line audio up with video.
  void send_sender_reports(Clock::time_point now);
  void send(const std::string& datagram);
  void send_payloads(Track& t, const MediaPacket& p, const std::vector<std::string>& payloads);
  void resend(Track& t, std::uint16_t sequence, Clock::time_point now);
  Track* track_for_ssrc(std::uint32_t ssrc);

  WebrtcSessionSetup setup_;
  // How /media/paths and /metrics name the viewer: not the WHEP resource id, which lets its
  // holder end the session.
  const std::string reader_id_ = "webrtc-" + to_hex(crypto::random_bytes(6));
  WebrtcServer& server_;
  MediaHub& hub_;
  webrtc::IceLiteAgent ice_;
  std::unique_ptr<webrtc::SrtpSession> srtp_;
  // Where DTLS completed: a pair STUN already validated (DTLS is routed by it), where media goes
  // until the peer nominates one (Chrome's USE-CANDIDATE comes some 50 ms after DTLS, and the
  // GOP cache's keyframe must not be lost meanwhile).
  std::optional<udp::endpoint> dtls_peer_;
  std::optional<Track> video_, audio_;
  Clock::time_point created_ = Clock::now();
  bool attached_ = false;
  bool replaying_ = false;  // inside path->attach(): the GOP cache is replayed
  Clock::time_point resend_window_{};
  std::uint32_t resends_in_window_ = 0;
  bool transcoding_ = false;
  MediaPath* publishing_ = nullptr;
  Clock::time_point last_keyframe_request_{};
  std::uint32_t video_ssrc_in_ = 0;  // WHIP: the publisher's video SSRC (PLIs name it)
  std::uint64_t bytes_in_ = 0, rejected_in_ = 0;
  bool waiting_keyframe_ = true;
  bool closed_ = false;
  std::uint64_t bytes_out_ = 0, packets_out_ = 0, dropped_ = 0;
  std::uint64_t nacks_ = 0, plis_ = 0, retransmitted_ = 0;
  std::optional<std::uint64_t> remb_bps_;
  std::optional<double> rtt_ms_;
  std::uint16_t transport_sequence_ = 0;  // transport-cc: numbers every packet sent
  rtp::DeliveryEstimate delivery_;
  // The send rate: bytes_out_ at the last tick, and the rate between the last two ticks.
  std::uint64_t bytes_at_tick_ = 0;
  Clock::time_point last_tick_ = Clock::now();
  double bitrate_kbps_ = 0;
};

}  // namespace sluice::media
