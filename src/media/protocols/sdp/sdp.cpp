#include "media/protocols/sdp/sdp.hpp"

#include <charconv>

#include "media/protocols/text.hpp"

namespace sluice::media::sdp {
namespace {

constexpr std::size_t kMaxText = 64 * 1024;
constexpr std::size_t kMaxMedia = 64;
constexpr std::size_t kMaxLines = 1024;

std::optional<int> to_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Attribute attribute_of(std::string_view value) {
  const auto colon = value.find(':');
  if (colon == std::string_view::npos) return {std::string(value), {}};
  return {std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
}

const std::string* find(const std::vector<Attribute>& all, std::string_view name) {
  for (const auto& a : all) {
    if (a.name == name) return &a.value;
  }
  return nullptr;
}

}  // namespace

const std::string* MediaDescription::attribute(std::string_view name) const {
  return find(attributes, name);
}
const std::string* SessionDescription::attribute(std::string_view name) const {
  return find(attributes, name);
}

Result<SessionDescription> parse(std::string_view text) {
  if (text.size() > kMaxText) {
    return fail(Error{413, "SDP: longer than " + std::to_string(kMaxText) + " bytes", {}});
  }
  SessionDescription s;
  s.origin.clear();
  s.name.clear();
  bool saw_version = false;
  std::size_t lines = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line = text::trim(line);
    if (line.empty()) continue;
    if (++lines > kMaxLines) {
      return fail(Error{413, "SDP: more than " + std::to_string(kMaxLines) + " lines", {}});
    }
    if (line.size() < 2 || line[1] != '=') {
      return fail(Error::bad_request("SDP: a line is not `<type>=<value>`"));
    }
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (!saw_version) {
      if (type != 'v' || value != "0") return fail(Error::bad_request("SDP: does not start v=0"));
      saw_version = true;
      continue;
    }
    MediaDescription* m = s.media.empty() ? nullptr : &s.media.back();
    switch (type) {
      case 'o':
        s.origin = value;
        break;
      case 's':
        s.name = value;
        break;
      case 'c':
        (m ? m->connection : s.connection) = value;
        break;
      case 'a':
        (m ? m->attributes : s.attributes).push_back(attribute_of(value));
        break;
      case 'm': {
        if (s.media.size() == kMaxMedia) {
          return fail(Error{413, "SDP: more than " + std::to_string(kMaxMedia) + " media", {}});
        }
        MediaDescription md;
        std::vector<std::string_view> fields;
        for (std::string_view rest = value; !rest.empty();) {
          const auto sp = rest.find(' ');
          if (sp != 0) fields.push_back(rest.substr(0, sp));
          rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
        }
        if (fields.size() < 3) return fail(Error::bad_request("SDP: m= needs media, port, proto"));
        md.media = fields[0];
        auto port = to_int(fields[1].substr(0, fields[1].find('/')));
        if (!port || *port < 0 || *port > 65535) {
          return fail(Error::bad_request("SDP: m= port is not a number"));
        }
        md.port = *port;
        md.protocol = fields[2];
        for (std::size_t i = 3; i < fields.size(); ++i)
          md.formats.emplace_back(fields[i]);
        s.media.push_back(std::move(md));
        break;
      }
      default:
        break;  // t=, b=, i=, u=, e=, p=, z=, k=, r=: not needed by sluiced
    }
  }
  if (!saw_version) return fail(Error::bad_request("SDP: empty"));
  return s;
}

std::string serialize(const SessionDescription& s) {
  std::string out = "v=0\r\no=" + s.origin + "\r\ns=" + (s.name.empty() ? "-" : s.name) + "\r\n";
  if (!s.connection.empty()) out += "c=" + s.connection + "\r\n";
  out += "t=0 0\r\n";
  auto attributes = [&out](const std::vector<Attribute>& all) {
    for (const auto& a : all) {
      out += "a=" + a.name;
      if (!a.value.empty()) out += ":" + a.value;
      out += "\r\n";
    }
  };
  attributes(s.attributes);
  for (const auto& m : s.media) {
    out += "m=" + m.media + " " + std::to_string(m.port) + " " + m.protocol;
    for (const auto& f : m.formats)
      out += " " + f;
    out += "\r\n";
    if (!m.connection.empty()) out += "c=" + m.connection + "\r\n";
    attributes(m.attributes);
  }
  return out;
}

std::optional<RtpMap> rtpmap_of(const MediaDescription& m, int payload_type) {
  const std::string prefix = std::to_string(payload_type) + " ";
  for (const auto& a : m.attributes) {
    if (a.name != "rtpmap" || !a.value.starts_with(prefix)) continue;
    std::string_view rest = text::trim(std::string_view(a.value).substr(prefix.size()));
    RtpMap r;
    r.payload_type = payload_type;
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    r.encoding = rest.substr(0, slash);
    rest.remove_prefix(slash + 1);
    const auto slash2 = rest.find('/');
    auto rate = to_int(rest.substr(0, slash2));
    if (!rate || *rate <= 0) return std::nullopt;
    r.clock_rate = *rate;
    if (slash2 != std::string_view::npos) {
      auto channels = to_int(rest.substr(slash2 + 1));
      if (!channels || *channels <= 0 || *channels > 255) return std::nullopt;
      r.channels = *channels;
    }
    return r;
  }
  return std::nullopt;
}

std::map<std::string, std::string> fmtp_of(const MediaDescription& m, int payload_type) {
  std::map<std::string, std::string> out;
  const std::string prefix = std::to_string(payload_type) + " ";
  for (const auto& a : m.attributes) {
    if (a.name != "fmtp" || !a.value.starts_with(prefix)) continue;
    std::string_view rest = std::string_view(a.value).substr(prefix.size());
    while (!rest.empty() && out.size() < 64) {
      const auto semi = rest.find(';');
      const std::string_view item = text::trim(rest.substr(0, semi));
      rest.remove_prefix(semi == std::string_view::npos ? rest.size() : semi + 1);
      const auto eq = item.find('=');
      if (item.empty()) continue;
      std::string key(text::trim(item.substr(0, eq)));
      for (auto& c : key)
        c = text::ascii_lower(c);
      out[key] = eq == std::string_view::npos ? std::string()
                                              : std::string(text::trim(item.substr(eq + 1)));
    }
    break;
  }
  return out;
}

}  // namespace sluice::media::sdp
