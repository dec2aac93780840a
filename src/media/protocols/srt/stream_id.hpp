#pragma once
// The SRT streamid a caller sends (SRTO_STREAMID), sans I/O: what it asks for and which path.
// Forms: the SRT access-control syntax `#!::r=live/KEY,m=publish` (keys in any order; `m` is
// publish, request or play; `r` may be given without `live/`) — raw, or URL-encoded as newer
// clients send it — and the short forms `publish:KEY` and `read:NAME[:USER:PASSWORD]`. Without
// `m` a caller requests (plays). A player names a private path's read key as
// `r=live/NAME?key=READKEY`, or a user with `u=USER,s=PASSWORD`. At most 512 bytes; anything else
// is an error (400) naming the form.
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sluice::media::srt {

struct StreamId {
  bool publish = false;
  std::string resource;  // after "live/": the stream key (publish) or the path (play)
  std::string query;     // what followed '?' in the resource (a read key: `key=READKEY`)
  std::string user;      // `u=` (and `s=`, its password), as MediaMTX reads them; or
  std::string password;  // `read:NAME:USER:PASSWORD`
};

Result<StreamId> parse_stream_id(std::string_view text);

}  // namespace sluice::media::srt
