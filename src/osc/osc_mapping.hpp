#pragma once
// How OSC meets sluice's relay channels, sans I/O.
//
// Names. An OSC address maps to a channel under a prefix ("osc" unless configured):
// `/stage/light/1` ↔ `osc.stage.light.1`. Each address part becomes one subject token, so a part
// may hold printable ASCII except '.', '>' (the channel separator and wildcard) and what OSC
// reserves: space # * , / ? [ ] { }. Incoming addresses with OSC pattern characters are refused:
// patterns are for dispatching inside a receiver, not names of what a sender sends. The channel
// must pass hub::is_valid_subject (at most 1024 bytes).
//
// JSON. An OSC message on a channel is, by default, the JSON object
//   {"address": "/stage/light/1", "args": [0.75]}
// with each argument written as:
//   i, h  integer                     T, F  true, false
//   f, d  number (NaN, ±inf: null)    N     null
//   s     string (bytes that are not UTF-8 become U+FFFD)
//   S     {"symbol": "name"}          I     {"impulse": true}
//   b     {"blob": "<base64>"}        c     {"char": "A"} (one character, U+0000..U+00FF)
//   t     {"timetag": {"seconds": s, "fraction": f}} (NTP; seconds 0, fraction 1: immediately)
//   r     {"rgba": [r, g, b, a]}      m     {"midi": [port, status, data1, data2]}
//   [ … ] a JSON array of the arguments between the marks
// to_json_text() writes floats so that they read back as floats ("1.0", never "1").
//
// from_json() reads that shape back for sending a channel out as OSC: integers become 'i' (or
// 'h' beyond 32 bits), other numbers 'f' (or 'd' beyond a float's range), strings 's',
// true/false 'T'/'F', null 'N', arrays '['…']', and the one-key objects above their types;
// {"int64": n}, {"double": x} and {"float": x} force 'h', 'd' and 'f'. So to_json → from_json
// gives back the message, except that an 'h' within 32 bits returns as 'i', a 'd' within a
// float's range as 'f', a non-finite number as 'N', and -0.0 as 0.0 (sluice's JSON writer drops
// the sign of zero).
//
// Raw. A channel may instead carry the OSC bytes themselves (PayloadForm::raw): for a datagram
// holding one message that is the datagram as it came (parse_packet() accepts only the
// canonical encoding); a bundle's messages go each to its own channel, each as its own encoding.
//
// Thread-safe: pure functions.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "osc/osc_message.hpp"

namespace sluice::osc {

inline constexpr std::string_view kDefaultChannelPrefix = "osc";

// `/stage/light/1` → `<prefix>.stage.light.1`. 400 naming the part and the reason for an address
// that does not begin with '/', has an empty part (`//`, a trailing '/'), a pattern character, a
// character a channel token cannot hold, or a channel over 1024 bytes; 400 for a prefix that is
// not a valid subject.
Result<std::string> channel_for(std::string_view address,
                                std::string_view prefix = kDefaultChannelPrefix);
// The reverse: `<prefix>.stage.light.1` → `/stage/light/1`. 400 for a channel that is not a valid
// subject, is not under the prefix (or is the prefix alone), or has a token an address part
// cannot hold.
Result<std::string> address_for(std::string_view channel,
                                std::string_view prefix = kDefaultChannelPrefix);

// The message as the JSON object described above.
boost::json::object to_json(const OscMessage& message);
// Its text, floats written with a fraction (DoubleStyle::kKeepKind) so they stay floats.
std::string to_json_text(const OscMessage& message);

// A message to send, from JSON: an object {"address": "/…", "args": […]} (no other keys; "args"
// may be left out for no arguments; "address" may be left out when `default_address` is given),
// or, at `default_address`, a bare array (the arguments) or a bare scalar (the one argument).
// 422 naming the field (loc {"address"}, {"args", "2"}, {"args", "2", "blob"}, …) for a wrong
// shape or type, an address that is not '/' followed by printable ASCII (patterns are allowed
// here), an integer beyond 64 bits, a {"float": x} beyond a float, a string
// holding NUL, a byte out of 0..255, non-canonical base64, arrays nested deeper than
// kMaxArrayDepth or more than kMaxArguments arguments.
Result<OscMessage> from_json(const boost::json::value& json, std::string_view default_address = {});
// The same from text; 422 when it is not JSON.
Result<OscMessage> from_json_text(std::string_view text, std::string_view default_address = {});

// What a channel carries for OSC: the JSON object (default) or the OSC bytes.
enum class PayloadForm { json, raw };
// "json" or "raw"; 400 otherwise.
Result<PayloadForm> parse_payload_form(std::string_view name);

struct ChannelMessage {
  std::string channel;
  std::string payload;  // JSON text, or OSC bytes
  bool operator==(const ChannelMessage&) const = default;
};

// An OSC message received, as what to publish: channel_for(address) and the payload in `form`.
// 400 from channel_for.
Result<ChannelMessage> to_channel_message(const OscMessage& message, PayloadForm form,
                                          std::string_view prefix = kDefaultChannelPrefix);

// A channel's payload, as the datagram to send out. json: from_json_text with the channel's
// address (address_for) as the default, then encoded; raw: the payload itself, which must be an
// OSC packet parse_packet() accepts. 400/422 naming what is wrong.
Result<std::vector<std::uint8_t>> datagram_for(std::string_view channel, std::string_view payload,
                                               PayloadForm form,
                                               std::string_view prefix = kDefaultChannelPrefix);

}  // namespace sluice::osc
