#pragma once
// The /keys routes (issue 4, "Stream keys"), transport-free like the /streams routes:
//   POST   /keys               create (201, with the plaintext `key`, shown this once, and the
//                              `rtmp_url` to publish or play it with)
//   GET    /keys               list (never a secret or an HMAC)
//   GET    /keys/{id}          one key, by id or alias
//   DELETE /keys/{id}          revoke (200 with the record)
//   POST   /keys/{id}/rotate   new secret, same id (200 with the new `key`)
// /keys hands out publish rights: every route needs keys_rw (declare_route_access, http/gate).
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/metrics.hpp"
#include "http/router.hpp"

namespace sluice::keys {
class KeyService;
struct KeyStats;
}  // namespace sluice::keys

namespace sluice::http {

struct KeyRoutesOptions {
  // The daemon's RTMP application URL for a client that reached it as `host` (the request's
  // Host header), or nullopt when RTMP is off: `rtmp_url` of the create and rotate answers.
  // Unset: those answers carry `"rtmp_url": null`. Called on HTTP threads.
  std::function<std::optional<std::string>(std::string_view host)> rtmp_url;
};

// `keys` must outlive the router.
void add_key_routes(Router& router, keys::KeyService& keys, KeyRoutesOptions options);

// sluice_stream_keys_created_total, sluice_stream_key_checks_total{result="accepted"|reason}.
void render_key_metrics(PrometheusWriter& w, const keys::KeyStats& stats);

}  // namespace sluice::http
