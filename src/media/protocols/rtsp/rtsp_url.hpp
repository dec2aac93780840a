#pragma once
// What an RTSP request URI names, sans I/O: rtsp://HOST:PORT/live/NAME for every live path and
// rtsp://HOST:PORT/ALIAS for a camera alias, each optionally followed by a track part
// (/trackID=N, or the control a publisher's SDP gave) and a query (?key=…).
#include <map>
#include <string>
#include <string_view>

namespace sluice::media::rtsp {

struct Target {
  std::string origin;  // "rtsp://HOST:PORT" as the client wrote it (empty for a bare path)
  std::string name;    // the path or alias as written (may be a stream key: never echo it)
  std::string path;    // the live path it names: NAME, or what the alias points at; empty: none
  bool alias = false;  // named through an alias
  std::string track;   // what followed the path ("trackID=0", "streamid=1"), if anything
  std::string query;   // after '?', without it
};

Target parse_target(std::string_view uri, const std::map<std::string, std::string>& aliases);

}  // namespace sluice::media::rtsp
