// The OSC gateway's sans-I/O parts: the OSC 1.0 codec (every type tag, nested bundles, strict
// and bounded parsing), the mapping between OSC addresses and relay channels, the JSON form of
// messages, and the source table (appearance, expiry, rate windows) on a fake clock.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "hub/subject.hpp"
#include "osc/osc_mapping.hpp"
#include "osc/osc_message.hpp"
#include "osc/osc_server.hpp"
#include "osc/osc_sources.hpp"

namespace sluice::osc {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

// The datagram oscsend writes for `oscsend localhost PORT /stage/light/1 f 0.75`.
const Bytes kLight = bytes_of(std::string_view("/stage/light/1\0\0,f\0\0\x3f\x40\0\0", 24));

OscMessage every_tag() {
  OscMessage m;
  m.address = "/every/tag";
  m.arguments = {std::int32_t{-7},
                 0.75f,
                 std::string("hello"),
                 Blob{{1, 2, 3, 4, 5}},
                 std::int64_t{9'000'000'000},
                 3.25,
                 TimeTag{0xE9F0A0B080000000ull},
                 true,
                 false,
                 Nil{},
                 Impulse{},
                 Char{'A'},
                 Rgba{255, 128, 0, 64},
                 Midi{0, 0x90, 60, 127},
                 Symbol{"sym"},
                 ArrayBegin{},
                 std::int32_t{1},
                 ArrayBegin{},
                 std::string("in"),
                 ArrayEnd{},
                 ArrayEnd{}};
  return m;
}

Bytes encoded(const OscPacket& p) {
  auto b = encode_packet(p);
  EXPECT_TRUE(b.has_value()) << b.error().detail;
  return b.value_or(Bytes{});
}

void expect_refused(const Bytes& datagram, std::string_view says) {
  auto p = parse_packet(datagram);
  ASSERT_FALSE(p.has_value()) << "accepted; expected: " << says;
  EXPECT_EQ(p.error().status, 400);
  EXPECT_NE(p.error().detail.find(says), std::string::npos) << p.error().detail;
}

Bytes seed(const char* file) {
  std::ifstream in(std::string(SLUICE_FUZZ_CORPUS) + "/" + file, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

Bytes cat(std::vector<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A bundle of `elements` (already encoded), time tag "immediately".
Bytes bundle_of(const std::vector<Bytes>& elements) {
  Bytes out = bytes_of(std::string_view("#bundle\0\0\0\0\0\0\0\0\x01", 16));
  for (const auto& e : elements)
    out = cat({out, be32(static_cast<std::uint32_t>(e.size())), e});
  return out;
}

// ---------------------------------------------------------------------------------------------
// The codec

TEST(OscMessage, ReadsWhatOscsendSends) {
  auto p = parse_packet(kLight);
  ASSERT_TRUE(p.has_value()) << p.error().detail;
  const auto& m = std::get<OscMessage>(p->content);
  EXPECT_EQ(m.address, "/stage/light/1");
  EXPECT_EQ(m.type_tags(), "f");
  EXPECT_EQ(m.arguments, std::vector<OscArgument>{0.75f});
  EXPECT_EQ(encoded(*p), kLight);

  // oscsend localhost PORT /a/b ifsTF 1 2.5 hello (captured from the wire)
  auto types = parse_messages(seed("osc_types.bin"));
  ASSERT_TRUE(types.has_value()) << types.error().detail;
  ASSERT_EQ(types->size(), 1u);
  EXPECT_EQ((*types)[0].address, "/a/b");
  EXPECT_EQ((*types)[0].arguments,
            (std::vector<OscArgument>{std::int32_t{1}, 2.5f, std::string("hello"), true, false}));
}

TEST(OscMessage, RoundTripsEveryTag) {
  const OscMessage m = every_tag();
  EXPECT_EQ(m.type_tags(), "ifsbhdtTFNIcrmS[i[s]]");
  auto bytes = encode_message(m);
  ASSERT_TRUE(bytes.has_value()) << bytes.error().detail;
  EXPECT_EQ(bytes->size() % 4, 0u);
  auto back = parse_packet(*bytes);
  ASSERT_TRUE(back.has_value()) << back.error().detail;
  EXPECT_EQ(std::get<OscMessage>(back->content), m);
  EXPECT_EQ(encoded(*back), *bytes);  // canonical: what parses writes back the same

  // Each tag alone too, so a mistake in one cannot hide behind another.
  for (const auto& a : m.arguments) {
    if (std::holds_alternative<ArrayBegin>(a) || std::holds_alternative<ArrayEnd>(a)) continue;
    OscMessage one{"/one", {a}};
    auto b = encode_message(one);
    ASSERT_TRUE(b.has_value());
    auto again = parse_messages(*b);
    ASSERT_TRUE(again.has_value()) << type_tag(a) << ": " << again.error().detail;
    EXPECT_EQ(again->at(0), one) << type_tag(a);
  }
}

TEST(OscMessage, WritesTheWireFormat) {
  OscMessage m{"/ab", {std::int32_t{1}, std::string("xyz"), Blob{{9}}, Char{'c'}}};
  const Bytes want = cat({bytes_of(std::string_view("/ab\0,isbc\0\0\0", 12)),
                          be32(1),
                          bytes_of(std::string_view("xyz\0", 4)),
                          be32(1),
                          {9, 0, 0, 0},
                          be32('c')});
  EXPECT_EQ(*encode_message(m), want);
  // An empty string still takes 4 bytes; a 4-byte string takes 8.
  EXPECT_EQ(encode_message({"/a", {std::string()}})->size(), 4u + 4 + 4);
  EXPECT_EQ(encode_message({"/a", {std::string("abcd")}})->size(), 4u + 4 + 8);
}

TEST(OscMessage, ReadsNestedBundlesInOrder) {
  OscBundle inner{
      TimeTag{}, {OscPacket{OscMessage{"/b", {std::int32_t{2}}}}, OscPacket{OscMessage{"/c", {}}}}};
  OscBundle outer{TimeTag{0x0000000100000002ull},
                  {OscPacket{OscMessage{"/a", {1.5f}}}, OscPacket{inner},
                   OscPacket{OscMessage{"/d", {Nil{}}}}}};
  const OscPacket packet{outer};
  const Bytes bytes = encoded(packet);
  auto back = parse_packet(bytes);
  ASSERT_TRUE(back.has_value()) << back.error().detail;
  EXPECT_TRUE(back->is_bundle());
  EXPECT_EQ(*back, packet);
  EXPECT_EQ(std::get<OscBundle>(back->content).time.seconds(), 1u);
  EXPECT_EQ(std::get<OscBundle>(back->content).time.fraction(), 2u);
  std::vector<std::string> order;
  for (const auto& m : messages_of(*back))
    order.push_back(m.address);
  EXPECT_EQ(order, (std::vector<std::string>{"/a", "/b", "/c", "/d"}));

  // The seed: oscsend's datagrams wrapped in two bundles.
  auto seeded = parse_messages(seed("osc_bundle.bin"));
  ASSERT_TRUE(seeded.has_value()) << seeded.error().detail;
  ASSERT_EQ(seeded->size(), 3u);
  EXPECT_EQ((*seeded)[2].address, "/mixer/ch/3");
  EXPECT_EQ((*seeded)[2].type_tags(), "hdScNIm");
  EXPECT_EQ((*seeded)[2].arguments[6], OscArgument(Midi{0, 0x90, 0x3c, 0x7f}));
  // An empty bundle is a bundle.
  auto empty = parse_packet(bundle_of({}));
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(messages_of(*empty).empty());
}

TEST(OscMessage, AcceptsAMessageWithoutTypeTags) {
  auto m = parse_messages(bytes_of(std::string_view("/old\0\0\0\0", 8)));
  ASSERT_TRUE(m.has_value()) << m.error().detail;
  EXPECT_EQ(m->at(0), (OscMessage{"/old", {}}));
}

TEST(OscMessage, RefusesMalformedDatagrams) {
  expect_refused({}, "empty datagram");
  expect_refused(bytes_of("hello..."), "byte 0: neither a message");
  expect_refused(bytes_of("/abc"), "the address is not NUL-terminated");
  expect_refused(bytes_of(std::string_view("/abc\0\0\0", 7)),
                 "padding after the address runs past");
  expect_refused(bytes_of(std::string_view("/a\0x,\0\0\0", 8)), "byte 3: non-zero padding");
  expect_refused(bytes_of(std::string_view("/a\0\0i\0\0\0", 8)),
                 "byte 4: type tag string does not");
  expect_refused(bytes_of(std::string_view("/a\0\0,i\0\0\0\0", 10)),
                 "byte 8: argument 'i' cut short");
  expect_refused(bytes_of(std::string_view("/a\0\0,z\0\0", 8)), "unknown type tag 'z'");
  expect_refused(bytes_of(std::string_view("/a\0\0,\x01\0\0", 8)), "unknown type tag 0x01");
  expect_refused(bytes_of(std::string_view("/a\0\0,s\0\0abcd", 12)),
                 "a string argument is not NUL");
  expect_refused(cat({bytes_of(std::string_view("/a\0\0,b\0\0", 8)), be32(5), {1, 2, 3, 4}}),
                 "blob of 5 bytes runs past the end");
  expect_refused(cat({bytes_of(std::string_view("/a\0\0,b\0\0", 8)), be32(0xFFFFFFFF)}),
                 "blob of -1 bytes");
  expect_refused(cat({bytes_of(std::string_view("/a\0\0,b\0\0", 8)), be32(1), {1, 2, 0, 0}}),
                 "non-zero padding after the blob");
  expect_refused(cat({bytes_of(std::string_view("/a\0\0,i\0\0", 8)), be32(1), be32(2)}),
                 "byte 12: 4 bytes left after the last argument");
  expect_refused(cat({bytes_of(std::string_view("/a\0\0,c\0\0", 8)), be32(256)}), "char 256");
  expect_refused(bytes_of(std::string_view("#bundle\0\0\0\0\0", 12)), "not a bundle");
  expect_refused(bytes_of(std::string_view("#bundlx\0\0\0\0\0\0\0\0\x01", 16)), "not a bundle");
  // Bundle element sizes: not a multiple of 4, zero, past the end, cut short.
  const Bytes light = kLight;
  Bytes b = bundle_of({light});
  b[19] = 23;
  expect_refused(b, "size 23 is not a positive multiple of 4");
  b[19] = 0;
  expect_refused(b, "size 0 is not a positive multiple of 4");
  b[19] = 28;
  expect_refused(b, "size 28 runs past the end");
  expect_refused(cat({bundle_of({light}), {0, 0}}), "byte 44: bundle element size cut short");
  // A message must fill its element exactly.
  expect_refused(bundle_of({cat({light, be32(0)})}), "4 bytes left after the last argument");
  // An element that is neither.
  expect_refused(bundle_of({bytes_of("abcd")}), "byte 20: neither a message");
}

TEST(OscMessage, RefusesUnbalancedOrDeepArrays) {
  expect_refused(bytes_of(std::string_view("/a\0\0,]\0\0", 8)), "']' without a '['");
  expect_refused(bytes_of(std::string_view("/a\0\0,[\0\0", 8)), "'[' without a ']'");
  expect_refused(bytes_of(std::string_view("/a\0\0,[[[[[[[[[]]]]]]]]]\0\0\0\0", 28)),
                 "arrays nested deeper than 8");
  auto eight = parse_packet(bytes_of(std::string_view("/a\0\0,[[[[[[[[]]]]]]]]\0\0\0", 24)));
  EXPECT_TRUE(eight.has_value()) << eight.error().detail;
}

TEST(OscMessage, BoundsDepthCountAndSize) {
  // Bundles nested 8 deep are read; 9 are not.
  Bytes nested = kLight;
  for (int i = 0; i < 8; ++i)
    nested = bundle_of({nested});
  EXPECT_TRUE(parse_packet(nested).has_value());
  expect_refused(bundle_of({nested}), "bundles nested deeper than 8");

  // 1024 elements (the bundle and 1023 messages) are read; 1025 are not.
  const Bytes small = bytes_of(std::string_view("/a\0\0,\0\0\0", 8));
  std::vector<Bytes> many(kMaxElements - 1, small);
  EXPECT_TRUE(parse_packet(bundle_of(many)).has_value());
  many.push_back(small);
  expect_refused(bundle_of(many), "more than 1024 messages and bundles");

  // At most kMaxArguments arguments in a datagram.
  std::string tags = "," + std::string(kMaxArguments + 1, 'N');
  tags.resize((tags.size() + 4) & ~std::size_t{3}, '\0');
  expect_refused(cat({bytes_of(std::string_view("/a\0\0", 4)), bytes_of(tags)}),
                 "more than 8192 arguments");

  // Over kMaxDatagram bytes: refused unread, and not written.
  Bytes huge(kMaxDatagram + 1, 0);
  huge[0] = '/';
  expect_refused(huge, "over 65507");
  OscMessage big{"/big", {Blob{Bytes(kMaxDatagram, 1)}}};
  auto written = encode_message(big);
  ASSERT_FALSE(written.has_value());
  EXPECT_NE(written.error().detail.find("over 65507"), std::string::npos);
}

TEST(OscMessage, RefusesToWriteWhatCannotBeRead) {
  auto says = [](const OscMessage& m, std::string_view what) {
    auto b = encode_message(m);
    ASSERT_FALSE(b.has_value()) << m.address;
    EXPECT_EQ(b.error().status, 400);
    EXPECT_NE(b.error().detail.find(what), std::string::npos) << b.error().detail;
  };
  says({"stage", {}}, "does not begin with '/'");
  says({"", {}}, "does not begin with '/'");
  says({std::string("/a\0b", 4), {}}, "the address holds a NUL");
  says({"/a", {std::string("x\0y", 3)}}, "a string argument holds a NUL");
  says({"/a", {Symbol{std::string("\0", 1)}}}, "a symbol argument holds a NUL");
  says({"/a", {ArrayBegin{}}}, "without its end");
  says({"/a", {ArrayEnd{}}}, "without its beginning");
  OscPacket deep{OscMessage{"/x", {}}};
  for (int i = 0; i < kMaxBundleDepth + 1; ++i)
    deep = OscPacket{OscBundle{TimeTag{}, {deep}}};
  auto b = encode_packet(deep);
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().detail.find("nested deeper"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(OscMapping, MapsAddressesToChannelsAndBack) {
  EXPECT_EQ(*channel_for("/stage/light/1"), "osc.stage.light.1");
  EXPECT_EQ(*address_for("osc.stage.light.1"), "/stage/light/1");
  EXPECT_EQ(*channel_for("/1/fader1"), "osc.1.fader1");
  EXPECT_EQ(*channel_for("/ch/01/mix_fader-L"), "osc.ch.01.mix_fader-L");
  EXPECT_EQ(*channel_for("/x", "studio.osc"), "studio.osc.x");
  EXPECT_EQ(*address_for("studio.osc.a.b", "studio.osc"), "/a/b");
  for (std::string_view a : {"/stage/light/1", "/a", "/A~b/c:d/e@f/g=h+i"}) {
    auto c = channel_for(a);
    ASSERT_TRUE(c.has_value()) << a << ": " << c.error().detail;
    EXPECT_TRUE(hub::is_valid_subject(*c)) << *c;
    EXPECT_EQ(*address_for(*c), a);
  }
}

TEST(OscMapping, RefusesAddressesThatAreNoChannel) {
  auto says = [](std::string_view address, std::string_view what) {
    auto c = channel_for(address);
    ASSERT_FALSE(c.has_value()) << address << " → " << *c;
    EXPECT_EQ(c.error().status, 400);
    EXPECT_NE(c.error().detail.find(what), std::string::npos) << c.error().detail;
  };
  says("stage/light", "does not begin with '/'");
  says("", "does not begin with '/'");
  says("/", "part 1 is empty");
  says("/stage//light", "part 2 is empty");
  says("/stage/light/", "part 3 is empty");
  for (std::string_view p : {"/stage/*", "/stage/light?", "/stage/[12]", "/stage/{a,b}"}) {
    says(p, "an OSC pattern character");
  }
  says("/stage/light.1", "part 2 'light.1' holds '.', which a channel name cannot hold");
  says("/stage/>", "holds '>', which a channel name cannot hold");
  says("/stage/a b", "part 2 'a b' holds a space");
  says("/stage/#1", "part 2 '#1' holds '#', which OSC reserves");
  says("/caf\xc3\xa9", "non-ASCII");
  says("/" + std::string(1100, 'a'), "too long for a channel");
  EXPECT_TRUE(channel_for("/" + std::string(1024 - 4, 'a')).has_value());
  EXPECT_FALSE(channel_for("/" + std::string(1024 - 3, 'a')).has_value());
  EXPECT_FALSE(channel_for("/a", "bad prefix").has_value());
}

TEST(OscMapping, RefusesChannelsThatAreNoAddress) {
  for (std::string_view c : {"osc", "osc.", "other.stage", "oscx.stage", "osc..a", "osc.a.*",
                             "osc.a.b*c", "osc.a.>", "", "osc.a b"}) {
    auto a = address_for(c);
    EXPECT_FALSE(a.has_value()) << c << " → " << *a;
  }
  EXPECT_NE(address_for("other.a").error().detail.find("not an OSC channel"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(OscJson, WritesTheDocumentedShape) {
  auto m = *parse_messages(kLight);
  EXPECT_EQ(to_json_text(m.at(0)), R"({"address":"/stage/light/1","args":[0.75]})");
  // A whole float stays a float; a float reads as its shortest decimal.
  EXPECT_EQ(to_json_text(OscMessage{"/a", {1.0f, 0.1f, std::int32_t{1}}}),
            R"({"address":"/a","args":[1.0,0.1,1]})");
  const auto json = to_json(every_tag());
  const auto want = boost::json::parse(R"({"address": "/every/tag", "args": [
      -7, 0.75, "hello", {"blob": "AQIDBAU="}, 9000000000, 3.25,
      {"timetag": {"seconds": 3924861104, "fraction": 2147483648}}, true, false, null,
      {"impulse": true}, {"char": "A"}, {"rgba": [255, 128, 0, 64]}, {"midi": [0, 144, 60, 127]},
      {"symbol": "sym"}, [1, ["in"]]]})");
  EXPECT_EQ(boost::json::value(json), want);
  // Non-finite numbers become null; bytes that are not UTF-8 become U+FFFD; chars over 127 are
  // Latin-1.
  const auto odd = to_json(
      OscMessage{"/a",
                 {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<double>::infinity(),
                  std::string("a\xff"), Char{0xE9}}});
  EXPECT_EQ(boost::json::value(odd),
            boost::json::parse(R"({"address":"/a","args":[null,null,"a\ufffd",{"char":"é"}]})"));
}

TEST(OscJson, ReadsMessagesToSend) {
  auto m = from_json_text(R"({"address": "/stage/light/1", "args": [0.75]})");
  ASSERT_TRUE(m.has_value()) << m.error().detail;
  EXPECT_EQ(*m, (OscMessage{"/stage/light/1", {0.75f}}));
  EXPECT_EQ(*encode_message(*m), kLight);

  auto typed = from_json_text(R"({"address": "/t", "args": [
      1, 5000000000, 2.5, 1.0, "s", true, false, null, [1, [2]],
      {"int64": 3}, {"double": 0.1}, {"float": 2}, {"symbol": "y"}, {"blob": "AQI="},
      {"char": "é"}, {"impulse": true}, {"rgba": [1, 2, 3, 4]}, {"midi": [0, 144, 60, 1]},
      {"timetag": {"seconds": 0, "fraction": 1}}]})");
  ASSERT_TRUE(typed.has_value()) << typed.error().detail;
  EXPECT_EQ(typed->type_tags(), "ihffsTFN[i[i]]hdfSbcIrmt");
  EXPECT_EQ(typed->arguments[1], OscArgument(std::int64_t{5'000'000'000}));
  EXPECT_EQ(typed->arguments[3], OscArgument(1.0f));  // "1.0" is a float, "1" an integer
  EXPECT_EQ(typed->arguments.back(), OscArgument(TimeTag{TimeTag::kImmediately}));
  EXPECT_EQ(typed->arguments[19], OscArgument(Char{0xE9}));

  // The channel's address when the payload has none; bare arrays and scalars.
  EXPECT_EQ(*from_json_text(R"({"args": [1]})", "/ch/a"), (OscMessage{"/ch/a", {std::int32_t{1}}}));
  EXPECT_EQ(*from_json_text(R"([1, "x"])", "/ch/a"),
            (OscMessage{"/ch/a", {std::int32_t{1}, std::string("x")}}));
  EXPECT_EQ(*from_json_text("0.5", "/ch/a"), (OscMessage{"/ch/a", {0.5f}}));
  EXPECT_EQ(*from_json_text("1e300", "/ch/a"), (OscMessage{"/ch/a", {1e300}}));  // beyond a float
  EXPECT_EQ(*from_json_text(R"({"address": "/mixer/*/mute"})"), (OscMessage{"/mixer/*/mute", {}}));
}

TEST(OscJson, RoundTripsThroughJson) {
  OscMessage m = every_tag();
  m.arguments[4] = std::int64_t{1} << 40;  // an 'h' within 32 bits would come back as 'i'
  m.arguments[5] = 3.25f;                  // a 'd' would come back as 'f'
  auto back = from_json_text(to_json_text(m));
  ASSERT_TRUE(back.has_value()) << back.error().detail;
  EXPECT_EQ(*back, m);

  // Floats at the edges come back as themselves ("3.4028235e+38" is a little over FLT_MAX).
  const OscMessage edges{"/e",
                         {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::denorm_min(), 0.1f}};
  auto edges_back = from_json_text(to_json_text(edges));
  ASSERT_TRUE(edges_back.has_value()) << edges_back.error().detail;
  EXPECT_EQ(*encode_message(*edges_back), *encode_message(edges));
}

TEST(OscJson, RefusesBadShapesNamingTheField) {
  auto says = [](std::string_view text, std::vector<std::string> loc, std::string_view what) {
    auto m = from_json_text(text, "");
    ASSERT_FALSE(m.has_value()) << text;
    EXPECT_EQ(m.error().status, 422);
    ASSERT_EQ(m.error().fields.size(), 1u);
    EXPECT_EQ(m.error().fields[0].loc, loc) << m.error().detail;
    EXPECT_NE(m.error().detail.find(what), std::string::npos) << m.error().detail;
  };
  says("{", {"payload"}, "not JSON");
  says(R"({"args": []})", {"address"}, "missing");
  says("[1]", {"address"}, "missing");
  says(R"({"address": 5})", {"address"}, "should be a string");
  says(R"({"address": "stage"})", {"address"}, "should begin with '/'");
  says(R"({"address": "/a b"})", {"address"}, "printable ASCII");
  says(R"({"address": "/a", "arg": []})", {"arg"}, "unknown field");
  says(R"({"address": "/a", "args": 1})", {"args"}, "should be an array");
  says(R"({"address": "/a", "args": [1, 18446744073709551615]})", {"args", "1"},
       "args[1]: beyond a 64-bit");
  says(R"({"address": "/a", "args": [{"float": 1e300}]})", {"args", "0", "float"},
       "beyond a 32-bit float");
  says(R"({"address": "/a", "args": ["a\u0000"]})", {"args", "0"}, "NUL");
  says(R"({"address": "/a", "args": [{"blob": "!!"}]})", {"args", "0", "blob"}, "base64");
  says(R"({"address": "/a", "args": [{"blob": 1}]})", {"args", "0", "blob"}, "base64 string");
  says(R"({"address": "/a", "args": [{"rgba": [1, 2, 3]}]})", {"args", "0", "rgba"}, "4 integers");
  says(R"({"address": "/a", "args": [{"midi": [1, 2, 3, 256]}]})", {"args", "0", "midi", "3"},
       "0..255");
  says(R"({"address": "/a", "args": [{"char": "ab"}]})", {"args", "0", "char"}, "one character");
  says(R"({"address": "/a", "args": [{"char": "€"}]})", {"args", "0", "char"}, "one character");
  says(R"({"address": "/a", "args": [{"impulse": 1}]})", {"args", "0", "impulse"}, "true");
  says(R"({"address": "/a", "args": [{"int64": 1.5}]})", {"args", "0", "int64"}, "integer");
  says(R"({"address": "/a", "args": [{"timetag": {"seconds": 1}}]})", {"args", "0", "timetag"},
       "seconds");
  says(R"({"address": "/a", "args": [{"timetag": {"seconds": -1, "fraction": 0}}]})",
       {"args", "0", "timetag", "seconds"}, "0..4294967295");
  says(R"({"address": "/a", "args": [{"nope": 1}]})", {"args", "0", "nope"},
       "unknown argument type");
  says(R"({"address": "/a", "args": [{"a": 1, "b": 2}]})", {"args", "0"}, "exactly one key");
  says(R"({"address": "/a", "args": [[[[[[[[[[1]]]]]]]]]]})",
       {"args", "0", "0", "0", "0", "0", "0", "0", "0", "0"}, "nested deeper than 8");
  EXPECT_TRUE(from_json_text(R"({"address": "/a", "args": [[[[[[[[[1]]]]]]]]]})").has_value());
  std::string many = R"({"address": "/a", "args": [)";
  for (std::size_t i = 0; i <= kMaxArguments; ++i)
    many += i ? ",1" : "1";
  says(many + "]}", {"args"}, "more than 8192 arguments");
}

// ---------------------------------------------------------------------------------------------
// Channels

TEST(OscMapping, MakesChannelMessagesInEitherForm) {
  const OscMessage m = parse_messages(kLight)->at(0);
  auto json = to_channel_message(m, PayloadForm::json);
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ(*json,
            (ChannelMessage{"osc.stage.light.1", R"({"address":"/stage/light/1","args":[0.75]})"}));
  auto raw = to_channel_message(m, PayloadForm::raw);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->channel, "osc.stage.light.1");
  EXPECT_EQ(bytes_of(raw->payload), kLight);  // the datagram as it came
  EXPECT_FALSE(to_channel_message(OscMessage{"/a/*", {}}, PayloadForm::json).has_value());
  EXPECT_EQ(*parse_payload_form("raw"), PayloadForm::raw);
  EXPECT_EQ(*parse_payload_form("json"), PayloadForm::json);
  EXPECT_FALSE(parse_payload_form("xml").has_value());
}

TEST(OscMapping, MakesDatagramsFromChannelPayloads) {
  EXPECT_EQ(*datagram_for("osc.stage.light.1", "0.75", PayloadForm::json), kLight);
  EXPECT_EQ(*datagram_for("osc.stage.light.1", R"({"args": [0.75]})", PayloadForm::json), kLight);
  EXPECT_EQ(
      *datagram_for("osc.x", R"({"address": "/stage/light/1", "args": [0.75]})", PayloadForm::json),
      kLight);
  // A channel that names no address can still send a payload that does.
  EXPECT_EQ(*datagram_for("lights", R"({"address": "/stage/light/1", "args": [0.75]})",
                          PayloadForm::json),
            kLight);
  EXPECT_EQ(datagram_for("lights", "[0.75]", PayloadForm::json).error().status, 422);
  const std::string raw(kLight.begin(), kLight.end());
  EXPECT_EQ(*datagram_for("osc.any", raw, PayloadForm::raw), kLight);
  auto bad = datagram_for("osc.any", "not osc", PayloadForm::raw);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().status, 400);
}

// ---------------------------------------------------------------------------------------------
// Sources

MonoTime at(double seconds) {
  return MonoTime(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)));
}

TEST(OscSources, RateWindowCountsPerSecond) {
  RateWindow w(3);
  EXPECT_TRUE(w.take(at(0)));
  EXPECT_TRUE(w.take(at(0.1)));
  EXPECT_TRUE(w.take(at(0.2)));
  EXPECT_FALSE(w.take(at(0.9)));
  EXPECT_TRUE(w.take(at(1.0)));  // a new window
  RateWindow none(0);
  EXPECT_FALSE(none.take(at(0)));
}

TEST(OscSources, AppearOnceAndExpireAfterSilence) {
  SourceTable t(SourceLimits{256, std::chrono::seconds(30), 100});
  auto first = t.record("10.0.0.1:5000", 24, at(0));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->sender, "10.0.0.1:5000");
  EXPECT_FALSE(t.record("10.0.0.1:5000", 16, at(10)).has_value());  // already there
  EXPECT_TRUE(t.record("10.0.0.2:5000", 8, at(20)).has_value());
  EXPECT_TRUE(t.expire(at(39.9)).empty());
  auto gone = t.expire(at(40));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].sender, "10.0.0.1:5000");
  EXPECT_EQ(gone[0].datagrams, 2u);
  EXPECT_EQ(gone[0].bytes, 40u);
  EXPECT_EQ(gone[0].last_seen, at(10));
  EXPECT_FALSE(t.tracks("10.0.0.1:5000"));
  EXPECT_EQ(t.clear().size(), 1u);
  EXPECT_EQ(t.size(), 0u);
  // A sender that comes back after it expired appears again.
  EXPECT_TRUE(t.record("10.0.0.1:5000", 8, at(50)).has_value());
}

TEST(OscSources, BoundsTrackedSendersAndTheirRates) {
  SourceTable t(SourceLimits{2, std::chrono::seconds(30), 2});
  EXPECT_TRUE(t.record("a:1", 4, at(0)).has_value());
  EXPECT_TRUE(t.record("b:1", 4, at(0)).has_value());
  EXPECT_FALSE(t.record("c:1", 4, at(0)).has_value());  // full: not tracked
  EXPECT_FALSE(t.tracks("c:1"));
  // Each tracked sender has its own window; untracked ones share one.
  EXPECT_TRUE(t.admit("a:1", at(1)));
  EXPECT_TRUE(t.admit("a:1", at(1)));
  EXPECT_FALSE(t.admit("a:1", at(1.5)));
  EXPECT_TRUE(t.admit("b:1", at(1.5)));
  EXPECT_TRUE(t.admit("c:1", at(1)));
  EXPECT_TRUE(t.admit("d:1", at(1)));
  EXPECT_FALSE(t.admit("e:1", at(1)));
  // When a place frees, the next untracked sender takes it.
  t.record("a:1", 4, at(20));
  EXPECT_EQ(t.expire(at(30)).size(), 1u);  // b:1
  EXPECT_TRUE(t.record("c:1", 4, at(31)).has_value());
}

TEST(OscServer, ParsesHostPort) {
  EXPECT_EQ(*parse_host_port("0.0.0.0:9000"), (HostPort{"0.0.0.0", 9000}));
  EXPECT_EQ(*parse_host_port("localhost:0"), (HostPort{"localhost", 0}));
  EXPECT_EQ(*parse_host_port(":57120"), (HostPort{"", 57120}));
  EXPECT_EQ(*parse_host_port("[::1]:9000"), (HostPort{"::1", 9000}));
  for (std::string_view bad : {"9000", "host:", "host:x", "host:65536", "::1:9000", "[::1:9000",
                               "[::1]9000", "host:-1", "host:9000 "}) {
    EXPECT_FALSE(parse_host_port(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sluice::osc
