#include "media/protocols/rtsp/rtsp_url.hpp"

namespace sluice::media::rtsp {

Target parse_target(std::string_view uri, const std::map<std::string, std::string>& aliases) {
  Target t;
  if (const auto q = uri.find('?'); q != std::string_view::npos) {
    t.query = uri.substr(q + 1);
    uri = uri.substr(0, q);
  }
  std::string_view rest = uri;
  if (rest.starts_with("rtsp://") || rest.starts_with("rtsps://")) {
    rest.remove_prefix(rest.find("://") + 3);
    const auto slash = rest.find('/');
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  t.origin = uri.substr(0, uri.size() - rest.size());
  while (rest.starts_with('/'))
    rest.remove_prefix(1);
  t.alias = !rest.starts_with("live/");
  if (!t.alias) rest.remove_prefix(5);
  const auto slash = rest.find('/');
  t.name = rest.substr(0, slash);
  t.track = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (!t.alias) {
    t.path = t.name;
  } else if (auto it = aliases.find(t.name); it != aliases.end()) {
    t.path = it->second;
  }
  return t;
}

}  // namespace sluice::media::rtsp
