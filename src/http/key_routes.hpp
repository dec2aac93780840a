#pragma once
// The /keys routes (issue 4, "Stream keys"), transport-free like the /streams routes:
//   POST   /keys               create (201, with the plaintext `key`, shown this once)
//   GET    /keys               list (never a secret or an HMAC)
//   GET    /keys/{id}          one key, by id or alias
//   DELETE /keys/{id}          revoke (200 with the record)
//   POST   /keys/{id}/rotate   new secret, same id (200 with the new `key`)
// /keys hands out publish rights, so every route is guarded: with an admin token configured the
// request needs `Authorization: Bearer <token>` (compared in constant time; 401 otherwise);
// without one only loopback peers (127.0.0.0/8, ::1) are served (403 otherwise).
#include <string>

#include "http/metrics.hpp"
#include "http/router.hpp"

namespace sluice::keys {
class KeyService;
struct KeyStats;
}  // namespace sluice::keys

namespace sluice::http {

struct KeyRoutesOptions {
  std::string admin_token;  // empty: loopback only
};

// `keys` must outlive the router.
void add_key_routes(Router& router, keys::KeyService& keys, KeyRoutesOptions options);

// sluice_stream_keys_created_total, sluice_stream_key_checks_total{result="accepted"|reason}.
void render_key_metrics(PrometheusWriter& w, const keys::KeyStats& stats);

}  // namespace sluice::http
