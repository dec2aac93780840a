// The RTMP handshake (plain and digest) and ServerSession: the command flows OBS, ffmpeg and
// players use, the answers they get, and every refusal of bad input.
#include <gtest/gtest.h>

#include <cstring>

#include "media/protocols/rtmp/amf0.hpp"
#include "media/protocols/rtmp/chunk.hpp"
#include "media/protocols/rtmp/handshake.hpp"
#include "media/protocols/rtmp/server_session.hpp"

namespace sluice::rtmp {
namespace {

using amf0::Value;

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(RtmpHandshake, PlainHandshakeEchoesC1AndReadsC2) {
  ServerHandshake server;
  ClientHandshake client;
  std::string c0c1;
  client.start(c0c1);
  ASSERT_EQ(c0c1.size(), 1 + kHandshakeSize);
  std::string s012;
  // Byte at a time: the server answers once C1 is complete.
  for (std::size_t i = 0; i < c0c1.size(); ++i) {
    auto used = server.feed(bytes(c0c1).subspan(i, 1), s012);
    ASSERT_TRUE(used);
    EXPECT_EQ(*used, 1u);
    EXPECT_EQ(s012.empty(), i + 1 < c0c1.size());
  }
  ASSERT_EQ(s012.size(), 1 + 2 * kHandshakeSize);
  EXPECT_FALSE(server.digest_variant());
  EXPECT_EQ(s012.substr(1 + kHandshakeSize), c0c1.substr(1));  // S2 = C1
  std::string c2;
  auto used = client.feed(bytes(s012), c2);
  ASSERT_TRUE(used);
  EXPECT_TRUE(client.done());
  EXPECT_EQ(c2, s012.substr(1, kHandshakeSize));  // C2 = S1
  // C2 plus the first chunk bytes in one read: only C2 is consumed.
  std::string more = c2 + "\x03tail";
  std::string none;
  auto rest = server.feed(bytes(more), none);
  ASSERT_TRUE(rest);
  EXPECT_EQ(*rest, kHandshakeSize);
  EXPECT_TRUE(server.done());
  EXPECT_TRUE(none.empty());
}

TEST(RtmpHandshake, DigestVariantIsAnsweredWithServerDigestAndSignedS2) {
  for (std::size_t base : {std::size_t{8}, std::size_t{772}}) {
    std::array<std::uint8_t, 1 + kHandshakeSize> c0c1{};
    c0c1[0] = 3;
    for (std::size_t i = 1; i < c0c1.size(); ++i)
      c0c1[i] = static_cast<std::uint8_t>(i * 7);
    const std::uint8_t version[4] = {9, 0, 124, 2};
    std::memcpy(c0c1.data() + 5, version, 4);
    std::span<std::uint8_t, kHandshakeSize> c1(c0c1.data() + 1, kHandshakeSize);
    const std::size_t offset = handshake_digest_offset(c1, base);
    handshake_write_digest(c1, offset, flash_player_key());
    ServerHandshake server;
    std::string out;
    ASSERT_TRUE(server.feed(c0c1, out));
    EXPECT_TRUE(server.digest_variant()) << "scheme base " << base;
    ASSERT_EQ(out.size(), 1 + 2 * kHandshakeSize);
    // S1 carries a digest under the Flash Media Server key (scheme 0), like FMS and nginx-rtmp.
    std::array<std::uint8_t, kHandshakeSize> s1{};
    std::memcpy(s1.data(), out.data() + 1, kHandshakeSize);
    static const std::string kServerKey = "Genuine Adobe Flash Media Server 001";
    const std::span<const std::uint8_t> fms(
        reinterpret_cast<const std::uint8_t*>(kServerKey.data()), kServerKey.size());
    EXPECT_TRUE(handshake_digest_valid(s1, handshake_digest_offset(s1, 8), fms));
    EXPECT_NE(std::memcmp(out.data() + 1 + kHandshakeSize, c0c1.data() + 1, kHandshakeSize), 0)
        << "S2 must not be an echo in the digest variant";
  }
}

TEST(RtmpHandshake, VersionOtherThanThreeIsRefusedForGood) {
  ServerHandshake server;
  std::string out;
  const std::uint8_t rtmpe[] = {6, 0, 0};
  auto r = server.feed(rtmpe, out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("version 6"), std::string::npos);
  EXPECT_FALSE(server.feed(rtmpe, out));
  EXPECT_TRUE(out.empty());
}

// Drives a ServerSession as a client would.
class Client {
 public:
  explicit Client(ServerSession& s) : session_(s) {
    std::string c0c1;
    hs_.start(c0c1);
    EXPECT_TRUE(session_.feed(bytes(c0c1), events));
    std::string c2;
    EXPECT_TRUE(hs_.feed(bytes(session_.output()), c2));
    session_.output().clear();
    EXPECT_TRUE(session_.feed(bytes(c2), events));
  }

  Status command(std::uint32_t stream_id, std::vector<Value> values) {
    std::string wire;
    const std::string body = amf0::encode(values);
    writer_.write(3, 0, msg_type::kCommandAmf0, stream_id, bytes(body), wire);
    return session_.feed(bytes(wire), events);
  }
  Status media(std::uint32_t stream_id, std::uint8_t type, std::string body, std::uint32_t ts = 0) {
    std::string wire;
    writer_.write(type == msg_type::kAudio ? 4 : 6, ts, type, stream_id, bytes(body), wire);
    return session_.feed(bytes(wire), events);
  }
  Status raw(const std::string& wire) { return session_.feed(bytes(wire), events); }

  // Messages the server sent since the last call, decoded.
  std::vector<Message> replies() {
    std::vector<Message> out;
    EXPECT_TRUE(reader_.feed(bytes(session_.output()), out));
    session_.output().clear();
    return out;
  }
  static std::vector<Value> decode(const Message& m) {
    auto v = amf0::decode_all(m.bytes());
    EXPECT_TRUE(v);
    return v ? *v : std::vector<Value>{};
  }
  // The `code` of the last onStatus among `replies`.
  static std::string last_status(const std::vector<Message>& replies) {
    std::string code;
    for (const auto& m : replies) {
      if (m.type != msg_type::kCommandAmf0) continue;
      auto v = decode(m);
      if (v.size() > 3 && v[0].string == "onStatus") code = v[3].find("code")->string;
    }
    return code;
  }

  void connect(const std::string& app = "live") {
    ASSERT_TRUE(command(
        0, {Value::str("connect"), Value::num(1),
            Value::object({{"app", Value::str(app)}, {"tcUrl", Value::str("rtmp://h/" + app)}})}));
  }
  std::vector<SessionEvent> events;

 private:
  ServerSession& session_;
  ClientHandshake hs_;
  ChunkWriter writer_{128};
  ChunkReader reader_;
};

TEST(RtmpServerSession, ConnectWaitsForTheOwnerThenAnswersSuccess) {
  ServerSession s;
  Client c(s);
  c.connect("live?token=x");
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, EventKind::kConnect);
  EXPECT_EQ(c.events[0].app, "live");  // query stripped
  EXPECT_TRUE(s.awaiting_answer());
  EXPECT_TRUE(s.output().empty()) << "nothing is answered before the owner decides";
  s.accept_connect();
  auto replies = c.replies();
  ASSERT_GE(replies.size(), 4u);
  EXPECT_EQ(replies[0].type, msg_type::kWindowAckSize);
  EXPECT_EQ(replies[1].type, msg_type::kSetPeerBandwidth);
  EXPECT_EQ(replies[2].type, msg_type::kSetChunkSize);
  auto result = Client::decode(replies[3]);
  ASSERT_GE(result.size(), 4u);
  EXPECT_EQ(result[0].string, "_result");
  EXPECT_EQ(result[1].number, 1);
  EXPECT_EQ(result[3].find("code")->string, "NetConnection.Connect.Success");
  EXPECT_EQ(s.chunk_writer().chunk_size(), kServerChunkSize);
}

TEST(RtmpServerSession, CommandsAfterAPendingDecisionWaitAndKeepTheirOrder) {
  ServerSession s;
  Client c(s);
  // connect and createStream arrive in one read: createStream's _result must follow connect's.
  std::string wire;
  ChunkWriter w(128);
  for (auto values :
       {std::vector<Value>{Value::str("connect"), Value::num(1),
                           Value::object({{"app", Value::str("live")}})},
        std::vector<Value>{Value::str("createStream"), Value::num(2), Value::null()}}) {
    const std::string body = amf0::encode(values);
    w.write(3, 0, msg_type::kCommandAmf0, 0, bytes(body), wire);
  }
  ASSERT_TRUE(c.raw(wire));
  ASSERT_EQ(c.events.size(), 1u);
  s.accept_connect();
  c.events.clear();
  ASSERT_TRUE(s.feed({}, c.events));  // go on with the kept messages
  auto replies = c.replies();
  std::vector<double> transactions;
  for (const auto& m : replies) {
    if (m.type != msg_type::kCommandAmf0) continue;
    auto v = Client::decode(m);
    if (v[0].string == "_result") transactions.push_back(v[1].number);
  }
  EXPECT_EQ(transactions, (std::vector<double>{1, 2}));
}

TEST(RtmpServerSession, PublishFlowDeliversMediaOnlyAfterAccept) {
  ServerSession s;
  Client c(s);
  c.connect();
  s.accept_connect();
  c.replies();
  c.events.clear();
  ASSERT_TRUE(c.command(
      0, {Value::str("releaseStream"), Value::num(2), Value::null(), Value::str("sk_key")}));
  ASSERT_TRUE(
      c.command(0, {Value::str("FCPublish"), Value::num(3), Value::null(), Value::str("sk_key")}));
  ASSERT_TRUE(c.command(0, {Value::str("createStream"), Value::num(4), Value::null()}));
  auto replies = c.replies();
  auto created = Client::decode(replies.back());
  ASSERT_EQ(created[0].string, "_result");
  const auto stream_id = static_cast<std::uint32_t>(created[3].number);
  EXPECT_EQ(stream_id, kPlayStreamId);
  ASSERT_TRUE(c.command(stream_id, {Value::str("publish"), Value::num(5), Value::null(),
                                    Value::str("sk_key?x=1"), Value::str("live")}));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, EventKind::kPublish);
  EXPECT_EQ(c.events[0].name, "sk_key");
  EXPECT_EQ(c.events[0].query, "x=1");
  s.accept_publish(stream_id, "studio");
  EXPECT_EQ(Client::last_status(c.replies()), "NetStream.Publish.Start");
  // @setDataFrame travels as a data message (type 18).
  c.events.clear();
  {
    std::string wire;
    const std::string body =
        amf0::encode(std::vector<Value>{Value::str("@setDataFrame"), Value::str("onMetaData"),
                                        Value::ecma_array({{"width", Value::num(320)}})});
    ChunkWriter(128).write(5, 0, msg_type::kDataAmf0, stream_id, bytes(body), wire);
    ASSERT_TRUE(c.raw(wire));
  }
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, EventKind::kMetadata);
  EXPECT_EQ(c.events[0].metadata.find("width")->number, 320);
  c.events.clear();
  ASSERT_TRUE(
      c.media(stream_id, msg_type::kVideo, std::string("\x17\x01\x00\x00\x00frame", 10), 40));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, EventKind::kMedia);
  EXPECT_EQ(c.events[0].message.timestamp, 40u);
  c.events.clear();
  ASSERT_TRUE(c.command(
      0, {Value::str("FCUnpublish"), Value::num(6), Value::null(), Value::str("sk_key")}));
  ASSERT_EQ(c.events.size(), 1u);
  EXPECT_EQ(c.events[0].kind, EventKind::kStop);
}

TEST(RtmpServerSession, RefusedPublishGetsAnErrorStatusAndNoMediaIsAccepted) {
  ServerSession s;
  Client c(s);
  c.connect();
  s.accept_connect();
  ASSERT_TRUE(c.command(0, {Value::str("createStream"), Value::num(2), Value::null()}));
  c.replies();
  ASSERT_TRUE(c.command(1, {Value::str("publish"), Value::num(3), Value::null(),
                            Value::str("sk_bad"), Value::str("live")}));
  s.reject_publish(1, "NetStream.Publish.Unauthorized", "publish refused: unknown key");
  auto replies = c.replies();
  EXPECT_EQ(Client::last_status(replies), "NetStream.Publish.Unauthorized");
  auto status = Client::decode(replies.back());
  EXPECT_EQ(status[3].find("level")->string, "error");
  auto r = c.media(1, msg_type::kVideo, "\x17\x01\x00\x00\x00");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("not an accepted publish"), std::string::npos);
}

TEST(RtmpServerSession, PlayFlowAnswersResetStartAndSampleAccess) {
  ServerSession s;
  Client c(s);
  c.connect();
  s.accept_connect();
  ASSERT_TRUE(c.command(0, {Value::str("createStream"), Value::num(2), Value::null()}));
  ASSERT_TRUE(c.command(
      0, {Value::str("getStreamLength"), Value::num(3), Value::null(), Value::str("cam")}));
  c.replies();
  ASSERT_TRUE(c.command(
      1, {Value::str("play"), Value::num(4), Value::null(), Value::str("cam"), Value::num(-2)}));
  ASSERT_EQ(c.events.back().kind, EventKind::kPlay);
  EXPECT_EQ(c.events.back().name, "cam");
  s.accept_play(1, "cam");
  auto replies = c.replies();
  std::vector<std::string> codes;
  bool sample_access = false;
  for (const auto& m : replies) {
    if (m.type == msg_type::kDataAmf0)
      sample_access = Client::decode(m)[0].string == "|RtmpSampleAccess";
    if (m.type != msg_type::kCommandAmf0) continue;
    auto v = Client::decode(m);
    if (v[0].string == "onStatus") codes.push_back(v[3].find("code")->string);
  }
  EXPECT_EQ(codes, (std::vector<std::string>{"NetStream.Play.Reset", "NetStream.Play.Start"}));
  EXPECT_TRUE(sample_access);
  s.end_play(1, "cam");
  EXPECT_EQ(Client::last_status(c.replies()), "NetStream.Play.UnpublishNotify");
}

TEST(RtmpServerSession, ViolationsCloseTheSessionWithAClearError) {
  struct Case {
    const char* name;
    std::function<Status(ServerSession&, Client&)> act;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"command before connect",
       [](ServerSession&, Client& c) {
         return c.command(0, {Value::str("createStream"), Value::num(2), Value::null()});
       },
       "before a successful connect"},
      {"unknown command",
       [](ServerSession& s, Client& c) {
         c.connect();
         s.accept_connect();
         return c.command(0, {Value::str("formatDisk"), Value::num(2), Value::null()});
       },
       "unknown command 'formatDisk'"},
      {"broken AMF",
       [](ServerSession&, Client& c) {
         std::string wire;
         const std::string body = "\x02\x00\x10short";
         ChunkWriter(128).write(3, 0, msg_type::kCommandAmf0, 0, bytes(body), wire);
         return c.raw(wire);
       },
       "broken AMF0"},
      {"media before publish",
       [](ServerSession& s, Client& c) {
         c.connect();
         s.accept_connect();
         return c.media(1, msg_type::kAudio, "\xaf\x01xx");
       },
       "not an accepted publish"},
      {"absurd message length",
       [](ServerSession&, Client& c) {
         // fmt 0, csid 3, ts 0, length 0xFFFFFF, type 20, stream 0.
         return c.raw(std::string("\x03\x00\x00\x00\xff\xff\xff\x14\x00\x00\x00\x00", 12));
       },
       "RTMP chunk"},
      {"second connect",
       [](ServerSession& s, Client& c) {
         c.connect();
         s.accept_connect();
         return c.command(0, {Value::str("connect"), Value::num(2),
                              Value::object({{"app", Value::str("live")}})});
       },
       "second connect"},
  };
  for (const auto& tc : cases) {
    ServerSession s;
    Client c(s);
    auto r = tc.act(s, c);
    ASSERT_FALSE(r) << tc.name;
    EXPECT_EQ(r.error().status, 400) << tc.name;
    EXPECT_NE(r.error().detail.find(tc.expect), std::string::npos)
        << tc.name << ": " << r.error().detail;
    EXPECT_FALSE(s.feed({}, c.events)) << tc.name << ": the error is permanent";
  }
}

TEST(RtmpServerSession, StreamCountIsBounded) {
  SessionOptions o;
  o.max_streams = 2;
  ServerSession s(o);
  Client c(s);
  c.connect();
  s.accept_connect();
  ASSERT_TRUE(c.command(0, {Value::str("createStream"), Value::num(2), Value::null()}));
  ASSERT_TRUE(c.command(0, {Value::str("createStream"), Value::num(3), Value::null()}));
  auto r = c.command(0, {Value::str("createStream"), Value::num(4), Value::null()});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("more than 2 streams"), std::string::npos);
}

}  // namespace
}  // namespace sluice::rtmp
