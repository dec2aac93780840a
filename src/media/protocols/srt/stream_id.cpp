#include "media/protocols/srt/stream_id.hpp"

#include <cctype>
#include <optional>

#include "media/protocols/text.hpp"

namespace sluice::media::srt {
namespace {

constexpr std::size_t kMaxLength = 512;

Error malformed(std::string_view why) {
  return Error::bad_request(
      "SRT streamid: " + std::string(why) +
      "; use #!::r=live/KEY,m=publish to publish or #!::r=live/NAME,m=request to play");
}

// %XX decoded; nullopt for a broken escape.
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int high = text::hex_digit(s[i + 1]), low = text::hex_digit(s[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    const int v = high * 16 + low;
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

bool valid_resource(std::string_view r) {
  if (r.empty() || r.size() > 256) return false;
  for (char c : r) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
          c == '~')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<StreamId> parse_stream_id(std::string_view text) {
  if (text.size() > kMaxLength) return fail(malformed("longer than 512 bytes"));
  std::string decoded(text);
  if (text.starts_with("%23")) {
    auto d = url_decode(text);
    if (!d) return fail(malformed("a broken %-escape"));
    decoded = std::move(*d);
  }
  std::string_view s = decoded;
  StreamId id;
  if (s.starts_with("publish:") || s.starts_with("read:")) {
    id.publish = s.starts_with("publish:");
    std::string_view rest = s.substr(s.find(':') + 1);
    if (const auto colon = rest.find(':'); !id.publish && colon != std::string_view::npos) {
      const std::string_view login = rest.substr(colon + 1);
      const auto split = login.find(':');
      if (split == std::string_view::npos) return fail(malformed("read:NAME:USER:PASSWORD"));
      id.user = login.substr(0, split);
      id.password = login.substr(split + 1);
      rest = rest.substr(0, colon);
    }
    id.resource = rest;
  } else if (s.starts_with("#!::")) {
    s.remove_prefix(4);
    std::string mode;
    bool have_resource = false;
    while (!s.empty()) {
      const auto comma = s.find(',');
      const std::string_view item = s.substr(0, comma);
      s.remove_prefix(comma == std::string_view::npos ? s.size() : comma + 1);
      const auto eq = item.find('=');
      if (eq == std::string_view::npos) return fail(malformed("a key without '='"));
      const auto key = item.substr(0, eq), value = item.substr(eq + 1);
      if (key == "r") {
        id.resource = value;
        have_resource = true;
      } else if (key == "m") {
        mode = value;
      } else if (key == "u") {
        id.user = value;
      } else if (key == "s") {
        id.password = value;
      }  // u=, s=, t= and others are not needed
    }
    if (!have_resource) return fail(malformed("no r= (the resource)"));
    if (!mode.empty() && mode != "publish" && mode != "request" && mode != "play") {
      return fail(malformed("m= is publish or request"));
    }
    id.publish = mode == "publish";
  } else {
    return fail(malformed("not a form sluice knows"));
  }
  if (id.resource.starts_with("live/")) id.resource.erase(0, 5);
  if (const auto q = id.resource.find('?'); q != std::string::npos) {
    id.query = id.resource.substr(q + 1);
    id.resource.erase(q);
    if (id.query.size() > 256) return fail(malformed("the query is longer than 256 bytes"));
  }
  if (!valid_resource(id.resource)) return fail(malformed("the resource is not a path or key"));
  return id;
}

}  // namespace sluice::media::srt
