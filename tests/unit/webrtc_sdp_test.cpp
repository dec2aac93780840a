// WebRTC offer/answer (media/protocols/webrtc/sdp_answer) on an offer shaped like Chromium's for
// WHEP (recvonly audio and video, BUNDLE, VP8/VP9/H.264 of several profiles, opus): the answer is
// ICE-lite, passive DTLS, one host candidate per address, echoes the chosen payload type with its
// fmtp and feedback; a path whose profile the browser did not offer gets 406 naming it; offers
// without ICE credentials or a fingerprint get 400.
#include <gtest/gtest.h>

#include "media/protocols/sdp/sdp.hpp"
#include "media/protocols/webrtc/sdp_answer.hpp"

namespace sluice::media::webrtc {
namespace {

const char* kChromeOffer =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Zq8r\r\n"
    "a=ice-pwd:6t3ZkPCl1u1sKdI5zGl2sH2K\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "1B:7B:2F:6E:0D:44:3A:55:6C:7E:18:0A:39:A8:34:9C:D1:40:AA:0F:F6:94:5E:9F:1C:2B:3F:75:06:80:A0:"
    "DD\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Zq8r\r\n"
    "a=ice-pwd:6t3ZkPCl1u1sKdI5zGl2sH2K\r\n"
    "a=fingerprint:sha-256 "
    "1B:7B:2F:6E:0D:44:3A:55:6C:7E:18:0A:39:A8:34:9C:D1:40:AA:0F:F6:94:5E:9F:1C:2B:3F:75:06:80:A0:"
    "DD\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=rtpmap:102 H264/90000\r\n"
    "a=rtcp-fb:102 goog-remb\r\n"
    "a=rtcp-fb:102 transport-cc\r\n"
    "a=rtcp-fb:102 ccm fir\r\n"
    "a=rtcp-fb:102 nack\r\n"
    "a=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n"
    "a=rtpmap:103 rtx/90000\r\n"
    "a=fmtp:103 apt=102\r\n"
    "a=rtpmap:104 H264/90000\r\n"
    "a=rtcp-fb:104 nack\r\n"
    "a=rtcp-fb:104 nack pli\r\n"
    "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f\r\n"
    "a=rtpmap:105 H264/90000\r\n"
    "a=rtcp-fb:105 nack\r\n"
    "a=rtcp-fb:105 nack pli\r\n"
    "a=rtcp-fb:105 goog-remb\r\n"
    "a=fmtp:105 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:106 H264/90000\r\n"
    "a=rtcp-fb:106 nack\r\n"
    "a=rtcp-fb:106 nack pli\r\n"
    "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f\r\n"
    "a=rtpmap:107 rtx/90000\r\n"
    "a=fmtp:107 apt=106\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=mid:2\r\n"
    "a=sctp-port:5000\r\n";

AnswerSetup setup() {
  AnswerSetup s;
  s.ice = {"sluiceuf", "sluicepasswordsluicepass"};
  s.fingerprint_sha256 = "AA:BB:CC";
  s.host_addresses = {"192.168.1.10", "10.0.0.5"};
  s.port = 8189;
  return s;
}

TEST(WebrtcAnswer, ChromiumWhepOfferGetsAnIceLitePassiveAnswer) {
  LocalMedia local;
  local.h264 = LocalMedia::H264{100, 0};  // High, as OBS and x264 send
  local.opus = true;
  auto n = answer_offer(kChromeOffer, local, setup());
  ASSERT_TRUE(n.has_value()) << n.error().detail;
  EXPECT_EQ(n->remote_ufrag, "Zq8r");
  EXPECT_EQ(n->remote_pwd, "6t3ZkPCl1u1sKdI5zGl2sH2K");
  EXPECT_TRUE(n->remote_fingerprint.starts_with("sha-256 1B:7B"));
  ASSERT_EQ(n->tracks.size(), 2u);
  EXPECT_EQ(n->tracks[0].mid, "0");
  EXPECT_EQ(n->tracks[0].payload_type, 111);
  EXPECT_TRUE(n->tracks[0].transport_cc);
  EXPECT_EQ(n->tracks[0].transport_cc_id, 3);  // its extmap, echoed
  EXPECT_NE(n->answer.find("a=extmap:3 http://www.ietf.org/id/"
                           "draft-holmer-rmcat-transport-wide-cc-extensions-01"),
            std::string::npos);
  EXPECT_EQ(n->tracks[1].mid, "1");
  EXPECT_EQ(n->tracks[1].payload_type, 106);  // the High profile one
  EXPECT_TRUE(n->tracks[1].nack);
  EXPECT_TRUE(n->tracks[1].pli);
  EXPECT_NE(n->tracks[0].ssrc, n->tracks[1].ssrc);

  auto answer = sdp::parse(n->answer);
  ASSERT_TRUE(answer.has_value()) << n->answer;
  EXPECT_NE(answer->attribute("ice-lite"), nullptr);
  EXPECT_EQ(*answer->attribute("group"), "BUNDLE 0 1");
  ASSERT_EQ(answer->media.size(), 3u);  // one section per offered section, in order
  const auto& video = answer->media[1];
  EXPECT_EQ(video.formats, (std::vector<std::string>{"106"}));
  EXPECT_EQ(*video.attribute("setup"), "passive");
  EXPECT_EQ(*video.attribute("ice-ufrag"), "sluiceuf");
  EXPECT_EQ(*video.attribute("fingerprint"), "sha-256 AA:BB:CC");
  EXPECT_NE(video.attribute("sendonly"), nullptr);
  EXPECT_EQ(sdp::fmtp_of(video, 106)["profile-level-id"], "640c1f");  // echoed
  EXPECT_NE(n->answer.find("a=candidate:1 1 udp 2130706431 192.168.1.10 8189 typ host"),
            std::string::npos)
      << n->answer;
  EXPECT_NE(n->answer.find("a=candidate:2 1 udp 2130706430 10.0.0.5 8189 typ host"),
            std::string::npos);
  EXPECT_EQ(n->answer.find("0.0.0.0 8189"), std::string::npos);
  EXPECT_EQ(answer->media[2].port, 0);  // the data channel is declined
  EXPECT_EQ(*answer->media[2].attribute("mid"), "2");
}

TEST(WebrtcAnswer, IceTcpCandidatesArePassiveAndRankBelowUdp) {
  LocalMedia local;
  local.h264 = LocalMedia::H264{100, 0};
  local.opus = true;
  AnswerSetup s = setup();
  s.tcp_port = 8189;
  auto n = answer_offer(kChromeOffer, local, s);
  ASSERT_TRUE(n.has_value()) << n.error().detail;
  EXPECT_NE(n->answer.find("a=candidate:3 1 tcp 2122317055 192.168.1.10 8189 typ host tcptype "
                           "passive"),
            std::string::npos)
      << n->answer;
  EXPECT_NE(n->answer.find(" 10.0.0.5 8189 typ host tcptype passive"), std::string::npos);
  EXPECT_LT(2122317055u, 2130706430u);  // every UDP candidate first
  EXPECT_EQ(answer_offer(kChromeOffer, local, setup())->answer.find(" tcp "), std::string::npos);
}

TEST(WebrtcAnswer, ProfilesAreMatchedAndAMissingOneIsNamed) {
  LocalMedia baseline;
  baseline.h264 = LocalMedia::H264{66, 0xE0};  // Constrained Baseline: 105, not 102 (Baseline)
  auto n = answer_offer(kChromeOffer, baseline, setup());
  ASSERT_TRUE(n.has_value()) << n.error().detail;
  ASSERT_EQ(n->tracks.size(), 1u);
  EXPECT_EQ(n->tracks[0].payload_type, 105);
  EXPECT_TRUE(n->tracks[0].remb);

  LocalMedia main_profile;
  main_profile.h264 = LocalMedia::H264{77, 0};  // not offered
  auto refused = answer_offer(kChromeOffer, main_profile, setup());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().status, 406);
  EXPECT_NE(refused.error().detail.find("4d (Main)"), std::string::npos) << refused.error().detail;

  EXPECT_EQ(answer_offer(kChromeOffer, LocalMedia{}, setup()).error().status, 406);

  // Audio the offer could carry does not hide video it cannot: still 406, naming the profile
  // (an answer without the picture is refused by browsers anyway).
  LocalMedia main_and_opus = main_profile;
  main_and_opus.opus = true;
  auto partial = answer_offer(kChromeOffer, main_and_opus, setup());
  ASSERT_FALSE(partial.has_value());
  EXPECT_EQ(partial.error().status, 406);
  EXPECT_NE(partial.error().detail.find("4d (Main)"), std::string::npos) << partial.error().detail;
}

TEST(WebrtcAnswer, OffersWithoutIceOrFingerprintAreRefused) {
  LocalMedia local;
  local.opus = true;
  std::string offer = kChromeOffer;
  std::string no_fingerprint;
  for (std::size_t at = 0; at < offer.size();) {
    const auto end = offer.find("\r\n", at) + 2;
    const std::string line = offer.substr(at, end - at);
    if (!line.starts_with("a=fingerprint")) no_fingerprint += line;
    at = end;
  }
  EXPECT_EQ(answer_offer(no_fingerprint, local, setup()).error().status, 400);
  std::string no_ice;
  for (std::size_t at = 0; at < offer.size();) {
    const auto end = offer.find("\r\n", at) + 2;
    const std::string line = offer.substr(at, end - at);
    if (!line.starts_with("a=ice-")) no_ice += line;
    at = end;
  }
  EXPECT_EQ(answer_offer(no_ice, local, setup()).error().status, 400);
  EXPECT_EQ(answer_offer("this is not sdp", local, setup()).error().status, 400);

  // A WHIP publisher's offer is sendonly: the answer receives.
  AnswerSetup whip = setup();
  whip.receive = true;
  std::string sendonly = offer;
  for (auto at = sendonly.find("a=recvonly"); at != std::string::npos;
       at = sendonly.find("a=recvonly"))
    sendonly.replace(at, 10, "a=sendonly");
  auto n = answer_offer(sendonly, local, whip);
  ASSERT_TRUE(n.has_value()) << n.error().detail;
  EXPECT_NE(n->answer.find("a=recvonly"), std::string::npos);
  EXPECT_EQ(n->answer.find("a=ssrc:"), std::string::npos);
}

}  // namespace
}  // namespace sluice::media::webrtc
