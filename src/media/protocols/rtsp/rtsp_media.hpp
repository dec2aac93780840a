#pragma once
// How RTSP maps to and from the media core, sans I/O.
//
// Play: describe_path() turns a live path's codec configuration (its AVC/HEVC record and AAC
// AudioSpecificConfig packets) into the RTP tracks an RTSP reader gets and the SDP DESCRIBE
// answers — H.264 (payload type 96, sprop-parameter-sets, profile-level-id), H.265 (96,
// sprop-vps/sps/pps), AAC (97, mpeg4-generic AAC-hbr) and Opus (97, opus/48000/2, RFC 7587) — each
// with `a=control:trackID=N`.
//
// Record: RtspIngest reads the SDP an ANNOUNCE carries and turns the RTP packets of its tracks
// into FLV tag bodies the media core takes from every publisher (media::MediaPath::on_media):
// H.264 as AVC sequence header (from sprop-parameter-sets, or SPS/PPS seen in band) and AVCC
// frames, H.265 (RFC 7798; sprop-vps/sps/pps) as Enhanced RTMP hvc1, AAC as AudioSpecificConfig
// (fmtp `config`) and raw frames, Opus (RFC 7587) as Enhanced RTMP Opus (an OpusHead of 1 or 2
// channels after sprop-stereo, then one packet per RTP packet). Timestamps: each track's RTP clock from its first packet, offset
// by when that packet arrived after the session's first one, in milliseconds; RTP carries
// presentation times, so an H.264 frame whose time goes back (B-frames) gets a decoding time just
// after the previous one and a composition offset. Tracks of other codecs, and tracks past the
// fourth, are listed in `ignored` and their packets dropped.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "media/audio_config.hpp"
#include "media/flv_builder.hpp"
#include "media/packet.hpp"
#include "media/protocols/rtp/aac_rtp.hpp"
#include "media/protocols/rtp/nal_rtp.hpp"
#include "media/protocols/sdp/sdp.hpp"

namespace sluice::media::rtsp {

struct PlayTrack {
  bool video = false;
  AudioCodec audio_codec = AudioCodec::kNone;  // audio: AAC or Opus
  int payload_type = 96;
  int clock_rate = 90000;
  int nal_length_size = 4;                  // video: of the path's FLV bodies
  std::vector<std::string> parameter_sets;  // video: sent in band before keyframes
};

struct PlayDescription {
  std::vector<PlayTrack> tracks;  // in trackID order
  std::string sdp;
};

// `video_config` / `audio_config` may be null (no such stream yet). 415 when the path has
// neither an H.264/H.265 nor an AAC/Opus configuration sluiced can describe.
Result<PlayDescription> describe_path(const MediaPacket* video_config,
                                      const MediaPacket* audio_config);

// The RTP payloads of one packet for `track` (MediaPacket::rtp_form's builder): NAL units for
// H.264/H.265 (the track's parameter sets first on keyframes), the raw frame for AAC, the packet
// for Opus (one over the payload limit is dropped: RFC 7587 forbids fragmenting it); none for
// configuration packets and script data.
void build_rtp_payloads(const MediaPacket& packet, const PlayTrack& track,
                        std::vector<std::string>& out);

// One FLV tag body for the media core.
using IngestFrame = FlvFrame;

class RtspIngest {
 public:
  // 415 when the SDP has no track sluiced can take (H.264, H.265, AAC or Opus); 400 for a
  // malformed one.
  // `budget` (may be null): the server-wide reassembly budget the video tracks charge.
  static Result<std::unique_ptr<RtspIngest>> from_sdp(const sdp::SessionDescription& sdp,
                                                      SharedByteBudget* budget = nullptr);

  struct Track {
    std::string control;  // a=control, as written ("streamid=0", "trackID=1", or a URL)
    bool video = false;
    int payload_type = 0;
    int clock_rate = 0;
  };
  const std::vector<Track>& tracks() const { return tracks_; }
  const std::vector<std::string>& ignored() const { return ignored_; }

  // The configuration bodies known from the SDP (sequence headers), to send before any frame.
  std::vector<IngestFrame> initial_frames();

  // One RTP packet of track `index`, arriving at `now`: the frames it completes are appended.
  // Errors (400/413/415) drop the packet (the caller logs and counts); the ingest goes on.
  Status push(std::size_t index, std::span<const std::uint8_t> packet,
              std::chrono::steady_clock::time_point now, std::vector<IngestFrame>& out);

 private:
  struct TrackState;
  RtspIngest() = default;
  Status push_video(TrackState& t, const rtp::Packet& p, std::vector<IngestFrame>& out);

  std::vector<Track> tracks_;
  std::vector<std::string> ignored_;
  std::vector<std::shared_ptr<TrackState>> state_;
  std::optional<std::chrono::steady_clock::time_point> first_arrival_;
};

}  // namespace sluice::media::rtsp
