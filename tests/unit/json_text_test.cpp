// to_json_text: numbers in their shortest round-trip form (not Boost.JSON's 5E0), everything else
// exactly as Boost.JSON writes it, and a storage style that keeps a double a double.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/json_text.hpp"

namespace sluice {
namespace {

namespace json = boost::json;

std::string number(double d, DoubleStyle style = DoubleStyle::kShortest) {
  return to_json_text(json::value(d), style);
}

TEST(JsonText, DoublesAreWrittenShortestWithoutNeedlessExponents) {
  EXPECT_EQ(number(5.0), "5");      // Boost.JSON: 5E0
  EXPECT_EQ(number(0.96), "0.96");  // Boost.JSON: 9.6E-1
  EXPECT_EQ(number(-2.5), "-2.5");
  EXPECT_EQ(number(29.97), "29.97");
  EXPECT_EQ(number(0.1 + 0.2), "0.30000000000000004");  // round-trips: not 0.3
  EXPECT_EQ(number(1000000.0), "1000000");              // not 1e+06
  EXPECT_EQ(number(-0.0), "0");
  EXPECT_EQ(number(1e20), "1e+20");
  EXPECT_EQ(number(1.5e-7), "1.5e-07");
  EXPECT_EQ(number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(number(std::nan("")), "null");
}

TEST(JsonText, EveryFiniteDoubleReadsBackAsTheSameNumber) {
  for (double d : {5.0, 0.96, 1.0 / 3, 123456.789, 1e15, 1e-300, 1.7976931348623157e308, -4.9e-324,
                   9007199254740993.0, 0.1 + 0.2}) {
    for (auto style : {DoubleStyle::kShortest, DoubleStyle::kKeepKind}) {
      const std::string text = number(d, style);
      EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
    }
  }
}

TEST(JsonText, KeepKindWritesWholeDoublesSoTheyParseAsDoubles) {
  EXPECT_EQ(number(5.0, DoubleStyle::kKeepKind), "5.0");
  EXPECT_EQ(number(0.96, DoubleStyle::kKeepKind), "0.96");
  EXPECT_EQ(number(1e20, DoubleStyle::kKeepKind), "1e+20");
  EXPECT_EQ(number(1234567890123456.0, DoubleStyle::kKeepKind), "1234567890123456.0");
  const json::value v = json::parse(R"({"fps":30.0,"gain":0.5,"n":3,"list":[1.0,2]})");
  EXPECT_EQ(json::parse(to_json_text(v, DoubleStyle::kKeepKind)), v);  // kinds too
  EXPECT_EQ(to_json_text(v), R"({"fps":30,"gain":0.5,"n":3,"list":[1,2]})");
}

TEST(JsonText, EverythingButDoublesIsWrittenAsBoostJsonWritesIt) {
  const json::value v = json::parse(
      R"({"s":"quote \" backslash \\ tab \t nl \n ctl \u0001 \u001f del \u007f é ✓ /","i":-9223372036854775808,
          "u":18446744073709551615,"t":true,"f":false,"n":null,"a":[],"o":{},"nested":[{"k":[1,"x",null]}]})");
  EXPECT_EQ(to_json_text(v), json::serialize(v));
  EXPECT_EQ(to_json_text(v.as_object()), json::serialize(v));
  EXPECT_EQ(to_json_text(v.at("nested").as_array()), json::serialize(v.at("nested")));
  EXPECT_EQ(to_json_text(std::string_view("a\"b\x02")), R"("a\"b\u0002")");
}

}  // namespace
}  // namespace sluice
