#pragma once
// What both ends of the relay's WebSocket transport share (docs/protocol.md, "Transports"):
// the message size bound and cutting one scatter/gather write batch into bounded messages.
// No Asio here: the helper works on any buffer type with data(), size() and `+= n`.
#include <algorithm>
#include <cstddef>
#include <vector>

namespace sluice::wire {

// The largest WebSocket message either way: 16 times the largest frame, so one frame per
// message and whole write batches both fit.
inline constexpr std::size_t kMaxWebSocketMessage = 1 << 20;

// Points `out` at up to `max` bytes of `all`, starting `offset` bytes in; returns how many.
template <class Buffer>
std::size_t slice_buffers(const std::vector<Buffer>& all, std::size_t offset, std::size_t max,
                          std::vector<Buffer>& out) {
  out.clear();
  std::size_t taken = 0;
  for (auto b : all) {
    if (taken == max) break;
    if (offset >= b.size()) {
      offset -= b.size();
      continue;
    }
    b += offset;
    offset = 0;
    const std::size_t n = std::min(b.size(), max - taken);
    out.emplace_back(b.data(), n);
    taken += n;
  }
  return taken;
}

}  // namespace sluice::wire
