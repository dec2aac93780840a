#pragma once
// JSON text as sluice writes it. Boost.JSON's serializer (1.81) writes every double in
// scientific notation — `5E0`, `9.6E-1` — which is valid but reads badly in an API answer, an
// event or a log. These functions write the same JSON with numbers in their shortest round-trip
// form (std::to_chars): `5`, `0.96`, `1e+20`. Strings, integers, booleans and null are written
// exactly as Boost.JSON writes them; non-finite doubles (which JSON cannot hold) become `null`.
//
// Use to_json_text wherever sluice writes JSON (HTTP bodies, SSE, /ws, events, the CLI);
// use DoubleStyle::kKeepKind where the text is stored and read back into a boost::json::value
// (the Redis records, session history), so a double comes back as a double.
//
// Thread-safe: pure functions.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace sluice {

enum class DoubleStyle {
  // Shortest text that reads back as the same number; whole numbers below 1e15 without a
  // fraction or exponent: 5, 0.96, -2.5, 1e+20.
  kShortest,
  // As kShortest, but a whole number keeps a fraction (5.0) so that parsing the text gives a
  // double again, not an integer. For storage codecs.
  kKeepKind,
};

std::string to_json_text(const boost::json::value& v, DoubleStyle style = DoubleStyle::kShortest);
std::string to_json_text(const boost::json::object& o, DoubleStyle style = DoubleStyle::kShortest);
std::string to_json_text(const boost::json::array& a, DoubleStyle style = DoubleStyle::kShortest);
// A JSON string literal: quotes and escapes added. `s` is expected to be UTF-8; its bytes are
// copied through (as Boost.JSON does).
std::string to_json_text(std::string_view s);
inline std::string to_json_text(const boost::json::string& s) {
  return to_json_text(std::string_view(s));
}
inline std::string to_json_text(const char* s) {
  return to_json_text(std::string_view(s));
}

// Appends the text of `v` to `out`.
void append_json_text(std::string& out, const boost::json::value& v,
                      DoubleStyle style = DoubleStyle::kShortest);
// Appends one number as to_json_text writes it.
void append_json_number(std::string& out, double d, DoubleStyle style = DoubleStyle::kShortest);

}  // namespace sluice
