#include "media/protocols/rtsp/rtsp_transport.hpp"

#include <charconv>
#include <cstdio>

#include "media/protocols/rtsp/rtsp_message.hpp"

namespace sluice::media::rtsp {
namespace {

// Trimmed, and without surrounding quotes (mode="PLAY").
std::string_view trim(std::string_view s) {
  s = text::trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::optional<int> number(std::string_view s, int max) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

// "a-b" or "a" (then b = a + 1).
std::optional<std::pair<int, int>> range(std::string_view s, int max) {
  const auto dash = s.find('-');
  auto a = number(s.substr(0, dash), max);
  if (!a) return std::nullopt;
  if (dash == std::string_view::npos) return std::pair{*a, std::min(*a + 1, max)};
  auto b = number(s.substr(dash + 1), max);
  if (!b) return std::nullopt;
  return std::pair{*a, *b};
}

std::optional<Transport> parse_one(std::string_view spec) {
  Transport t;
  bool first = true;
  while (!spec.empty()) {
    const auto semi = spec.find(';');
    const std::string_view item = trim(spec.substr(0, semi));
    spec.remove_prefix(semi == std::string_view::npos ? spec.size() : semi + 1);
    if (first) {
      first = false;
      if (iequals(item, "RTP/AVP") || iequals(item, "RTP/AVP/UDP")) {
        t.lower = Transport::Lower::kUdp;
      } else if (iequals(item, "RTP/AVP/TCP")) {
        t.lower = Transport::Lower::kTcp;
      } else {
        return std::nullopt;
      }
      continue;
    }
    const auto eq = item.find('=');
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? "" : trim(item.substr(eq + 1));
    if (iequals(key, "multicast")) {
      t.multicast = true;
    } else if (iequals(key, "interleaved")) {
      if (!(t.interleaved = range(value, 255))) return std::nullopt;
    } else if (iequals(key, "client_port")) {
      if (!(t.client_port = range(value, 65535))) return std::nullopt;
    } else if (iequals(key, "server_port")) {
      if (!(t.server_port = range(value, 65535))) return std::nullopt;
    } else if (iequals(key, "mode")) {
      t.record = iequals(value, "record") || iequals(value, "receive");
    } else if (iequals(key, "ssrc")) {
      std::uint32_t v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v, 16);
      if (ec == std::errc{} && p == value.data() + value.size()) t.ssrc = v;
    }
  }
  return t;
}

}  // namespace

std::string Transport::to_string() const {
  std::string out = lower == Lower::kTcp ? "RTP/AVP/TCP" : "RTP/AVP";
  out += multicast ? ";multicast" : ";unicast";
  auto pair = [&out](const char* name, const std::pair<int, int>& p) {
    out += ";" + std::string(name) + "=" + std::to_string(p.first) + "-" + std::to_string(p.second);
  };
  if (interleaved) pair("interleaved", *interleaved);
  if (client_port) pair("client_port", *client_port);
  if (server_port) pair("server_port", *server_port);
  if (ssrc) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08X", *ssrc);
    out += ";ssrc=" + std::string(hex);
  }
  if (record) out += ";mode=record";
  return out;
}

Result<std::vector<Transport>> parse_transports(std::string_view header) {
  std::vector<Transport> out;
  while (!header.empty() && out.size() < 16) {
    const auto comma = header.find(',');
    if (auto t = parse_one(trim(header.substr(0, comma)))) out.push_back(*t);
    header.remove_prefix(comma == std::string_view::npos ? header.size() : comma + 1);
  }
  if (out.empty()) {
    return fail(Error::bad_request(
        "RTSP: no usable transport (RTP/AVP over UDP unicast or RTP/AVP/TCP interleaved)"));
  }
  return out;
}

}  // namespace sluice::media::rtsp
