#pragma once
// SDP (RFC 8866), sans I/O: what RTSP's DESCRIBE answers and ANNOUNCE carries, and (later) what
// WebRTC offers and answers carry. parse() reads the session and media sections into plain
// structs, keeping every attribute; serialize() writes them back in RFC order. Helpers read the
// RTP details of a payload type (rtpmap, fmtp). Bounded: 64 KiB of text, 64 media sections,
// 1024 lines; anything past is an error (400/413) naming the limit. Unknown line types are kept
// out, never an error (as the RFC asks).
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "media/protocols/text.hpp"

namespace sluice::media::sdp {

struct Attribute {
  std::string name;   // "rtpmap", "control", "recvonly", ...
  std::string value;  // after the first ':'; empty for a flag
};

struct MediaDescription {
  std::string media;  // "video", "audio", "application"
  int port = 0;
  std::string protocol;              // "RTP/AVP", "UDP/TLS/RTP/SAVPF", ...
  std::vector<std::string> formats;  // payload types, as written
  std::string connection;            // this section's c= value, if any
  std::vector<Attribute> attributes;

  // The value of the first attribute `name`, or nullptr.
  const std::string* attribute(std::string_view name) const;
};

struct SessionDescription {
  std::string origin = "- 0 0 IN IP4 127.0.0.1";
  std::string name = "sluice";
  std::string connection;  // session-level c= value, if any
  std::vector<Attribute> attributes;
  std::vector<MediaDescription> media;

  const std::string* attribute(std::string_view name) const;
};

Result<SessionDescription> parse(std::string_view text);
std::string serialize(const SessionDescription& session);

struct RtpMap {
  int payload_type = 0;
  std::string encoding;  // as written ("H264", "MPEG4-GENERIC", "opus"); compare case-insensitively
  int clock_rate = 0;
  int channels = 0;  // 0 when not given
};

// The rtpmap of `payload_type` in `m`; the static payload types of RFC 3551 that sluiced knows
// (none of its codecs have one) are not guessed.
std::optional<RtpMap> rtpmap_of(const MediaDescription& m, int payload_type);
// The fmtp parameters of `payload_type` ("a=fmtp:96 a=1; b=2"), keys lower-cased.
std::map<std::string, std::string> fmtp_of(const MediaDescription& m, int payload_type);

// Case-insensitive ASCII comparison, for encoding names and parameters.
using text::iequals;

}  // namespace sluice::media::sdp
