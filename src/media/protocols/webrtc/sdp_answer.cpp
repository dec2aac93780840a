#include "media/protocols/webrtc/sdp_answer.hpp"

#include <algorithm>
#include <set>

#include "core/crypto.hpp"
#include "media/protocols/rtp/transport_cc.hpp"
#include "media/protocols/sdp/sdp.hpp"

namespace sluice::media::webrtc {
namespace {

// The feedback sluiced answers, as the rtcp-fb values name it.
constexpr std::string_view kFeedback[] = {"nack", "nack pli", "ccm fir", "goog-remb",
                                          "transport-cc"};

int payload_type_of(std::string_view format) {
  int pt = 0;
  if (format.empty() || format.size() > 3) return -1;
  for (char c : format) {
    if (c < '0' || c > '9') return -1;
    pt = pt * 10 + (c - '0');
  }
  return pt <= 127 ? pt : -1;
}

// A media-level attribute, else the session-level one.
const std::string* either(const sdp::SessionDescription& s, const sdp::MediaDescription* m,
                          std::string_view name) {
  if (m) {
    if (const auto* v = m->attribute(name)) return v;
  }
  return s.attribute(name);
}

std::uint32_t random_ssrc() {
  std::uint32_t v = 0;
  for (unsigned char c : crypto::random_bytes(4))
    v = (v << 8) | c;
  return v == 0 ? 1 : v;
}

std::string profile_name(std::uint8_t profile_idc, std::uint8_t constraints) {
  switch (profile_idc) {
    case 66:
      return (constraints & 0x40) ? "42e0 (Constrained Baseline)" : "4200 (Baseline)";
    case 77:
      return "4d (Main)";
    case 100:
      return "64 (High)";
    default:
      return std::to_string(profile_idc);
  }
}

// The payload type of `m` the path can fill, or -1.
int choose(const sdp::MediaDescription& m, const LocalMedia& local) {
  for (const auto& f : m.formats) {
    const int pt = payload_type_of(f);
    if (pt < 0) continue;
    const auto map = sdp::rtpmap_of(m, pt);
    if (!map) continue;
    if (m.media == "video" && local.h264 && sdp::iequals(map->encoding, "H264") &&
        map->clock_rate == 90000) {
      const auto fmtp = sdp::fmtp_of(m, pt);
      const auto mode = fmtp.find("packetization-mode");
      if (mode == fmtp.end() || mode->second != "1") continue;
      const auto plid = fmtp.find("profile-level-id");
      const auto offered = parse_profile_level_id(plid == fmtp.end() ? "42000a" : plid->second);
      if (offered && (local.any_h264_profile || h264_profile_matches(*offered, *local.h264))) {
        return pt;
      }
    }
    if (m.media == "audio" && local.opus && sdp::iequals(map->encoding, "opus") &&
        map->clock_rate == 48000) {
      return pt;
    }
  }
  return -1;
}

}  // namespace

std::optional<ProfileLevelId> parse_profile_level_id(std::string_view hex) {
  if (hex.size() != 6) return std::nullopt;
  std::uint8_t v[3];
  for (int i = 0; i < 3; ++i) {
    const int high = text::hex_digit(hex[2 * i]), low = text::hex_digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    v[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return ProfileLevelId{v[0], v[1], v[2]};
}

bool h264_profile_matches(const ProfileLevelId& offered, const LocalMedia::H264& path) {
  if (offered.profile_idc != path.profile_idc) return false;
  if (path.profile_idc != 66) return true;
  return (offered.constraints & 0x40) == (path.constraints & 0x40);
}

Result<Negotiated> answer_offer(std::string_view offer_text, const LocalMedia& local,
                                const AnswerSetup& setup) {
  auto offer = sdp::parse(offer_text);
  if (!offer) return fail(offer.error());
  Negotiated out;
  const sdp::MediaDescription* first = offer->media.empty() ? nullptr : &offer->media[0];
  const auto* ufrag = either(*offer, first, "ice-ufrag");
  const auto* pwd = either(*offer, first, "ice-pwd");
  const auto* fingerprint = either(*offer, first, "fingerprint");
  if (!ufrag || !pwd || ufrag->empty() || pwd->empty()) {
    return fail(Error::bad_request("the offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)"));
  }
  if (!fingerprint || fingerprint->empty()) {
    return fail(Error::bad_request("the offer has no DTLS fingerprint (a=fingerprint)"));
  }
  out.remote_ufrag = *ufrag;
  out.remote_pwd = *pwd;
  out.remote_fingerprint = *fingerprint;

  sdp::SessionDescription answer;
  answer.origin = "- " + std::to_string(random_ssrc()) + " 2 IN IP4 127.0.0.1";
  answer.name = "-";
  std::vector<std::string> bundle;
  bool have_video = false, have_audio = false;
  std::set<std::string> mids;
  for (std::size_t i = 0; i < offer->media.size(); ++i) {
    const auto& m = offer->media[i];
    const auto* mid_attr = m.attribute("mid");
    std::string mid = mid_attr ? *mid_attr : std::to_string(i);
    sdp::MediaDescription a;
    a.media = m.media;
    a.protocol = m.protocol;
    a.connection = "IN IP4 0.0.0.0";
    a.attributes.push_back({"mid", mid});
    const bool recvonly = m.attribute("recvonly") != nullptr;
    const bool sendonly = m.attribute("sendonly") != nullptr;
    const bool direction_ok = setup.receive ? !recvonly : !sendonly;
    int pt = -1;
    if (direction_ok && !mids.contains(mid) && m.attribute("inactive") == nullptr &&
        ((m.media == "video" && !have_video) || (m.media == "audio" && !have_audio))) {
      pt = choose(m, local);
    }
    mids.insert(mid);
    if (pt < 0) {
      a.port = 0;  // rejected
      a.formats = m.formats.empty() ? std::vector<std::string>{"0"} : m.formats;
      answer.media.push_back(std::move(a));
      continue;
    }
    (m.media == "video" ? have_video : have_audio) = true;
    NegotiatedTrack t;
    t.mid = mid;
    t.video = m.media == "video";
    t.payload_type = pt;
    t.ssrc = random_ssrc();
    a.port = 9;
    a.formats = {std::to_string(pt)};
    a.attributes.push_back({setup.receive ? "recvonly" : "sendonly", ""});
    a.attributes.push_back({"rtcp-mux", ""});
    a.attributes.push_back({"ice-ufrag", setup.ice.ufrag});
    a.attributes.push_back({"ice-pwd", setup.ice.pwd});
    a.attributes.push_back({"fingerprint", "sha-256 " + setup.fingerprint_sha256});
    a.attributes.push_back({"setup", "passive"});
    const std::string prefix = std::to_string(pt) + " ";
    for (const auto& attr : m.attributes) {
      if ((attr.name == "rtpmap" || attr.name == "fmtp") && attr.value.starts_with(prefix)) {
        a.attributes.push_back(attr);  // echoed as offered
      }
    }
    for (const auto& attr : m.attributes) {
      if (attr.name != "rtcp-fb" || !attr.value.starts_with(prefix)) continue;
      const std::string_view kind = std::string_view(attr.value).substr(prefix.size());
      for (auto known : kFeedback) {
        if (kind != known) continue;
        a.attributes.push_back(attr);
        if (known == "nack") t.nack = true;
        if (known == "nack pli") t.pli = true;
        if (known == "ccm fir") t.fir = true;
        if (known == "goog-remb") t.remb = true;
        if (known == "transport-cc") t.transport_cc = true;
      }
    }
    if (t.transport_cc && !setup.receive) {
      for (const auto& attr : m.attributes) {
        if (attr.name != "extmap" || !attr.value.ends_with(rtp::kTransportCcUri)) continue;
        int id = 0;
        for (char c : attr.value) {
          if (c < '0' || c > '9') break;
          id = id * 10 + (c - '0');
        }
        if (id < 1 || id > 14) continue;  // one-byte header ids only
        a.attributes.push_back(
            {"extmap", std::to_string(id) + " " + std::string(rtp::kTransportCcUri)});
        t.transport_cc_id = id;
        break;
      }
    }
    if (!setup.receive) {
      a.attributes.push_back({"msid", "sluice " + mid});
      a.attributes.push_back({"ssrc", std::to_string(t.ssrc) + " cname:sluice"});
    }
    unsigned foundation = 1;
    for (const auto& address : setup.host_addresses) {
      const unsigned priority = 2130706431u - foundation + 1;  // host, descending by address
      a.attributes.push_back({"candidate", std::to_string(foundation) + " 1 udp " +
                                               std::to_string(priority) + " " + address + " " +
                                               std::to_string(setup.port) + " typ host"});
      ++foundation;
    }
    if (setup.tcp_port != 0) {
      for (const auto& address : setup.host_addresses) {
        // Type preference 126 (host), local preference below any UDP candidate's.
        const unsigned priority = (126u << 24) | ((0x7fffu - foundation) << 8) | 255u;
        a.attributes.push_back({"candidate", std::to_string(foundation) + " 1 tcp " +
                                                 std::to_string(priority) + " " + address + " " +
                                                 std::to_string(setup.tcp_port) +
                                                 " typ host tcptype passive"});
        ++foundation;
      }
    }
    a.attributes.push_back({"end-of-candidates", ""});
    bundle.push_back(mid);
    out.tracks.push_back(t);
    answer.media.push_back(std::move(a));
  }
  // A path with video that no offered video section can carry: the viewer would get a session
  // without its picture (and browsers refuse such an answer): refused, naming the profile.
  const bool offered_video = std::any_of(offer->media.begin(), offer->media.end(),
                                         [](const auto& m) { return m.media == "video"; });
  const bool video_answered = std::any_of(out.tracks.begin(), out.tracks.end(),
                                          [](const NegotiatedTrack& t) { return t.video; });
  if (local.h264 && !local.any_h264_profile && offered_video && !video_answered) {
    return fail(Error{406,
                      "the offer's H.264 does not include the path's profile (" +
                          profile_name(local.h264->profile_idc, local.h264->constraints) +
                          "): offer that profile with packetization-mode=1, or publish one the "
                          "browser offers (e.g. constrained baseline 42e01f or main 4d001f)",
                      {}});
  }
  if (out.tracks.empty()) {
    std::string has;
    if (local.h264)
      has = "H.264 profile " + profile_name(local.h264->profile_idc, local.h264->constraints);
    if (local.opus) has += std::string(has.empty() ? "" : " and ") + "Opus";
    if (has.empty()) has = "no codec WebRTC can carry (H.264 video, Opus audio)";
    return fail(Error{406,
                      "the offer has no media section sluiced can fill; the path has " + has +
                          " (video: H.264 with packetization-mode=1 of that profile; audio: "
                          "opus/48000/2)",
                      {}});
  }
  std::string group = "BUNDLE";
  for (const auto& mid : bundle)
    group += " " + mid;
  answer.attributes.push_back({"group", group});
  answer.attributes.push_back({"ice-lite", ""});
  answer.attributes.push_back({"msid-semantic", " WMS sluice"});
  out.answer = sdp::serialize(answer);
  return out;
}

}  // namespace sluice::media::webrtc
