// MPEG-TS from the network (an SRT publisher's stream): the demuxer in whole and in slices must
// hand on the same PES payloads; nothing it hands on is larger than its bound.
#include <cstdint>
#include <span>
#include <vector>

#include "media/protocols/mpegts/ts_demuxer.hpp"

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
  return 0;
}
