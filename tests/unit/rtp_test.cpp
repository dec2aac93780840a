// RTP packets, H.264/H.265 and AAC (de)packetization and RTCP reports (src/media/protocols/rtp),
// sans I/O: what a player or a publisher on the other end would notice — every NAL unit and
// frame arrives whole and in order, a lost packet marks its access unit damaged, bad payloads
// are refused without breaking what follows.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/protocols/rtp/aac_rtp.hpp"
#include "media/protocols/rtp/nal_rtp.hpp"
#include "media/protocols/rtp/rtcp.hpp"
#include "media/protocols/rtp/rtp_packet.hpp"
#include "media/protocols/rtp/transport_cc.hpp"

namespace sluice::media::rtp {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Whole RTP packets for `payloads`: consecutive sequences from `seq`, marker on the last.
std::vector<std::string> packets(const std::vector<std::string>& payloads, std::uint16_t& seq,
                                 std::uint32_t ts) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    std::string p;
    append_header({i + 1 == payloads.size(), 96, seq++, ts, 0x1234}, p);
    p += payloads[i];
    out.push_back(std::move(p));
  }
  return out;
}

std::string nal(char header, std::size_t size, char fill) {
  std::string n(size, fill);
  n[0] = header;
  return n;
}

TEST(RtpPacket, HeaderRoundTripsAndMalformedPacketsAreRefused) {
  std::string p;
  append_header({true, 97, 65535, 0xDEADBEEF, 42}, p);
  p += "payload";
  auto parsed = parse_packet(bytes(p));
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_TRUE(parsed->header.marker);
  EXPECT_EQ(parsed->header.payload_type, 97);
  EXPECT_EQ(parsed->header.sequence, 65535);
  EXPECT_EQ(parsed->header.timestamp, 0xDEADBEEF);
  EXPECT_EQ(parsed->header.ssrc, 42u);
  EXPECT_EQ(std::string(parsed->payload.begin(), parsed->payload.end()), "payload");
  EXPECT_FALSE(parse_packet(bytes(p.substr(0, 11))));
  std::string padded = p;
  padded[0] = static_cast<char>(padded[0] | 0x20);
  padded.back() = 100;  // padding longer than the payload
  EXPECT_FALSE(parse_packet(bytes(padded)));
  std::string csrc = p;
  csrc[0] = static_cast<char>(0x8F);  // 15 CSRCs that are not there
  EXPECT_FALSE(parse_packet(bytes(csrc)));
  EXPECT_TRUE(sequence_after(0, 65535));
  EXPECT_FALSE(sequence_after(65535, 0));
}

TEST(NalRtp, H264SmallAndLargeNalUnitsRoundTrip) {
  const std::string sps = nal(0x67, 20, 's'), pps = nal(0x68, 5, 'p');
  const std::string idr = nal(0x65, 5000, 'i');  // three FU-A fragments
  const std::vector<std::string_view> au{sps, pps, idr};
  std::vector<std::string> payloads;
  packetize_nal_units(NalCodec::kH264, au, kMaxPayload, payloads);
  ASSERT_EQ(payloads.size(), 2u + 5);
  for (const auto& p : payloads)
    EXPECT_LE(p.size(), kMaxPayload);
  EXPECT_EQ(static_cast<std::uint8_t>(payloads[2][0]) & 0x1F, 28);  // FU-A
  EXPECT_EQ(static_cast<std::uint8_t>(payloads[2][1]), 0x80 | 5);   // start, IDR

  std::uint16_t seq = 100;
  NalDepacketizer depacketizer(NalCodec::kH264);
  std::vector<NalAccessUnit> out;
  for (const auto& p : packets(payloads, seq, 9000)) {
    ASSERT_TRUE(depacketizer.push(*parse_packet(bytes(p)), out));
  }
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].timestamp, 9000u);
  EXPECT_FALSE(out[0].damaged);
  EXPECT_EQ(out[0].nal_units, (std::vector<std::string>{sps, pps, idr}));
}

// An access unit being reassembled is charged to the server-wide budget: one that does not fit
// is dropped (503) and the next one marked damaged; nothing stays charged.
TEST(NalRtp, AccessUnitsOverTheSharedBudgetAreDropped) {
  const std::string idr = nal(0x65, 5000, 'i');  // five FU-A fragments
  const std::vector<std::string_view> au{idr};
  std::vector<std::string> payloads;
  packetize_nal_units(NalCodec::kH264, au, kMaxPayload, payloads);
  SharedByteBudget budget(3000);
  {
    NalDepacketizer depacketizer(NalCodec::kH264, 8 << 20, &budget);
    std::vector<NalAccessUnit> out;
    bool refused = false;
    std::uint16_t seq = 1;
    for (const auto& p : packets(payloads, seq, 9000)) {
      auto status = depacketizer.push(*parse_packet(bytes(p)), out);
      if (!status) refused = refused || status.error().status == 503;
      EXPECT_LE(budget.used(), 3000u);
    }
    EXPECT_TRUE(refused);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(depacketizer.over_budget(), 1u);
    // A small one after it fits and is marked damaged (its predecessor never arrived).
    const std::string small = nal(0x41, 100, 'p');
    std::vector<std::string> next;
    packetize_nal_units(NalCodec::kH264, std::vector<std::string_view>{small}, kMaxPayload, next);
    for (const auto& p : packets(next, seq, 12000))
      ASSERT_TRUE(depacketizer.push(*parse_packet(bytes(p)), out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].damaged);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(NalRtp, H264StapAIsSplitAndALostFragmentDamagesOnlyItsAccessUnit) {
  // STAP-A with two NAL units.
  std::string stap = "\x18";
  for (const std::string& n : {nal(0x67, 10, 'a'), nal(0x68, 4, 'b')}) {
    stap.push_back(static_cast<char>(n.size() >> 8));
    stap.push_back(static_cast<char>(n.size()));
    stap += n;
  }
  std::uint16_t seq = 7;
  NalDepacketizer d(NalCodec::kH264);
  std::vector<NalAccessUnit> out;
  for (const auto& p : packets({stap}, seq, 1))
    ASSERT_TRUE(d.push(*parse_packet(bytes(p)), out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].nal_units.size(), 2u);

  // A large frame whose middle fragment is lost, then a good frame.
  const std::string big = nal(0x41, 4000, 'x');
  std::vector<std::string> payloads;
  packetize_nal_units(NalCodec::kH264, std::vector<std::string_view>{big}, kMaxPayload, payloads);
  auto lossy = packets(payloads, seq, 2);
  lossy.erase(lossy.begin() + 1);
  for (const auto& p : lossy)
    ASSERT_TRUE(d.push(*parse_packet(bytes(p)), out));
  const std::string next = nal(0x41, 50, 'y');
  for (const auto& p : packets({next}, seq, 3))
    ASSERT_TRUE(d.push(*parse_packet(bytes(p)), out));
  ASSERT_EQ(out.size(), 2u);  // the damaged frame had no NAL unit left: nothing to hand on
  EXPECT_EQ(out[1].nal_units, std::vector<std::string>{next});
  EXPECT_TRUE(out[1].damaged);  // the decoder is told a packet before it was lost
  // Unsupported packet types are refused, and the depacketizer goes on.
  for (const auto& p : packets({"\x19xx"}, seq, 4))
    EXPECT_FALSE(d.push(*parse_packet(bytes(p)), out));
}

TEST(NalRtp, H265FragmentsRoundTrip) {
  std::string idr(3000, 'h');
  idr[0] = static_cast<char>(19 << 1);  // IDR_W_RADL
  idr[1] = 1;
  std::vector<std::string> payloads;
  packetize_nal_units(NalCodec::kH265, std::vector<std::string_view>{idr}, kMaxPayload, payloads);
  ASSERT_EQ(payloads.size(), 3u);
  EXPECT_EQ((static_cast<std::uint8_t>(payloads[0][0]) >> 1) & 0x3F, 49);  // FU
  std::uint16_t seq = 1;
  NalDepacketizer d(NalCodec::kH265);
  std::vector<NalAccessUnit> out;
  for (const auto& p : packets(payloads, seq, 5))
    ASSERT_TRUE(d.push(*parse_packet(bytes(p)), out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].nal_units, std::vector<std::string>{idr});
}

TEST(AacRtp, FramesRoundTripWholeFragmentedAndAggregated) {
  const std::string small(300, 'a'), large(3000, 'b');
  std::vector<std::string> payloads;
  packetize_aac(small, kMaxPayload, payloads);
  packetize_aac(large, kMaxPayload, payloads);
  ASSERT_EQ(payloads.size(), 1u + 3);
  std::uint16_t seq = 1;
  AacDepacketizer d;
  std::vector<AudioFrame> out;
  for (const auto& p : packets({payloads[0]}, seq, 1024))
    ASSERT_TRUE(d.push(*parse_packet(bytes(p)), out));
  for (const auto& p : packets({payloads[1], payloads[2], payloads[3]}, seq, 2048)) {
    ASSERT_TRUE(d.push(*parse_packet(bytes(p)), out));
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, small);
  EXPECT_EQ(out[1].data, large);
  EXPECT_EQ(out[1].timestamp, 2048u);

  // Two frames in one packet (what other senders do): timestamps 1024 apart.
  std::string two = std::string("\x00\x20", 2);
  for (std::size_t n : {5, 7}) {
    const auto h = static_cast<std::uint16_t>(n << 3);
    two.push_back(static_cast<char>(h >> 8));
    two.push_back(static_cast<char>(h));
  }
  two +=
      "11111"
      "2222222";
  out.clear();
  for (const auto& p : packets({two}, seq, 4096))
    ASSERT_TRUE(d.push(*parse_packet(bytes(p)), out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data, "2222222");
  EXPECT_EQ(out[1].timestamp, 4096u + kAacFrameSamples);
  // An AU size past the data is refused.
  std::string bad = std::string("\x00\x20\x00\x28\x00\xF0", 6) + "xx";
  for (const auto& p : packets({bad}, seq, 1))
    EXPECT_FALSE(d.push(*parse_packet(bytes(p)), out));
  EXPECT_EQ(aac_fmtp(97, bytes(std::string("\x12\x10", 2))),
            "97 streamtype=5; profile-level-id=1; mode=AAC-hbr; sizelength=13; indexlength=3; "
            "indexdeltalength=3; config=1210");
}

TEST(Rtcp, SenderReportsRoundTripAndReceiverReportsAreRead) {
  std::string sr;
  append_sender_report({0xABCD, ntp_from_unix_us(1'000'000), 90000, 10, 12000}, sr);
  auto parsed = parse_rtcp(bytes(sr));
  ASSERT_TRUE(parsed) << parsed.error().detail;
  ASSERT_TRUE(parsed->sender);
  EXPECT_EQ(parsed->sender->ssrc, 0xABCDu);
  EXPECT_EQ(parsed->sender->ntp >> 32, 2208988801ull);
  EXPECT_EQ(parsed->sender->octets, 12000u);

  // A receiver report with one block: 10% lost, 3 lost in all, jitter 90.
  std::string rr = std::string("\x81\xC9\x00\x07", 4) + std::string("\x00\x00\x00\x01", 4) +
                   std::string("\x00\x00\xAB\xCD", 4) + std::string("\x19\x00\x00\x03", 4) +
                   std::string("\x00\x00\x10\x00", 4) + std::string("\x00\x00\x00\x5A", 4) +
                   std::string(8, '\0');
  parsed = parse_rtcp(bytes(rr));
  ASSERT_TRUE(parsed) << parsed.error().detail;
  ASSERT_EQ(parsed->reports.size(), 1u);
  EXPECT_EQ(parsed->reports[0].ssrc, 0xABCDu);
  EXPECT_EQ(parsed->reports[0].fraction_lost, 0x19);
  EXPECT_EQ(parsed->reports[0].cumulative_lost, 3);
  EXPECT_EQ(parsed->reports[0].jitter, 90u);
  EXPECT_FALSE(parse_rtcp(bytes(rr.substr(0, 20))));  // the block past the end
}

// What a WebRTC viewer sends back: a receiver report, generic NACKs (a PID and its bitmask), a
// PLI, a FIR and REMB in one compound packet, as Chrome does.
TEST(Rtcp, ViewerFeedbackIsRead) {
  std::string compound = std::string("\x80\xC9\x00\x01\x00\x00\x00\x09", 8);  // empty RR
  append_nack(9, 0xABCD, {100, 101, 116, 200}, compound);
  append_pli(9, 0xABCD, compound);
  // FIR: FCI = SSRC 0xABCD, sequence 1.
  compound += std::string("\x84\xCE\x00\x04\x00\x00\x00\x09\x00\x00\x00\x00", 12) +
              std::string("\x00\x00\xAB\xCD\x01\x00\x00\x00", 8);
  // REMB: 1 SSRC, exponent 3, mantissa 250000 -> 2,000,000 bit/s.
  const unsigned mantissa = 250000;
  compound += std::string("\x8F\xCE\x00\x05\x00\x00\x00\x09\x00\x00\x00\x00REMB", 16);
  compound.push_back(1);
  compound.push_back(static_cast<char>((3 << 2) | (mantissa >> 16)));
  compound.push_back(static_cast<char>((mantissa >> 8) & 0xFF));
  compound.push_back(static_cast<char>(mantissa & 0xFF));
  compound += std::string("\x00\x00\xAB\xCD", 4);
  auto parsed = parse_rtcp(bytes(compound));
  ASSERT_TRUE(parsed) << parsed.error().detail;
  ASSERT_EQ(parsed->feedback.size(), 1u);
  const auto& f = parsed->feedback[0];
  EXPECT_EQ(f.media_ssrc, 0xABCDu);
  EXPECT_EQ(f.nacked, (std::vector<std::uint16_t>{100, 101, 116, 200}));
  EXPECT_TRUE(f.picture_loss);
  EXPECT_TRUE(f.full_intra_request);
  EXPECT_EQ(parsed->remb_bps, 2'000'000u);

  // A NACK list that wraps past 65535, and a lying length.
  std::string wrap;
  append_nack(9, 1, {65535, 0, 3}, wrap);
  parsed = parse_rtcp(bytes(wrap));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->feedback.at(0).nacked, (std::vector<std::uint16_t>{65535, 0, 3}));
  std::string lying = wrap;
  lying[3] = 0x40;
  EXPECT_FALSE(parse_rtcp(bytes(lying)));
  // Thousands of NACKed packets in one compound packet are refused.
  std::vector<std::uint16_t> many;
  for (std::uint16_t i = 0; i < 2000; ++i)
    many.push_back(static_cast<std::uint16_t>(i * 20));
  std::string flood;
  append_nack(9, 1, many, flood);
  EXPECT_EQ(parse_rtcp(bytes(flood)).error().status, 400);
}

}  // namespace

// Transport-cc feedback as Chromium writes it: a status vector of two-bit symbols (small, small,
// lost, large negative, small) and their receive deltas from a 64 ms reference time.
TEST(TransportCc, FeedbackSaysWhatArrivedAndWhen) {
  const std::vector<std::uint8_t> fci = {0x00,
                                         100,  // base sequence 100
                                         0x00,
                                         5,  // 5 statuses
                                         0x00,
                                         0x00,
                                         0x01,  // reference time 1 × 64 ms
                                         0x07,  // feedback count
                                         0xC0 | (1 << 4) | (1 << 2) | 0,
                                         (2 << 6) | (1 << 4),  // 2-bit vector: 1 1 0 2 1 (0 0)
                                         4,
                                         4,  // +1 ms, +1 ms
                                         0xFF,
                                         0xFC,  // −1 ms (large delta)
                                         8};    // +2 ms
  auto f = parse_transport_feedback(fci);
  ASSERT_TRUE(f) << f.error().detail;
  EXPECT_EQ(f->base_sequence, 100);
  ASSERT_EQ(f->arrivals.size(), 5u);
  EXPECT_EQ(f->arrivals[0], 65000);
  EXPECT_EQ(f->arrivals[1], 66000);
  EXPECT_FALSE(f->arrivals[2]);
  EXPECT_EQ(f->arrivals[3], 65000);
  EXPECT_EQ(f->arrivals[4], 67000);
  // Lies are refused: deltas past the end, a reserved symbol, too many statuses.
  EXPECT_FALSE(parse_transport_feedback(std::span(fci).first(fci.size() - 1)));
  std::vector<std::uint8_t> reserved = fci;
  reserved[8] = 0x60;  // run length chunk of symbol 3
  EXPECT_FALSE(parse_transport_feedback(reserved));
  std::vector<std::uint8_t> huge = fci;
  huge[2] = 0xFF;
  EXPECT_FALSE(parse_transport_feedback(huge));
}

// What a viewer's feedback says of the packets sent to it: 100 packets of 1,000 bytes arriving
// 10 ms apart is 800 kbit/s; two of them missing is 2 % lost.
TEST(TransportCc, DeliveryEstimateFollowsTheFeedback) {
  DeliveryEstimate estimate;
  for (std::uint16_t seq = 0; seq < 100; ++seq)
    estimate.on_sent(seq, 1000);
  std::vector<std::uint8_t> fci = {0, 0, 0, 100, 0, 0, 0, 0};
  // Run length chunks: 50 small deltas, two lost, 48 small deltas.
  for (auto [symbol, run] : {std::pair{1, 50}, std::pair{0, 2}, std::pair{1, 48}}) {
    fci.push_back(static_cast<std::uint8_t>((symbol << 5) | (run >> 8)));
    fci.push_back(static_cast<std::uint8_t>(run & 0xFF));
  }
  for (int i = 0; i < 98; ++i)
    fci.push_back(i == 50 ? 120 : 40);  // 10 ms apart (30 ms across the gap)
  auto f = parse_transport_feedback(fci);
  ASSERT_TRUE(f) << f.error().detail;
  estimate.on_feedback(*f);
  ASSERT_TRUE(estimate.loss());
  EXPECT_NEAR(*estimate.loss(), 0.02, 1e-9);
  ASSERT_TRUE(estimate.delivered_bps());
  EXPECT_NEAR(*estimate.delivered_bps(), 97 * 1000 * 8 / 0.99, 1);
  // Feedback on packets never sent (or long forgotten) changes nothing.
  TransportFeedback strangers{60000, {std::nullopt, std::nullopt}};
  estimate.on_feedback(strangers);
  EXPECT_NEAR(*estimate.loss(), 0.02, 1e-9);
}

TEST(TransportCc, TheSequenceNumberRidesInAOneByteHeaderExtension) {
  Header h;
  h.payload_type = 102;
  h.sequence = 7;
  h.ssrc = 0x11223344;
  std::string packet;
  append_header(h, packet);
  append_transport_sequence(packet, 3, 0xABCD);
  ASSERT_EQ(packet.size(), 12u + 8u);
  EXPECT_EQ(static_cast<std::uint8_t>(packet[0]) & 0x10, 0x10);  // X
  EXPECT_EQ(packet.substr(12), std::string("\xBE\xDE\x00\x01\x31\xAB\xCD\x00", 8));
}

}  // namespace sluice::media::rtp
