// RTMP chunk stream: reader over every header form and split, limits, and writer → reader.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/protocols/rtmp/chunk.hpp"

namespace {

using namespace sluice::rtmp;

std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed = 0) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = static_cast<std::uint8_t>(i * 31 + seed);
  return v;
}

// Feeds the whole buffer at once (or byte by byte); expects success.
std::vector<Message> feed_all(ChunkReader& r, const std::string& in, bool bytewise = false) {
  std::vector<Message> out;
  auto data = bytes_of(in);
  if (bytewise) {
    for (auto b : data) {
      auto st = r.feed(std::span<const std::uint8_t>(&b, 1), out);
      EXPECT_TRUE(st.has_value()) << st.error().detail;
    }
  } else {
    auto st = r.feed(data, out);
    EXPECT_TRUE(st.has_value()) << st.error().detail;
  }
  return out;
}

// Raw header builders for hand-made chunk streams.
void basic(std::string& out, unsigned fmt, std::uint32_t csid) {
  if (csid < 64) {
    out.push_back(static_cast<char>((fmt << 6) | csid));
  } else if (csid < 320) {
    out.push_back(static_cast<char>(fmt << 6));
    out.push_back(static_cast<char>(csid - 64));
  } else {
    out.push_back(static_cast<char>((fmt << 6) | 1));
    out.push_back(static_cast<char>((csid - 64) & 0xff));
    out.push_back(static_cast<char>((csid - 64) >> 8));
  }
}
void be(std::string& out, std::uint32_t v, int n) {
  for (int i = n - 1; i >= 0; --i)
    out.push_back(static_cast<char>(v >> (8 * i)));
}
void fmt0(std::string& out, std::uint32_t csid, std::uint32_t ts, std::uint32_t len,
          std::uint8_t type, std::uint32_t sid) {
  basic(out, 0, csid);
  be(out, ts >= 0xffffff ? 0xffffff : ts, 3);
  be(out, len, 3);
  out.push_back(static_cast<char>(type));
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>(sid >> (8 * i)));
  if (ts >= 0xffffff) be(out, ts, 4);
}
void fmt1(std::string& out, std::uint32_t csid, std::uint32_t delta, std::uint32_t len,
          std::uint8_t type) {
  basic(out, 1, csid);
  be(out, delta >= 0xffffff ? 0xffffff : delta, 3);
  be(out, len, 3);
  out.push_back(static_cast<char>(type));
  if (delta >= 0xffffff) be(out, delta, 4);
}
void fmt2(std::string& out, std::uint32_t csid, std::uint32_t delta) {
  basic(out, 2, csid);
  be(out, delta >= 0xffffff ? 0xffffff : delta, 3);
  if (delta >= 0xffffff) be(out, delta, 4);
}
void payload(std::string& out, std::size_t n, char c = 'p') {
  out.append(n, c);
}

TEST(RtmpChunk, MessageSplitIntoManyChunks) {
  auto body = pattern(1000);
  ChunkWriter w;  // 128
  std::string wire;
  w.write(5, 1234, msg_type::kVideo, 1, body, wire);
  EXPECT_EQ(wire.size(), 12 + 1000 + 7);  // fmt 0 header + 7 fmt 3 one-byte headers
  for (bool bytewise : {false, true}) {
    ChunkReader r;
    auto msgs = feed_all(r, wire, bytewise);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].csid, 5u);
    EXPECT_EQ(msgs[0].timestamp, 1234u);
    EXPECT_EQ(msgs[0].type, msg_type::kVideo);
    EXPECT_EQ(msgs[0].stream_id, 1u);
    EXPECT_EQ(msgs[0].payload, body);
    EXPECT_EQ(r.bytes_received(), wire.size());
  }
}

TEST(RtmpChunk, BasicHeaderForms) {
  for (std::uint32_t csid : {2u, 63u, 64u, 319u, 320u, 65599u}) {
    std::string wire;
    ChunkWriter w;
    w.write_set_chunk_size(16, wire);
    w.write(csid, 7, msg_type::kAudio, 3, pattern(40), wire);
    ChunkReader r;
    auto msgs = feed_all(r, wire, true);
    ASSERT_EQ(msgs.size(), 2u) << csid;
    EXPECT_EQ(msgs[1].csid, csid);
    EXPECT_EQ(msgs[1].payload, pattern(40));
  }
}

TEST(RtmpChunk, InterleavedChunkStreams) {
  std::string wire;
  fmt0(wire, 4, 100, 200, msg_type::kAudio, 1);
  payload(wire, 128, 'a');
  fmt0(wire, 6, 50, 150, msg_type::kVideo, 1);
  payload(wire, 128, 'v');
  basic(wire, 3, 4);
  payload(wire, 72, 'a');
  basic(wire, 3, 6);
  payload(wire, 22, 'v');
  ChunkReader r;
  auto msgs = feed_all(r, wire);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].csid, 4u);
  EXPECT_EQ(msgs[0].payload, std::vector<std::uint8_t>(200, 'a'));
  EXPECT_EQ(msgs[0].timestamp, 100u);
  EXPECT_EQ(msgs[1].csid, 6u);
  EXPECT_EQ(msgs[1].payload, std::vector<std::uint8_t>(150, 'v'));
  EXPECT_EQ(msgs[1].timestamp, 50u);
}

TEST(RtmpChunk, TimestampDeltasFmt123) {
  // The specification's example: 1000, +20 (fmt 2), fmt 3, fmt 3 → 1000, 1020, 1040, 1060.
  std::string wire;
  fmt0(wire, 3, 1000, 32, msg_type::kAudio, 12345);
  payload(wire, 32);
  fmt2(wire, 3, 20);
  payload(wire, 32);
  basic(wire, 3, 3);
  payload(wire, 32);
  basic(wire, 3, 3);
  payload(wire, 32);
  fmt1(wire, 3, 5, 10, msg_type::kVideo);  // new length and type, delta 5
  payload(wire, 10);
  ChunkReader r;
  auto msgs = feed_all(r, wire, true);
  ASSERT_EQ(msgs.size(), 5u);
  EXPECT_EQ(msgs[0].timestamp, 1000u);
  EXPECT_EQ(msgs[1].timestamp, 1020u);
  EXPECT_EQ(msgs[2].timestamp, 1040u);
  EXPECT_EQ(msgs[3].timestamp, 1060u);
  EXPECT_EQ(msgs[4].timestamp, 1065u);
  EXPECT_EQ(msgs[4].type, msg_type::kVideo);
  EXPECT_EQ(msgs[4].payload.size(), 10u);
  for (const auto& m : msgs)
    EXPECT_EQ(m.stream_id, 12345u);
}

TEST(RtmpChunk, ExtendedTimestamps) {
  // Writer → reader with a timestamp above 24 bits, split across chunks (fmt 3 repeats it).
  std::string wire;
  ChunkWriter(64).write(4, 0x12345678, msg_type::kVideo, 1, pattern(300), wire);
  EXPECT_EQ(wire.size(), 12 + 4 + 300 + 4 * (1 + 4));
  std::string size_change;
  ChunkWriter().write(set_chunk_size_message(64), size_change);
  wire = size_change + wire;
  ChunkReader r;
  auto msgs = feed_all(r, wire, true);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].timestamp, 0x12345678u);
  EXPECT_EQ(msgs[1].payload, pattern(300));

  // Hand-made: fmt 0 extended, fmt 2 with an extended delta, then fmt 3 new message.
  std::string hand;
  fmt0(hand, 5, 0xFFFFFF, 4, msg_type::kAudio, 1);
  payload(hand, 4);
  fmt2(hand, 5, 0x01000000);
  payload(hand, 4);
  basic(hand, 3, 5);
  be(hand, 0x01000000, 4);  // the extended delta, repeated
  payload(hand, 4);
  ChunkReader r2;
  msgs = feed_all(r2, hand);
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].timestamp, 0xFFFFFFu);
  EXPECT_EQ(msgs[1].timestamp, 0xFFFFFFu + 0x01000000u);
  EXPECT_EQ(msgs[2].timestamp, 0xFFFFFFu + 2 * 0x01000000u);
}

TEST(RtmpChunk, SetChunkSizeMidStream) {
  ChunkWriter w;
  std::string wire;
  w.write(4, 0, msg_type::kAudio, 1, pattern(300, 1), wire);
  w.write_set_chunk_size(4096, wire);
  EXPECT_EQ(w.chunk_size(), 4096u);
  w.write(4, 10, msg_type::kAudio, 1, pattern(3000, 2), wire);
  for (bool bytewise : {false, true}) {
    ChunkReader r;
    auto msgs = feed_all(r, wire, bytewise);
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_EQ(msgs[1].type, msg_type::kSetChunkSize);
    EXPECT_EQ(r.chunk_size(), 4096u);
    EXPECT_EQ(msgs[2].payload, pattern(3000, 2));
  }
}

TEST(RtmpChunk, AbortDiscardsPartialMessage) {
  std::string wire;
  fmt0(wire, 4, 0, 300, msg_type::kVideo, 1);
  payload(wire, 128, 'x');
  ChunkWriter().write(abort_message(4), wire);
  fmt0(wire, 4, 40, 5, msg_type::kVideo, 1);  // a new message may start after the abort
  payload(wire, 5, 'y');
  ChunkReader r;
  auto msgs = feed_all(r, wire);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].type, msg_type::kAbort);
  EXPECT_EQ(msgs[1].payload, std::vector<std::uint8_t>(5, 'y'));
  EXPECT_EQ(msgs[1].timestamp, 40u);
}

TEST(RtmpChunk, ZeroLengthMessage) {
  std::string wire;
  fmt0(wire, 3, 9, 0, msg_type::kDataAmf0, 1);
  basic(wire, 3, 3);  // another empty message, timestamp +9
  ChunkReader r;
  auto msgs = feed_all(r, wire);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_TRUE(msgs[0].payload.empty());
  EXPECT_EQ(msgs[1].timestamp, 18u);
}

sluice::Status feed_expect_error(ChunkReader& r, const std::string& wire,
                                 const std::string& needle) {
  std::vector<Message> out;
  auto data = bytes_of(wire);
  auto st = r.feed(data, out);
  EXPECT_FALSE(st.has_value());
  if (!st) {
    EXPECT_EQ(st.error().status, 400);
    EXPECT_NE(st.error().detail.find(needle), std::string::npos) << st.error().detail;
  }
  EXPECT_TRUE(r.failed());
  // The error is sticky.
  std::uint8_t b = 0;
  EXPECT_FALSE(r.feed(std::span<const std::uint8_t>(&b, 1), out).has_value());
  return st;
}

TEST(RtmpChunk, OversizedMessageIsAnError) {
  ChunkLimits limits;
  limits.max_message = 1000;
  ChunkReader r(limits);
  std::string wire;
  fmt0(wire, 4, 0, 1001, msg_type::kVideo, 1);
  feed_expect_error(r, wire, "message length 1001");
}

TEST(RtmpChunk, TooManyPartialStreamsIsAnError) {
  ChunkReader r;
  std::string wire;
  for (std::uint32_t csid = 3; csid < 3 + 65; ++csid) {
    fmt0(wire, csid, 0, 500, msg_type::kVideo, 1);
    payload(wire, 128);
  }
  feed_expect_error(r, wire, "incomplete messages");
}

TEST(RtmpChunk, BufferedBytesLimit) {
  ChunkLimits limits;
  limits.max_buffered = 1000;
  ChunkReader r(limits);
  std::string wire;
  for (std::uint32_t csid = 3; csid < 20; ++csid) {
    fmt0(wire, csid, 0, 500, msg_type::kVideo, 1);
    payload(wire, 128);
  }
  feed_expect_error(r, wire, "bytes buffered");
}

TEST(RtmpChunk, TooManyChunkStreamsIsAnError) {
  ChunkLimits limits;
  limits.max_chunk_streams = 8;
  ChunkReader r(limits);
  std::string wire;
  for (std::uint32_t csid = 3; csid < 20; ++csid) {
    fmt0(wire, csid, 0, 1, msg_type::kVideo, 1);
    payload(wire, 1);
  }
  feed_expect_error(r, wire, "more than 8 chunk streams");
}

TEST(RtmpChunk, ProtocolViolations) {
  {
    ChunkReader r;
    std::string wire;
    fmt1(wire, 7, 1, 1, msg_type::kAudio);
    feed_expect_error(r, wire, "without a previous fmt 0");
  }
  {
    ChunkReader r;
    std::string wire;
    basic(wire, 3, 7);
    feed_expect_error(r, wire, "without a previous fmt 0");
  }
  {
    ChunkReader r;
    std::string wire;
    fmt0(wire, 4, 0, 300, msg_type::kVideo, 1);
    payload(wire, 128);
    fmt2(wire, 4, 1);
    feed_expect_error(r, wire, "while a message is incomplete");
  }
  for (std::uint32_t size : {0u, 0x80000000u, 16u * 1024 * 1024 + 1}) {
    ChunkReader r;
    std::string wire;
    fmt0(wire, 2, 0, 4, msg_type::kSetChunkSize, 0);
    be(wire, size, 4);
    feed_expect_error(r, wire, "Set Chunk Size");
  }
  {
    ChunkReader r;
    std::string wire;
    fmt0(wire, 2, 0, 2, msg_type::kWindowAckSize, 0);
    payload(wire, 2);
    feed_expect_error(r, wire, "shorter than 4 bytes");
  }
}

TEST(RtmpChunk, AcknowledgementWindow) {
  ChunkReader r;
  ChunkWriter w;
  std::string wire;
  w.write(window_ack_size_message(1000), wire);
  feed_all(r, wire);
  EXPECT_EQ(r.ack_window(), 1000u);
  EXPECT_FALSE(r.ack_due());
  wire.clear();
  w.write(4, 0, msg_type::kAudio, 1, pattern(1200), wire);
  feed_all(r, wire);
  EXPECT_TRUE(r.ack_due());
  const auto seq = r.take_ack();
  EXPECT_EQ(seq, r.bytes_received());
  EXPECT_FALSE(r.ack_due());
}

TEST(RtmpChunk, WriterReaderRoundTripAtSeveralChunkSizes) {
  for (std::uint32_t size : {1u, 2u, 127u, 128u, 129u, 4096u, 65536u}) {
    ChunkWriter w(size);
    std::vector<Message> sent;
    std::string wire;
    std::uint32_t ts = 0;
    for (std::size_t i = 0; i < 12; ++i) {
      Message m;
      m.csid = static_cast<std::uint32_t>(3 + i % 4 + (i % 3 == 0 ? 300 : 0));
      m.timestamp = ts += 33;
      if (i == 7) m.timestamp = 0xFFFFFF;
      if (i == 8) m.timestamp = 0xFFFFFFFF;
      m.type = i % 2 ? msg_type::kVideo : msg_type::kAudio;
      m.stream_id = static_cast<std::uint32_t>(i);
      m.payload = pattern(i * 377 % 5000, static_cast<std::uint8_t>(i));
      w.write(m, wire);
      sent.push_back(std::move(m));
    }
    ChunkLimits limits;
    limits.max_chunk_size = 1 << 20;
    ChunkReader r(limits);
    std::vector<Message> msgs;
    std::string to_reader;
    if (size != kDefaultChunkSize) ChunkWriter().write(set_chunk_size_message(size), to_reader);
    to_reader += wire;
    // Feed in uneven slices.
    auto data = bytes_of(to_reader);
    for (std::size_t at = 0, step = 1; at < data.size(); at += step, step = step * 3 % 101 + 1) {
      auto n = std::min(step, data.size() - at);
      ASSERT_TRUE(r.feed(std::span(data).subspan(at, n), msgs).has_value());
    }
    if (size != kDefaultChunkSize) msgs.erase(msgs.begin());
    ASSERT_EQ(msgs.size(), sent.size()) << size;
    for (std::size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(msgs[i].csid, sent[i].csid);
      EXPECT_EQ(msgs[i].timestamp, sent[i].timestamp) << size << " " << i;
      EXPECT_EQ(msgs[i].type, sent[i].type);
      EXPECT_EQ(msgs[i].stream_id, sent[i].stream_id);
      EXPECT_EQ(msgs[i].payload, sent[i].payload);
    }
  }
}

TEST(RtmpChunk, ControlMessageHelpers) {
  auto m = set_peer_bandwidth_message(2500000, 2);
  EXPECT_EQ(m.type, msg_type::kSetPeerBandwidth);
  EXPECT_EQ(m.payload, (std::vector<std::uint8_t>{0x00, 0x26, 0x25, 0xa0, 0x02}));
  m = stream_begin_message(1);
  EXPECT_EQ(m.type, msg_type::kUserControl);
  EXPECT_EQ(m.payload, (std::vector<std::uint8_t>{0, 0, 0, 0, 0, 1}));
  m = acknowledgement_message(0x01020304);
  EXPECT_EQ(m.payload, (std::vector<std::uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(m.csid, kControlChunkStream);
  EXPECT_EQ(set_chunk_size_message(4096).payload, (std::vector<std::uint8_t>{0, 0, 0x10, 0}));
}

}  // namespace
