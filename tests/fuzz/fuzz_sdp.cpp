// Session descriptions (RTSP ANNOUNCE bodies, WebRTC offers): parse, then what serialize()
// writes must parse to the same media with the same RTP details; an offer sluiced answers gets
// an answer that parses, one section per offered section. Also SRT streamids.
#include <cstdint>
#include <string>
#include <string_view>

#include "media/protocols/sdp/sdp.hpp"
#include "media/protocols/srt/stream_id.hpp"
#include "media/protocols/webrtc/sdp_answer.hpp"

namespace {

using namespace sluice::media;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The same text as an SRT streamid: parsed or refused, never more than asked for.
  if (auto id = srt::parse_stream_id(text))
    check(!id->resource.empty() && id->resource.size() <= 256);
  auto s = sdp::parse(text);
  if (!s) return 0;
  {
    webrtc::LocalMedia local;
    local.h264 = webrtc::LocalMedia::H264{100, 0};
    local.opus = true;
    webrtc::AnswerSetup setup;
    setup.ice = {"ufragufr", "passwordpasswordpassword"};
    setup.fingerprint_sha256 = "AA:BB";
    setup.host_addresses = {"127.0.0.1"};
    setup.port = 8189;
    if (auto n = webrtc::answer_offer(text, local, setup)) {
      auto answer = sdp::parse(n->answer);
      check(answer.has_value() && answer->media.size() == s->media.size());
      check(!n->tracks.empty() && n->tracks.size() <= 2);
    }
  }
  for (const auto& m : s->media) {
    for (const auto& f : m.formats) {
      int pt = 0;
      for (char c : f.substr(0, 3))
        pt = c >= '0' && c <= '9' ? pt * 10 + (c - '0') : pt;
      (void)sdp::rtpmap_of(m, pt);
      (void)sdp::fmtp_of(m, pt);
    }
  }
  auto again = sdp::parse(sdp::serialize(*s));
  // Values with line breaks inside cannot be written back; everything else must round-trip.
  if (!again) return 0;
  check(again->media.size() == s->media.size());
  for (std::size_t i = 0; i < s->media.size(); ++i) {
    check(again->media[i].media == s->media[i].media);
    check(again->media[i].port == s->media[i].port);
  }
  return 0;
}
