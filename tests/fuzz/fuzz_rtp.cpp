// RTP and RTCP from the network (an RTSP publisher's UDP packets or interleaved frames): the
// input is cut into packets by a length byte each; every packet goes through the H.264, H.265
// and AAC depacketizers and the RTCP parser. Whatever they hand on is bounded, and H.264/H.265
// access units packetized again must depacketize to the same NAL units.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/protocols/rtp/aac_rtp.hpp"
#include "media/protocols/rtp/nal_rtp.hpp"
#include "media/protocols/rtp/rtcp.hpp"
#include "media/protocols/rtp/rtp_packet.hpp"

namespace {

using namespace sluice::media::rtp;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void round_trip(NalCodec codec, const NalAccessUnit& au) {
  std::vector<std::string_view> units(au.nal_units.begin(), au.nal_units.end());
  std::vector<std::string> payloads;
  packetize_nal_units(codec, units, 200, payloads);
  NalDepacketizer d(codec);
  std::vector<NalAccessUnit> out;
  std::uint16_t seq = 0;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    std::string p;
    append_header({i + 1 == payloads.size(), 96, seq++, au.timestamp, 1}, p);
    p += payloads[i];
    auto parsed = parse_packet({reinterpret_cast<const std::uint8_t*>(p.data()), p.size()});
    check(parsed.has_value());
    (void)d.push(*parsed, out);
  }
  // NAL units of a header only are not sent; everything else comes back in order.
  std::vector<std::string> expected;
  for (const auto& n : au.nal_units) {
    if (n.size() > (codec == NalCodec::kH264 ? 1u : 2u)) expected.push_back(n);
  }
  if (expected.empty()) return;
  check(out.size() == 1 && out[0].nal_units == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  NalDepacketizer h264(NalCodec::kH264, 1 << 16), h265(NalCodec::kH265, 1 << 16);
  AacDepacketizer aac;
  std::vector<NalAccessUnit> units264, units265;
  std::vector<AudioFrame> frames;
  std::size_t at = 0;
  while (at < size) {
    const std::size_t n = std::min<std::size_t>(data[at], size - at - 1);
    std::span<const std::uint8_t> packet(data + at + 1, n);
    at += 1 + n;
    (void)parse_rtcp(packet);
    auto p = parse_packet(packet);
    if (!p) continue;
    check(p->payload.size() <= packet.size());
    (void)h264.push(*p, units264);
    (void)h265.push(*p, units265);
    (void)aac.push(*p, frames);
  }
  for (const auto& au : units264)
    round_trip(NalCodec::kH264, au);
  for (const auto& au : units265)
    round_trip(NalCodec::kH265, au);
  return 0;
}
