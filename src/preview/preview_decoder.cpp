#include "preview/preview_decoder.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sluice::preview {
namespace json = boost::json;
namespace {

constexpr std::uint32_t kSdrfMagic = 0x53445246;
constexpr std::size_t kSdrfHeader = 36;
constexpr std::size_t kMaxBins = 4096;
constexpr std::size_t kHexBytes = 256;

template <class T>
T little_endian(std::span<const std::uint8_t> p, std::size_t at) {
  T v{};
  std::memcpy(&v, p.data() + at, sizeof v);  // x86/ARM little-endian hosts
  return v;
}

json::object hex(std::span<const std::uint8_t> packet) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  const std::size_t n = std::min(packet.size(), kHexBytes);
  text.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    text += kDigits[packet[i] >> 4];
    text += kDigits[packet[i] & 0x0F];
  }
  return {{"format", "hex"},
          {"bytes", static_cast<std::int64_t>(packet.size())},
          {"hex", std::move(text)}};
}

json::object as_json(std::span<const std::uint8_t> packet) {
  boost::system::error_code ec;
  json::value v = json::parse(
      std::string_view(reinterpret_cast<const char*>(packet.data()), packet.size()), ec);
  if (ec) return hex(packet);
  if (v.is_object()) return std::move(v.as_object());
  return {{"value", std::move(v)}};
}

double db(double linear) {
  return linear > 0 ? std::max(-120.0, 20 * std::log10(linear)) : -120.0;
}

json::object sdrf(std::span<const std::uint8_t> packet) {
  // Header (36 bytes): magic u32, seq u32, center_freq f64, sample_rate f64, reserved u64,
  // fft_size u32.
  json::object o{{"format", "sdrf"},
                 {"seq", static_cast<std::int64_t>(little_endian<std::uint32_t>(packet, 4))},
                 {"center_freq", little_endian<double>(packet, 8)},
                 {"sample_rate", little_endian<double>(packet, 16)},
                 {"fft_size", static_cast<std::int64_t>(little_endian<std::uint32_t>(packet, 32))}};
  const std::size_t bins = std::min((packet.size() - kSdrfHeader) / 4, kMaxBins);
  json::array values;
  values.reserve(bins);
  double peak = -1e300;
  for (std::size_t i = 0; i < bins; ++i) {
    const float v = little_endian<float>(packet, kSdrfHeader + i * 4);
    const double shown = std::isfinite(v) ? v : 0.0;
    values.emplace_back(shown);
    peak = std::max(peak, shown);
  }
  o["bins"] = std::move(values);
  if (bins) o["peak_db"] = peak;
  return o;
}

json::object audio_level(std::span<const std::uint8_t> packet) {
  const std::size_t samples = packet.size() / 2;
  if (samples == 0) return hex(packet);
  double sum = 0, peak = 0;
  for (std::size_t i = 0; i < samples; ++i) {
    const double s = little_endian<std::int16_t>(packet, i * 2) / 32768.0;
    sum += s * s;
    peak = std::max(peak, std::abs(s));
  }
  return {{"format", "pcm_s16le"},
          {"samples", static_cast<std::int64_t>(samples)},
          {"rms_db", db(std::sqrt(sum / static_cast<double>(samples)))},
          {"peak_db", db(peak)}};
}

}  // namespace

bool is_previewed_type(std::string_view t) {
  return t == "sensor" || t == "data" || t == "osc" || t == "midi" || t == "audio";
}

json::object decode_packet(std::string_view stream_type, std::span<const std::uint8_t> packet) {
  if (stream_type == "audio") return audio_level(packet);
  if (stream_type == "sensor" && packet.size() >= kSdrfHeader &&
      little_endian<std::uint32_t>(packet, 0) == kSdrfMagic) {
    return sdrf(packet);
  }
  if (is_previewed_type(stream_type)) return as_json(packet);
  return hex(packet);
}

}  // namespace sluice::preview
