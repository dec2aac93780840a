#pragma once
// Whether the caller of an HTTP request may play a path (snapshots, MJPEG, recordings' playback):
// the path's play rights under the media policy — a read key as `?key=`, the request's
// Authorization (and method and target, for Digest) as the identity.
#include <optional>
#include <string_view>

#include "http/gate.hpp"
#include "http/http_types.hpp"
#include "http/request_target.hpp"
#include "media/media_policy.hpp"

namespace sluice::media {

// The refusal (401/403, with its challenge) when the caller may not play `path`; nullopt when it
// may.
inline std::optional<http::HttpResponse> refuse_http_play(MediaPolicy& policy,
                                                          const http::HttpRequest& req,
                                                          std::string_view path) {
  const Credentials credentials{req.authorization, "GET", req.path};
  if (auto allowed =
          policy.authorize_play(path, http::joined_query(req), req.remote_address, credentials);
      !allowed) {
    return http::refusal_response(allowed.error());
  }
  return std::nullopt;
}

}  // namespace sluice::media
