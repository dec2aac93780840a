// The relay protocol's building blocks: the frame codec, error payloads, JSON control payloads
// and the per-stream send queue with its overflow policies.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "wire/control.hpp"
#include "wire/frame.hpp"
#include "wire/send_queue.hpp"

namespace sluice::wire {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string as_string(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string header_bytes(std::uint8_t version, std::uint8_t type, std::uint16_t flags,
                         std::uint32_t stream, std::uint32_t length) {
  std::string h(kHeaderSize, '\0');
  auto* p = reinterpret_cast<std::uint8_t*>(h.data());
  p[0] = version;
  p[1] = type;
  put_u16(p + 2, flags);
  put_u32(p + 4, stream);
  put_u32(p + 8, length);
  return h;
}

// ------------------------------------------------------------------------------ frame codec

TEST(WireFrame, HeaderIsBigEndianAndRoundTrips) {
  FrameHeader h{kProtocolVersion, FrameType::kData, 0xa1b2, 0xc3d4e5f6, 0x00010203};
  std::uint8_t out[kHeaderSize];
  encode_header(h, out);
  const std::uint8_t expected[kHeaderSize] = {1,    5,    0xa1, 0xb2, 0xc3, 0xd4,
                                              0xe5, 0xf6, 0x00, 0x01, 0x02, 0x03};
  EXPECT_EQ(0, std::memcmp(out, expected, kHeaderSize));

  auto d = decode_frame({out, kHeaderSize}, kMaxFramePayloadCeiling);
  ASSERT_EQ(d.status, Decoded::Status::kNeedMore);  // the payload is not there yet
  EXPECT_EQ(d.size, kHeaderSize + 0x00010203u);
}

TEST(WireFrame, EveryTypeRoundTripsWithPayload) {
  for (std::uint8_t t = 1; t <= kMaxFrameType; ++t) {
    auto type = static_cast<FrameType>(t);
    std::string payload(t == 5 ? 3000 : 17 * t, static_cast<char>('a' + t));
    for (std::uint32_t stream : {0u, 1u, 2u, 0x7fffffffu, 0xffffffffu}) {
      for (std::uint16_t flags :
           {std::uint16_t{0}, flag::kMore, flag::kKnownData, std::uint16_t{0xffff}}) {
        std::string frame = encode_frame(type, flags, stream, payload);
        ASSERT_EQ(frame.size(), kHeaderSize + payload.size());
        auto d = decode_frame(bytes_of(frame), kDefaultMaxFramePayload);
        ASSERT_EQ(d.status, Decoded::Status::kFrame) << int(t) << " " << d.detail;
        EXPECT_EQ(d.header.version, kProtocolVersion);
        EXPECT_EQ(d.header.type, type);
        EXPECT_EQ(d.header.flags, flags);
        EXPECT_EQ(d.header.stream, stream);
        EXPECT_EQ(d.header.length, payload.size());
        EXPECT_EQ(d.size, frame.size());
        EXPECT_EQ(as_string(d.payload), payload);
      }
    }
  }
}

TEST(WireFrame, EmptyPayloadAndTrailingBytes) {
  std::string two = encode_frame(FrameType::kPing, 0, 0, "12345678") +
                    encode_frame(FrameType::kData, flag::kFin, 3, "");
  auto first = decode_frame(bytes_of(two), kDefaultMaxFramePayload);
  ASSERT_EQ(first.status, Decoded::Status::kFrame);
  EXPECT_EQ(first.size, kHeaderSize + 8);  // the second frame is not consumed
  EXPECT_EQ(as_string(first.payload), "12345678");
  auto second = decode_frame(bytes_of(two).subspan(first.size), kDefaultMaxFramePayload);
  ASSERT_EQ(second.status, Decoded::Status::kFrame);
  EXPECT_EQ(second.header.flags, flag::kFin);
  EXPECT_EQ(second.header.stream, 3u);
  EXPECT_TRUE(second.payload.empty());
  EXPECT_EQ(second.size, kHeaderSize);
}

TEST(WireFrame, NeedMoreAtEveryPrefixLength) {
  std::string payload;
  for (int i = 0; i < 300; ++i)
    payload.push_back(static_cast<char>(i * 7));
  std::string frame = encode_frame(FrameType::kData, flag::kMore, 9, payload);
  for (std::size_t n = 0; n < frame.size(); ++n) {
    auto d = decode_frame(bytes_of(frame).first(n), kDefaultMaxFramePayload);
    ASSERT_EQ(d.status, Decoded::Status::kNeedMore) << n;
    // Before the header is complete the decoder asks for the header; after, for the frame.
    EXPECT_EQ(d.size, n < kHeaderSize ? kHeaderSize : frame.size()) << n;
    EXPECT_EQ(d.error, ErrorCode::kNoError);
  }
  auto d = decode_frame(bytes_of(frame), kDefaultMaxFramePayload);
  ASSERT_EQ(d.status, Decoded::Status::kFrame);
  EXPECT_EQ(as_string(d.payload), payload);
}

TEST(WireFrame, BadVersionIsUnsupported) {
  for (std::uint8_t v : {0, 2, 0x47 /* 'G' of an HTTP request */, 0xff}) {
    auto d = decode_frame(bytes_of(header_bytes(v, 5, 0, 1, 0)), kDefaultMaxFramePayload);
    ASSERT_EQ(d.status, Decoded::Status::kError);
    EXPECT_EQ(d.error, ErrorCode::kUnsupportedVersion);
    EXPECT_NE(d.detail.find(std::to_string(v)), std::string::npos) << d.detail;
  }
  auto http = decode_frame(bytes_of("GET / HTTP/1.1\r\n\r\n"), kDefaultMaxFramePayload);
  EXPECT_EQ(http.status, Decoded::Status::kError);
  EXPECT_EQ(http.error, ErrorCode::kUnsupportedVersion);
}

TEST(WireFrame, UnknownTypeIsProtocolError) {
  for (std::uint8_t t : {0, 14, 0x80, 0xff}) {
    auto d = decode_frame(bytes_of(header_bytes(1, t, 0, 1, 0)), kDefaultMaxFramePayload);
    ASSERT_EQ(d.status, Decoded::Status::kError) << int(t);
    EXPECT_EQ(d.error, ErrorCode::kProtocol);
    EXPECT_NE(d.detail.find("unknown frame type"), std::string::npos);
  }
}

TEST(WireFrame, OversizedPayloadsAreFrameSizeErrors) {
  // DATA is held to the caller's limit, known from the header alone.
  auto ok = decode_frame(bytes_of(header_bytes(1, 5, 0, 1, 1000)), 1000);
  EXPECT_EQ(ok.status, Decoded::Status::kNeedMore);
  auto big = decode_frame(bytes_of(header_bytes(1, 5, 0, 1, 1001)), 1000);
  ASSERT_EQ(big.status, Decoded::Status::kError);
  EXPECT_EQ(big.error, ErrorCode::kFrameSize);
  auto huge = decode_frame(bytes_of(header_bytes(1, 5, 0, 1, 0xffffffff)), kDefaultMaxFramePayload);
  EXPECT_EQ(huge.error, ErrorCode::kFrameSize);
  // Control frames are held to kMaxControlPayload whatever the DATA limit is.
  for (std::uint8_t t = 1; t <= kMaxFrameType; ++t) {
    if (t == 5) continue;
    auto at = decode_frame(bytes_of(header_bytes(1, t, 0, 0, kMaxControlPayload)),
                           kMaxFramePayloadCeiling);
    EXPECT_EQ(at.status, Decoded::Status::kNeedMore) << int(t);
    auto over = decode_frame(bytes_of(header_bytes(1, t, 0, 0, kMaxControlPayload + 1)),
                             kMaxFramePayloadCeiling);
    ASSERT_EQ(over.status, Decoded::Status::kError) << int(t);
    EXPECT_EQ(over.error, ErrorCode::kFrameSize);
  }
}

TEST(WireFrame, ErrorPayloads) {
  auto p = encode_error_payload(ErrorCode::kSlowConsumer, "too slow");
  ASSERT_EQ(p.size(), 4u + 8);
  EXPECT_EQ(get_u32(reinterpret_cast<const std::uint8_t*>(p.data())), 11u);
  auto e = decode_error_payload(bytes_of(p));
  EXPECT_EQ(e.code, ErrorCode::kSlowConsumer);
  EXPECT_EQ(e.reason, "too slow");

  auto empty_reason = decode_error_payload(bytes_of(encode_error_payload(ErrorCode::kNoError, "")));
  EXPECT_EQ(empty_reason.code, ErrorCode::kNoError);
  EXPECT_EQ(empty_reason.reason, "");

  // Reasons are capped at 1 KiB both ways.
  std::string long_reason(5000, 'r');
  EXPECT_EQ(encode_error_payload(ErrorCode::kInternal, long_reason).size(), 4u + 1024);
  std::string raw = std::string("\0\0\0\x02", 4) + long_reason;
  EXPECT_EQ(decode_error_payload(bytes_of(raw)).reason.size(), 1024u);

  // Shorter than the code: malformed.
  for (std::size_t n = 0; n < 4; ++n) {
    auto m = decode_error_payload(bytes_of(std::string(n, '\x01')));
    EXPECT_EQ(m.code, ErrorCode::kProtocol);
    EXPECT_NE(m.reason.find("malformed"), std::string::npos);
  }
  // Unknown codes pass through (the peer may be newer) and print as such.
  auto unknown = decode_error_payload(bytes_of(std::string("\0\0\x01\x00", 4)));
  EXPECT_EQ(static_cast<std::uint32_t>(unknown.code), 256u);
  EXPECT_EQ(to_string(unknown.code), "unknown_error");
}

TEST(WireFrame, ErrorCodeNamesAreDistinct) {
  std::set<std::string_view> names;
  for (std::uint32_t c = 0; c <= 18; ++c)
    names.insert(to_string(static_cast<ErrorCode>(c)));
  EXPECT_EQ(names.size(), 19u);
  EXPECT_FALSE(names.contains("unknown_error"));
}

TEST(WireFrame, IntegerHelpers) {
  std::uint8_t b[8];
  put_u16(b, 0xbeef);
  EXPECT_EQ(get_u16(b), 0xbeef);
  put_u32(b, 0xdeadbeef);
  EXPECT_EQ(b[0], 0xde);
  EXPECT_EQ(get_u32(b), 0xdeadbeefu);
  put_u64(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[7], 8);
  EXPECT_EQ(get_u64(b), 0x0102030405060708ull);
}

// --------------------------------------------------------------------------- control payloads

// The last path element of every field error, e.g. {"version", "stream_window"}.
std::set<std::string> error_fields(const Error& e) {
  std::set<std::string> out;
  for (const auto& f : e.fields) {
    if (!f.loc.empty()) out.insert(f.loc.back());
  }
  return out;
}

TEST(WireControl, ErrorRepliesCarryAStatus) {
  EXPECT_EQ(error_reply_body(404, "no key 'a'"), "404 no key 'a'");
  EXPECT_EQ(error_reply_body(200, "odd"), "500 odd");  // only error statuses travel
  auto e = parse_error_reply("504 request timed out");
  EXPECT_EQ(e.status, 504);
  EXPECT_EQ(e.detail, "request timed out");
  auto plain = parse_error_reply("the sensor is unplugged");
  EXPECT_EQ(plain.status, 502);
  EXPECT_EQ(plain.detail, "the sensor is unplugged");
  EXPECT_EQ(parse_error_reply("200 fine").status, 502);
  EXPECT_EQ(parse_error_reply("").status, 502);
  EXPECT_EQ(parse_error_reply("42").detail, "42");
}

TEST(WireControl, SubscriptionEventsDecodeAndOthersAreIgnored) {
  auto e =
      decode_subscription_event(R"({"event":"unsubscribe","pattern":"a.*","subscriber":"s7"})");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->subscribed);
  EXPECT_EQ(e->pattern, "a.*");
  EXPECT_EQ(e->subscriber, "s7");
  EXPECT_FALSE(decode_subscription_event(R"({"event":"closed","channel":"a.b"})"));
  EXPECT_FALSE(decode_subscription_event("not json"));
  EXPECT_FALSE(decode_subscription_event(R"([1,2])"));
  EXPECT_EQ(decode_closed_event(R"({"event":"closed","channel":"a.b"})"), "a.b");
  EXPECT_FALSE(decode_closed_event(R"({"event":"subscribe","channel":"a.b"})"));
  EXPECT_FALSE(decode_closed_event(R"({"event":"closed","channel":7})"));
}

TEST(WireControl, HelloRoundTrip) {
  Hello h;
  h.client = "sluice-cpp/0.2";
  h.mechanism = "token";
  h.user = "alice";
  h.token = "s3cret";
  h.auth_data = "n,,n=alice,r=abc";
  h.settings.stream_window = 123456;
  h.settings.connection_window = 7654321;
  h.settings.max_frame = 32768;
  h.settings.max_message = 1ull << 36;
  h.settings.lease_ms = 4500;
  auto d = decode_hello(encode(h));
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->version, 1u);
  EXPECT_EQ(d->client, h.client);
  EXPECT_EQ(d->mechanism, h.mechanism);
  EXPECT_EQ(d->user, h.user);
  EXPECT_EQ(d->token, h.token);
  EXPECT_EQ(d->auth_data, h.auth_data);
  EXPECT_EQ(d->settings.stream_window, 123456u);
  EXPECT_EQ(d->settings.connection_window, 7654321u);
  EXPECT_EQ(d->settings.max_frame, 32768u);
  EXPECT_EQ(d->settings.max_message, 1ull << 36);
  EXPECT_EQ(d->settings.lease_ms, 4500u);

  // Only the version is required; settings keep their defaults.
  auto minimal = decode_hello(R"({"version":1})");
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->settings.stream_window, Settings{}.stream_window);
  EXPECT_EQ(minimal->mechanism, "");
}

TEST(WireControl, WelcomeAndAuthRoundTrip) {
  Welcome w;
  w.session = "s-42";
  w.server = "sluiced/0.1.0";
  w.auth_data = "v=signature";
  w.settings.lease_ms = 60000;
  auto d = decode_welcome(encode(w));
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->session, "s-42");
  EXPECT_EQ(d->server, "sluiced/0.1.0");
  EXPECT_EQ(d->auth_data, "v=signature");
  EXPECT_EQ(d->settings.lease_ms, 60000u);

  auto a = decode_auth(encode_auth("c=biws,r=xyz"));
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, "c=biws,r=xyz");
}

TEST(WireControl, OpenRoundTripPerRole) {
  OpenRequest sub;
  sub.channel = "sensors.*.temp.>";
  sub.role = Role::kSubscribe;
  sub.priority = 1000;
  sub.buffer = {123, 456789, OverflowPolicy::kDisconnect, std::chrono::milliseconds(250)};
  sub.responder = true;
  sub.last_value = true;
  auto s = decode_open(encode(sub));
  ASSERT_TRUE(s) << s.error().detail;
  EXPECT_EQ(s->channel, sub.channel);
  EXPECT_EQ(s->role, Role::kSubscribe);
  EXPECT_EQ(s->priority, 1000);
  EXPECT_EQ(s->buffer.max_messages, 123u);
  EXPECT_EQ(s->buffer.max_bytes, 456789u);
  EXPECT_EQ(s->buffer.policy, OverflowPolicy::kDisconnect);
  EXPECT_EQ(s->buffer.max_stall, std::chrono::milliseconds(250));
  EXPECT_TRUE(s->responder);
  EXPECT_TRUE(s->last_value);

  OpenRequest pub;
  pub.channel = "sensors.lidar.front";
  pub.role = Role::kPublish;
  pub.priority = 0;
  pub.keep_last_value = true;
  pub.advertise = false;
  pub.stream_type = "lidar";
  pub.metadata = {{"fps", 30}, {"frame", "base_link"}};
  auto p = decode_open(encode(pub));
  ASSERT_TRUE(p) << p.error().detail;
  EXPECT_EQ(p->role, Role::kPublish);
  EXPECT_EQ(p->priority, 0);
  EXPECT_TRUE(p->keep_last_value);
  EXPECT_FALSE(p->advertise);
  EXPECT_EQ(p->stream_type, "lidar");
  EXPECT_EQ(p->metadata, pub.metadata);

  OpenRequest req;
  req.channel = "svc.echo";
  req.role = Role::kRequest;
  req.timeout_ms = 1234;
  auto r = decode_open(encode(req));
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->role, Role::kRequest);
  EXPECT_EQ(r->timeout_ms, 1234u);
}

TEST(WireControl, PolicyNames) {
  for (auto p : {OverflowPolicy::kDropOldest, OverflowPolicy::kDropNewest,
                 OverflowPolicy::kDisconnect, OverflowPolicy::kBlock}) {
    EXPECT_EQ(parse_overflow_policy(to_string(p)), p);
  }
  EXPECT_FALSE(parse_overflow_policy("drop_oldest"));
  EXPECT_FALSE(parse_overflow_policy(""));
  EXPECT_EQ(to_string(Role::kPublish), "publish");
  EXPECT_EQ(to_string(Role::kSubscribe), "subscribe");
  EXPECT_EQ(to_string(Role::kRequest), "request");
}

TEST(WireControl, DecodeErrorsNameTheField) {
  auto check_fields = [](const Error& e, const std::set<std::string>& want, const char* what) {
    EXPECT_EQ(e.status, 422) << what;
    EXPECT_EQ(error_fields(e), want) << what << ": " << e.detail;
  };

  {
    auto r = decode_hello(R"({"client":"x"})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"version"}, "missing version");
    EXPECT_EQ(r.error().fields[0].type, "missing");
    EXPECT_EQ(r.error().fields[0].loc.front(), "hello");
  }
  {
    auto r = decode_hello(
        R"({"version":"1","stream_window":10,"max_frame":99999999,"lease_ms":5,"client":7})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"version", "stream_window", "max_frame", "lease_ms", "client"},
                 "several bad fields are all reported");
  }
  {
    auto r = decode_hello(R"({"version":1,"connection_window":-1,"max_message":1})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"connection_window", "max_message"}, "ranges");
  }
  {
    auto r =
        decode_hello(std::string(R"({"version":1,"token":")") + std::string(5000, 't') + "\"}");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"token"}, "long token");
  }
  for (const char* bad : {"", "nope", "[1,2]", "{\"version\":1", "null"}) {
    auto r = decode_hello(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().status, 422) << bad;
  }
  {
    auto r = decode_welcome(R"({"session":5,"lease_ms":999})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"session", "lease_ms"}, "welcome");
    EXPECT_EQ(r.error().fields[0].loc.front(), "welcome");
  }
  {
    auto r = decode_auth(R"({"auth":""})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"auth"}, "empty auth");
    EXPECT_FALSE(decode_auth(R"({})"));
  }
  {
    auto r = decode_open(R"({})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"role", "channel"}, "empty open");
  }
  {
    auto r = decode_open(R"({"role":"lurk","channel":"a.b"})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"role"}, "bad role");
    EXPECT_EQ(r.error().fields[0].type, "enum");
  }
  {
    auto r = decode_open(R"({"role":"publish","channel":"a.*"})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"channel"}, "wildcard in a publish channel");
    EXPECT_TRUE(decode_open(R"({"role":"subscribe","channel":"a.*"})"));
  }
  {
    auto r = decode_open(R"({"role":"subscribe","channel":"a..b"})");
    ASSERT_FALSE(r);
    check_fields(r.error(), {"channel"}, "empty token");
  }
  {
    auto r = decode_open(
        R"({"role":"subscribe","channel":"a","priority":1001,"overflow":"sometimes",)"
        R"("buffer_messages":0,"buffer_bytes":10,"max_stall_ms":60001,"responder":"yes",)"
        R"("metadata":[],"timeout_ms":0,"type":""})");
    ASSERT_FALSE(r);
    check_fields(r.error(),
                 {"priority", "overflow", "buffer_messages", "buffer_bytes", "max_stall_ms",
                  "responder", "metadata", "timeout_ms", "type"},
                 "every option");
  }
}

// ------------------------------------------------------------------------------- send queue

OutMessage numbered(int i, std::size_t size = 8) {
  std::string body = std::to_string(i);
  body.resize(std::max(size, body.size()), '.');
  return copy_message(body);
}

int number_of(const OutMessage& m) {
  return std::stoi(std::string(m.bytes()));
}

QueueLimits limits(std::size_t messages, std::size_t bytes, OverflowPolicy policy) {
  QueueLimits l;
  l.max_messages = messages;
  l.max_bytes = bytes;
  l.policy = policy;
  return l;
}

// Pops every message, returning (number, gap announced with it).
std::vector<std::pair<int, std::uint64_t>> drain(SendQueue& q) {
  std::vector<std::pair<int, std::uint64_t>> out;
  while (!q.empty()) {
    int n = number_of(q.front());
    q.pop_front();
    out.emplace_back(n, q.take_pending_gap());
  }
  return out;
}

TEST(WireSendQueue, MessagesInlineOrShared) {
  auto small = copy_message("hello");
  EXPECT_FALSE(small.owner);
  EXPECT_EQ(small.bytes(), "hello");
  std::string big(OutMessage::kInlineCapacity + 1, 'b');
  auto copied = copy_message(big);
  EXPECT_TRUE(copied.owner);
  EXPECT_EQ(copied.bytes(), big);
  EXPECT_NE(copied.bytes().data(), big.data());
  auto owner = std::make_shared<const std::string>(100000, 'x');
  auto shared = shared_message(owner, *owner);
  EXPECT_EQ(shared.bytes().data(), owner->data());  // no copy
  EXPECT_EQ(shared.bytes().size(), 100000u);
}

TEST(WireSendQueue, FifoWithinLimits) {
  SendQueue q(limits(10, 1000, OverflowPolicy::kDropOldest));
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(q.offer(numbered(i)), SendQueue::Offer::kQueued);
  EXPECT_EQ(q.size(), 10u);
  EXPECT_EQ(q.bytes(), 80u);
  EXPECT_FALSE(q.over_limit());
  auto got = drain(q);
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(got[i], std::make_pair(i, std::uint64_t{0}));
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.dropped_total(), 0u);
}

TEST(WireSendQueue, DropOldestCountsTheGap) {
  SendQueue q(limits(3, 1 << 20, OverflowPolicy::kDropOldest));
  std::vector<SendQueue::Offer> offers;
  for (int i = 0; i < 8; ++i)
    offers.push_back(q.offer(numbered(i)));
  EXPECT_EQ(offers[2], SendQueue::Offer::kQueued);
  EXPECT_EQ(offers[3], SendQueue::Offer::kDroppedOldest);
  EXPECT_EQ(offers[7], SendQueue::Offer::kDroppedOldest);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.dropped_total(), 5u);
  EXPECT_EQ(q.pending_gap(), 5u);
  // 0..4 were dropped; the first message sent announces them.
  auto got = drain(q);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(5, std::uint64_t{5}));
  EXPECT_EQ(got[1], std::make_pair(6, std::uint64_t{0}));
  EXPECT_EQ(got[2], std::make_pair(7, std::uint64_t{0}));
  EXPECT_EQ(q.dropped_total(), 5u);  // the total stays
}

TEST(WireSendQueue, DropOldestByBytes) {
  SendQueue q(limits(100, 100, OverflowPolicy::kDropOldest));
  EXPECT_EQ(q.offer(numbered(0, 40)), SendQueue::Offer::kQueued);
  EXPECT_EQ(q.offer(numbered(1, 40)), SendQueue::Offer::kQueued);
  EXPECT_EQ(q.offer(numbered(2, 40)), SendQueue::Offer::kDroppedOldest);
  EXPECT_EQ(q.bytes(), 80u);
  // One message larger than the whole limit pushes everything else out but is kept.
  EXPECT_EQ(q.offer(numbered(3, 500)), SendQueue::Offer::kDroppedOldest);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.bytes(), 500u);
  EXPECT_TRUE(q.over_limit());
  auto got = drain(q);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], std::make_pair(3, std::uint64_t{3}));
}

TEST(WireSendQueue, DropNewestRefusesAndReportsTheGapWhereItHappened) {
  SendQueue q(limits(2, 1 << 20, OverflowPolicy::kDropNewest));
  EXPECT_EQ(q.offer(numbered(0)), SendQueue::Offer::kQueued);
  EXPECT_EQ(q.offer(numbered(1)), SendQueue::Offer::kQueued);
  EXPECT_EQ(q.offer(numbered(2)), SendQueue::Offer::kDroppedNewest);
  EXPECT_EQ(q.offer(numbered(3)), SendQueue::Offer::kDroppedNewest);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.dropped_total(), 2u);
  // 0 and 1 were queued before the drops: they go out without a gap...
  int first = number_of(q.front());
  q.pop_front();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(q.take_pending_gap(), 0u);
  // ...and the next message queued after the drops carries it (2 and 3 came before it).
  EXPECT_EQ(q.offer(numbered(4)), SendQueue::Offer::kQueued);
  EXPECT_EQ(q.offer(numbered(5)), SendQueue::Offer::kDroppedNewest);
  auto got = drain(q);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(1, std::uint64_t{0}));
  EXPECT_EQ(got[1], std::make_pair(4, std::uint64_t{2}));
  // 5 was refused after 4; it is announced with whatever comes next.
  EXPECT_EQ(q.offer(numbered(6)), SendQueue::Offer::kQueued);
  got = drain(q);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], std::make_pair(6, std::uint64_t{1}));
  EXPECT_EQ(q.dropped_total(), 3u);
}

TEST(WireSendQueue, RefusedBeforeOfferIsAnnouncedByTheNextMessage) {
  SendQueue q(limits(10, 1 << 20, OverflowPolicy::kDropOldest));
  q.offer(numbered(0));
  q.offer(numbered(1));
  q.count_refused();  // e.g. larger than the peer accepts
  EXPECT_EQ(q.dropped_total(), 1u);
  q.offer(numbered(3));
  auto got = drain(q);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(0, std::uint64_t{0}));
  EXPECT_EQ(got[1], std::make_pair(1, std::uint64_t{0}));
  EXPECT_EQ(got[2], std::make_pair(3, std::uint64_t{1}));
}

TEST(WireSendQueue, DisconnectRefusesWithoutDropping) {
  SendQueue q(limits(2, 1 << 20, OverflowPolicy::kDisconnect));
  EXPECT_EQ(q.offer(numbered(0)), SendQueue::Offer::kQueued);
  EXPECT_EQ(q.offer(numbered(1)), SendQueue::Offer::kQueued);
  EXPECT_EQ(q.offer(numbered(2)), SendQueue::Offer::kDisconnect);
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.dropped_total(), 0u);
  EXPECT_EQ(q.pending_gap(), 0u);
  SendQueue by_bytes(limits(100, 50, OverflowPolicy::kDisconnect));
  EXPECT_EQ(by_bytes.offer(numbered(0, 40)), SendQueue::Offer::kQueued);
  EXPECT_EQ(by_bytes.offer(numbered(1, 40)), SendQueue::Offer::kDisconnect);
}

TEST(WireSendQueue, BlockGoesOverLimitThenTrims) {
  SendQueue q(limits(3, 1 << 20, OverflowPolicy::kBlock));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(q.offer(numbered(i)), SendQueue::Offer::kQueued);
  for (int i = 3; i < 7; ++i)
    EXPECT_EQ(q.offer(numbered(i)), SendQueue::Offer::kQueuedOverLimit);
  EXPECT_EQ(q.size(), 7u);
  EXPECT_TRUE(q.over_limit());
  EXPECT_EQ(q.dropped_total(), 0u);
  q.trim_to_limits();  // the stall expired: drop-oldest back to the limits
  EXPECT_EQ(q.size(), 3u);
  EXPECT_FALSE(q.over_limit());
  EXPECT_EQ(q.dropped_total(), 4u);
  EXPECT_EQ(q.bytes(), 24u);
  auto got = drain(q);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(4, std::uint64_t{4}));
  EXPECT_EQ(got[1], std::make_pair(5, std::uint64_t{0}));
  // Trimming within limits drops nothing.
  q.offer(numbered(9));
  q.trim_to_limits();
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.dropped_total(), 4u);
}

TEST(WireSendQueue, EmptyQueueAlwaysAcceptsOneOversizedMessage) {
  for (auto policy : {OverflowPolicy::kDropOldest, OverflowPolicy::kDropNewest,
                      OverflowPolicy::kDisconnect, OverflowPolicy::kBlock}) {
    SendQueue q(limits(1, 1024, policy));
    EXPECT_EQ(q.offer(numbered(0, 1 << 20)), SendQueue::Offer::kQueued) << to_string(policy);
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.bytes(), 1u << 20);
    EXPECT_TRUE(q.over_limit());
    q.trim_to_limits();  // never empties the queue
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(q.dropped_total(), 0u);
    // The next one meets the policy.
    auto second = q.offer(numbered(1));
    switch (policy) {
      case OverflowPolicy::kDropOldest:
        EXPECT_EQ(second, SendQueue::Offer::kDroppedOldest);
        EXPECT_EQ(number_of(q.front()), 1);
        break;
      case OverflowPolicy::kDropNewest:
        EXPECT_EQ(second, SendQueue::Offer::kDroppedNewest);
        break;
      case OverflowPolicy::kDisconnect:
        EXPECT_EQ(second, SendQueue::Offer::kDisconnect);
        break;
      case OverflowPolicy::kBlock:
        EXPECT_EQ(second, SendQueue::Offer::kQueuedOverLimit);
        break;
    }
    q.pop_front();
    (void)q.take_pending_gap();
    if (q.empty()) {
      EXPECT_EQ(q.bytes(), 0u);
    }
  }
  SendQueue zero(limits(0, 0, OverflowPolicy::kDropNewest));
  EXPECT_EQ(zero.offer(numbered(0)), SendQueue::Offer::kQueued);
}

TEST(WireSendQueue, ClearEmpties) {
  SendQueue q(limits(2, 1 << 20, OverflowPolicy::kDropOldest));
  for (int i = 0; i < 5; ++i)
    q.offer(numbered(i));
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.dropped_total(), 3u);
}

}  // namespace
}  // namespace sluice::wire
