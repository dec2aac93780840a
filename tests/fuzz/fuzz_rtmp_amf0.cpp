// AMF0 decoder from arbitrary bytes: decode_all() and decode_one() must never crash or read past
// the input, and whatever decodes must re-encode and decode to the same values.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/protocols/rtmp/amf0.hpp"

namespace {

using namespace sluice::rtmp::amf0;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> input(data, size);

  if (auto all = decode_all(input)) {
    const std::string again = encode(*all);
    auto back = decode_all(as_bytes(again));
    check(back.has_value() && *back == *all);
    check(encode(*back) == again);  // encoding is canonical after one round
  } else {
    check(all.error().status == 400 && !all.error().detail.empty());
  }

  std::size_t used = 0;
  if (auto one = decode_one(input, &used)) {
    check(used >= 1 && used <= size);
    std::string again;
    encode(*one, again);
    std::size_t used_again = 0;
    auto back = decode_one(as_bytes(again), &used_again);
    check(back.has_value() && *back == *one && used_again == again.size());
  }
  return 0;
}
