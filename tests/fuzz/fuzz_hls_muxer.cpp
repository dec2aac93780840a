// HlsMuxer from arbitrary packet sequences. The input is a series of records
// [kind:1][ts delta:2][length:2][body:length]: kind's low bit picks audio or video, bit 1 makes
// the delta negative, bits 2-3 prefix the body with a typical FLV header (AVC NALU, AVC config,
// AAC raw, AAC config) so the fuzzer reaches the muxer quickly. When the first byte is odd, a
// valid AVC configuration and AAC config are pushed first; its bits 1-2 pick the variant
// (mpegts, fmp4, lowlatency). Checks: no crash, leak or UB; the snapshot keeps at most
// kept_segments consecutive segments (of whole TS packets for MPEG-TS; of their parts joined
// for Low-Latency HLS); after finish() it is ended. The playlist renderer and the file-name
// parser run on the result.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

extern "C" {
#include <libavutil/log.h>
}

#include "media/protocols/hls/hls_muxer.hpp"

namespace {

using namespace sluice::media;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const std::string kAvcConfig(
    "\x17\x00\x00\x00\x00\x01\x64\x00\x1f\xff\xe1\x00\x04\x67\x64\x00\x1f\x01\x00\x02\x68\xee", 22);
const std::string kAacConfig("\xaf\x00\x12\x10", 4);
const std::string kPrefixes[4] = {std::string("\x17\x01\x00\x00\x00", 5),
                                  std::string("\x17\x00\x00\x00\x00", 5),
                                  std::string("\xaf\x01", 2), std::string("\xaf\x00", 2)};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (av_log_set_level(AV_LOG_QUIET), true);
  (void)quiet;
  std::span<const std::uint8_t> in(data, size);
  HlsOptions options;
  options.segment_target = std::chrono::milliseconds{100};
  options.playlist_segments = 2;
  options.kept_segments = 3;
  options.max_segment_bytes = 64 * 1024;
  options.config_wait = std::chrono::milliseconds{200};
  options.part_target = std::chrono::milliseconds{40};
  if (!in.empty()) options.variant = static_cast<HlsVariant>(((in[0] >> 1) & 3) % 3);
  HlsMuxer muxer(options);

  std::uint32_t ts = 0;
  if (!in.empty() && (in[0] & 1)) {
    (void)muxer.push(classify_packet(tag_type::kVideo, 0, kAvcConfig));
    (void)muxer.push(classify_packet(tag_type::kAudio, 0, kAacConfig));
  }
  if (!in.empty()) in = in.subspan(1);
  int packets = 0;
  while (in.size() >= 5 && packets++ < 256) {
    const std::uint8_t kind = in[0];
    const std::uint32_t delta = (std::uint32_t{in[1]} << 8) | in[2];
    std::size_t length = (std::size_t{in[3]} << 8) | in[4];
    in = in.subspan(5);
    if (length > in.size()) length = in.size();
    std::string body;
    const unsigned prefix = (kind >> 2) & 3;
    if (kind & 0x10) body = kPrefixes[prefix];
    body.append(reinterpret_cast<const char*>(in.data()), length);
    in = in.subspan(length);
    ts = (kind & 2) ? ts - delta : ts + delta;
    const std::uint8_t type = (kind & 1) ? tag_type::kAudio : tag_type::kVideo;
    (void)muxer.push(classify_packet(type, ts, std::move(body)));
  }
  const auto live = muxer.snapshot();
  check(live != nullptr && live->segments.size() <= options.kept_segments);
  (void)muxer.finish();
  const auto done = muxer.snapshot();
  check(done->ended && done->segments.size() <= options.kept_segments);
  for (std::size_t i = 0; i < done->segments.size(); ++i) {
    const auto& s = done->segments[i];
    const bool ts = options.variant == HlsVariant::kMpegTs;
    check(s.data && (!ts || s.data->size() % 188 == 0) &&
          s.data->size() <= options.max_segment_bytes + 64 * 1024);
    check(i == 0 || s.sequence == done->segments[i - 1].sequence + 1);
    check(find_segment(*done, s.sequence) == s.data);
    auto file = parse_hls_file(segment_name(s.sequence, options.variant));
    check(file && file->number == s.sequence && find_file(*done, *file) == s.data);
    if (options.variant == HlsVariant::kLowLatency) {
      std::string joined;
      for (const auto& part : s.parts)
        joined += *part.data;
      check(joined == *s.data);
    }
  }
  check(done->segments.empty() || done->media_sequence == done->segments.front().sequence);
  const std::string playlist = render_playlist(*done, "?k=1", options.playlist_segments);
  check(playlist.ends_with("#EXT-X-ENDLIST\n"));
  (void)parse_segment_name(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto file = parse_hls_file(std::string_view(reinterpret_cast<const char*>(data), size))) {
    (void)find_file(*done, *file);
  }
  return 0;
}
