#include "osc/osc_mapping.hpp"

#include "hub/subject.hpp"

// Names (address ↔ channel) and payload forms; the JSON form itself is in osc_json.cpp.
namespace sluice::osc {
namespace {

constexpr std::size_t kMaxChannelBytes = 1024;  // hub::is_valid_subject's bound

bool is_pattern_char(char c) {
  return c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}';
}

// Why `c` cannot stand in an address part that is also a channel token; empty when it can.
std::string refusal_of(char c) {
  const auto u = static_cast<unsigned char>(c);
  const std::string holds = std::string("holds '") + c + "', ";
  if (is_pattern_char(c)) {
    return holds +
           "an OSC pattern character (patterns dispatch inside a receiver; a sent address names "
           "one thing)";
  }
  if (u <= 0x20 || u >= 0x7f) return "holds a space, a control character or a non-ASCII byte";
  if (c == '.' || c == '>')
    return holds + "which a channel name cannot hold (separator or wildcard)";
  if (c == '#' || c == ',' || c == '/') return holds + "which OSC reserves";
  return {};
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kShown = 80;
  std::string out = "'";
  for (char c : s.substr(0, kShown)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out + (s.size() > kShown ? "…'" : "'");
}

Status check_prefix(std::string_view prefix) {
  if (!hub::is_valid_subject(prefix)) {
    return fail(Error::bad_request("OSC channel prefix " + quoted(prefix) +
                                   " is not a valid channel name"));
  }
  return {};
}

// Each part of `parts` (split at `separator`) non-empty and free of refused characters.
Status check_parts(std::string_view whole, std::string_view parts, char separator,
                   std::string_view what) {
  std::size_t index = 1, start = 0;
  for (;;) {
    const std::size_t end = std::min(parts.find(separator, start), parts.size());
    const std::string_view part = parts.substr(start, end - start);
    const std::string prefix =
        std::string(what) + " " + quoted(whole) + ": part " + std::to_string(index) + " ";
    if (part.empty()) return fail(Error::bad_request(prefix + "is empty"));
    for (char c : part) {
      if (auto why = refusal_of(c); !why.empty()) {
        return fail(Error::bad_request(prefix + quoted(part) + " " + why));
      }
    }
    if (end == parts.size()) return {};
    start = end + 1;
    ++index;
  }
}

}  // namespace

Result<std::string> channel_for(std::string_view address, std::string_view prefix) {
  if (auto ok = check_prefix(prefix); !ok) return std::unexpected(std::move(ok.error()));
  if (address.empty() || address[0] != '/') {
    return fail(Error::bad_request("OSC address " + quoted(address) + " does not begin with '/'"));
  }
  if (prefix.size() + address.size() > kMaxChannelBytes) {
    return fail(Error::bad_request("OSC address " + quoted(address) +
                                   " is too long for a channel (" +
                                   std::to_string(prefix.size() + address.size()) +
                                   " bytes, over " + std::to_string(kMaxChannelBytes) + ")"));
  }
  const std::string_view parts = address.substr(1);
  if (auto ok = check_parts(address, parts, '/', "OSC address"); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  std::string channel(prefix);
  channel += '.';
  for (char c : parts)
    channel += c == '/' ? '.' : c;
  if (!hub::is_valid_subject(channel)) {  // not expected after the checks above
    return fail(Error::bad_request("OSC address " + quoted(address) + " gives no valid channel"));
  }
  return channel;
}

Result<std::string> address_for(std::string_view channel, std::string_view prefix) {
  if (auto ok = check_prefix(prefix); !ok) return std::unexpected(std::move(ok.error()));
  if (!hub::is_valid_subject(channel)) {
    return fail(Error::bad_request("channel " + quoted(channel) + " is not a valid channel name"));
  }
  if (channel.size() <= prefix.size() + 1 || channel.substr(0, prefix.size()) != prefix ||
      channel[prefix.size()] != '.') {
    return fail(Error::bad_request("channel " + quoted(channel) + " is not an OSC channel (" +
                                   std::string(prefix) + ".…)"));
  }
  const std::string_view tokens = channel.substr(prefix.size() + 1);
  if (auto ok = check_parts(channel, tokens, '.', "channel"); !ok) {
    return std::unexpected(std::move(ok.error()));
  }
  std::string address = "/";
  for (char c : tokens)
    address += c == '.' ? '/' : c;
  return address;
}

Result<PayloadForm> parse_payload_form(std::string_view name) {
  if (name == "json") return PayloadForm::json;
  if (name == "raw") return PayloadForm::raw;
  return fail(Error::bad_request("OSC payload form " + quoted(name) + " is neither json nor raw"));
}

Result<ChannelMessage> to_channel_message(const OscMessage& message, PayloadForm form,
                                          std::string_view prefix) {
  auto channel = channel_for(message.address, prefix);
  if (!channel) return std::unexpected(std::move(channel.error()));
  if (form == PayloadForm::json) return ChannelMessage{std::move(*channel), to_json_text(message)};
  auto bytes = encode_message(message);
  if (!bytes) return std::unexpected(std::move(bytes.error()));
  return ChannelMessage{std::move(*channel), std::string(bytes->begin(), bytes->end())};
}

Result<std::vector<std::uint8_t>> datagram_for(std::string_view channel, std::string_view payload,
                                               PayloadForm form, std::string_view prefix) {
  if (form == PayloadForm::raw) {
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(payload.data()),
                                              payload.size());
    if (auto packet = parse_packet(bytes); !packet) {
      return std::unexpected(std::move(packet.error()));
    }
    return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
  }
  // A channel with no address of its own can still send with an address in its payload.
  const std::string address = address_for(channel, prefix).value_or(std::string());
  auto message = from_json_text(payload, address);
  if (!message) return std::unexpected(std::move(message.error()));
  return encode_message(*message);
}

}  // namespace sluice::osc
