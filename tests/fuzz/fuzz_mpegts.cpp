// MPEG-TS from the network (an SRT publisher's stream): the demuxer in whole and in slices must
// hand on the same PES payloads; nothing it hands on is larger than its bound; and what TsIngest
// makes of them goes into a live path without harm.
#include <cstdint>
#include <span>
#include <vector>

#include "media/media_path.hpp"
#include "media/protocols/mpegts/ts_demuxer.hpp"
#include "media/protocols/mpegts/ts_ingest.hpp"

namespace {

using namespace sluice::media::mpegts;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kMax = 1 << 16;
  Demuxer whole(kMax), sliced(kMax);
  std::vector<PesFrame> a, b;
  whole.feed({data, size}, a);
  whole.flush(a);
  for (std::size_t at = 0; at < size; at += 97) {
    sliced.feed({data + at, std::min<std::size_t>(97, size - at)}, b);
  }
  sliced.flush(b);
  check(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    check(a[i].pid == b[i].pid && a[i].data == b[i].data && a[i].pts == b[i].pts);
    check(a[i].data.size() <= kMax);
  }
  // The same bytes as an SRT publisher's stream: FLV bodies into a live path.
  TsIngest ingest;
  std::vector<sluice::media::FlvFrame> frames;
  ingest.push({data, size}, frames);
  sluice::media::MediaPath path("fuzz", {}, nullptr);
  for (auto& f : frames)
    path.on_media(f.type, f.timestamp, std::move(f.body));
  return 0;
}
