#pragma once
// WebRTC offer/answer (RFC 8829/JSEP, RFC 8843 BUNDLE, RFC 8842 DTLS), sans I/O, on the shared
// SDP module: reads a browser's offer and writes sluiced's answer for a path's tracks.
//
// The answer is ICE-lite (`a=ice-lite`), DTLS role `a=setup:passive` with a sha-256 fingerprint,
// RTP and RTCP multiplexed and BUNDLEd on one host candidate per announced address (the
// `--webrtc-udp` port). For each offered audio/video section it takes the first payload type the
// path can fill — video: H.264 with packetization-mode=1 whose profile (profile_idc and the
// constrained-baseline flag) is the path's, any level; audio: opus/48000/2 — echoing the offer's
// payload type, fmtp and the rtcp-fb it offered among nack, nack pli, ccm fir, goog-remb and
// transport-cc. A section it cannot fill (another codec, a data channel, a second video) is
// answered with port 0. The direction is the offer's mirror: a WHEP viewer's recvonly gets
// sendonly, a WHIP publisher's sendonly gets recvonly.
//
// Errors: 400 for an offer that does not parse or lacks ICE credentials or a DTLS fingerprint;
// 406 when no section can be filled, naming what the path has (e.g. "H.264 profile 64 (High)").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "media/protocols/webrtc/ice_lite.hpp"

namespace sluice::media::webrtc {

// What the path can send (WHEP) or take (WHIP).
struct LocalMedia {
  // H.264 video: the path's profile_idc and constraint flags (the SPS's second and third bytes);
  // nullopt: no video.
  struct H264 {
    std::uint8_t profile_idc = 66;
    std::uint8_t constraints = 0xE0;
  };
  std::optional<H264> h264;
  bool opus = false;
  // Receiving (WHIP): any H.264 profile the offer has is taken (h264 then only says "video
  // wanted"); sending, the profile must be the path's.
  bool any_h264_profile = false;
};

struct AnswerSetup {
  IceCredentials ice;
  std::string fingerprint_sha256;           // "AB:CD:…", of the DTLS certificate
  std::vector<std::string> host_addresses;  // announced as host candidates (never 0.0.0.0)
  std::uint16_t port = 0;
  // ICE-TCP (RFC 6544): a passive TCP host candidate per address on this port, below every UDP
  // one in priority; 0: none.
  std::uint16_t tcp_port = 0;
  bool receive = false;  // WHIP: sluiced receives; WHEP: sluiced sends
};

// One negotiated track.
struct NegotiatedTrack {
  std::string mid;
  bool video = false;
  int payload_type = 0;
  std::uint32_t ssrc = 0;  // ours (sending), random
  bool nack = false, pli = false, fir = false, remb = false, transport_cc = false;
  // The transport-wide sequence number's header extension id (its a=extmap, echoed when sluiced
  // sends and the offer asked for transport-cc feedback); 0: none.
  int transport_cc_id = 0;
};

struct Negotiated {
  std::string answer;  // the SDP
  std::vector<NegotiatedTrack> tracks;
  std::string remote_ufrag, remote_pwd;
  std::string remote_fingerprint;  // "sha-256 AB:CD:…" as offered
};

Result<Negotiated> answer_offer(std::string_view offer, const LocalMedia& local,
                                const AnswerSetup& setup);

// "profile-level-id" of an fmtp value: profile_idc and constraints; nullopt when absent or not 6
// hex digits (RFC 6184's default then is 42000a: Baseline).
struct ProfileLevelId {
  std::uint8_t profile_idc = 0x42, constraints = 0, level = 0x0a;
};
std::optional<ProfileLevelId> parse_profile_level_id(std::string_view hex);
// Whether an offered H.264 profile can carry the path's: the same profile_idc, and for Baseline
// (66) the same constrained-baseline flag (constraint_set1).
bool h264_profile_matches(const ProfileLevelId& offered, const LocalMedia::H264& path);

}  // namespace sluice::media::webrtc
