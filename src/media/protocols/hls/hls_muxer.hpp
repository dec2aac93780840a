#pragma once
// HlsMuxer: a live path's HLS output. Takes the path's MediaPackets in publish order (the caller
// replays the sequence headers and the GOP cache first, then live packets), muxes them with
// libavformat's `mpegts` muxer into memory and cuts MPEG-TS segments; HTTP threads read the
// result through snapshot() and render it with render_playlist()/find_segment()
// (media/hls/hls_playlist.hpp).
//
// Threads: the muxer lives on one thread (the path's media thread): the constructor, push(),
// finish(), stats() and the destructor run there. snapshot() is thread-safe; it copies a pointer
// under a mutex held for nothing else. A snapshot is immutable and stays valid (with its segment
// data) for as long as a reader holds it, even after the muxer is gone.
//
// Codecs: H.264 (FLV codec 7 or Enhanced RTMP `avc1`) and HEVC (FLV codec 12 or `hvc1`) video;
// AAC or Opus (Enhanced RTMP `Opus`) audio. Script data is ignored. Other codecs are refused (415)
// packet by packet.
//
// Start (waiting rule): the mpegts muxer is created once, lazily, when the codec configuration
// is known. It starts at once when both a video configuration (AVC/HEVC record) and an audio
// one (AAC AudioSpecificConfig, OpusHead) have been seen; otherwise audio/video frames are held (at
// most 1024 packets and max_segment_bytes) until they span `config_wait` of media time, and the
// muxer then starts with whatever configurations it has (video only, audio only). Held frames are
// then muxed, so nothing is lost by waiting. A configuration that arrives after the start for a
// stream the muxer does not have is ignored (counted in stats().packets_skipped). With video,
// frames before the first keyframe, and audio before it, are skipped.
//
// Containers: MPEG-TS (libavformat `mpegts`) for the mpegts variant; fragmented MP4 (libavformat
// `mp4`, an initialization section per publisher timeline, published as init-<id>.mp4) for fmp4
// and lowlatency. Parts (lowlatency only): a part is cut before a video frame (any audio frame
// without video) once the part holds at least `part_target` of media; each part is one moof+mdat
// fragment, published at once (the snapshot's open_parts), and a segment's data is its parts
// joined. A part that starts with a keyframe is independent. With both streams, packets are
// interleaved by DTS before they are written (a packet waits, at most 0.5 s, for the other
// stream to reach it), so each part holds both streams up to its end even when a publisher sends
// its audio in bursts.
//
// Segments: one muxer for the whole life of the path, so continuity counters and timestamps are
// continuous across segments. A segment is cut before a video keyframe once the current segment
// is at least `segment_target` long (audio-only: before any audio frame), and before any packet
// that would take it past `max_segment_bytes` (such a forced cut may start a segment without a
// keyframe). At a cut, the PES data libavformat buffers is flushed into the closing segment, and
// the next segment starts with PAT/PMT and (unless forced) the keyframe. Sequences count from 0;
// at most `kept_segments` segments are retained, older ones are dropped from the snapshot.
//
// Errors are values, never exceptions. A packet that cannot be muxed — truncated or garbage
// body, unsupported codec, bad configuration record, DTS not after the previous one of its
// stream, negative composition time, refused by libavformat — is dropped with an error (400,
// 415) and the muxer stays usable. Only libavformat failing to start or the segment buffer
// overflowing (500) fail it permanently: every later push() returns the same error, and the
// snapshot is marked ended so players stop polling.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "media/audio_config.hpp"
#include "media/codec_config.hpp"
#include "media/packet.hpp"
#include "media/protocols/hls/hls_playlist.hpp"

namespace sluice::media {

namespace hls {
class SegmentWriter;
}

struct HlsOptions {
  std::chrono::milliseconds segment_target{2000};    // cut at the first keyframe after this
  std::size_t playlist_segments = 6;                 // listed in the playlist (render_playlist)
  std::size_t kept_segments = 8;                     // retained; raised to playlist_segments
  std::size_t max_segment_bytes = 32 * 1024 * 1024;  // forced cut; also the largest packet
  std::chrono::milliseconds config_wait{1000};       // see "waiting rule" above
  HlsVariant variant = HlsVariant::kMpegTs;          // see media/protocols/hls/hls_playlist.hpp
  std::chrono::milliseconds part_target{200};        // Low-Latency HLS: see "parts" above
};

struct HlsStats {
  std::uint64_t packets_muxed = 0;
  std::uint64_t packets_skipped = 0;   // before the first keyframe, no stream for them
  std::uint64_t packets_rejected = 0;  // push() returned an error
  std::uint64_t segments = 0;          // segments completed
  std::uint64_t bytes = 0;             // MPEG-TS bytes in completed segments
  bool started = false;                // the mpegts muxer exists
  bool has_video = false;
  bool has_audio = false;
};

class HlsMuxer {
 public:
  explicit HlsMuxer(HlsOptions options = {});
  ~HlsMuxer();
  HlsMuxer(const HlsMuxer&) = delete;
  HlsMuxer& operator=(const HlsMuxer&) = delete;

  // Feeds one packet (see the class comment for what is muxed, skipped or refused). After
  // finish(), returns 409.
  Status push(const MediaPacket& packet);
  // Ends the path: starts the muxer for held packets if it can, closes the last segment and
  // publishes an ended snapshot (EXT-X-ENDLIST). Idempotent.
  Status finish();
  // A new publisher on the path (an encoder that reconnected): what follows is a new timeline
  // with its own codec configuration. The retained segments and their sequence numbers stay,
  // the next segment is marked as a discontinuity (EXT-X-DISCONTINUITY), and the snapshot is
  // live again (no EXT-X-ENDLIST), so players that kept polling continue. Finishes first when
  // needed; a permanently failed muxer is given a fresh start too.
  void restart();

  // Thread-safe; never null (an empty snapshot before the first cut).
  std::shared_ptr<const HlsSnapshot> snapshot() const;

  const HlsOptions& options() const { return options_; }
  const HlsStats& stats() const { return stats_; }
  bool failed() const { return failed_.has_value(); }

 private:
  struct Held {
    std::uint8_t type;
    std::int64_t dts;
    std::string body;
  };

  std::int64_t extend(std::uint32_t timestamp);
  Status reject(Error error);
  Status fail_permanently(Error error);
  Status set_video_config(VideoCodec codec, std::span<const std::uint8_t> record);
  Status set_audio_config(std::span<const std::uint8_t> config);
  Status hold(const MediaPacket& packet, std::int64_t dts);
  Status maybe_start(bool now);
  // A packet checked and converted for the writer (Annex B video; ADTS or raw audio), not yet
  // written. prepare() refuses (and counts) what the writer would refuse, and skips (nullopt,
  // counted) what comes before the first keyframe.
  struct Prepared {
    bool video = false;
    std::int64_t dts = 0, pts = 0;
    bool keyframe = false;
    std::string data;
  };
  Result<std::optional<Prepared>> prepare(std::uint8_t type, std::int64_t dts,
                                          std::span<const std::uint8_t> body);
  Status write_video(const Prepared& packet);
  Status write_audio(const Prepared& packet);
  // A/V interleaving, once the muxer has both streams: a packet waits until the other stream has
  // reached its DTS, so that every part and segment holds both streams' media up to its end.
  // Publishers whose audio comes in bursts — an MPEG-TS muxer puts ~0.2 s of AAC in one PES —
  // would otherwise leave parts with video and no audio, and players stall at such a gap.
  // Bounded: a packet waits for at most kMaxInterleaveWaitMs of its own stream (or
  // kMaxHeldPackets packets) while the other stream stays silent; finish() releases them all.
  Status interleave(std::uint8_t type, std::int64_t dts, std::span<const std::uint8_t> body);
  Status release_interleaved(bool all);
  Status cut_if(bool due, std::int64_t next_start, std::size_t incoming);
  Status close_segment(std::int64_t end);
  void publish();

  HlsOptions options_;
  HlsStats stats_;
  std::optional<Error> failed_;
  bool finished_ = false;

  // Timestamps: 32-bit ms extended across wraps.
  bool have_ts_ = false;
  std::uint32_t last_raw_ts_ = 0;
  std::int64_t epoch_ = 0;

  std::optional<VideoConfig> video_config_;
  std::optional<AudioConfig> audio_config_;
  std::deque<Held> held_;
  std::deque<Prepared> waiting_video_, waiting_audio_;         // interleave(): not written yet
  std::optional<std::int64_t> last_video_in_, last_audio_in_;  // each stream's latest DTS taken
  std::optional<std::int64_t> first_keyframe_in_;              // the first keyframe's DTS
  std::size_t held_bytes_ = 0;
  std::int64_t held_min_ = 0, held_max_ = 0;

  bool low_latency() const;
  void open_part(std::int64_t dts, bool independent);
  Status cut_part_if(std::int64_t next_start);
  Status close_part(std::int64_t end);

  std::unique_ptr<hls::SegmentWriter> writer_;
  std::deque<HlsInit> inits_;       // fMP4: initialization sections, oldest first
  std::uint64_t last_init_id_ = 0;  // the current writer's
  bool part_open_ = false;          // Low-Latency HLS: the current part holds media
  std::int64_t part_start_ = 0;
  bool part_independent_ = false;
  std::vector<HlsPart> parts_;  // of the segment being built
  std::size_t parts_bytes_ = 0;
  bool video_started_ = false;  // first keyframe written
  std::int64_t first_video_dts_ = 0;
  std::optional<std::int64_t> last_video_dts_, last_audio_dts_;
  std::int64_t video_step_ = 0, audio_step_ = 0;  // last DTS deltas, for the final duration
  std::int64_t media_end_ = 0;                    // last DTS + its step, over both streams

  bool segment_open_ = false;  // the current segment holds media
  std::int64_t segment_start_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::deque<HlsSegment> segments_;
  bool discontinuity_next_ = false;    // the next segment starts a new publisher's timeline
  std::uint64_t discontinuities_ = 0;  // segments marked as discontinuities, ever

  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const HlsSnapshot> snapshot_;
};

}  // namespace sluice::media
