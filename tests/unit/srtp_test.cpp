// SRTP/SRTCP (media/protocols/webrtc/srtp) with mirrored keys as DTLS-SRTP gives them: what one side
// protects, the other unprotects to the same bytes, for both profiles; a changed byte fails
// authentication, a replay is refused, and neither disturbs the packets after it; a NACK answer
// (the same packet protected again) goes out.
#include <gtest/gtest.h>

#include "media/protocols/rtp/rtcp.hpp"
#include "media/protocols/rtp/rtp_packet.hpp"
#include "media/protocols/webrtc/srtp.hpp"

namespace sluice::media::webrtc {
namespace {

std::string rtp_packet(std::uint16_t sequence, std::string payload) {
  std::string p;
  rtp::append_header({false, 96, sequence, 90000u + sequence * 3000u, 0x1234}, p);
  return p + payload;
}

void check_profile(std::uint16_t profile) {
  const std::size_t size = profile == 0x0007 ? 28 : 30;
  SrtpKeys server{profile, std::string(size, 'a'), std::string(size, 'b')};
  SrtpKeys client{profile, server.remote_key, server.local_key};
  auto sender = SrtpSession::create(server);
  auto receiver = SrtpSession::create(client);
  ASSERT_TRUE(sender && receiver) << (sender ? receiver.error().detail : sender.error().detail);

  for (std::uint16_t seq = 1; seq <= 3; ++seq) {
    const std::string plain = rtp_packet(seq, "frame data " + std::to_string(seq));
    std::string wire = plain;
    ASSERT_TRUE((*sender)->protect_rtp(wire));
    EXPECT_GT(wire.size(), plain.size());
    EXPECT_EQ(wire.find("frame data"), std::string::npos) << "the payload went out in clear";
    std::string got = wire;
    ASSERT_TRUE((*receiver)->unprotect_rtp(got));
    EXPECT_EQ(got, plain);
    if (seq == 2) {
      std::string replay = wire;
      EXPECT_EQ((*receiver)->unprotect_rtp(replay).error().status, 400);
      std::string again = plain;  // a NACK answer: the same packet protected a second time
      EXPECT_TRUE((*sender)->protect_rtp(again));
    }
  }
  std::string tampered = rtp_packet(4, "frame data 4");
  ASSERT_TRUE((*sender)->protect_rtp(tampered));
  tampered[14] ^= 0x01;
  auto status = (*receiver)->unprotect_rtp(tampered);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().detail.find("authentication"), std::string::npos);
  std::string next = rtp_packet(5, "frame data 5");
  ASSERT_TRUE((*sender)->protect_rtp(next));
  EXPECT_TRUE((*receiver)->unprotect_rtp(next));

  std::string rtcp;
  rtp::append_pli(0x1234, 0x5678, rtcp);
  const std::string plain_rtcp = rtcp;
  ASSERT_TRUE((*receiver)->protect_rtcp(rtcp));  // the viewer's feedback
  ASSERT_TRUE((*sender)->unprotect_rtcp(rtcp));
  EXPECT_EQ(rtcp, plain_rtcp);
}

TEST(Srtp, AeadAes128GcmRoundTripsAndRefusesForgeries) {
  check_profile(0x0007);
}

TEST(Srtp, Aes128CmSha1_80RoundTripsAndRefusesForgeries) {
  check_profile(0x0001);
}

TEST(Srtp, BadKeysAreRefused) {
  EXPECT_EQ(SrtpSession::create({0x0007, "short", "short"}).error().status, 400);
  EXPECT_EQ(SrtpSession::create({0x0042, std::string(28, 'a'), std::string(28, 'b')}).error().status,
            400);
}

}  // namespace
}  // namespace sluice::media::webrtc
