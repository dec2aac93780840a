#pragma once
// MediaPath: one live path (e.g. "studio-a") with its one publisher and its readers. Owned by the
// MediaHub and used on the media thread only, so it takes no locks.
//
// The publisher's messages arrive through on_metadata()/on_media(); each becomes one immutable
// MediaPacket (each output form built once, by the first reader of that form: media/packet.hpp)
// and handed by pointer to every attached sink. The path
// keeps the codec configuration packets, the last metadata and a GOP cache (every packet since
// the last video keyframe, bounded by gop_max_bytes), so attach() starts a new reader at once:
// metadata, configuration, then the cached GOP from its keyframe, then live packets.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/packet.hpp"
#include "media/protocols/rtmp/amf0.hpp"

namespace sluice::media {

// What an RTP reader's receiver reports (RTCP) say of one track it receives.
struct ReceptionStats {
  std::string track;         // "video", "audio"
  double fraction_lost = 0;  // since its previous report, 0..1
  std::int64_t cumulative_lost = 0;
  double jitter_ms = 0;  // interarrival jitter
};

// What libsrt measures of one SRT connection (srt_bstats), for a publisher (receiving) or a
// reader (sending).
struct SrtLinkStats {
  double rtt_ms = 0;
  std::int64_t packets_lost = 0;  // receiving: detected missing; sending: reported by the peer
  std::int64_t packets_retransmitted = 0;
  std::int64_t packets_dropped = 0;  // too late to be played (TSBPD)
  double buffer_ms = 0;              // the receive or send buffer, in media time
  double mbps = 0;                   // receive or send rate
  double bandwidth_mbps = 0;         // the link's estimated capacity
};

// What a WebRTC viewer's session knows of itself.
struct WebrtcStats {
  std::string state;                // "checking" (ICE), "handshake" (DTLS), "connected", "closed"
  std::uint64_t nacks = 0;          // packets the viewer reported lost
  std::uint64_t retransmitted = 0;  // of those, resent from the packet cache
  std::uint64_t plis = 0;           // PLI and FIR received (answered with the latest keyframe)
  double bitrate_kbps = 0;          // sent, over the last few seconds
  std::optional<std::uint64_t> remb_bps;  // the viewer's receive-bandwidth estimate
  std::optional<double> rtt_ms;           // from its receiver reports (LSR/DLSR, RFC 3550 6.4.1)
  // From its transport-cc feedback: the rate its packets arrived at, and the share lost.
  std::optional<double> delivered_bps;
  std::optional<double> transport_loss;
};

struct ReaderInfo {
  std::string id;
  std::string kind;    // "rtmp", "http-flv", "hls", "rtsp", "srt", "webrtc", "transcode"
  std::string remote;  // peer address
  std::uint64_t bytes_out = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t dropped = 0;  // packets discarded by the skip-to-keyframe policy
  std::size_t queued = 0;
  std::string transport;                  // RTSP: "tcp" or "udp"
  std::vector<ReceptionStats> reception;  // RTSP: per track, once the reader reported
  std::optional<SrtLinkStats> srt;        // SRT readers
  std::optional<WebrtcStats> webrtc;      // WebRTC viewers
};

// A reader attached to a path. Called on the media thread only.
class MediaSink {
 public:
  virtual ~MediaSink() = default;
  // Must not block: queue and return. `restart_point`: a decoder can start here.
  virtual void on_packet(const PacketPtr& p, bool restart_point) = 0;
  // The publisher left (or was kicked). The sink is detached when this returns.
  virtual void on_path_end() = 0;
  virtual ReaderInfo reader_info() const = 0;
  // Ends this reader (DELETE /media/paths/{name}/readers/{id}); it detaches itself.
  virtual void kick() = 0;
};

// The publishing connection, as the path sees it.
class PublisherHandle {
 public:
  virtual ~PublisherHandle() = default;
  // Closes the publishing connection (kick, takeover). It will call MediaHub::unpublish.
  virtual void kick(std::string_view reason) = 0;
  // SRT publishers: what libsrt measures of the connection.
  virtual std::optional<SrtLinkStats> srt_link() const { return std::nullopt; }
};

struct PublisherInfo {
  std::string id;      // connection id
  std::string remote;  // peer address
  std::string key_id;  // the stream key used (never the key itself)
  std::string protocol = "rtmp";
};

// What the publisher sends, as far as known (metadata and sequence headers).
struct StreamDescription {
  std::string video_codec;  // "h264", "hevc", "av1", ... empty when no video seen
  std::string audio_codec;  // "aac", ... empty when no audio seen
  int width = 0;
  int height = 0;
  double fps = 0;
  double video_kbps = 0;  // from metadata (videodatarate)
  double audio_kbps = 0;
  std::string encoder;  // metadata "encoder"
};

struct PathOptions {
  std::size_t gop_max_bytes = 32 * 1024 * 1024;
  std::size_t gop_max_packets = 16384;
};

struct PathCounters {
  std::uint64_t packets_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t video_frames = 0;
  std::uint64_t keyframes = 0;
  std::uint64_t bytes_out = 0;  // to readers that already left
  std::uint64_t dropped = 0;    // by readers that already left
};

class MediaPath {
 public:
  using Clock = std::chrono::steady_clock;

  MediaPath(std::string name, PublisherInfo publisher, PublisherHandle* handle,
            PathOptions options = {});

  const std::string& name() const { return name_; }
  const PublisherInfo& publisher() const { return publisher_; }
  PublisherHandle* publisher_handle() const { return handle_; }
  const StreamDescription& description() const { return description_; }
  const PathCounters& counters() const { return counters_; }
  std::chrono::system_clock::time_point started_at() const { return started_wall_; }
  std::size_t gop_bytes() const { return gop_bytes_; }
  const std::vector<MediaSink*>& readers() const { return readers_; }
  bool has_video() const { return video_config_ != nullptr || counters_.video_frames > 0; }
  // The codec configuration packets in force (AVC/HEVC record, AAC AudioSpecificConfig), null
  // until the publisher sent one: what an RTSP DESCRIBE's SDP is made of.
  const PacketPtr& video_config() const { return video_config_; }
  const PacketPtr& audio_config() const { return audio_config_; }
  // The last video keyframe received (what a snapshot decodes); null before the first.
  const PacketPtr& latest_keyframe() const { return latest_keyframe_; }
  // Bits per second received over the last completed measuring window (about 2 s).
  double measured_bps() const { return measured_bps_; }

  // Publisher side. Both return true when the description changed (metadata, or a codec seen
  // for the first time or changed by a new sequence header).
  bool on_metadata(const rtmp::amf0::Value& metadata);
  bool on_media(std::uint8_t type, std::uint32_t timestamp, std::string body);

  // Reader side. attach() replays metadata, configuration and the GOP cache into the sink.
  void attach(MediaSink* sink);
  void detach(MediaSink* sink);
  // Tells every reader the path ended and detaches them all.
  void end();

  // The last media timestamp received (after any rebasing); 0 before the first packet.
  std::uint32_t last_timestamp() const { return last_timestamp_; }
  // Takeover: this path's timestamps continue after `timestamp` (the previous publisher's
  // last), so readers that stay see no jump back. Call before the first packet.
  void continue_after(std::uint32_t timestamp) { continue_after_ = timestamp; }

 private:
  PacketPtr build(MediaPacket packet) const;
  void deliver(const PacketPtr& p, bool restart_point);
  void cache(const PacketPtr& p);
  bool restart_point(const MediaPacket& p) const;

  std::string name_;
  PublisherInfo publisher_;
  PublisherHandle* handle_;
  PathOptions options_;
  StreamDescription description_;
  PathCounters counters_;
  std::chrono::system_clock::time_point started_wall_;

  PacketPtr metadata_;
  PacketPtr video_config_;
  PacketPtr audio_config_;
  std::vector<PacketPtr> gop_;
  PacketPtr latest_keyframe_;
  std::size_t gop_bytes_ = 0;
  bool gop_overflow_ = false;
  std::vector<MediaSink*> readers_;

  std::optional<std::uint32_t> continue_after_;
  std::optional<std::uint32_t> offset_;  // added to every timestamp (mod 2^32) once known
  std::uint32_t last_timestamp_ = 0;

  Clock::time_point window_start_;
  std::uint64_t window_bytes_ = 0;
  double measured_bps_ = 0;
};

}  // namespace sluice::media
