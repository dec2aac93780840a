// FLV byte streams (what an HTTP-FLV source or a recording would give): FlvReader in whole and
// in slices must agree; every tag is inspected (and read as an SPS), classified, written back with
// append_flv_tag and must read back identically.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/codec_config.hpp"
#include "media/flv.hpp"
#include "media/packet.hpp"

namespace {

using namespace sluice::media;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  FlvReader whole(1 << 20);
  std::vector<FlvTag> a;
  const bool ok_whole = whole.feed(in, a).has_value();
  FlvReader sliced(1 << 20);
  std::vector<FlvTag> b;
  bool ok_sliced = true;
  for (std::size_t at = 0; at < size && ok_sliced; at += 7) {
    ok_sliced = sliced.feed(in.subspan(at, std::min<std::size_t>(7, size - at)), b).has_value();
  }
  check(ok_whole == ok_sliced);
  check(a.size() == b.size());
  std::string rewritten;
  append_flv_header(true, true, rewritten);
  for (std::size_t i = 0; i < a.size(); ++i) {
    check(a[i].type == b[i].type && a[i].timestamp == b[i].timestamp && a[i].body == b[i].body);
    (void)inspect_video(a[i].body);
    (void)inspect_audio(a[i].body);
    // A body as an SPS (what RTSP and SRT publishers' parameter sets are parsed with).
    (void)h264_picture_size(
        std::string_view(reinterpret_cast<const char*>(a[i].body.data()), a[i].body.size()));
    const MediaPacket p =
        classify_packet(a[i].type, a[i].timestamp, std::string(a[i].body.begin(), a[i].body.end()));
    check(!(p.keyframe && p.sequence_header));
    append_flv_tag(a[i].type, a[i].timestamp, a[i].body, rewritten);
  }
  FlvReader again(1 << 20);
  std::vector<FlvTag> c;
  check(again.feed({reinterpret_cast<const std::uint8_t*>(rewritten.data()), rewritten.size()}, c)
            .has_value());
  check(c.size() == a.size());
  for (std::size_t i = 0; i < c.size(); ++i)
    check(c[i].body == a[i].body);
  return 0;
}
