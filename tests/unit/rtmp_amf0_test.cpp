// AMF0 codec: round trips of every supported type, a real connect command, and the error paths
// (truncation at every length, depth bombs, unsupported markers).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "media/protocols/rtmp/amf0.hpp"

namespace {

using namespace sluice::rtmp::amf0;

std::span<const std::uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Value round_trip(const Value& v) {
  std::string out;
  encode(v, out);
  std::size_t used = 0;
  auto back = decode_one(as_bytes(out), &used);
  EXPECT_TRUE(back.has_value()) << (back ? "" : back.error().detail);
  EXPECT_EQ(used, out.size());
  return back ? *back : Value::undefined();
}

Value connect_object() {
  return Value::object({
      {"app", Value::str("live")},
      {"type", Value::str("nonprivate")},
      {"flashVer", Value::str("FMLE/3.0 (compatible; FMSc/1.0)")},
      {"swfUrl", Value::str("rtmp://127.0.0.1/live")},
      {"tcUrl", Value::str("rtmp://127.0.0.1/live")},
      {"fpad", Value::boolean_value(false)},
      {"capabilities", Value::num(239)},
      {"audioCodecs", Value::num(3575)},
      {"videoCodecs", Value::num(252)},
      {"videoFunction", Value::num(1)},
  });
}

TEST(Amf0, ScalarsRoundTrip) {
  for (double d : {0.0, -0.0, 1.0, -2.5, 1e300, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_EQ(round_trip(Value::num(d)), Value::num(d));
  }
  EXPECT_EQ(round_trip(Value::boolean_value(true)), Value::boolean_value(true));
  EXPECT_EQ(round_trip(Value::boolean_value(false)), Value::boolean_value(false));
  EXPECT_EQ(round_trip(Value::str("")), Value::str(""));
  EXPECT_EQ(round_trip(Value::str("héllo")), Value::str("héllo"));
  EXPECT_EQ(round_trip(Value::null()).type, Marker::kNull);
  EXPECT_EQ(round_trip(Value::undefined()).type, Marker::kUndefined);
  EXPECT_EQ(round_trip(Value::date(1.7e12, -60)), Value::date(1.7e12, -60));
  EXPECT_EQ(round_trip(Value::long_str("short but long")), Value::long_str("short but long"));
}

TEST(Amf0, StringAbove64KiBBecomesLongString) {
  std::string big(70000, 'x');
  Value back = round_trip(Value::str(big));
  EXPECT_EQ(back.type, Marker::kLongString);
  EXPECT_EQ(back.string, big);
}

TEST(Amf0, NestedContainersRoundTrip) {
  Value v = Value::object({
      {"name", Value::str("stream")},
      {"meta", Value::ecma_array({{"width", Value::num(1920)},
                                  {"height", Value::num(1080)},
                                  {"inner", Value::object({{"x", Value::null()}})}})},
      {"list", Value::strict_array({Value::num(1), Value::str("two"),
                                    Value::strict_array({Value::boolean_value(true)}),
                                    Value::undefined()})},
      {"", Value::str("empty key is legal")},
      {"when", Value::date(0)},
  });
  Value back = round_trip(v);
  EXPECT_EQ(back, v);
  ASSERT_NE(back.find("meta"), nullptr);
  EXPECT_EQ(back.find("meta")->ecma_count, 3u);
  EXPECT_EQ(back.find("meta")->find("width")->number, 1920);
  EXPECT_EQ(back.find("missing"), nullptr);
}

TEST(Amf0, ConnectCommandRoundTrip) {
  std::vector<Value> cmd = {Value::str("connect"), Value::num(1.0), connect_object()};
  std::string body = encode(cmd);
  auto back = decode_all(as_bytes(body));
  ASSERT_TRUE(back.has_value()) << back.error().detail;
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].string, "connect");
  EXPECT_EQ((*back)[1].number, 1.0);
  EXPECT_EQ((*back)[2].find("app")->string, "live");
  EXPECT_EQ((*back)[2].find("tcUrl")->string, "rtmp://127.0.0.1/live");
  EXPECT_EQ(*back, cmd);
  EXPECT_EQ(encode(*back), body);
}

TEST(Amf0, EmptyInputDecodesToNothing) {
  auto all = decode_all({});
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->empty());
  EXPECT_FALSE(decode_one({}).has_value());
}

TEST(Amf0, EveryTruncationIsAnError) {
  Value v = Value::object({{"cmd", connect_object()},
                           {"arr", Value::strict_array({Value::num(1), Value::long_str("ls")})},
                           {"ecma", Value::ecma_array({{"k", Value::date(5, 1)}})}});
  std::string full;
  encode(v, full);
  for (std::size_t len = 0; len < full.size(); ++len) {
    std::string prefix = full.substr(0, len);
    auto one = decode_one(as_bytes(prefix));
    ASSERT_FALSE(one.has_value()) << "prefix " << len;
    EXPECT_EQ(one.error().status, 400);
    EXPECT_NE(one.error().detail.find("offset"), std::string::npos) << one.error().detail;
    if (len > 0) {
      EXPECT_FALSE(decode_all(as_bytes(prefix)).has_value()) << "prefix " << len;
    }
  }
}

TEST(Amf0, DepthBombIsAnError) {
  std::string bomb;
  for (int i = 0; i < 10000; ++i)
    bomb += std::string("\x0a\x00\x00\x00\x01", 5);  // strict array of 1, nested
  auto r = decode_one(as_bytes(bomb));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().detail.find("nesting"), std::string::npos) << r.error().detail;

  std::string objects;
  for (int i = 0; i < 100; ++i)
    objects += std::string("\x03\x00\x01k", 4);
  EXPECT_FALSE(decode_one(as_bytes(objects)).has_value());

  // Exactly at the limit is fine.
  Value v = Value::null();
  for (int i = 0; i < kMaxDepth; ++i)
    v = Value::strict_array({v});
  EXPECT_EQ(round_trip(v), v);
  v = Value::strict_array({v});
  std::string out;
  encode(v, out);
  EXPECT_FALSE(decode_one(as_bytes(out)).has_value());
}

TEST(Amf0, UnsupportedMarkersAreErrors) {
  for (std::uint8_t m : {0x04, 0x07, 0x09, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0xff}) {
    std::string in(1, static_cast<char>(m));
    in += std::string(16, '\0');
    auto r = decode_one(as_bytes(in));
    ASSERT_FALSE(r.has_value()) << int(m);
    EXPECT_EQ(r.error().status, 400);
    EXPECT_NE(r.error().detail.find("offset 0"), std::string::npos) << r.error().detail;
  }
  // Inside an object, the offset points at the bad marker.
  std::string in("\x03\x00\x01k\x07\x00\x01", 7);
  auto r = decode_one(as_bytes(in));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().detail.find("offset 4"), std::string::npos) << r.error().detail;
}

TEST(Amf0, LengthsBeyondInputAreErrors) {
  std::string s(
      "\x02\xff\xff"
      "abc",
      6);
  EXPECT_FALSE(decode_one(as_bytes(s)).has_value());
  std::string ls(
      "\x0c\xff\xff\xff\xff"
      "abc",
      8);
  EXPECT_FALSE(decode_one(as_bytes(ls)).has_value());
  std::string arr("\x0a\xff\xff\xff\xff\x05", 6);  // claims 4 billion items
  auto r = decode_one(as_bytes(arr));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().detail.find("strict array"), std::string::npos);
}

}  // namespace
