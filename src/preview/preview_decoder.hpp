#pragma once
// What a data stream's UDP packet shows in a preview (GET /streams/{id}/preview), sans I/O — the
// decoders Maestra's dashboard uses, by stream type:
//   sensor  SDRF spectra: a 36-byte little-endian header (magic u32 0x53445246 "SDRF", seq u32,
//           center_freq f64, sample_rate f64, reserved u64, fft_size u32) and float32 dB bins →
//           {"format": "sdrf", "seq", "center_freq", "sample_rate", "fft_size", "bins": [...],
//            "peak_db"} (at most 4096 bins shown); otherwise JSON as below
//   data, osc, midi  JSON text → the object itself, or {"value": <any JSON>}
//   audio   16-bit little-endian PCM → {"format": "pcm_s16le", "samples", "rms_db", "peak_db"}
//           (dBFS; -120 for silence)
//   else / undecodable  {"format": "hex", "bytes", "hex": first 256 bytes}
#include <boost/json/object.hpp>

#include <cstdint>
#include <span>
#include <string_view>

namespace sluice::preview {

// The stream types whose packets a preview relays (Maestra's proxied types).
bool is_previewed_type(std::string_view stream_type);

boost::json::object decode_packet(std::string_view stream_type,
                                  std::span<const std::uint8_t> packet);

}  // namespace sluice::preview
