// RTMP chunk reader from arbitrary bytes. The input is fed whole and in uneven slices; both must
// give the same messages and the same outcome. Every message read is written again with
// ChunkWriter (following the peer's chunk size changes) and must read back identically; AMF0
// command and data bodies go through the AMF0 decoder.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/protocols/rtmp/amf0.hpp"
#include "media/protocols/rtmp/chunk.hpp"

namespace {

using namespace sluice::rtmp;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

ChunkLimits limits() {
  ChunkLimits l;
  l.max_message = 1 << 20;  // small enough to keep each run fast
  l.max_chunk_size = 1 << 20;
  l.max_partial_streams = 16;
  l.max_buffered = 1 << 20;
  l.max_chunk_streams = 64;
  return l;
}

bool same(const Message& a, const Message& b) {
  return a.csid == b.csid && a.timestamp == b.timestamp && a.type == b.type &&
         a.stream_id == b.stream_id && a.payload == b.payload;
}

bool same(const std::vector<Message>& a, const std::vector<Message>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Message& x, const Message& y) { return same(x, y); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> input(data, size);

  ChunkReader whole(limits());
  std::vector<Message> msgs;
  const auto status = whole.feed(input, msgs);
  check(whole.bytes_received() == size);
  if (!status) check(status.error().status == 400 && whole.failed());

  // Uneven slices derived from the input itself.
  ChunkReader sliced(limits());
  std::vector<Message> msgs2;
  bool sliced_ok = true;
  for (std::size_t at = 0, step = 1; at < size;) {
    const std::size_t n = std::min(step, size - at);
    if (!sliced.feed(input.subspan(at, n), msgs2)) {
      sliced_ok = false;
      break;
    }
    step = (step * 7 + data[at]) % 257 + 1;
    at += n;
  }
  check(sliced_ok == status.has_value());
  check(same(msgs, msgs2));

  // Writer → reader round trip of everything that was read.
  ChunkWriter writer;
  std::string wire;
  for (const auto& m : msgs) {
    writer.write(m, wire);
    if (m.type == msg_type::kSetChunkSize) {  // the reader accepted it, so it is valid
      writer.set_chunk_size((std::uint32_t{m.payload[0]} << 24) | (m.payload[1] << 16) |
                            (m.payload[2] << 8) | m.payload[3]);
    }
    if (m.type == msg_type::kCommandAmf0 || m.type == msg_type::kDataAmf0) {
      if (auto values = amf0::decode_all(m.bytes())) {
        auto again = amf0::encode(*values);
        auto back =
            amf0::decode_all({reinterpret_cast<const std::uint8_t*>(again.data()), again.size()});
        check(back.has_value() && *back == *values);
      }
    }
  }
  ChunkReader reread(limits());
  std::vector<Message> msgs3;
  auto st = reread.feed({reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()}, msgs3);
  check(st.has_value());
  check(same(msgs, msgs3));
  return 0;
}
