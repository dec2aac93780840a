#pragma once
// The /keys routes (issue 4, "Stream keys"), transport-free like the /streams routes:
//   POST   /keys               create (201, with the plaintext `key`, shown this once)
//   GET    /keys               list (never a secret or an HMAC)
//   GET    /keys/{id}          one key, by id or alias
//   DELETE /keys/{id}          revoke (200 with the record)
//   POST   /keys/{id}/rotate   new secret, same id (200 with the new `key`)
// /keys hands out publish rights: every route needs keys_rw (declare_route_access, http/gate).
#include <string>

#include "http/metrics.hpp"
#include "http/router.hpp"

namespace sluice::keys {
class KeyService;
struct KeyStats;
}  // namespace sluice::keys

namespace sluice::http {

struct KeyRoutesOptions {};

// `keys` must outlive the router.
void add_key_routes(Router& router, keys::KeyService& keys, KeyRoutesOptions options);

// sluice_stream_keys_created_total, sluice_stream_key_checks_total{result="accepted"|reason}.
void render_key_metrics(PrometheusWriter& w, const keys::KeyStats& stats);

}  // namespace sluice::http
