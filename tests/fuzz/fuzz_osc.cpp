// OSC from the network (what reaches the --osc UDP port), and JSON from channels (what is sent
// out as OSC): parse_packet() never reads outside the datagram; what it accepts writes back
// byte for byte (or, for messages without a type tag string, a little longer) and parses back to
// the same bytes; every message becomes JSON that from_json reads back into a message that
// encodes, and maps to a channel that maps back to its address. The same bytes read as a JSON
// payload either are refused or give a message that encodes and parses back equal.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hub/subject.hpp"
#include "osc/osc_mapping.hpp"
#include "osc/osc_message.hpp"

namespace {

using namespace sluice::osc;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return false;
    }
  }
  return true;
}

void check_message(const OscMessage& m) {
  const std::string text = to_json_text(m);
  check(!text.empty());
  if (printable_ascii(m.address)) {
    auto back = from_json_text(text);
    check(back.has_value());
    check(back->address == m.address);
    // Only size can stop it: bytes that are not UTF-8 come back as three-byte U+FFFD.
    auto encoded = encode_message(*back);
    check(encoded.has_value() || encoded.error().detail.find("over") != std::string::npos);
  }
  if (auto channel = channel_for(m.address)) {
    check(sluice::hub::is_valid_subject(*channel));
    auto address = address_for(*channel);
    check(address.has_value() && *address == m.address);
    auto raw = to_channel_message(m, PayloadForm::raw);
    check(raw.has_value());
    check(datagram_for(*channel, raw->payload, PayloadForm::raw).has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  if (auto packet = parse_packet(bytes)) {
    check(size <= kMaxDatagram);
    auto written = encode_packet(*packet);
    check(written.has_value());
    // Canonical: the same bytes, unless messages without type tags gained their ",".
    check(written->size() >= size);
    check((written->size() == size) ==
          std::equal(written->begin(), written->end(), bytes.begin(), bytes.end()));
    auto again = parse_packet(*written);
    check(again.has_value());
    auto rewritten = encode_packet(*again);
    check(rewritten.has_value() && *rewritten == *written);
    for (const auto& m : messages_of(std::move(*packet)))
      check_message(m);
  }

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto m = from_json_text(text, "/fuzz/in")) {
    if (auto b = encode_message(*m)) {
      auto back = parse_messages(*b);
      check(back.has_value() && back->size() == 1 && back->front() == *m);
    }
  }
  return 0;
}
