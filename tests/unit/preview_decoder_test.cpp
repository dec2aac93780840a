// What a data stream's packets show in a preview (preview/preview_decoder): SDRF spectra, JSON,
// PCM audio levels, and a hex dump for anything else.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "preview/preview_decoder.hpp"

namespace sluice::preview {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

template <class T>
void put(std::vector<std::uint8_t>& out, T v) {
  const auto at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

TEST(PreviewDecoder, JsonPacketsShowAsTheyAre) {
  auto o = decode_packet("data", bytes(R"({"finger": 3})"));
  EXPECT_EQ(o.at("finger").as_int64(), 3);
  EXPECT_EQ(decode_packet("osc", bytes("[1,2]")).at("value").as_array().size(), 2u);
  auto junk = decode_packet("midi", bytes("\x90\x3c\x7f"));
  EXPECT_EQ(junk.at("format").as_string(), "hex");
  EXPECT_EQ(junk.at("hex").as_string(), "903c7f");
  EXPECT_EQ(decode_packet("video", bytes("{}")).at("format").as_string(), "hex");
  EXPECT_TRUE(is_previewed_type("sensor"));
  EXPECT_FALSE(is_previewed_type("ndi"));
}

TEST(PreviewDecoder, SdrfSpectraShowTheirHeaderAndBins) {
  std::vector<std::uint8_t> p;
  put<std::uint32_t>(p, 0x53445246);
  put<std::uint32_t>(p, 42);
  put<double>(p, 100.1e6);
  put<double>(p, 2.4e6);
  put<std::uint64_t>(p, 0);
  put<std::uint32_t>(p, 4);
  for (float v : {-80.f, -20.5f, -60.f, -90.f})
    put<float>(p, v);
  auto o = decode_packet("sensor", p);
  EXPECT_EQ(o.at("format").as_string(), "sdrf");
  EXPECT_EQ(o.at("seq").as_int64(), 42);
  EXPECT_DOUBLE_EQ(o.at("center_freq").as_double(), 100.1e6);
  EXPECT_EQ(o.at("fft_size").as_int64(), 4);
  EXPECT_EQ(o.at("bins").as_array().size(), 4u);
  EXPECT_DOUBLE_EQ(o.at("peak_db").as_double(), -20.5);
  // A sensor sending JSON instead shows its JSON.
  EXPECT_EQ(decode_packet("sensor", bytes(R"({"t": 21.5})")).at("t").as_double(), 21.5);
}

TEST(PreviewDecoder, PcmAudioShowsItsLevelInDbfs) {
  std::vector<std::uint8_t> p;
  for (int i = 0; i < 480; ++i)
    put<std::int16_t>(p, i % 2 ? 16384 : -16384);  // a square wave at half scale
  auto o = decode_packet("audio", p);
  EXPECT_EQ(o.at("samples").as_int64(), 480);
  EXPECT_NEAR(o.at("peak_db").as_double(), -6.02, 0.01);
  EXPECT_NEAR(o.at("rms_db").as_double(), -6.02, 0.01);
  std::vector<std::uint8_t> silence(960, 0);
  EXPECT_EQ(decode_packet("audio", silence).at("peak_db").as_double(), -120.0);
}

}  // namespace
}  // namespace sluice::preview
